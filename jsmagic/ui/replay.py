"""A replay in words: the one-line summary under a ``%js_consume`` frame.

``ORDERS: 1,000 rows; seq 1–1000; 2026-11-26 10:00:00 → 10:05:00 UTC; 2 subjects: orders.eu
(600), orders.us (400); ephemeral consumer (deleted)``.  The core's
:class:`~jsmagic.reading.reader.Replay` holds the figures; this module only words them.
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from ..reading.reader import Replay


def replay_summary(result: Replay) -> str:
    """The summary of a finished replay: rows, sequences, times, subjects, how it was read, what stopped it."""
    extra = [result.method, *result.notes]
    if result.action:
        extra.append(f"{result.action.replace('_', '-')} sent for {result.acknowledged:,} message(s)")
    if result.interrupted:
        extra.append("interrupted: partial result")
    if result.timed_out:
        extra.append("stopped: no message within the timeout")
    return summary_line(result.stream, result.frame, extra)


def summary_line(stream: str, df: pd.DataFrame, extra: Iterable[str] = ()) -> str:
    """``ORDERS: 1,000 rows; seq 1–1000; 2026-11-26 10:00:00 → 10:05:00 UTC; 2 subjects: orders.eu (600), …``."""
    parts = [f"{stream}: {len(df):,} rows"]
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
