"""``--as arrow|polars|pandas``: a replay's result in the library a team already uses.

``arrow`` and ``polars`` results are built chunk by chunk: each chunk becomes a typed Arrow
table as it arrives (:class:`ArrowSink`) and its raw payloads are dropped, so the peak
holds the compact columns rather than the buffers plus Python objects of the pandas path.
The tables are joined under one schema at the end (:func:`jsmagic.reading.arrowconv.concat`);
``polars`` wraps that table without copying.  ``pandas`` is the default replay; with
``%config JSMagic.arrow_dtypes = True`` it comes from the Arrow table, with Arrow-backed dtypes.
"""

from __future__ import annotations

import gc
from typing import Any

from ..core.config import settings
from ..core.context import JSContext
from ..core.errors import InputError
from ..core.extras import require
from .reader import Replay, replay
from .selection import ProgressFn, Selection

KINDS = ("pandas", "arrow", "polars")


class ArrowSink:
    """Keeps each chunk as a typed Arrow table (the sink protocol of :class:`~jsmagic.reading.frames.Rows`).

    ``step``: the bulk reader converts ~1 MiB of what arrived at a time for it (not the 4 MiB
    of a Parquet export): ``--as arrow`` is chosen for its small peak, and a larger step kept
    more transient buffers alive (test_export_memory: 36 vs 51 MB for pandas under load).
    """

    step = 1 << 20

    def __init__(self) -> None:
        self.tables: list[Any] = []
        self.conflicts: dict[str, str] = {}
        self.read: Any = None  # the read's ReadSchema (jsmagic.reading.schema): its column order

    def write(self, chunk: Any, rows: Any) -> None:
        self.read = rows.schema
        self.tables.append(_arrow().to_table(rows.frame_of([chunk]), self.conflicts))
        gc.collect(1)

    def close(self, frame: Any = None, interrupted: bool = False) -> Any:
        if frame is not None and len(frame):
            self.tables = [_arrow().to_table(frame, self.conflicts)]
        table = _arrow().concat(self.tables, self.conflicts, self.read)
        self.tables = []
        return table


def _arrow() -> Any:
    """:mod:`jsmagic.reading.arrowconv`, imported when an Arrow result is asked for (pyarrow is the [parquet] extra)."""
    from . import arrowconv

    return arrowconv


def result_kind(kind: str | None) -> str:
    """``--as`` or the ``%config JSMagic.result_type`` default, checked (polars needs its package)."""
    kind = kind or settings().result_type
    if kind not in KINDS:
        raise InputError(f"unknown result type {kind!r}", hint=f"use one of {', '.join(KINDS)}")
    if kind == "polars":
        require(("polars", "pyarrow"), "polars", "--as polars")
    return kind


async def replay_as(sel: Selection, kind: str | None = None, progress: ProgressFn | None = None,
                    *, ctx: JSContext | None = None) -> tuple[Replay, Any]:
    """Replay ``sel``; returns the :class:`Replay` (its summary figures) and the result as ``kind``."""
    kind = result_kind(kind)
    arrow_pandas = kind == "pandas" and settings().arrow_dtypes
    if kind == "pandas" and not arrow_pandas:
        result = await replay(sel, progress, ctx=ctx)
        return result, result.frame
    sink = ArrowSink()
    result = await replay(sel, progress, sink=sink, ctx=ctx)
    table, result.export = result.export, None
    if sink.conflicts:
        result.notes.extend(f"{k}: {v}" for k, v in sink.conflicts.items())
    if kind == "arrow":
        return result, table
    if kind == "polars":
        import polars as pl

        return result, pl.from_arrow(table)
    return result, _arrow().to_pandas(table, arrow_dtypes=True)
