"""MSG/HMSG frames read out of a receive buffer, a whole buffer per call.

:func:`parse` returns how many bytes of ``data`` it used (an op cut at the end of the
buffer waits for the next call) and a :class:`Frames`.  Runs of data messages are found
by :func:`jsmagic.reading.wire.scan.scan` with array operations; only what breaks a run
(a PING, an INFO, ``-ERR``, a status message: ``100`` heartbeat, ``404``/``408``/``409``
ends of pull requests, ``503`` no responders) is read op by op here.  Frames keep
*spans* into ``data``: payloads are joined in one C-level pass (:meth:`Frames.joined`),
subjects mapped to shared strings, and all ack reply subjects of a batch turned into an
int64 array with one ``np.fromstring`` (:class:`jsmagic.reading.acks.AckFormat`).  Whether a
frame is a status or a stored message is decided by :func:`jsmagic.reading.status.server_status`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..acks import AckFormat
from ..frames import SEP
from ..status import Status, server_status
from .scan import scan

__all__ = ["AckFormat", "Frames", "Names", "ProtocolError", "Status", "headers_column", "message_headers", "parse"]

_SPANS = ("subject", "reply", "header", "payload")


class ProtocolError(Exception):
    """The server sent something that is not the NATS protocol."""


class Frames:
    """What one :func:`parse` call found: data messages as spans into the buffer, and the rest."""

    def __init__(self) -> None:
        self._parts: dict[str, list] = {f"{k}{e}": [] for k in _SPANS for e in "ab"}
        self._single: dict[str, list] = {k: [] for k in self._parts}
        self.statuses: list[tuple[int, Status]] = []  # (data messages before it in this parse, status)
        self.errors: list[str] = []
        self.pings = 0
        self.n = 0
        self.spans: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return self.n

    def add_run(self, spans: Any, k: int, j: int) -> None:
        self._flush_single()
        for name in _SPANS:
            a, b = getattr(spans, name)
            self._parts[name + "a"].append(a[k:j])
            self._parts[name + "b"].append(b[k:j])
        self.n += j - k

    def add_one(self, **spans: tuple[int, int]) -> None:
        for name, (a, b) in spans.items():
            self._single[name + "a"].append(a)
            self._single[name + "b"].append(b)
        self.n += 1

    def _flush_single(self) -> None:
        if self._single["subjecta"]:
            for key, values in self._single.items():
                self._parts[key].append(np.array(values, dtype=np.int64))
                values.clear()

    def done(self) -> "Frames":
        self._flush_single()
        self.spans = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in self._parts.items()}
        return self

    def pieces(self, data: bytes, name: str) -> list[bytes]:
        """The ``name`` span of every message (bytes slices in a list: joined ~2x faster than memoryviews)."""
        return spans_of(data, self.spans[name + "a"], self.spans[name + "b"])

    def first(self, data: bytes, name: str) -> bytes:
        """The ``name`` span of the first message."""
        return data[int(self.spans[name + "a"][0]) : int(self.spans[name + "b"][0])]

    def joined(self, data: bytes) -> bytes:
        """Every payload, joined with :data:`frames.SEP` (the layout of a Chunk's buffer)."""
        return SEP.join(self.pieces(data, "payload"))

    def sizes(self, name: str = "payload") -> np.ndarray:
        return self.spans[name + "b"] - self.spans[name + "a"]


def spans_of(data: bytes, a: np.ndarray, b: np.ndarray) -> list[bytes]:
    """``data[a[i]:b[i]]`` for every i."""
    return [data[x:y] for x, y in zip(a.tolist(), b.tolist())]


def parse(data: bytes, sid: bytes) -> tuple[int, Frames]:
    """Parse the complete ops at the start of ``data``; messages of other sids are skipped."""
    fr = Frames()
    spans = scan(data, sid)
    p, size = 0, len(data)
    while p < size:
        k = spans.at(p)
        if k >= 0:
            j = spans.run(k)
            fr.add_run(spans, k, j)
            p = int(spans.end[j - 1])
            continue
        nxt = _one(data, p, sid, fr)
        if nxt < 0:
            break
        p = nxt
    return p, fr.done()


def _one(data: bytes, p: int, sid: bytes, fr: Frames) -> int:
    """Read the one op at ``p``; the position after it, or -1 when it is not complete yet."""
    e = data.find(b"\r\n", p)
    if e < 0:
        return -1
    line = data[p:e]
    if line.startswith((b"MSG ", b"HMSG ")):
        parts = line.split(b" ")
        total = int(parts[-1])
        hsize = int(parts[-2]) if parts[0] == b"HMSG" else 0
        body, end = e + 2, e + 2 + total
        if end + 2 > len(data):
            return -1
        if parts[2] == sid:
            reply = parts[3] if len(parts) == (6 if parts[0] == b"HMSG" else 5) else None
            st = server_status(reply, status_headers(data[body : body + hsize])) if parts[0] == b"HMSG" else None
            if st is not None:
                fr.statuses.append((fr.n, st))
            elif reply is not None:
                r0 = p + len(b" ".join(parts[:3])) + 1
                fr.add_one(subject=(p + len(parts[0]) + 1, p + len(parts[0]) + 1 + len(parts[1])),
                           reply=(r0, r0 + len(reply)), header=(body, body + hsize), payload=(body + hsize, end))
        return end + 2
    if line == b"PING":
        fr.pings += 1
    elif line.startswith(b"-ERR"):
        fr.errors.append(line[4:].strip().strip(b"'").decode(errors="replace"))
    elif not (line == b"PONG" or line.startswith(b"INFO") or line == b"+OK"):
        raise ProtocolError(f"unexpected protocol line {line[:40]!r}")
    return e + 2


def status_headers(block: bytes) -> dict[str, str]:
    """A header block as nats-py reads it: the status line's code and words as ``Status``/``Description``."""
    first, _, rest = block.partition(b"\r\n")
    code, _, desc = first[len(b"NATS/1.0") :].strip().partition(b" ")
    out = header_lines(rest)
    if code:
        out["Status"] = code.decode(errors="replace")
        if desc.strip():
            out["Description"] = desc.strip().decode(errors="replace")
    return out


def header_lines(raw: bytes) -> dict[str, str]:
    """``Name: Value`` lines → dict, the way nats-py reads them (last value of a name wins)."""
    out: dict[str, str] = {}
    for line in raw.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        try:
            key = name.strip().decode("ascii")
        except UnicodeDecodeError:
            continue
        if not key or any(c.isspace() for c in key):
            continue
        out[key] = value.strip().decode("utf-8", "replace")
    return out


def message_headers(block: bytes) -> dict[str, str] | None:
    """A data message's header block as nats-py would give it (None when empty)."""
    _, _, rest = block.partition(b"\r\n")
    return header_lines(rest) or None


def headers_column(fr: Frames, data: bytes) -> list[dict | None]:
    """Header blocks → dicts (None where a message has none)."""
    has = fr.sizes("header") > 0
    if not has.any():
        return [None] * len(fr)
    return [message_headers(b) if b else None for b in fr.pieces(data, "header")]


class Names(dict):
    """Subject bytes → one shared str per distinct subject (``map(names.__getitem__, ...)``)."""

    def column(self, fr: Frames, data: bytes) -> list[str]:
        """Every message's subject, without a bytes slice per message.

        The subjects' bytes are gathered into a zero-padded matrix (one row per message) and rows are
        grouped by a hash of their 8-byte words; each row is then checked byte for byte against the
        first row of its group, so a hash collision only sends the batch down the per-message path.
        """
        a, b = fr.spans["subjecta"], fr.spans["subjectb"]
        n = b - a
        width = int(n.max()) if len(n) else 0
        if len(n) < 32 or not 0 < width <= 64:
            return list(map(self.__getitem__, fr.pieces(data, "subject")))
        arr = np.frombuffer(data, dtype=np.uint8)
        cols = np.arange((width + 7) // 8 * 8)
        rows = arr[np.minimum(a[:, None] + cols, len(arr) - 1)]
        rows[cols >= n[:, None]] = 0
        words = rows.view(np.uint64)
        h = n.astype(np.uint64)
        for c in range(words.shape[1]):
            h = h * np.uint64(1000003) ^ words[:, c]
        _, first, inv = np.unique(h, return_index=True, return_inverse=True)
        rep = first[inv.ravel()]
        if not ((rows == rows[rep]).all() and (n == n[rep]).all()):
            return list(map(self.__getitem__, fr.pieces(data, "subject")))
        names = np.empty(len(first), dtype=object)
        names[:] = [self[data[x:y]] for x, y in zip(a[first].tolist(), b[first].tolist())]
        return names[inv.ravel()].tolist()

    def __missing__(self, key: bytes) -> str:
        if len(self) > 100_000:
            self.clear()
        value = self[key] = key.decode("utf-8", "surrogateescape")
        return value
