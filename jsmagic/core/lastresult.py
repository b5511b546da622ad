"""The last result a magic produced, for when it was not assigned: `jsmagic.last_result()`.

An interrupted `%js_consume` or publish fails its cell (so Run All stops), and a failed
cell assigns nothing; what was kept stays here (and in `-o NAME` when one was given).
"""

from __future__ import annotations

from typing import Any

_last: Any = None


def keep(value: Any) -> Any:
    """Remember `value` as the last result (returns it)."""
    global _last
    _last = value
    return value


def last_result() -> Any:
    """The last `%js_consume` frame or publish acks, also when the cell was interrupted (None before any)."""
    return _last
