"""Find every MSG/HMSG frame of a receive buffer with numpy, without a Python step per frame.

A frame starts at the buffer's start or right after a ``\\r\\n``; its header line ends at
the next ``\\r``; the spaces inside that line split it into subject, sid, reply subject
and sizes.  :func:`scan` computes all of that for every candidate at once (a handful of
array operations over the buffer) and returns :class:`Spans`.  A candidate is only
*trusted* when the chain holds: frame ``k+1`` starts exactly where frame ``k`` ends.  A
``\\r\\nMSG `` inside a payload is never reached by the chain and so never read as a
frame; anything the chain does not cover (PING, INFO, ``-ERR``, status messages) is left
to the sequential parser (:func:`jsmagic.reading.wire.parse.parse`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

_SP, _CR, _LF = (ord(c) for c in " \r\n")
_MSG_ = int.from_bytes(b"MSG ", "little")
_HMS = int.from_bytes(b"HMS", "little")


@dataclasses.dataclass
class Spans:
    """Per candidate frame (int64 arrays): where it starts and ends, its parts, and whether it is ours."""

    start: np.ndarray
    end: np.ndarray  # after the trailing \r\n
    subject: tuple[np.ndarray, np.ndarray]
    reply: tuple[np.ndarray, np.ndarray]
    header: tuple[np.ndarray, np.ndarray]  # empty span: no headers
    payload: tuple[np.ndarray, np.ndarray]
    ok: np.ndarray  # a well-formed data message of our sid, complete in the buffer

    def __post_init__(self) -> None:
        chain = self.ok[1:] & (self.start[1:] == self.end[:-1])
        self._breaks = np.flatnonzero(~chain) + 1  # candidates that do not continue the chain before them

    def at(self, pos: int) -> int:
        """The candidate that starts at ``pos``, or -1."""
        k = int(np.searchsorted(self.start, pos))
        return k if k < len(self.start) and self.start[k] == pos and self.ok[k] else -1

    def run(self, k: int) -> int:
        """The end (exclusive) of the chain of trusted frames that starts at trusted candidate ``k``."""
        i = int(np.searchsorted(self._breaks, k, side="right"))
        return int(self._breaks[i]) if i < len(self._breaks) else len(self.start)


def _digits(arr: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The decimal numbers in ``arr[a:b]`` for every span, and which spans were not all digits."""
    n = b - a
    val = np.zeros(len(a), dtype=np.int64)
    bad = (n <= 0) | (n > 18)
    top = len(arr) - 1
    fits = n[~bad]  # a span longer than 18 is bad whatever it holds: its digits are not worth a pass
    for k in range(int(fits.max()) if len(fits) else 0):
        m = n > k
        d = arr[np.minimum(a + k, top)].astype(np.int64) - 48
        bad |= m & ((d < 0) | (d > 9))
        val = np.where(m, val * 10 + d, val)
    return val, bad


def scan(data: bytes, sid: bytes) -> Spans:
    """Every candidate frame of ``data`` (see the module doc); ``sid`` is our subscription's id."""
    arr = np.frombuffer(data, dtype=np.uint8)
    size = len(arr)
    empty = np.zeros(0, np.int64)
    cr = np.flatnonzero(arr == _CR) if size >= 16 else empty
    if not len(cr):  # not even one complete line: the sequential parser waits for more
        z = (empty, empty)
        return Spans(empty, empty, z, z, z, z, np.zeros(0, bool))
    after = cr[cr + 5 < size] + 2
    start = np.concatenate(([0], after[arr[after - 1] == _LF]))
    # the first four bytes of every line at once (an overlapping little-endian uint32 view of the buffer)
    head = np.ndarray((size - 3,), dtype="<u4", buffer=arr, strides=(1,))[start]
    hmsg = (head & 0xFFFFFF) == _HMS
    msg = head == _MSG_
    start = start[hmsg | msg]
    hmsg = hmsg[hmsg | msg]
    # the header line: up to the next \r (the chain check rejects candidates whose line is not complete)
    i = np.searchsorted(cr, start)
    complete = i < len(cr)
    line_end = np.where(complete, cr[np.minimum(i, len(cr) - 1)], size)
    sp = np.flatnonzero(arr == _SP)
    j0 = np.searchsorted(sp, start)
    nsp = np.searchsorted(sp, line_end) - j0
    fields = np.where(hmsg, 5, 4)
    ok = complete & (nsp == fields)
    top = max(len(sp) - 1, 0)

    def space(k):
        return sp[np.minimum(j0 + k, top)] if len(sp) else np.zeros(len(start), np.int64)

    s0, s1, s2, s3 = space(0), space(1), space(2), space(3)
    s4 = np.where(hmsg, space(4), line_end)
    sid_len = s2 - s1 - 1
    ok &= sid_len == len(sid)
    for k, c in enumerate(sid):
        ok &= arr[np.minimum(s1 + 1 + k, size - 1)] == c
    total, bad_t = _digits(arr, np.where(hmsg, s4 + 1, s3 + 1), line_end)
    if hmsg.any():
        hsize, bad_h = _digits(arr, s3 + 1, s4)
        hsize = np.where(hmsg, hsize, 0)
    else:  # MSG only (the common case): no header sizes to read
        hsize, bad_h = np.zeros(len(start), np.int64), np.zeros(len(start), bool)
    ok &= ~bad_t & ~(hmsg & bad_h) & (hsize <= total)
    body = line_end + 2
    end = body + total + 2
    ok &= end <= size
    ok &= arr[np.minimum(line_end + 1, size - 1)] == _LF
    ok &= arr[np.clip(end - 2, 0, size - 1)] == _CR
    return Spans(start, end, (s0 + 1, s1), (s2 + 1, s3), (body, body + hsize), (body + hsize, body + total), ok)
