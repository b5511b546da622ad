"""Optional libraries: imported when a feature needs them, with one one-line hint when missing.

``require("pyarrow", "parquet", "--to")`` returns the module, or raises
``--to needs the pyarrow package — pip install 'jsmagic[parquet]'``.  A feature that needs
several packages names them all at once (``require(("pyarrow", "polars"), "polars", "--as
polars")``), so one install fixes it: never one round per package.  Every hint for a
missing extra comes from :func:`install_hint`, in the same words.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from .errors import InputError


def install_hint(extra: str) -> str:
    """``pip install 'jsmagic[plot]'``: the one way a hint names what to install."""
    return f"pip install 'jsmagic[{extra}]'"


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ImportError:  # a dotted name whose parent package is missing
        return True


def require(module: str | tuple[str, ...], extra: str, feature: str, error: type[InputError] | Any = InputError) -> Any:
    """``module`` imported (the first of several), or one error naming every missing package and the extra."""
    modules = (module,) if isinstance(module, str) else tuple(module)
    missing = list(dict.fromkeys(m.split(".")[0] for m in modules if _missing(m)))
    if missing:
        names = " and ".join(missing)
        raise error(f"{feature} needs the {names} package{'s' if len(missing) > 1 else ''}",
                    hint=install_hint(extra)) from None
    try:
        return importlib.import_module(modules[0])
    except ImportError as e:  # installed but broken: say which, with the same hint
        raise error(f"{feature} needs the {modules[0].split('.')[0]} package ({e})", hint=install_hint(extra)) from None
