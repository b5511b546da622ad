"""Pipelined JetStream publishing with every PubAck checked.

Why not ``js.publish`` in a loop (≈4k msg/s, one round trip each) or ``publish_async``
(a future, a semaphore and a callback per message)?  We publish with plain
``nc.publish`` and one shared reply-inbox subscription: message *k* carries the reply
subject ``<inbox>.<k>``, so an ack says which message it answers without any per-message
object, and a bounded window (``JSMagic.publish_window``) keeps memory and server load
in check.  Each ack is parsed (orjson) and stored column-wise; failures are kept per
message with the server's reason.

The pipeline takes any iterable of ``(ref, subject, payload, headers)`` — ``ref`` is
the cell line or the row a message came from, so failures point at the input.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from typing import Any, Callable, Iterable, Iterator, Optional

import numpy as np
import orjson
import pandas as pd

from ..core.config import settings
from ..core.registry import context
from ..ui.display import ResultFrame, result_frame
from .capture import StreamIndex, subject_checker
from ..core.errors import InputError, JSMagicError, PublishError
from ..connect.permissions import refusals
from .sources import Message

Progress = Callable[[int, int, Optional[int]], None]  # (acked, sent, total)

EXPECTED_STREAM = "Nats-Expected-Stream"
EXPECTED_LAST_SEQ = "Nats-Expected-Last-Sequence"
EXPECTED_LAST_SUBJECT_SEQ = "Nats-Expected-Last-Subject-Sequence"


# ---- the result ---------------------------------------------------------------------------

def ranges(refs: Iterable[int], limit: int = 4) -> str:
    """``1, 2, 3, 7`` → ``1–3, 7`` (at most ``limit`` ranges, then ``…``)."""
    out: list[str] = []
    start = prev = None
    for r in sorted(set(refs)):
        if prev is not None and r == prev + 1:
            prev = r
            continue
        if start is not None:
            out.append(f"{start}–{prev}" if prev != start else f"{start}")
        start = prev = r
    if start is not None:
        out.append(f"{start}–{prev}" if prev != start else f"{start}")
    return ", ".join(out[:limit]) + (", …" if len(out) > limit else "")


class PublishResult:
    """Every sent message and its ack, stored column-wise (one small entry per message)."""

    def __init__(self, ref_name: str = "line", total: int | None = None):
        self.ref_name = ref_name
        self.total = total
        self.refs = array("q")
        self.subjects: list[str] = []
        self.streams: list[str | None] = []
        self.seqs = array("q")
        self.duplicate = bytearray()
        self.answered = bytearray()
        self.errors: dict[int, str] = {}
        self.interrupted = False

    @property
    def sent(self) -> int:
        return len(self.refs)

    @property
    def acked(self) -> int:
        return self.sent - len(self.errors) - self.answered.count(0)

    def failures(self) -> dict[str, list[int]]:
        """Refs of failed messages grouped by reason (the server's words)."""
        groups: dict[str, list[int]] = {}
        for k, why in self.errors.items():
            groups.setdefault(why, []).append(self.refs[k])
        return groups

    def frame(self) -> ResultFrame:
        """The acks as a DataFrame: ref, subject, stream, seq, duplicate (+ error when any failed)."""
        seqs = np.frombuffer(self.seqs, dtype=np.int64) if self.sent else np.zeros(0, np.int64)
        cols: dict[str, Any] = {
            self.ref_name: np.frombuffer(self.refs, dtype=np.int64).copy() if self.sent else np.zeros(0, np.int64),
            "subject": self.subjects,
            "stream": self.streams,
            "seq": pd.array(seqs, dtype="Int64"),
            "duplicate": np.frombuffer(bytes(self.duplicate), dtype=np.uint8).astype(bool),
        }
        cols["seq"][seqs <= 0] = pd.NA
        unanswered = [k for k, a in enumerate(self.answered) if not a] if self.acked + len(self.errors) < self.sent else []
        if self.errors or unanswered:
            err: list[str | None] = [None] * self.sent
            for k, why in self.errors.items():
                err[k] = why
            for k in unanswered:
                err[k] = "sent, no ack (interrupted)"
            cols["error"] = err
        return result_frame(pd.DataFrame(cols), self.summary())

    def summary(self) -> str:
        """``2 messages → stream ORDERS, seq 41–42`` (+ duplicates, failures, interruption)."""
        acked = [k for k in range(self.sent) if self.answered[k] and k not in self.errors]
        by_stream: dict[str, list[int]] = {}
        for k in acked:
            by_stream.setdefault(self.streams[k], []).append(self.seqs[k])
        where = "; ".join(
            f"stream {s}, seq {min(q)}" + (f"–{max(q)}" if max(q) != min(q) else "") for s, q in by_stream.items()
        )
        n = len(acked)
        text = f"{n:,} message{'s' if n != 1 else ''}" + (f" → {where}" if where else " acknowledged")
        dups = sum(self.duplicate[k] for k in acked)
        if dups:
            text += f", {dups:,} duplicate{'s' if dups != 1 else ''} (already stored, not stored again)"
        for why, refs in self.failures().items():
            text += f"; {len(refs):,} failed ({self.ref_name}s {ranges(refs)}): {why}"
        if self.interrupted:
            # positions, not lines: with --count a line is sent many times
            missing = [k + 1 for k in range(self.sent) if not self.answered[k]]
            text = f"interrupted: {text}"
            if acked:
                text += f"; acknowledged: messages {ranges(k + 1 for k in acked)} of the publish"
            if missing:
                text += f"; {len(missing):,} sent without ack (messages {ranges(missing)})"
        if self.total is not None and self.total > self.sent:  # also when a stall stopped the send loop
            text += f"; {self.total - self.sent:,} not sent"
        return text


# ---- the pipeline -------------------------------------------------------------------------

class _Pipeline:
    """The send loop and the ack callback of one publish call, sharing counters without locks."""

    def __init__(self, nc: Any, result: PublishResult, window: int, timeout: float):
        self.nc, self.result, self.window, self.timeout = nc, result, window, timeout
        self.prefix = nc.new_inbox() + "."
        self.plen = len(self.prefix)
        self.inflight = 0
        self.room = asyncio.Event()
        self.wake_at = window // 2
        self.streams: dict[str, str] = {}
        self.started = time.monotonic()
        self.refusals = refusals(nc)

    async def on_ack(self, msg: Any) -> None:
        """Record one PubAck (or the server's refusal) against the message it answers."""
        res = self.result
        try:
            k = int(msg.subject[self.plen:])
        except ValueError:
            return
        if k >= res.sent or res.answered[k]:
            return
        res.answered[k] = 1
        self.inflight -= 1
        data = msg.data
        if not data:
            status = (msg.headers or {}).get("Status", "")
            res.errors[k] = "no responders: no stream captures this subject" if status == "503" else f"server status {status or '?'}"
        else:
            try:
                ack = orjson.loads(data)
                if "error" in ack:
                    e = ack["error"]
                    res.errors[k] = f"{e.get('description', 'error')} (error {e.get('err_code', e.get('code', '?'))})"
                else:
                    stream = ack["stream"]
                    res.streams[k] = self.streams.setdefault(stream, stream)
                    res.seqs[k] = ack["seq"]
                    if ack.get("duplicate"):
                        res.duplicate[k] = 1
            except (orjson.JSONDecodeError, KeyError, TypeError):
                res.errors[k] = f"unreadable ack {bytes(data[:60])!r}"
        if self.inflight <= self.wake_at:
            self.room.set()

    async def wait_until(self, limit: int) -> bool:
        """Wait until at most ``limit`` acks are outstanding; False if none came for ``timeout`` s."""
        self.wake_at = limit
        last, since = self.inflight, time.monotonic()
        while self.inflight > limit:
            self.room.clear()
            try:
                await asyncio.wait_for(self.room.wait(), timeout=0.25)
            except asyncio.TimeoutError:
                pass
            now = time.monotonic()
            if self.inflight != last:
                last, since = self.inflight, now
            elif now - since >= self.timeout:
                return False
            elif now - since >= 0.25 and self._refused():
                return True  # the server refused: no ack will come, say why at once
        return True

    def _refused(self) -> bool:
        """Mark unanswered messages "permission denied" if the server refused a publish of ours.

        A refused publish gets no ack, only an asynchronous -ERR on the connection: without
        this, the user would wait out the timeout and read "no ack".
        """
        denied = self.refusals.subjects_since("publish", self.started)
        if not denied:
            return False
        shown = ", ".join(repr(s) for s in denied[:3]) + (" ..." if len(denied) > 3 else "")
        self.mark_unanswered(f"permission denied: this user may not publish to {shown}")
        return True

    def mark_unanswered(self, why: str) -> None:
        """Give every message still waiting for an ack the reason it has none."""
        res = self.result
        for k in range(res.sent):
            if not res.answered[k]:
                res.answered[k] = 1
                res.errors[k] = why
        self.inflight = 0


def _interrupted() -> bool:
    """Whether the kernel asked this task to stop (nats-py may swallow the CancelledError itself)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def publish(
    messages: Iterable[Message],
    *,
    total: int | None = None,
    ref_name: str = "line",
    check: Callable[[str], None] | None = None,
    expect: dict[str, Any] | None = None,
    progress: Progress | None = None,
    window: int | None = None,
    timeout: float | None = None,
) -> PublishResult:
    """Publish ``messages`` pipelined; return every ack.  Interrupt returns what was acknowledged.

    ``check(subject)`` is called once per distinct subject before its first message;
    ``expect`` may hold ``last_seq``/``last_subject_seq``: the first message is then sent
    alone (a mismatch refuses the whole publish) and later ones are chained to it.
    """
    ctx = context()
    await ctx.jetstream()
    nc = ctx.nc
    cfg = settings()
    result = PublishResult(ref_name, total)
    pipe = _Pipeline(nc, result, window or cfg.publish_window, timeout or cfg.timeout)
    sub = await nc.subscribe(pipe.prefix + "*", cb=pipe.on_ack)
    try:
        await _send_all(pipe, messages, check, expect or {}, progress, nc.max_payload)
        if not await pipe.wait_until(0):
            pipe.mark_unanswered(f"no ack within {pipe.timeout:g}s")
    except asyncio.CancelledError:
        result.interrupted = True
    except JSMagicError as e:
        raise await _stopped(pipe, e) from None
    finally:
        if result.interrupted:
            await _grace(pipe)
        await sub.unsubscribe()
    if progress:
        progress(result.acked, result.sent, total)
    return result


def nothing_published(error: JSMagicError) -> JSMagicError:
    """The same error, saying that nothing was sent (what a user wants to know first)."""
    text = error.args[0] if error.args else str(error)
    if "nothing published" in text:
        return error
    return type(error)(f"{text}; nothing published", hint=error.hint)


async def _stopped(pipe: _Pipeline, error: JSMagicError) -> JSMagicError:
    """A check failed mid-way: say whether anything went out, and keep the acks of what did."""
    res = pipe.result
    text = error.args[0] if error.args else str(error)
    if not res.sent or (res.sent == 1 and res.errors.get(0) and isinstance(error, PublishError)):
        return nothing_published(error)
    if not await pipe.wait_until(0):
        pipe.mark_unanswered(f"no ack within {pipe.timeout:g}s")
    stopped = PublishError(
        f"stopped: {text}", hint=f"{res.acked:,} message(s) before it were published; the error's .result has their acks"
    )
    stopped.result = res.frame()
    return stopped


async def _grace(pipe: _Pipeline) -> None:
    """After an interrupt, give acks already on their way a moment to arrive (so the result is exact)."""
    deadline = time.monotonic() + min(pipe.timeout, 2.0)
    while pipe.inflight > 0 and time.monotonic() < deadline:
        try:
            await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            break


async def _send_all(pipe, messages, check, expect, progress, max_payload) -> None:
    """The send loop: window, subject checks, payload size, expectations, interrupt."""
    res = pipe.result
    publish_ = pipe.nc.publish
    prefix = pipe.prefix
    last_subject = last_headers = None
    header_size = 0
    chain = "last_seq" in expect or "last_subject_seq" in expect
    first_seq = 0
    subject_last: dict[str, int] = {}
    add_ref, add_subject, add_stream = res.refs.append, res.subjects.append, res.streams.append
    add_seq, add_dup, add_answered = res.seqs.append, res.duplicate.append, res.answered.append
    k = res.sent
    for ref, subject, payload, headers in messages:
        if subject is not last_subject:
            if check is not None:
                check(subject)
            last_subject = subject
        if chain:
            headers = _chained(dict(headers or {}), expect, k, first_seq, subject, subject_last)
        if headers is not last_headers:  # the server counts headers too, and drops the connection over it
            last_headers, header_size = headers, _header_size(headers)
        if len(payload) + header_size > max_payload:
            raise InputError(
                f"{res.ref_name} {ref}: {len(payload) + header_size:,} bytes (payload and headers) is larger than "
                f"the server's max_payload ({max_payload:,})"
            )
        if pipe.inflight >= pipe.window:
            if not await pipe.wait_until(pipe.window // 2):
                pipe.mark_unanswered(f"no ack within {pipe.timeout:g}s")
                return
        if k & 1023 == 0:
            if _interrupted():
                raise asyncio.CancelledError
            if progress:
                progress(res.acked, k, res.total)
        add_ref(ref)
        add_subject(subject)
        add_stream(None)
        add_seq(0)
        add_dup(0)
        add_answered(0)
        pipe.inflight += 1
        await publish_(subject, payload, reply=prefix + str(k), headers=headers)
        if chain and k == 0:
            first_seq = subject_last[subject] = await _first_ack(pipe, expect)
        k += 1


def _header_size(headers: dict | None) -> int:
    """Bytes a header block takes on the wire (``NATS/1.0`` line, ``Key: Value`` lines, blank line)."""
    if not headers:
        return 0
    return 12 + sum(len(str(k).encode()) + len(str(v).encode()) + 4 for k, v in headers.items())


def _chained(headers: dict, expect: dict, k: int, first_seq: int, subject: str, subject_last: dict) -> dict:
    """Expectation headers: the first message against the user's numbers, later ones against the message before.

    Later messages expect the sequence the message before them will get (the first ack's
    seq + position), so a batch stops being accepted from the point where someone else wrote.
    """
    if "last_seq" in expect:
        headers[EXPECTED_LAST_SEQ] = str(expect["last_seq"] if k == 0 else first_seq + k - 1)
    if "last_subject_seq" in expect:
        headers[EXPECTED_LAST_SUBJECT_SEQ] = str(subject_last.get(subject, expect["last_subject_seq"]))
        if k > 0:
            subject_last[subject] = first_seq + k
    return headers


async def _first_ack(pipe: _Pipeline, expect: dict) -> int:
    """Wait for the first message's ack; a refused expectation stops everything before more is sent."""
    if not await pipe.wait_until(0):
        pipe.mark_unanswered(f"no ack within {pipe.timeout:g}s")
    res = pipe.result
    if 0 in res.errors:
        asked = ", ".join(f"--expect-{k.replace('_', '-')} {v}" for k, v in expect.items() if k != "stream")
        err = PublishError(
            f"{asked} refused by the server: {res.errors[0]}; nothing published",
            hint="check the stream's last sequences with %js_stream info",
        )
        err.result = res
        raise err
    return res.seqs[0]


async def publish_prepared(
    messages: Iterable[Message], subjects: Iterable[str] | None, *, stream: str | None = None,
    expect: dict[str, Any] | None = None, **kw: Any,
) -> PublishResult:
    """Check the stream side first (once), then publish: the shared path of cells and objects.

    ``subjects`` are the distinct subjects known up front (checked before the first
    send); subjects only known per message are checked, cached, as they come.
    """
    js = await context().jetstream()
    expect = dict(expect or {})
    index = await StreamIndex.load(js)
    check = subject_checker(index, stream, expect.get("stream"))
    try:
        for subject in subjects or ():
            check(subject)
    except JSMagicError as e:
        raise nothing_published(e) from None
    if expect.get("stream"):
        messages = _with_header(messages, EXPECTED_STREAM, expect["stream"])
    return await publish(messages, check=check, expect=expect, **kw)


def _with_header(messages: Iterable[Message], key: str, value: str) -> Iterator[Message]:
    """The same messages with one more header."""
    for ref, subject, payload, headers in messages:
        h = dict(headers or {})
        h[key] = value
        yield ref, subject, payload, h
