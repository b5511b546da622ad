"""Optional libraries: imported when a feature needs them, with a one-line hint when missing.

``require("pyarrow", "parquet", "--to")`` returns the module, or raises
``--to needs the pyarrow package — pip install 'jsmagic[parquet]'``.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import InputError


def require(module: str, extra: str, feature: str) -> Any:
    """``module`` imported, or an :class:`InputError` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise InputError(f"{feature} needs the {top} package", hint=f"pip install 'jsmagic[{extra}]'") from None
