"""Atomic batch publish (server 2.12, ADR-50): every message stored, or none.

Each message carries ``Nats-Batch-Id`` and ``Nats-Batch-Sequence``; the last one also
``Nats-Batch-Commit: 1``.  The server stages them and stores them together when the commit
arrives, answering the commit with one ack that holds ``batch`` and ``count``; any refusal
(a stream without ``allow_atomic``, more than the server's batch limit, an expectation that
does not hold) stores nothing.  The first message and the commit carry a reply subject:
the first is answered with an empty "go on", the commit with the ack or the reason.

A batch larger than the limit (1,000 messages on the 2.12-2.15 servers) is refused before
anything is sent, unless ``split=True``: then it goes as several atomic batches, each
all-or-nothing, the whole no longer so (the result says so).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Callable

import orjson

from ..core.config import settings
from ..core.errors import InputError, PublishError
from .result import PublishResult, ranges
from .sources import Message

BATCH_LIMIT = 1000
"""The most messages in one atomic batch on the pinned servers (their refusal says the same number)."""

BATCH_ID, BATCH_SEQ, BATCH_COMMIT = "Nats-Batch-Id", "Nats-Batch-Sequence", "Nats-Batch-Commit"
FIRST_ONLY = ("Nats-Expected-Last-Sequence", "Nats-Expected-Last-Subject-Sequence")


def plan(messages: list[Message], split: bool, limit: int = BATCH_LIMIT) -> list[list[Message]]:
    """The batches to send: one, or ``limit``-sized ones with ``split``; too many without it is an error."""
    if not messages:
        raise InputError("nothing to publish")
    if len(messages) > limit and not split:
        raise InputError(f"{len(messages):,} messages is more than one atomic batch may hold ({limit:,}); nothing published",
                         hint=f"publish fewer, or add --split: atomic batches of {limit:,}, no longer atomic as a whole")
    return [messages[i:i + limit] for i in range(0, len(messages), limit)]


def one_stream(index: Any, subjects: list[str], kind: str = "an atomic") -> None:
    """A batch (atomic or fast) goes to one stream: refuse subjects that land in different streams."""
    if index is None:
        return
    owners = sorted({s for subj in subjects for s in index.capturing(subj)})
    if len(owners) > 1:
        raise InputError(f"{kind} batch is stored in one stream, these subjects go to {', '.join(owners)}; "
                         "nothing published", hint="publish each stream's messages as a batch of its own")


async def publish_atomic(nc: Any, messages: list[Message], *, split: bool = False, ref_name: str = "line",
                         check: Callable[[str], None] | None = None, progress: Callable | None = None,
                         timeout: float | None = None) -> PublishResult:
    """Publish ``messages`` as one atomic batch (or ``split`` ones); the result has each batch's id and count.

    A refused batch stores nothing and raises :class:`PublishError` in one line; with
    ``split``, batches before it stay stored, and the error says which messages they hold.
    """
    timeout = timeout or settings().timeout
    batches = plan(messages, split)
    for _ref, subject, payload, headers in messages:
        if check is not None:
            check(subject)
        if len(payload) > nc.max_payload:
            raise InputError(f"a message of {len(payload):,} bytes is larger than max_payload; nothing published")
    result = PublishResult(ref_name, len(messages))
    result.split = len(batches) > 1
    for number, batch in enumerate(batches, 1):
        try:
            ack = await _send(nc, batch, timeout)
        except asyncio.CancelledError:
            result.interrupted = True
            return result
        if "error" in ack:
            raise _refused(result, ack["error"], number, len(batches), len(batch))
        _record(result, batch, ack)
        if progress:
            progress(result.acked, result.total)
    return result


async def _send(nc: Any, batch: list[Message], timeout: float) -> dict:
    """Send one batch; the first non-empty answer (the commit's ack, or the reason it was refused)."""
    batch_id = uuid.uuid4().hex
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    try:
        last = len(batch)
        for i, (_ref, subject, payload, headers) in enumerate(batch, 1):
            hdrs = {k: v for k, v in (headers or {}).items() if i == 1 or k not in FIRST_ONLY}
            hdrs[BATCH_ID], hdrs[BATCH_SEQ] = batch_id, str(i)
            if i == last:
                hdrs[BATCH_COMMIT] = "1"
            await nc.publish(subject, payload, reply=inbox if i in (1, last) else "", headers=hdrs)
        while True:
            try:
                msg = await sub.next_msg(timeout=timeout)
            except Exception:
                return {"error": {"description": f"no answer to the commit within {timeout:g}s (the batch may be lost)"}}
            if msg.data:
                return orjson.loads(msg.data)
            status = (msg.headers or {}).get("Status")
            if status == "503":
                return {"error": {"description": "no responders: no stream captures this subject"}}
    finally:
        await sub.unsubscribe()


def _record(result: PublishResult, batch: list[Message], ack: dict) -> None:
    """A committed batch: consecutive sequences ending at the ack's, the batch id and count on each row."""
    first_pos, count, last_seq = result.sent, int(ack.get("count", len(batch))), int(ack["seq"])
    for i, (ref, subject, _payload, _headers) in enumerate(batch):
        result.refs.append(ref)
        result.subjects.append(subject)
        result.streams.append(ack["stream"])
        result.seqs.append(last_seq - len(batch) + 1 + i)
        result.duplicate.append(0)
        result.answered.append(1)
    result.batches.append((first_pos, result.sent - 1, ack.get("batch", ""), count))


def _refused(result: PublishResult, error: dict, number: int, of: int, size: int) -> PublishError:
    """The one line a refused batch gives: the server's reason, and what is (not) stored."""
    why = error.get("description", "refused")
    code = error.get("err_code")
    why += f" (error {code})" if code else ""
    if result.sent == 0:
        err = PublishError(f"atomic batch of {size:,} refused: {why}; nothing stored",
                           hint="fix the cause and publish again (nothing to clean up)")
    else:
        done = ranges(result.refs[k] for k in range(result.sent))
        err = PublishError(f"atomic batch {number} of {of} refused: {why}; batches 1-{number - 1} are stored "
                           f"({result.ref_name}s {done}), the rest is not",
                           hint="publish the rest again once the cause is fixed")
    err.result = result
    return err
