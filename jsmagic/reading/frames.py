"""Messages → a pandas DataFrame, built column-wise (never a list of per-message dicts).

A replay gathers messages in *chunks* (:class:`Rows`): the stream sequences, times and
delivery counters as int64 arrays, subjects and headers as lists, and the payloads of a
chunk kept as ONE bytes buffer joined with ``SEP`` (``,"<random per process>",``).  That
buffer is what makes the JSON fast path cheap: ``orjson.loads(b"[" + buf + b"]")`` decodes a
whole chunk in one call (about 4x faster than one ``json.loads`` per message); the random
string between the payloads proves that no payload spilled into its neighbour (``1,2``
beside an empty payload, or an unterminated ``"a``, would).  In a one-shot replay each
chunk is decoded as it arrives and its buffer dropped (``Rows.eager``).
Any payload can still be sliced back out of the buffer, so falling back to per-message
decoding never loses a byte.

Columns: ``seq, subject, time (UTC), headers, size`` (+ ``consumer_seq, num_delivered,
pending`` for durable consumers), then the payload (:mod:`jsmagic.reading.payloads`): one
column per top-level key of the object payloads, any other payload in ``data``.

A :class:`Rows` may hold a *shape* (:mod:`jsmagic.reading.shaping`: filters applied chunk by
chunk, columns from subjects and headers) and a *sink* (:mod:`jsmagic.reading.export`):
with a sink, each chunk is handed over as it arrives instead of being kept.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np
import pandas as pd

from ..core.decode import SEP, check_mode
from .features import feature_columns
from .payloads import decode_early, decode_payloads, str_column
from .schema import SEQ, ReadSchema

DURABLE = ("consumer_seq", "num_delivered", "pending")


@dataclasses.dataclass
class Chunk:
    """A run of consecutive messages, stored compactly until the frame is built."""

    seq: np.ndarray
    time_ns: np.ndarray
    subjects: list[str]
    headers: list[dict | None]
    sizes: np.ndarray
    buf: bytes  # payloads joined with SEP
    extra: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.seq)

    def payload(self, i: int) -> bytes:
        """The i-th payload, sliced back out of the joined buffer."""
        starts = self._starts()
        return self.buf[starts[i] : starts[i] + int(self.sizes[i])]

    def _starts(self) -> np.ndarray:
        if not hasattr(self, "_starts_cache"):
            steps = self.sizes + len(SEP)
            self._starts_cache = np.concatenate(([0], np.cumsum(steps[:-1]))) if len(steps) else steps
        return self._starts_cache

    def payloads(self) -> list[bytes]:
        """Every payload of the chunk as bytes (the slow path, used only when needed)."""
        return [self.payload(i) for i in range(len(self))]

    def take(self, n: int) -> "Chunk":
        """The first ``n`` messages (a bound such as --end-seq fell inside this chunk)."""
        if n >= len(self):
            return self
        end = int(self._starts()[n]) - len(SEP) if n else 0
        out = Chunk(
            self.seq[:n], self.time_ns[:n], self.subjects[:n], self.headers[:n], self.sizes[:n],
            self.buf[:end], {k: v[:n] for k, v in self.extra.items()},
        )
        if getattr(self, "frame_cache", None) is not None:  # decoded by a --where filter: keep it
            out.frame_cache = self.frame_cache.iloc[:n]
        return out

    def select(self, idx: np.ndarray) -> "Chunk":
        """The messages at positions ``idx`` (in order): what a filter kept."""
        if len(idx) == len(self):
            return self
        pick = lambda xs: [xs[i] for i in idx]  # noqa: E731
        buf = SEP.join(self.payload(int(i)) for i in idx) if self.buf else b""
        extra = {k: (v[idx] if isinstance(v, np.ndarray) else pick(v)) for k, v in self.extra.items()}
        return Chunk(self.seq[idx], self.time_ns[idx], pick(self.subjects), pick(self.headers), self.sizes[idx],
                     buf, extra)


class Rows:
    """The chunks of one replay, in order; :meth:`frame` turns them into a DataFrame."""

    def __init__(self, durable: bool = False, headers_only: bool = False, decode: Any = "auto",
                 flatten: bool = False, shape: Any = None, sink: Any = None) -> None:
        self.chunks: list[Chunk] = []
        self.durable = durable
        self.headers_only = headers_only
        self.decode, self.flatten = decode, flatten
        self.shape = shape  # filters and extra columns (jsmagic.reading.shaping.Shape), or None
        self.sink = sink  # takes each chunk as it comes (jsmagic.reading.export), or None: kept here
        self.handed = 0  # rows handed to the sink
        self.released = 0  # rows whose chunks a one-shot frame(release=True) let go
        self.eager = False  # decode each chunk's payloads as it arrives (one-shot replays: see add)
        self.schema = ReadSchema(durable, shape)  # the read's column names and types (jsmagic.reading.schema)
        self._replies: list[str] = []

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks) + self.handed + self.released

    def add(self, chunk: Chunk) -> None:
        if not len(chunk):
            return
        if self.sink is None:
            if self.eager and not self.headers_only and getattr(chunk, "frame_cache", None) is None:
                decode_early(chunk, self.decode, self.flatten)
            self.chunks.append(chunk)
            return
        self._replies.extend(chunk.extra.get("reply", ()))
        self.handed += len(chunk)
        self.sink.write(chunk, self)

    def shaped(self, decode: Any, flatten: bool, shape: Any, sink: Any) -> None:
        """Set how frames are decoded, the filters/extra columns, and the sink (before the first chunk)."""
        self.decode, self.flatten, self.shape, self.sink = decode, flatten, shape, sink
        self.schema.shape(shape)

    def matching(self, chunk: Chunk) -> Chunk:
        """The messages of ``chunk`` that pass the shape's filters (all, without filters)."""
        return chunk if self.shape is None or not len(chunk) else self.shape.select(chunk, self)

    def replies(self) -> list[str]:
        """Durable mode: the ack subjects of the kept messages (acked after the frame is built)."""
        return self._replies + [r for c in self.chunks for r in c.extra.get("reply", ())]

    def subjects(self) -> set[str]:
        out: set[str] = set()
        for c in self.chunks:
            out.update(c.subjects)
        return out

    def frame(self, decode: Any = None, flatten: bool | None = None, release: bool = False) -> pd.DataFrame:
        """The complete DataFrame: metadata columns, then the payload decoded per ``decode``.

        ``release``: a one-shot build that lets go of each chunk once its payloads are decoded,
        so that the raw chunks and the frame are not both held at the peak (the Rows is then
        empty; its length and ack subjects stay).
        """
        if not release:
            return self.frame_of(self.chunks, decode, flatten)
        self._replies = self.replies()
        chunks, self.chunks = self.chunks, []
        self.released += sum(map(len, chunks))
        return self.frame_of(chunks, decode, flatten, release=True)

    def frame_of(self, chunks: list[Chunk], decode: Any = None, flatten: bool | None = None,
                 release: bool = False, observe: bool = True) -> pd.DataFrame:
        """The frame of some chunks (a sink builds one per chunk), with the shape's extra columns.

        Names and types follow the read's :class:`~jsmagic.reading.schema.ReadSchema`; ``observe``:
        the frame is part of the result (a sink's chunk), so the schema records its types (a
        ``--where`` filter's whole-chunk frame is not).  ``release``: each item of ``chunks`` is
        set to None once decoded (see :meth:`frame`)."""
        decode = self.decode if decode is None else decode
        flatten = self.flatten if flatten is None else flatten
        check_mode(decode)
        cached = [getattr(c, "frame_cache", None) for c in chunks]
        if chunks and all(f is not None for f in cached):  # a --where filter built them already
            return self.schema.concat(cached) if observe or len(cached) > 1 else cached[0]
        df = pd.DataFrame(self._meta_columns(chunks), copy=False)  # new arrays that nothing else holds
        if not self.headers_only:
            many = observe and len(chunks) > 1  # one chunk: its whole frame is recorded below
            payload = decode_payloads(chunks, decode, flatten, release, self.schema, observe=many)
            df = pd.concat([df, payload], axis=1) if len(payload.columns) else df
        if self.shape is not None:
            df = self.shape.add_columns(df)
        cols = self.schema.order(list(df.columns))
        df = df if cols == list(df.columns) else df[cols]
        if observe and len(chunks) == 1:
            self.schema.observe(df)
        return df

    def _meta_columns(self, cs: list[Chunk]) -> dict[str, Any]:
        cat = lambda arrs: np.concatenate(arrs) if arrs else np.array([], dtype=np.int64)  # noqa: E731
        cols: dict[str, Any] = {
            "seq": cat([c.seq for c in cs]).astype(SEQ),
            "subject": str_column(list(itertools.chain.from_iterable(c.subjects for c in cs))),
            "time": pd.to_datetime(cat([c.time_ns for c in cs]), unit="ns", utc=True),
            "headers": _headers(cs),
            "size": cat([c.sizes for c in cs]),
        }
        cols.update(feature_columns(cols["headers"]))  # ttl, incr, schedule… when present (server 2.11/2.12)
        if self.durable:
            for name in DURABLE:
                cols[name] = cat([c.extra[name] for c in cs])
        return cols


def _headers(cs: list[Chunk]) -> np.ndarray:
    """The headers column; a chunk without any headers is one fill (numpy checks each item of a list)."""
    parts = [np.full(len(c.headers), None, dtype=object) if c.headers.count(None) == len(c.headers)
             else _object_array(c.headers) for c in cs]
    return np.concatenate(parts) if parts else _object_array([])


def _object_array(values: list) -> np.ndarray:
    """An object array that holds dicts as values (numpy would try to broadcast them)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def make_chunk(seq, time_ns, subjects, headers, datas, extra=None, headers_only=False) -> Chunk:
    """A :class:`Chunk` from parallel lists (what a reader gathered for a batch of messages)."""
    if headers_only:  # the server sent the size in a header and an empty payload
        sizes = np.array([int((h or {}).pop("Nats-Msg-Size", 0)) for h in headers], dtype=np.int64)
        headers = [h or None for h in headers]
        buf = b""
    else:
        sizes = np.fromiter(map(len, datas), dtype=np.int64, count=len(datas))
        buf = SEP.join(datas)
    return Chunk(np.asarray(seq, dtype=np.int64), np.asarray(time_ns, dtype=np.int64), subjects, headers,
                 sizes, buf, extra or {})


@dataclasses.dataclass
class Bounds:
    """Where a replay stops: a last stream sequence, a last time, a row count."""

    end_seq: int | None = None
    until_ns: int | None = None
    count: int | None = None


class Collector:
    """Adds chunks to :class:`Rows`, cutting the one that crosses a bound; ``done`` once crossed."""

    def __init__(self, rows: Rows, bounds: Bounds) -> None:
        self.rows, self.bounds, self.done, self.kept = rows, bounds, False, 0
        self.last: Chunk | None = None  # what the last add kept (a durable read acks or gives back the rest)
        self.last_within = 0  # how many rows of the last chunk were inside the --end-seq/--until bounds
        self.read = 0  # messages read within the bounds, before --where/--grep/--header kept some
        self.newest = 0  # the highest sequence read within the bounds (a --last* read must reach the leader's)
        self.progress: Any = None  # a ui Progress hears ``read`` of a filtered read (its percent follows it)

    def add(self, chunk: Chunk) -> bool:
        """Keep what is inside the bounds; True when the replay should stop."""
        b, keep = self.bounds, len(chunk)
        if b.end_seq is not None:
            keep = min(keep, int(np.searchsorted(chunk.seq, b.end_seq, side="right")))
        if b.until_ns is not None:
            over = np.flatnonzero(chunk.time_ns[:keep] > b.until_ns)
            keep = int(over[0]) if len(over) else keep
        cut, self.last_within = keep < len(chunk), keep
        self.read += keep
        if keep:
            self.newest = max(self.newest, int(chunk.seq[:keep].max()))
        chunk = self.rows.matching(chunk.take(keep))  # -n counts matches when filtering
        keep = len(chunk) if b.count is None else min(len(chunk), b.count - self.kept)
        self.last = chunk.take(keep)
        self.rows.add(self.last)
        self.kept += keep
        shape = self.rows.shape
        if shape is not None and shape.filters and hasattr(self.progress, "read"):
            self.progress.read = self.read
        if cut or (b.count is not None and self.kept >= b.count):
            self.done = True
        return self.done
