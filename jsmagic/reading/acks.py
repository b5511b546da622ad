"""Ack subjects, the one place they are read: what a delivered message's reply subject says.

A consumer delivers every stored message with a reply subject that names the message:

* v1 (9 tokens): ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>``;
* v2 (11 tokens, the form of ``feature_flags { js_ack_fc_v2: true }`` on 2.14/2.15, announced
  as the default of 2.16): ``$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.
  <sseq>.<cseq>.<ts>.<pending>``, where the domain is ``_`` when there is none; a 12th token
  may follow (the server is allowed to add it), and is ignored.

Stream, consumer and domain names hold no dots, so the form follows from the token count
alone.  :func:`parse_ack` reads one subject into an :class:`Ack`; :class:`AckFormat` reads a
consumer's subjects in bulk: its form is decided once, from the first subject (the head
``$JS.ACK.[<domain>.<hash>.]<stream>.<consumer>.`` is the same for every message of a
consumer), and the five numbers of a whole chunk are read with one ``np.fromstring``.
:data:`ACTIONS` are the bodies a client answers an ack subject with.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..core.errors import JSMagicError
from ..jsapi import ACK_PREFIX

ACTIONS = {"ack": b"+ACK", "nak": b"-NAK", "term": b"+TERM", "in_progress": b"+WPI"}
ACK_HEAD, ACK_HEAD_BYTES = ACK_PREFIX, ACK_PREFIX.encode()  # what every ack subject starts with
_PREFIX_B = ACK_HEAD_BYTES
_HEAD_TOKENS = {9: 4, 11: 6, 12: 6}  # tokens in an ack subject -> tokens before its five numbers
_DOT, _SPACE = ord("."), ord(" ")
_ROW = 128  # the five numbers take at most 5 x 20 bytes: a longer span is not read as a row (see _padded)


class AckSubjectError(JSMagicError):
    """A reply subject that is not an ack subject of a form jsmagic knows."""

    hint = "the server sent an ack subject of an unknown form: report it with the server's version"


class Ack(NamedTuple):
    """What one ack subject says about its message (the numbers as ints; ``domain`` "" when none)."""

    stream: str
    consumer: str
    delivered: int
    stream_seq: int
    consumer_seq: int
    timestamp_ns: int
    pending: int
    domain: str = ""
    account: str = ""  # the account's hash (v2 only)


def is_ack(reply: str | bytes | None) -> bool:
    """Whether ``reply`` is an ack subject, i.e. the message came from a stream through a consumer."""
    if not reply:
        return False
    return reply.startswith(ACK_PREFIX) if isinstance(reply, str) else bytes(reply).startswith(_PREFIX_B)


def _head_tokens(count: int, reply: Any) -> int:
    head = _HEAD_TOKENS.get(count)
    if head is None:
        raise AckSubjectError(f"unexpected ack subject {reply!r} ({count} tokens; 9, 11 or 12 expected)")
    return head


def parse_ack(reply: str | bytes) -> Ack:
    """One ack subject → :class:`Ack` (v1 or v2, with or without the trailing token)."""
    text = reply.decode("ascii", "replace") if isinstance(reply, (bytes, bytearray, memoryview)) else reply
    if not is_ack(text):
        raise AckSubjectError(f"not an ack subject: {text!r}")
    t = text.split(".")
    head = _head_tokens(len(t), text)
    try:
        delivered, sseq, cseq, ts, pending = (int(x) for x in t[head : head + 5])
    except ValueError:
        raise AckSubjectError(f"unexpected ack subject {text!r} (its numbers are not numbers)") from None
    domain, account = ("", "") if head == 4 else ("" if t[2] == "_" else t[2], t[3])
    return Ack(t[head - 2], t[head - 1], delivered, sseq, cseq, ts, pending, domain, account)


class AckFormat:
    """One consumer's ack subjects, read in bulk: the form learned from the first subject.

    ``numbers`` (the wire reader's frames), ``numbers_in`` (spans of a buffer) and
    ``numbers_of`` (a list of str) all return int64 rows of ``delivered, stream seq,
    consumer seq, timestamp ns, pending``, one per message, in order.
    """

    def __init__(self, first: str | bytes) -> None:
        raw = first.encode() if isinstance(first, str) else bytes(first)
        if not raw.startswith(_PREFIX_B):
            raise AckSubjectError(f"not an ack subject: {raw[:80]!r}")
        tokens = raw.split(b".")
        self.tokens = len(tokens)
        head = _head_tokens(self.tokens, raw)
        self.v2 = head == 6
        self.trailing = self.tokens == 12  # a token after the five numbers, to be cut off
        self.head = b".".join(tokens[:head]) + b"."
        self.head_str = self.head.decode("ascii", "replace")

    def drained(self, reply: str) -> bool:
        """Whether this message's pending count is 0 (nothing more was waiting when it was sent)."""
        return (reply[: reply.rindex(".")] if self.trailing else reply).endswith(".0")

    def numbers(self, fr: Any, data: bytes) -> np.ndarray:
        """The rows of the wire reader's :class:`~jsmagic.reading.wire.parse.Frames` (reply spans into ``data``)."""
        return self.numbers_in(data, fr.spans["replya"], fr.spans["replyb"])

    def numbers_in(self, data: bytes, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The rows of the ack subjects at ``data[a[i]:b[i]]``: the numbers are joined straight from the buffer."""
        n = len(a)
        if not n:
            return np.zeros((0, 5), np.int64)
        cut = len(self.head)
        if not all(data[x : x + cut] == self.head for x in a[:: max(1, n // 8)].tolist()):
            raise AckSubjectError(f"ack subjects of one consumer changed form (expected {self.head_str}…)")
        a = a + cut
        if self.trailing:
            b = _last_dot(data, a, b)
        return self._read(_padded(data, a, b), n)

    def numbers_of(self, replies: list[str]) -> np.ndarray:
        """The rows of a list of ack subjects (str) of this consumer."""
        n = len(replies)
        if not n:
            return np.zeros((0, 5), np.int64)
        p = len(self.head_str)
        if not all(r.startswith(self.head_str) for r in replies[:: max(1, n // 8)]):
            raise AckSubjectError(f"ack subjects of one consumer changed form (expected {self.head_str}…)")
        tails = [r[p : r.rindex(".")] for r in replies] if self.trailing else [r[p:] for r in replies]
        return self._read(".".join(tails), n)

    def _read(self, text: str | bytes, n: int) -> np.ndarray:
        try:
            nums = np.fromstring(text, dtype=np.int64, sep=".")
        except ValueError:  # a subject with other tokens where the numbers should be
            nums = None
        if nums is None or len(nums) != 5 * n:
            raise AckSubjectError(f"unexpected ack subjects (expected {self.head_str}<5 numbers>"
                                  f"{'.<token>' if self.trailing else ''})")
        return nums.reshape(-1, 5)


def _padded(data: bytes, a: np.ndarray, b: np.ndarray) -> bytes:
    """The spans ``data[a[i]:b[i]]`` as one text for ``np.fromstring(sep=".")``, without a bytes object per span.

    Each span becomes a row of a fixed width (the longest span + 1), copied in one numpy gather
    from a strided window view of the buffer: the bytes after a span's end are blanked to
    spaces and its last column is a ``.``.  ``np.fromstring`` skips whitespace around a
    separator, so ``1.2.3.4.5   .6.7…`` reads as ``b".".join(spans)`` does (about 2x faster
    than slicing every span)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    n = b - a
    width = int(n.max()) + 1
    if not 2 <= width <= min(_ROW, len(arr)) or int(a.max()) > len(arr) - width:  # not five numbers, or too near the end
        return b".".join([data[x:y] for x, y in zip(a.tolist(), b.tolist())])
    rows = np.lib.stride_tricks.as_strided(arr, shape=(len(arr) - width + 1, width), strides=(1, 1))[a]
    rows[np.arange(width) >= n[:, None]] = _SPACE
    rows[:, -1] = _DOT
    return rows.tobytes()


def _last_dot(data: bytes, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For every span ``data[a[i]:b[i]]``, the position of its last ``.`` (array operations, no loop per span)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    n = b - a
    width = int(n.max())
    cols = np.arange(width)
    rows = arr[np.minimum(a[:, None] + cols, len(arr) - 1)]
    dots = (rows == _DOT) & (cols < n[:, None])
    if not dots.any(axis=1).all():
        raise AckSubjectError("unexpected ack subjects (no token after the numbers)")
    return a + (width - 1 - np.argmax(dots[:, ::-1], axis=1))
