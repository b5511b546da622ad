"""Pipelined JetStream publishing with every PubAck checked.

Why not ``js.publish`` in a loop (≈4k msg/s, one round trip each) or ``publish_async``
(a future, a semaphore and a callback per message)?  We publish with plain
``nc.publish`` and one shared reply-inbox subscription (:mod:`.acks`): message *k*
carries the reply subject ``<inbox>.<k>``, so an ack says which message it answers
without any per-message object, and a bounded window (``JSMagic.publish_window``) keeps
memory and server load in check.  Acks are stored column-wise in a
:class:`~.result.PublishResult`; failures are kept per message with the server's reason.

The pipeline takes any iterable of ``(ref, subject, payload, headers)`` — ``ref`` is
the cell line or the row a message came from, so failures point at the input.  Checks
against the account's streams come first (:func:`publish_prepared`); cells and Python
values become messages in :mod:`.inputs`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any, Callable, Iterable

import nats.errors

from ..core.config import settings
from ..core.errors import InputError, JSMagicError, PublishError
from ..core.context import JSContext
from ..core.registry import current, jetstream
from ..core.units import plural
from .acks import AckWindow
from .capture import StreamIndex, subject_checker
from .batch import one_stream, publish_atomic
from .fastbatch import publish_fast
from .expect import EXPECTED_LAST_SEQ, EXPECTED_LAST_SUBJECT_SEQ, EXPECTED_STREAM, chained, chains, first_ack, with_header
from .features import Features, feature_check
from .result import PublishResult
from .reruns import late_rerun, remember
from .sources import Message

Progress = Callable[[int, int | None], None]  # (acked, total): a jsmagic.ui.progress.Progress fits
MSG_ID = "Nats-Msg-Id"
log = logging.getLogger(__name__)


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
    ctx: JSContext | None = None,
) -> PublishResult:
    """Publish ``messages`` pipelined on ``ctx`` (the current context); return every ack.

    An interrupt returns what was acknowledged (``result.interrupted``).  ``check(subject)``
    is called once per distinct subject before its first message; ``expect`` may hold
    ``last_seq``/``last_subject_seq``: the first message is then sent alone (a mismatch
    refuses the whole publish) and later ones are chained to it.  ``progress(acked, total)``
    is called every 1,024 messages and once at the end.
    """
    ctx = current(ctx)
    await jetstream(ctx)
    nc = ctx.nc
    cfg = settings()
    result = PublishResult(ref_name, total)
    acks = AckWindow(nc, result, window or cfg.publish_window, timeout or cfg.timeout)
    sub = await nc.subscribe(acks.prefix + "*", cb=acks.on_ack)
    try:
        await _send_all(acks, messages, check, expect or {}, progress, nc.max_payload)
        await acks.settle()
    except asyncio.CancelledError:
        result.interrupted = True
    except JSMagicError as e:
        raise await _stopped(acks, e) from None
    finally:
        if result.interrupted:
            await acks.grace()
        await sub.unsubscribe()
    if progress:
        progress(result.acked, total)
    if result.unknown:
        await _stream_counts(ctx, result)
    return result


async def _stream_counts(ctx: JSContext, result: PublishResult) -> None:
    """After a cut: each stream's own count, said with the unknowns (other writers included)."""
    for stream in result.seq_ranges():
        if stream is None:
            continue
        try:
            state = (await ctx.js.stream_info(stream)).state
        except Exception as e:  # noqa: BLE001 - the count is a courtesy; the unknowns are said anyway
            log.info("no stream info for %s after a cut: %s", stream, e)
            continue
        result.notes.append(f"stream {stream} holds {state.messages:,} messages, last seq {state.last_seq} "
                            "(its own count, other writers included)")


async def publish_prepared(
    messages: Iterable[Message], subjects: Iterable[str] | None, *, stream: str | None = None,
    expect: dict[str, Any] | None = None, features: Features | None = None, msg_id: str | None = None,
    ctx: JSContext | None = None, **kw: Any,
) -> PublishResult:
    """Check the stream side first (once), then publish: the shared path of cells and values.

    ``subjects`` are the distinct subjects known up front (checked before the first
    send); subjects only known per message are checked, cached, as they come.  ``msg_id``:
    the ``--msg-id`` template, remembered so that a re-run after the stream's duplicate
    window is said (``result.notes``).  ``kw`` go to :func:`publish` (``total``,
    ``ref_name``, ``progress``, ``window``, ``timeout``).
    """
    ctx = current(ctx)
    await jetstream(ctx)  # connects (or fails in one line) and checks JetStream before anything is sent
    expect = dict(expect or {})
    index = await StreamIndex.load(ctx)
    check = with_features(subject_checker(index, stream, expect.get("stream")), feature_check(index, features))
    subjects = list(subjects or ())
    try:
        for subject in subjects:
            check(subject)
    except JSMagicError as e:
        raise nothing_published(e) from None
    late = _late_rerun(ctx, index, subjects, msg_id)
    if expect.get("stream"):
        messages = with_header(messages, EXPECTED_STREAM, expect["stream"])
    if features is not None and (features.atomic or features.fast):
        result = await batched(ctx, list(messages), index, check, expect, features, kw)
    else:
        result = await publish(messages, check=check, expect=expect, ctx=ctx, **kw)
    if msg_id:
        remember(getattr(ctx, "alias", ""), [s for s in result.seq_ranges() if s], msg_id)
        if late:
            result.notes.append(late)
    return result


def _late_rerun(ctx: JSContext, index: Any, subjects: list[str], msg_id: str | None) -> str | None:
    """The warning for a ``--msg-id`` re-run after its stream's duplicate window (None: none to give)."""
    if not msg_id or index is None:
        return None
    streams = sorted({name for subject in subjects for name in index.capturing(subject)})
    windows = {n: (getattr(c, "duplicate_window", 0) or 0) / 1e9 for n, c in index.configs.items()}
    return late_rerun(getattr(ctx, "alias", ""), streams, msg_id, windows)


def with_features(check: Callable[[str], None], features: Callable[[str], None]) -> Callable[[str], None]:
    """The subject check, then the stream-feature check (TTL, schedules, batches allowed)."""
    def both(subject: str) -> None:
        check(subject)
        features(subject)
    return both


async def batched(ctx: JSContext, messages: list, index: Any, check: Callable, expect: dict, features: Features,
                 kw: dict) -> PublishResult:
    """An atomic batch (all or nothing) or a fast one (in order, acked every N): one stream, expectations on the first."""
    try:
        one_stream(index, list(dict.fromkeys(m[1] for m in messages)), "a fast" if features.fast else "an atomic")
        if messages and ("last_seq" in expect or "last_subject_seq" in expect):
            first = messages[0]
            headers = dict(first[3] or {})
            if "last_seq" in expect:
                headers[EXPECTED_LAST_SEQ] = str(expect["last_seq"])
            if "last_subject_seq" in expect:
                headers[EXPECTED_LAST_SUBJECT_SEQ] = str(expect["last_subject_seq"])
            messages[0] = (*first[:3], headers)
        common = dict(check=check, ref_name=kw.get("ref_name", "line"), progress=kw.get("progress"),
                      timeout=kw.get("timeout"))
        if features.fast:
            return await publish_fast(ctx.nc, messages, **common)
        return await publish_atomic(ctx.nc, messages, split=features.split, **common)
    except InputError as e:
        raise nothing_published(e) from None


def nothing_published(error: JSMagicError) -> JSMagicError:
    """The same error, saying that nothing was sent (what a user wants to know first)."""
    text = error.args[0] if error.args else str(error)
    if "nothing published" in text:
        return error
    return type(error)(f"{text}; nothing published", hint=error.hint)


async def _stopped(acks: AckWindow, error: JSMagicError) -> JSMagicError:
    """A check failed mid-way: say whether anything went out, and keep the acks of what did.

    The returned error's ``.result`` is the :class:`PublishResult` of what was sent.
    """
    res = acks.result
    text = error.args[0] if error.args else str(error)
    if not res.sent or (res.sent == 1 and res.errors.get(0) and isinstance(error, PublishError)):
        return nothing_published(error)
    await acks.settle()
    stopped = PublishError(
        f"stopped: {text}", hint=f"stored before it: {plural(res.acked, 'message')}; the error's .result has their acks"
    )
    stopped.result = res
    return stopped


async def _send_all(acks: AckWindow, messages, check, expect, progress, max_payload) -> None:
    """The send loop: window, subject checks, payload size, expectations, interrupt.

    Messages with a Nats-Msg-Id are kept while they may be in flight: a cut connection
    sends them again (:meth:`.AckWindow.resend_lost`), and the server stores each once.
    """
    res = acks.result
    publish_ = acks.nc.publish
    prefix = acks.prefix
    last_subject = last_headers = None
    header_size = 0
    chain = chains(expect)
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
            headers = chained(dict(headers or {}), expect, k, first_seq, subject, subject_last)
        if headers is not last_headers:  # the server counts headers too, and drops the connection over it
            last_headers, header_size = headers, _header_size(headers)
        if len(payload) + header_size > max_payload:
            raise InputError(
                f"{res.ref_name} {ref}: {len(payload) + header_size:,} bytes (payload and headers) is larger than "
                f"the server's max_payload ({max_payload:,})"
            )
        if acks.inflight >= acks.window:
            if not await acks.wait_until(acks.window // 2):
                acks.give_up()
                return
        if k & 1023 == 0:
            if _interrupted():
                raise asyncio.CancelledError
            if progress:
                progress(res.acked, res.total)
        add_ref(ref)
        add_subject(subject)
        add_stream(None)
        add_seq(0)
        add_dup(0)
        add_answered(0)
        acks.inflight += 1
        if k == 0 and headers and MSG_ID in headers:  # ids: a resend is exact, so keep what may need one
            acks.recent = collections.deque(maxlen=2 * acks.window)
        acks.keep(k, subject, payload, headers)
        try:
            await publish_(subject, payload, reply=prefix + str(k), headers=headers)
        except nats.errors.OutboundBufferLimitError:  # the connection is down and its buffer full: wait for it
            if not await acks.connected():
                raise JSMagicError("the connection stayed down longer than the publish's timeout") from None
            await publish_(subject, payload, reply=prefix + str(k), headers=headers)
        if chain and k == 0:
            first_seq = subject_last[subject] = await first_ack(acks, expect)
        k += 1


def _header_size(headers: dict | None) -> int:
    """Bytes a header block takes on the wire (``NATS/1.0`` line, ``Key: Value`` lines, blank line)."""
    if not headers:
        return 0
    return 12 + sum(len(str(k).encode()) + len(str(v).encode()) + 4 for k, v in headers.items())
