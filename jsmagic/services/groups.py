"""One namespace per group of verbs (`jsmagic.kv`, `jsmagic.streams`…) made of the modules that serve it.

A group's verbs live in several service modules, each short and about one thing: `kv` in
`services.kv` (the bucket verbs) and `services.kvhistory` (time travel), `streams` in
`services.streams`, `services.streamhistory`, `services.explore` and `services.finding`.
`group` puts them side by side under one name; where two define the same verb, the
later module's is a superset of the earlier one (`kvhistory.view` is `kv.view` with `at=`).
"""

from __future__ import annotations

import types

__all__ = ["group"]


def group(name: str, base: types.ModuleType, *more: types.ModuleType) -> types.ModuleType:
    """`jsmagic.<name>`: every name of `base.__all__` and of each of `more`'s, in that order.

    The namespace is of `base`'s module class, so what makes `base` callable
    (`jsmagic.streams()` lists the streams) holds for the group too.
    """
    out = type(base)(f"jsmagic.{name}", base.__doc__)
    names: list[str] = []
    for module in (base, *more):
        for item in module.__all__:
            setattr(out, item, getattr(module, item))
            if item not in names:
                names.append(item)
    out.__all__ = names
    return out
