"""Drift points and the timeline, as DataFrames, from an :class:`~jsmagic.explore.fields.Aggregator`.

* :func:`drift_frame`: one row per point where a field appears (after messages of its scope
  without it), disappears (messages of its scope without it follow its last one) or changes
  type, in stream order: ``[subject,] field, change, seq, time, old, new``.
* :func:`timeline_frame`: per timeline bin (a stretch of sequences), field and type, how many
  of the bin's messages hold the field with that type (``presence``: their share), with the
  bin's first and last time: what the ``--plot`` draws.
"""

from __future__ import annotations

import pandas as pd

from .fields import Aggregator

DRIFT_COLUMNS = ["field", "change", "seq", "time", "old", "new"]
TIMELINE_COLUMNS = ["bin", "seq_start", "seq_end", "time_start", "time_end", "field", "type", "messages", "presence"]


def drift_frame(agg: Aggregator) -> pd.DataFrame:
    """Where each field appears, disappears or changes type, by sequence and time (stream order)."""
    rows = []
    for subject, scope in agg.scopes.items():
        if scope.first is None:
            continue
        for name, f in scope.fields.items():
            if f.first_seq > scope.first[0]:  # the type it first had (dicts keep insertion order)
                rows.append((subject, name, "appeared", f.first_seq, f.first_ns, None, next(iter(f.types))))
            for seq, ns, old, new in f.changes:
                rows.append((subject, name, "type", seq, ns, old, new))
            if f.last_seq < scope.last[0] and f.gone is not None:
                rows.append((subject, name, "disappeared", f.gone[0], f.gone[1], f.current or "null", None))
    df = pd.DataFrame(rows, columns=["subject", *DRIFT_COLUMNS])
    for i, col in ((5, "old"), (6, "new")):  # None stays None (pandas would show a "str" column's None as NaN)
        df[col] = pd.Series([r[i] for r in rows], dtype=object, index=df.index)
    df["seq"] = df["seq"].astype("uint64")
    df["time"] = pd.to_datetime(df["time"].astype("int64"), unit="ns", utc=True)
    order = {"disappeared": 0, "type": 1, "appeared": 2}
    df = df.assign(_o=df["change"].map(order)).sort_values(["seq", "_o", "field"], kind="stable").drop(columns="_o")
    if not agg.by_subject:
        df = df.drop(columns="subject")
    return df.reset_index(drop=True)


def more_changes(agg: Aggregator) -> int:
    """Type changes counted but not listed (beyond :data:`~jsmagic.explore.fields.MAX_CHANGES` per field)."""
    return sum(f.more_changes for scope in agg.scopes.values() for f in scope.fields.values())


def timeline_frame(agg: Aggregator) -> pd.DataFrame:
    """Fields over the stream: per bin, field and type, messages holding it and their share of the bin."""
    rows = []
    for (b, name, t), n in agg.timeline.items():
        total = agg.bin_messages.get(b, 0)
        first_ns, last_ns = agg.bin_times[b]
        lo = agg.lo + b * agg.width
        rows.append((b, lo, lo + agg.width - 1, first_ns, last_ns, name, t, n, n / total if total else 0.0))
    df = pd.DataFrame(rows, columns=TIMELINE_COLUMNS)
    for col in ("time_start", "time_end"):
        df[col] = pd.to_datetime(df[col].astype("int64"), unit="ns", utc=True)
    return df.sort_values(["bin", "field", "type"], kind="stable").reset_index(drop=True)
