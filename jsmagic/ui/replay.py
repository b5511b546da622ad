"""A replay in words: the one-line summary under a ``%js_consume`` frame.

``ORDERS: 1,000 rows; seq 1–1000; 2026-11-26 10:00:00 → 10:05:00 UTC; 2 subjects: orders.eu
(600), orders.us (400); ephemeral consumer (deleted)``.  The core's
:class:`~jsmagic.reading.reader.Replay` holds the figures; this module only words them.
A note that says rows are missing (``SHORT: …``) leads the line: it is what to read first.
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from ..core.units import format_size, plural
from ..reading.reader import Replay


def replay_summary(result: Replay, frame: pd.DataFrame | None = None) -> str:
    """The summary of a finished replay: rows, sequences, times, subjects, how it was read, what stopped it.

    ``frame``: the seq/subject/time columns of a result that is not ``result.frame`` (Arrow, Polars).
    """
    short, notes = _short_first(result.notes)
    extra = [result.method, *([f"failed: {result.failed}"] if result.failed else []), *notes]
    if result.action:
        extra.append(f"{result.action.replace('_', '-')} sent for {plural(result.acknowledged, 'message')}")
    if result.interrupted:
        extra.append("interrupted: partial result")
    if result.timed_out:
        extra.append("stopped: no message within the timeout")
    return "; ".join([*short, summary_line(result.stream, result.frame if frame is None else frame, extra)])


def _short_first(notes: list[str]) -> tuple[list[str], list[str]]:
    """The notes that say rows are missing (``SHORT…``), and the others."""
    return [n for n in notes if n.startswith("SHORT")], [n for n in notes if not n.startswith("SHORT")]


def export_summary(result: Replay) -> str:
    """``ORDERS → /data/orders.parquet: 1,000,000 rows; seq 1–1000000; 61.2 MB; 9.8 s; 20 row groups``."""
    e = result.export
    short, notes = _short_first(result.notes)
    parts = [*short, f"{result.stream} → {e.path}{'/' if e.partition_by else ''}: {plural(e.rows, 'row')}"]
    if e.rows:
        parts.append(f"seq {e.first_seq}–{e.last_seq}")
    parts.append(format_size(e.bytes))
    parts.append(f"{e.seconds:.1f}s" if e.seconds >= 0.05 else "under 0.1s")
    parts.append(f"{plural(e.parts, 'part file')}, partitioned by {e.partition_by}" if e.partition_by
                 else plural(e.parts, "row group"))
    parts.extend(f"column {k}: {v}" for k, v in e.conflicts.items())
    if result.failed:
        parts.append(f"failed: {result.failed}")
    parts.extend(notes)
    if result.interrupted:
        parts.append("interrupted: the file holds what arrived")
    if result.timed_out:
        parts.append("stopped: no message within the timeout")
    return "; ".join(parts)


class Exported:
    """What ``%js_consume … --to PATH`` returns: the figures (``.rows``, ``.path``, …) shown as one line."""

    def __init__(self, result: Replay) -> None:
        self.result, self.export, self.summary = result, result.export, export_summary(result)
        self.shown = False  # set once displayed: the summary is not shown a second time after the cell

    def __getattr__(self, name: str):
        return getattr(self.__dict__["export"], name)

    def __repr__(self) -> str:
        self.shown = True
        return self.summary


def summary_line(stream: str, df: pd.DataFrame, extra: Iterable[str] = ()) -> str:
    """``ORDERS: 1,000 rows; seq 1–1000; 2026-11-26 10:00:00 → 10:05:00 UTC; 2 subjects: orders.eu (600), …``."""
    parts = [f"{stream}: {plural(len(df), 'row')}"]
    if len(df):
        parts.append(f"seq {int(df['seq'].iloc[0])}–{int(df['seq'].iloc[-1])}")
        t0, t1 = df["time"].min(), df["time"].max()
        fmt = "%Y-%m-%d %H:%M:%S"
        end = t1.strftime("%H:%M:%S" if t0.date() == t1.date() else fmt)
        parts.append(f"{t0.strftime(fmt)} → {end} UTC")
        counts = df["subject"].value_counts()
        shown = ", ".join(f"{s} ({n:,})" for s, n in counts.head(3).items())
        more = f" +{len(counts) - 3} more" if len(counts) > 3 else ""
        parts.append(f"{len(counts)} subject{'s' if len(counts) != 1 else ''}: {shown}{more}")
    parts.extend(extra)
    return "; ".join(parts)
