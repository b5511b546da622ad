"""Scanning a stream through a throwaway consumer: every pending message raw, or just a count.

Both read through a :class:`jsmagic.reading.session.ConsumerSession` with AckPolicy none
(reading never removes anything): created with the retry rules, deleted afterwards
(shielded; an interrupt hands the delete to the context, ``ctx.close()`` waits for it).
Its inactive threshold removes the consumer anyway if the kernel dies.  A count is checked
against the stream leader (a consumer on a replica still catching up counts short).  A raw
read pulls through the replay's drain loop (:class:`jsmagic.reading.pull.Puller`): the same
status rule, ack-subject parser and end-of-read rules as ``%js_consume``.
"""

from __future__ import annotations

import asyncio
from typing import Callable

from nats.js import api

from ..core.config import settings
from ..core.context import JSContext
from ..core.errors import JSMagicError
from ..core.registry import current
from ..reading.selection import Selection
from ..reading.pull import Batch, Feed, Puller
from ..reading.session import ConsumerSession

ProgressFn = Callable[[int, int | None], None]
"""``progress(done, total_or_None)``: the magic passes a progress line, scripts anything callable."""


async def read_raw(name: str, config: api.ConsumerConfig, handle: Callable[[Batch], None], batch: int | None = None,
                   progress: ProgressFn | None = None, *, ctx: JSContext | None = None) -> bool:
    """Feed ``handle(batch)`` every message pending for a fresh ephemeral consumer; True if interrupted.

    The replay's drain loop (:class:`jsmagic.reading.pull.Puller`, no-wait pulls, the one
    status rule) hands each flushed :class:`~jsmagic.reading.pull.Batch` (subjects, payloads,
    headers, stream sequences, times) to ``handle`` as it comes: at most two ``batch``-sized
    pulls in flight and one batch gathered, so memory stays bounded.  Stops at what was pending
    when the consumer was created; an interrupt keeps what arrived (handed over) and returns
    True.  A read that ends short (messages went away, the consumer was lost, ``timeout`` s of
    silence) raises: a scan is never short in silence.
    """
    ctx = current(ctx)
    config.ack_policy = api.AckPolicy.NONE  # reading only (nats-py's default would be explicit: stalls at 1,000)
    config.inactive_threshold = config.inactive_threshold or 60.0
    timeout = settings().timeout
    session = ConsumerSession(ctx, name, config, timeout=timeout)
    await session.open()
    size = batch or settings().fetch_batch
    feed = Feed(handle)
    puller = Puller(ctx.api, name, session.name, size, wait=False, expires=timeout)
    puller.flush_at = size  # hand each batch over as it comes (an object's chunks are 128 KiB each)
    total, interrupted, short = session.pending, False, False
    try:
        if total:
            await puller.start()
            short = await puller.drain(feed, total, timeout, progress)
            if progress is not None:
                progress(feed.kept, total)  # the last batch too (the loop reports before each flush)
    except asyncio.CancelledError:
        interrupted = True
    finally:
        try:
            if puller.datas:  # interrupted: keep what arrived, not only what was flushed
                puller.flush(feed)
        finally:
            await puller.stop()
            await session.close()
    if short and not interrupted and feed.kept < total:
        why = "the consumer was lost" if puller.lost or puller.cut_off() else "messages went away or no answer came"
        raise JSMagicError(f"scan of {name} ended short: {feed.kept:,} of {total:,} messages ({why})",
                           hint="run it again")
    return interrupted


async def count_matching(name: str, subject: str | None = None, start_seq: int | None = None,
                         *, ctx: JSContext | None = None) -> int:
    """Messages matching ``subject`` from ``start_seq`` on, counted by the server (a consumer's pending)."""
    ctx = current(ctx)
    js = await ctx.jetstream()
    info = await js.stream_info(name)
    sel = Selection(name, subjects=[subject] if subject else [], deliver="start_seq" if start_seq else "all",
                    start_seq=start_seq)
    cfg = api.ConsumerConfig(
        ack_policy=api.AckPolicy.NONE,
        filter_subject=subject,
        deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE if start_seq else api.DeliverPolicy.ALL,
        opt_start_seq=start_seq,
        inactive_threshold=30.0,
        mem_storage=True,
        num_replicas=1,
        headers_only=True,
    )
    async with ConsumerSession(ctx, name, cfg, timeout=settings().timeout).checking(sel, info) as session:
        return session.pending
