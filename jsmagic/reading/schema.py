"""One schema per read: the column names and types of a replay, decided for the whole read.

A replay builds its frame chunk by chunk, and some paths never hold the whole read (``--to``
Parquet, ``--as arrow|polars``, ``--where``, Dask partitions).  Deciding a column's name or
type from the chunk at hand gave each path a different answer, so every chunk builder and
sink consults one :class:`ReadSchema`:

**Names** are decided by the read's options, never by the data.  The *generated* columns
(``seq, subject, time, headers, size``, the feature columns ``ttl, incr, schedule,
schedule_target, scheduler, marker``, the durable ``consumer_seq, num_delivered, pending``,
the ``--subject-cols`` tokens and the ``--header-cols`` names) own their names: a payload key
named like one of them (or ``decode_error``) is the column ``data.<key>`` in every chunk,
whether or not the generated column shows up in this read; a key spelled ``data.<key>`` itself
(``--flatten`` of a nested ``data`` object) is ``_data.<key>`` in every chunk, whether or not the
top-level key shows up.  A payload that is not an object
goes to ``data``, the column an object's own ``data`` key fills (a row is one or the other).

**Types** are reconciled over every chunk seen: ints that fit int64 beside ints that do not
(all ≥ 0) are uint64; ints beside floats are float64; a key that appears late is null in the
earlier rows (ints beyond 2**53 then keep every digit, in a nullable integer column); any other
mix (an int beside a text) is an object column and :meth:`ReadSchema.notes` names it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from .features import FEATURE_HEADERS
from .shaping import subject_pattern

BASE = ("seq", "subject", "time", "headers", "size")
DURABLE = ("consumer_seq", "num_delivered", "pending")
LATE = ("data", "decode_error")  # after every key column
EXACT = 2**53  # beyond this an int is not exact as a float
SEQ = np.dtype(np.uint64)  # ``seq``: the server's stream sequences are uint64, in every result (frame, Arrow, Parquet, Dask)


class ReadSchema:
    """The names and types of one read's columns; chunk builders and sinks consult and update it."""

    def __init__(self, durable: bool = False, shape: Any = None) -> None:
        self.durable = durable
        self.shape(shape)
        self.dtypes: dict[str, dict[Any, None]] = {}  # column → the distinct dtypes of its non-empty pieces
        self.negative: set[str] = set()  # int columns holding a value < 0
        self.big: set[str] = set()  # int columns holding a value beyond ±2**53
        self.gaps: set[str] = set()  # columns null in some rows (a piece lacked them, or held only nulls)
        self.known: dict[str, None] = {}  # every column seen, first seen first
        self.pieces = 0

    def shape(self, shape: Any) -> None:
        """The read's filters/extra columns (:class:`~jsmagic.reading.shaping.Shape`): their names are generated."""
        made = [*BASE, *FEATURE_HEADERS, *(DURABLE if self.durable else ())]
        if shape is not None and shape.subject_cols:
            made += [n for n in re.compile(subject_pattern(shape.subject_cols)).groupindex if n not in made]
        if shape is not None:
            made += [n for n in shape.header_cols if n not in made]
        self.generated = tuple(made)
        self.reserved = frozenset(made)

    # -- names --------------------------------------------------------------------------------

    def payload_names(self, keys: list) -> list[str]:
        """A chunk's payload keys → their column names, by name alone (the same in every chunk of the read).

        A generated name ``k`` is ``data.<k>``; a key already spelled ``data.<k>`` (a nested
        ``{"data": {"ttl": …}}`` under ``--flatten``) or ``_…data.<k>`` gets one more ``_``:
        no two keys share a column, and which is which never depends on what a chunk holds.
        """
        return [self._payload_name(k) for k in map(str, keys)]

    def _payload_name(self, key: str) -> str:
        if key in self.reserved:
            return "data." + key
        bare = key.lstrip("_")
        if bare.startswith("data.") and bare[5:] in self.reserved and key not in self.reserved:
            return "_" + key
        return key

    def order(self, columns: list[str]) -> list[str]:
        """Generated columns in their fixed order, then payload columns as first seen, ``data``/``decode_error`` last."""
        have = set(columns)
        head = [c for c in self.generated if c in have]
        tail = [c for c in LATE if c in have]
        skip = set(head) | set(tail)
        return head + [c for c in columns if c not in skip] + tail

    # -- types --------------------------------------------------------------------------------

    def observe(self, df: pd.DataFrame) -> None:
        """Record the columns and types of one piece of the read (a chunk's frame, or its payload columns)."""
        if not len(df):
            return
        later = self.pieces > 0
        self.pieces += 1
        known, gaps, generated = self.known, self.gaps, self.generated
        for name, dtype in df.dtypes.items():
            if later and name not in known and name not in generated:
                gaps.add(name)  # a key that appears late: null in the earlier rows
            known.setdefault(name)
            if dtype == object and df[name].isna().all():  # only nulls: says nothing of the type
                gaps.add(name)
                continue
            self.dtypes.setdefault(name, {}).setdefault(dtype)
            if dtype.kind in "iu":
                col = df[name]
                arr = col.to_numpy() if isinstance(dtype, np.dtype) else col.dropna()  # nullable ints: their values
                if len(arr) < len(col):
                    gaps.add(name)  # a nullable int column with nulls (a key some objects lack, or null)
                lo, hi = arr.min(), arr.max()
                if lo < 0:
                    self.negative.add(name)
                if hi > EXACT or lo < -EXACT:
                    self.big.add(name)
        if later:
            have = set(df.columns)
            self.gaps.update(c for c in self.known if c not in have and c not in self.generated)

    def dtype(self, name: str) -> Any:
        """The pandas dtype of ``name`` over the whole read (as observed so far)."""
        if name == "seq":
            return SEQ
        seen = list(self.dtypes.get(name, ()))
        if not seen:
            return np.dtype(object)
        kinds = {_kind(d) for d in seen}
        gaps = name in self.gaps
        if kinds == {"int"}:
            signed = all(d.kind == "i" for d in seen)
            if not signed and name in self.negative:
                return np.dtype(object)  # below 0 and beyond int64: no numpy int holds both
            if gaps:
                return (pd.Int64Dtype() if signed else pd.UInt64Dtype()) if name in self.big or not signed \
                    else np.dtype(np.float64)
            return np.dtype(np.int64 if signed else np.uint64)
        if kinds <= {"int", "float"}:
            return np.dtype(np.float64)
        if len(seen) == 1:
            return np.dtype(object) if gaps and kinds == {"bool"} else seen[0]
        return np.dtype(object)

    def conflicts(self) -> dict[str, str]:
        """Columns whose values had kinds that share no type, as ``{column: what was seen}``."""
        out = {}
        for name, seen in self.dtypes.items():
            if name in self.generated or name in LATE:  # the read's own columns, and `data` (any payload that is not an object)
                continue
            kinds = {_kind(d) for d in seen}
            if len(kinds) > 1 and not kinds <= {"int", "float"}:
                out[name] = f"{' and '.join(sorted(kinds))} values across the read: kept as objects"
            elif kinds == {"int"} and self.dtype(name) == object:
                out[name] = "negative ints beside ints beyond int64: kept as objects"
        return out

    def notes(self) -> list[str]:
        return [f"column {k}: {v}" for k, v in self.conflicts().items()]

    # -- frames -------------------------------------------------------------------------------

    def concat(self, parts: list[pd.DataFrame], observe: bool = True) -> pd.DataFrame:
        """Pieces of the read as one frame, every column in its read-wide dtype, in :meth:`order`."""
        parts = [p for p in parts if len(p) or len(p.columns)]
        if observe:
            for p in parts:
                self.observe(p)
        if not parts:
            return pd.DataFrame()
        names = list(dict.fromkeys(c for p in parts for c in p.columns))
        if len(parts) == 1:  # one piece keeps its own types (a sink's chunk: reconciled when the tables are joined)
            df = parts[0]
        else:
            df = pd.concat([self._conform(p, names) for p in parts], ignore_index=True)
        cols = self.order(names)
        return df if list(df.columns) == cols else df[cols]

    def _conform(self, part: pd.DataFrame, names: list[str]) -> pd.DataFrame:
        """One piece with each column cast to the read's dtype (generated/late columns it lacks: None)."""
        cast, add = {}, {}
        dtypes = part.dtypes
        for name in names:
            if name not in dtypes:
                if name in LATE:  # None where they do not apply, as within one chunk
                    add[name] = pd.Series(_none(len(part)), index=part.index, dtype=object)
                elif name in self.generated:  # a feature column: nulls as the chunks that have it hold them
                    want = self.dtype(name)
                    add[name] = pd.Series(np.nan, index=part.index).astype(want) if isinstance(want, pd.StringDtype) \
                        else pd.Series(_none(len(part)), index=part.index, dtype=object)
                continue
            have = dtypes[name]
            if have.kind in "iu" and have != (want := self.dtype(name)):
                cast[name] = want  # ints in the read's int type (pandas' concat would make int64 + uint64 float)
        if cast:
            part = part.astype(cast)
        return part.assign(**add) if add else part

    def columns(self) -> list[str]:
        return self.order(list(self.known))

    def empty(self) -> pd.DataFrame:
        """The read's frame with no rows: every column in its dtype (Dask's ``meta``)."""
        return pd.DataFrame({c: pd.Series([], dtype=self.dtype(c)) for c in self.columns()})


def conform(df: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """A frame read apart (a Dask partition) in ``meta``'s columns and dtypes; a column it lacks is null.

    A column ``meta`` does not have fails in one line: it would be missing from ``ddf.columns``."""
    extra = [str(c) for c in df.columns if c not in meta.columns]
    if extra:
        from ..core.errors import IncompleteError

        raise IncompleteError(f"{'column' if len(extra) == 1 else 'columns'} {', '.join(extra)} not in the read's meta",
                              hint="leave meta= out: read_stream then scans the stream for every column")
    out = {}
    for name, want in meta.dtypes.items():
        if name in df.columns:
            col = df[name]
            out[name] = col if col.dtype == want else col.astype(want)
        elif want == object:
            out[name] = pd.Series(_none(len(df)), index=df.index, dtype=object)
        else:
            out[name] = pd.Series(np.nan, index=df.index, dtype=np.float64).astype(want)
    return pd.DataFrame(out, index=df.index)


def _kind(dtype: Any) -> str:
    if isinstance(dtype, pd.StringDtype):
        return "str"
    k = getattr(dtype, "kind", "O")
    return {"i": "int", "u": "int", "f": "float", "b": "bool", "M": "time", "m": "duration"}.get(k, "object")


def _none(n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = None
    return out
