"""The shared flag definitions (:mod:`jsmagic.core.flags`) as IPython ``@argument`` decorators."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from IPython.core.magic_arguments import argument

from ..core.flags import Flag


def arguments(flags: Iterable[Flag]) -> Callable[[Any], Any]:
    """Declare ``flags`` on a magic, in order, where this decorator stands among its ``@argument`` lines."""
    flags = list(flags)

    def decorate(func: Any) -> Any:
        for flag in reversed(flags):  # decorators apply bottom-up; IPython builds the parser top-down
            func = argument(*flag.names, **flag.kwargs)(func)
        return func

    return decorate
