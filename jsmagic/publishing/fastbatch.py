"""Fast batch publish (server 2.14, ADR-50 rev 7-9): many messages, acked every N, in order, not atomic.

The batch lives in the reply subjects: ``<inbox>.<id>.<flow>.<gap>.<n>.<op>.$FI`` with
``op`` 0 (start), 1 (append), 2 (commit: store this last message) or 4 (ping).  The
server answers on that inbox:

- ``{"type":"ack","seq":N,"msgs":M}`` — messages up to batch sequence N are stored, the
  next flow ack comes after M more (the server sets M, never above the ``flow`` asked);
- ``{"type":"gap",...}`` / ``{"type":"err","seq":N,"error":{...}}`` — a message lost or
  refused (an expectation that does not hold);
- a pub ack ``{"stream","seq","batch","count"}`` (or ``{"error"}``) that ends the batch.

Gap mode ``fail`` (the one used here): the server stores the batch in order and stops at
the first gap or refusal, acking the ``count`` stored before it; nothing after it is.
The client waits for a flow ack whenever ``outstanding`` of them are due (flow control),
and pings when one is late.  Unlike an atomic batch there is no 1,000-message limit and
no staging; a stream refuses it unless ``allow_batched`` is on (``%js_stream edit S
--allow-fast``).  The acks name the batch, not each message: the stream sequence is known
for the last stored message, the others are stored before it in order (another writer
may interleave).  The ack counts a duplicate (``Nats-Msg-Id``) as stored without saying
which it was, so ``--msg-id`` is refused with ``--fast``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Callable

import orjson

from ..core.config import settings
from ..core.errors import InputError, PublishError
from ..core.units import plural
from .result import PublishResult
from .sources import Message

log = logging.getLogger(__name__)

FLOW = 100
"""The most messages between two flow acks the client asks for (the server may ask for fewer)."""

OUTSTANDING = 2
"""Flow acks that may be due before sending waits (ADR-50: 2 keeps the server busy while an ack travels)."""

START, APPEND, COMMIT, PING = 0, 1, 2, 4
MSG_ID = "Nats-Msg-Id"
PINGS = 3
"""Pings sent for a late ack before the batch is given up."""


class _Channel:
    """The batch's inbox: control messages queued as they come, read in order."""

    def __init__(self, nc: Any, prefix: str, batch_id: str, flow: int):
        self.nc, self.prefix, self.batch_id, self.flow = nc, prefix, batch_id, flow
        self.queue: asyncio.Queue = asyncio.Queue()
        self.sub: Any = None

    async def open(self) -> None:
        async def put(msg: Any) -> None:
            if msg.data:
                await self.queue.put(orjson.loads(msg.data))
            elif (msg.headers or {}).get("Status") == "503":
                await self.queue.put({"error": {"description": "no responders: no stream captures this subject"}})

        self.sub = await self.nc.subscribe(f"{self.prefix}.{self.batch_id}.>", cb=put)

    def reply(self, seq: int, op: int) -> str:
        return f"{self.prefix}.{self.batch_id}.{self.flow}.fail.{seq}.{op}.$FI"

    async def next(self, timeout: float) -> dict | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            return None

    def ready(self) -> list[dict]:
        out = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out


class _State:
    """What the server said so far: last flow ack, its frequency, the refusal and the final pub ack."""

    def __init__(self) -> None:
        self.acked, self.every, self.problem, self.final = 0, 1, None, None

    def take(self, answer: dict) -> None:
        kind = answer.get("type")
        if kind == "ack":
            self.acked, self.every = max(self.acked, int(answer.get("seq", 0))), max(1, int(answer.get("msgs", 1)))
        elif kind == "gap":
            self.problem = self.problem or f"messages {answer.get('last_seq')}-{int(answer.get('seq', 0)) - 1} of the batch lost"
        elif kind == "err":
            err = answer.get("error") or {}
            self.problem = self.problem or f"{err.get('description', 'refused')} (error {err.get('err_code')}, " \
                                           f"message {answer.get('seq')} of the batch)"
        elif self.final is None:  # a pub ack: the end of the batch (an error before anything is stored)
            self.final = answer


async def publish_fast(nc: Any, messages: list[Message], *, ref_name: str = "line",
                       check: Callable[[str], None] | None = None, progress: Callable | None = None,
                       timeout: float | None = None, flow: int = FLOW, outstanding: int = OUTSTANDING) -> PublishResult:
    """Publish ``messages`` as one fast batch; the result holds each stored message, the rest as failed.

    A stream that refuses fast batches (or a first message it refuses) stores nothing and
    raises :class:`PublishError`; a refusal mid-way keeps what was stored before it and
    returns a result whose :meth:`~PublishResult.error` says which messages were not stored.
    """
    timeout = timeout or settings().timeout
    if not messages:
        raise InputError("nothing to publish")
    for _ref, subject, payload, headers in messages:
        if headers and MSG_ID in headers:
            raise InputError("--fast does not go with --msg-id: a fast batch's ack counts duplicates as stored and "
                             "does not say which they were; nothing published",
                             hint="publish with --msg-id and no --fast (or --atomic), where each ack says duplicate")
        if check is not None:
            check(subject)
        if len(payload) > nc.max_payload:
            raise InputError(f"a message of {len(payload):,} bytes is larger than max_payload; nothing published")
    channel = _Channel(nc, nc.new_inbox(), uuid.uuid4().hex, max(1, min(int(flow), 65535)))
    await channel.open()
    state, sent = _State(), 0
    try:
        sent = await _send_all(channel, state, messages, timeout, outstanding, progress)
        while state.final is None:
            answer = await channel.next(timeout)
            if answer is None:
                state.final = _lost(f"no ack for the commit within {timeout:g}s")
            else:
                state.take(answer)
    except asyncio.CancelledError:  # kept: what the flow acks say is stored; the rest sent is unanswered
        return _result(ref_name, messages, sent, state, {"count": state.acked}, interrupted=True)
    finally:
        await channel.sub.unsubscribe()
    if state.final.get("lost"):  # no answer is not a refusal: what the flow acks covered is stored, the rest unknown
        state.problem = state.final["error"]["description"]
        return _result(ref_name, messages, sent, state, {"count": state.acked}, unknown=True)
    if "error" in state.final and not state.final.get("count"):
        err = state.final["error"]
        why = err.get("description", "refused") + (f" (error {err['err_code']})" if err.get("err_code") else "")
        if state.acked == 0:
            hint = "allow them: %js_stream edit STREAM --allow-fast (server 2.14+)" if err.get("err_code") == 10205 \
                else "fix the cause and publish again (nothing to clean up)"
            raise PublishError(f"fast batch of {len(messages):,} refused: {why}; nothing stored", hint=hint)
        state.problem = state.problem or why
        state.final = {"count": state.acked}
    result = _result(ref_name, messages, sent, state, state.final)
    if progress:  # the last figure is the true count stored
        progress(result.acked, len(messages))
    return result


async def _send_all(channel: _Channel, state: _State, messages: list[Message], timeout: float, outstanding: int,
                    progress: Callable | None) -> int:
    """Send in order, waiting for flow acks as they fall due; stop at the first problem. Returns how many went."""
    last = len(messages)
    for n, (_ref, subject, payload, headers) in enumerate(messages, 1):
        op = COMMIT if n == last else (START if n == 1 else APPEND)
        await channel.nc.publish(subject, payload, reply=channel.reply(n, op), headers=headers or None)
        if n == 1 and n != last:  # the server's first answer: allowed at all, and the flow to start at
            answer = await channel.next(timeout)
            if answer is None:
                state.final = _lost(f"no answer to the batch's first message within {timeout:g}s")
                return n
            state.take(answer)
        for answer in channel.ready():
            state.take(answer)
        while n != last and state.final is None and state.problem is None and state.acked + state.every * outstanding <= n:
            await _wait_for_ack(channel, state, n, subject, timeout)
        if progress:
            progress(state.acked, last)
        if state.final is not None or state.problem is not None:
            return n
    return last


async def _wait_for_ack(channel: _Channel, state: _State, sent: int, subject: str, timeout: float) -> None:
    """Wait for the next control message; a late one is asked for again with a ping (op 4, the highest seq sent)."""
    for attempt in range(PINGS + 1):
        answer = await channel.next(timeout / (PINGS + 1))
        if answer is not None:
            state.take(answer)
            return
        log.info("fast batch %s: no flow ack after message %d, ping %d", channel.batch_id, sent, attempt + 1)
        await channel.nc.publish(subject, b"", reply=channel.reply(sent, PING))
    state.final = _lost(f"no flow ack within {timeout:g}s after message {sent:,}")


def _lost(why: str) -> dict:
    """No answer in time: the batch's fate after the last flow ack is unknown (not refused)."""
    return {"error": {"description": why}, "lost": True}


def _result(ref_name: str, messages: list[Message], sent: int, state: _State, ack: dict,
            interrupted: bool = False, unknown: bool = False) -> PublishResult:
    """Every message sent as a row: the stored ones answered (the last with its stream seq), the rest failed."""
    result = PublishResult(ref_name, len(messages))
    result.interrupted = interrupted
    count = int(ack.get("count") or 0)
    stream, last_seq = ack.get("stream"), int(ack.get("seq") or 0)
    for i, (ref, subject, _payload, _headers) in enumerate(messages[:sent]):
        result.refs.append(ref)
        result.subjects.append(subject)
        result.streams.append(stream)
        result.seqs.append(last_seq if i == count - 1 else 0)
        result.duplicate.append(0)
        result.answered.append(1 if i < count or not interrupted else 0)
        if i >= count and unknown:
            result.errors[i] = f"unknown, stored or not (check the stream): {state.problem}"
        elif i >= count and not interrupted:
            result.errors[i] = (f"not stored, the fast batch stopped after {plural(count, 'stored message')}: "
                                f"{state.problem or 'the server ended it'}")
    if count:
        where = f", the last at seq {last_seq}" if last_seq else ""
        result.notes.append(f"one fast batch (id {ack.get('batch') or '?'}): "
                            f"{plural(count, 'message')} stored in order{where}")
    return result
