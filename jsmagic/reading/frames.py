"""Messages → a pandas DataFrame, built column-wise (never a list of per-message dicts).

A replay gathers messages in *chunks* (:class:`Rows`): the stream sequences, times and
delivery counters as int64 arrays, subjects and headers as lists, and the payloads of a
chunk kept as ONE bytes buffer joined with ``b"],["``.  That buffer is what makes the
JSON fast path cheap: ``orjson.loads(b"[[" + buf + b"]]")`` decodes a whole chunk in one
call (about 4x faster than one ``json.loads`` per message); a random string put between
the payloads for that parse proves that no payload spilled into its neighbour (``1,2``
beside an empty payload, or an unterminated ``"a``, would).
Any payload can still be sliced back out of the buffer, so falling back to per-message
decoding never loses a byte.

Columns: ``seq, subject, time (UTC), headers, size`` (+ ``consumer_seq, num_delivered,
pending`` for durable consumers), then the payload: one column per top-level key when
every payload is a JSON object, else a ``data`` column.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from typing import Any

import numpy as np
import orjson
import pandas as pd

from ..core.decode import MODES, decode_value, value_column
from ..core.errors import InputError
from .features import feature_columns

SEP = b"],["
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
        return Chunk(
            self.seq[:n], self.time_ns[:n], self.subjects[:n], self.headers[:n], self.sizes[:n],
            self.buf[:end], {k: v[:n] for k, v in self.extra.items()},
        )


class Rows:
    """The chunks of one replay, in order; :meth:`frame` turns them into a DataFrame."""

    def __init__(self, durable: bool = False, headers_only: bool = False) -> None:
        self.chunks: list[Chunk] = []
        self.durable = durable
        self.headers_only = headers_only

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks)

    def add(self, chunk: Chunk) -> None:
        if len(chunk):
            self.chunks.append(chunk)

    def replies(self) -> list[str]:
        """Durable mode: the ack subjects of the kept messages (acked after the frame is built)."""
        return [r for c in self.chunks for r in c.extra.get("reply", ())]

    def subjects(self) -> set[str]:
        out: set[str] = set()
        for c in self.chunks:
            out.update(c.subjects)
        return out

    def frame(self, decode: str = "auto", flatten: bool = False) -> pd.DataFrame:
        """The complete DataFrame: metadata columns, then the payload decoded per ``decode``."""
        if decode not in MODES:
            raise InputError(f"unknown decode mode {decode!r}", hint=f"use one of {', '.join(MODES)}")
        meta = self._meta_columns()
        if self.headers_only:
            return pd.DataFrame(meta)
        df = pd.DataFrame(meta)
        payload = decode_payloads(self.chunks, decode, flatten)
        payload.columns = [f"data.{k}" if k in df.columns else str(k) for k in payload.columns]
        return pd.concat([df, payload], axis=1) if len(payload.columns) else df

    def _meta_columns(self) -> dict[str, Any]:
        cs = self.chunks
        cat = lambda arrs: np.concatenate(arrs) if arrs else np.array([], dtype=np.int64)  # noqa: E731
        cols: dict[str, Any] = {
            "seq": cat([c.seq for c in cs]).astype(np.uint64),
            "subject": pd.array([s for c in cs for s in c.subjects], dtype="str"),
            "time": pd.to_datetime(cat([c.time_ns for c in cs]), unit="ns", utc=True),
            "headers": _object_array([h for c in cs for h in c.headers]),
            "size": cat([c.sizes for c in cs]),
        }
        cols.update(feature_columns(cols["headers"]))  # ttl, incr, schedule… when present (server 2.11/2.12)
        if self.durable:
            for name in DURABLE:
                cols[name] = cat([c.extra[name] for c in cs])
        return cols


def _object_array(values: list) -> np.ndarray:
    """An object array that holds dicts as values (numpy would try to broadcast them)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def decode_payloads(chunks: list[Chunk], mode: str, flatten: bool) -> pd.DataFrame:
    """The payload columns of all chunks: per-key columns for JSON objects, else ``data``."""
    if mode == "bytes":
        return pd.DataFrame({"data": _object_array([p for c in chunks for p in c.payloads()])})
    if mode == "text":
        return pd.DataFrame({"data": pd.array([_text(c, i) for c in chunks for i in range(len(c))], dtype="str")})
    parts = []  # one frame per chunk while every payload so far is a JSON object
    for chunk in chunks:
        vals = _json_chunk(chunk, strict=mode == "json")
        if vals is None or not _all_objects(vals):
            return _data_column(chunks, mode)
        if flatten:
            vals = [flatten_dict(v) for v in vals]
        parts.append(pd.DataFrame.from_records(vals) if vals else pd.DataFrame())
        del vals  # the dicts go as soon as their values sit in columns: they are the peak memory
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _data_column(chunks: list[Chunk], mode: str) -> pd.DataFrame:
    """Not all JSON objects: one ``data`` column, each chunk decoded again from its buffer."""
    out: list[Any] = []
    for chunk in chunks:
        vals = _json_chunk(chunk, strict=mode == "json")
        out.extend(vals if vals is not None else [decode_value(p, "auto") for p in chunk.payloads()])
    return pd.DataFrame({"data": value_column(out)})


def _text(chunk: Chunk, i: int) -> str:
    """A payload as UTF-8 text, or an error naming its sequence."""
    try:
        return chunk.payload(i).decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(
            f"message seq {int(chunk.seq[i])} is not UTF-8 text ({e.reason} at byte {e.start})",
            hint="use --decode bytes or --decode auto",
        ) from None


def _json_chunk(chunk: Chunk, strict: bool) -> list[Any] | None:
    """All payloads of a chunk as JSON values in one orjson call; None if any is not JSON.

    The joined buffer is parsed as one document with a random string between payloads
    (``[[p1],"nonce",[p2]...]``).  Without it neighbours could merge or split: ``1,2``
    next to an empty payload parsed as the two values 1 and 2, and an unterminated
    ``"a`` swallowed the separator.  Accepting the result only when every nonce sits
    between exactly-one-value lists proves each payload is one JSON value on its own,
    with C-level checks only.
    """
    n = len(chunk)
    if not n:
        return []
    if chunk.buf.count(SEP) == n - 1:  # no payload contains the separator itself
        nonce = "x" + os.urandom(8).hex()
        try:
            wrapped = orjson.loads(b"[[" + chunk.buf.replace(SEP, b'],"' + nonce.encode() + b'",[') + b"]]")
        except orjson.JSONDecodeError:
            wrapped = None
        if wrapped is not None and len(wrapped) == 2 * n - 1:
            values, marks = wrapped[::2], wrapped[1::2]
            if (marks.count(nonce) == n - 1 and set(map(type, values)) <= {list}
                    and set(map(len, values)) <= {1}):
                return list(itertools.chain.from_iterable(values))
    # Some payload is not JSON (or holds the separator): find which, one at a time.
    out = []
    for i in range(n):
        try:
            out.append(orjson.loads(chunk.payload(i)))
        except orjson.JSONDecodeError as e:
            if strict:
                raise InputError(
                    f"message seq {int(chunk.seq[i])} is not JSON ({e})", hint="use --decode auto, text or bytes"
                ) from None
            return None
    return out


def _all_objects(values: list[Any]) -> bool:
    return set(map(type, values)) == {dict} if values else True


def flatten_dict(obj: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}`` (lists are values, not flattened)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if type(value) is dict and value:
            out.update(flatten_dict(value, name + "."))
        else:
            out[name] = value
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

    def add(self, chunk: Chunk) -> bool:
        """Keep what is inside the bounds; True when the replay should stop."""
        b, keep = self.bounds, len(chunk)
        if b.end_seq is not None:
            keep = min(keep, int(np.searchsorted(chunk.seq, b.end_seq, side="right")))
        if b.until_ns is not None:
            over = np.flatnonzero(chunk.time_ns[:keep] > b.until_ns)
            keep = int(over[0]) if len(over) else keep
        if b.count is not None:
            keep = min(keep, b.count - self.kept)
        self.rows.add(chunk.take(keep))
        self.kept += keep
        if keep < len(chunk) or (b.count is not None and self.kept >= b.count):
            self.done = True
        return self.done
