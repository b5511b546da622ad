"""Optimistic publishing: ``--expect-stream``, ``--expect-last-seq``, ``--expect-last-subject-seq``.

The server refuses a message whose expectation headers do not hold.  With several
messages the first is sent alone and checked against the user's number (a mismatch
publishes nothing); each later one expects the sequence the message before it got, so a
batch stops being accepted from the point where someone else wrote.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from ..core.errors import PublishError
from .acks import AckWindow
from .sources import Message

EXPECTED_STREAM = "Nats-Expected-Stream"
EXPECTED_LAST_SEQ = "Nats-Expected-Last-Sequence"
EXPECTED_LAST_SUBJECT_SEQ = "Nats-Expected-Last-Subject-Sequence"


def chains(expect: dict[str, Any]) -> bool:
    """Whether ``expect`` asks for sequence checks (then messages are chained to the first)."""
    return "last_seq" in expect or "last_subject_seq" in expect


def chained(headers: dict, expect: dict, k: int, first_seq: int, subject: str, subject_last: dict) -> dict:
    """Expectation headers: the first message against the user's numbers, later ones against the message before.

    Later messages expect the sequence the message before them will get (the first ack's
    seq + position); ``subject_last`` tracks the last sequence per subject as messages go.
    """
    if "last_seq" in expect:
        headers[EXPECTED_LAST_SEQ] = str(expect["last_seq"] if k == 0 else first_seq + k - 1)
    if "last_subject_seq" in expect:
        headers[EXPECTED_LAST_SUBJECT_SEQ] = str(subject_last.get(subject, expect["last_subject_seq"]))
        if k > 0:
            subject_last[subject] = first_seq + k
    return headers


async def first_ack(acks: AckWindow, expect: dict) -> int:
    """Wait for the first message's ack; a refused expectation stops everything before more is sent.

    The error's ``.result`` is the :class:`~jsmagic.publishing.result.PublishResult` (one refused message).
    """
    await acks.settle()
    res = acks.result
    if 0 in res.errors:
        asked = ", ".join(f"--expect-{k.replace('_', '-')} {v}" for k, v in expect.items() if k != "stream")
        err = PublishError(
            f"{asked} refused by the server: {res.errors[0]}; nothing published",
            hint="check the stream's last sequences with %js_stream info",
        )
        err.result = res
        raise err
    return res.seqs[0]


def with_header(messages: Iterable[Message], key: str, value: str) -> Iterator[Message]:
    """The same messages with one more header (``Nats-Expected-Stream`` on every message)."""
    for ref, subject, payload, headers in messages:
        h = dict(headers or {})
        h[key] = value
        yield ref, subject, payload, h
