"""Scanning a stream through a throwaway consumer: every pending message raw, or just a count.

Both read through a :class:`jsmagic.reading.session.ConsumerSession` with AckPolicy none
(reading never removes anything): created with the retry rules, deleted afterwards
(shielded; an interrupt hands the delete to the context, ``ctx.close()`` waits for it).
Its inactive threshold removes the consumer anyway if the kernel dies.  A count is checked
against the stream leader (a consumer on a replica still catching up counts short).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable

from nats.js import api

from ..core.config import settings
from ..core.context import JSContext
from ..core.registry import current
from ..reading.selection import Selection
from ..reading.session import ConsumerSession
from ..reading.status import server_status

ProgressFn = Callable[[int, int | None], None]
"""``progress(done, total_or_None)``: the magic passes a progress line, scripts anything callable."""


async def read_raw(name: str, config: api.ConsumerConfig, handle: Callable[[Any], None], batch: int | None = None,
                   progress: ProgressFn | None = None, *, ctx: JSContext | None = None) -> bool:
    """Feed ``handle(msg)`` every message pending for a fresh ephemeral consumer; True if interrupted.

    Raw pull requests on one inbox: no per-message metadata objects (the ack subject
    carries sequence and timestamp), at most ``batch`` messages in flight so memory stays
    bounded, the consumer deleted afterwards.  Stops at what was pending when it began.
    """
    ctx = current(ctx)
    nc = ctx.nc
    config.ack_policy = api.AckPolicy.NONE  # reading only (nats-py's default would be explicit: stalls at 1,000)
    config.inactive_threshold = config.inactive_threshold or 60.0
    session = ConsumerSession(ctx, name, config, timeout=settings().timeout)
    await session.open()
    total, seen, target = session.pending, [0], [0]
    done = asyncio.Event()

    async def on_msg(msg) -> None:
        if server_status(msg.reply, msg.headers) is None:  # a stored message (whatever its own headers say)
            seen[0] += 1
            handle(msg)
            if seen[0] >= target[0]:
                done.set()
        else:  # a status message: the pull request ended (timeout / no messages)
            done.set()

    sub = await nc.subscribe(nc.new_inbox(), cb=on_msg)
    timeout, interrupted = settings().timeout, False
    try:
        while seen[0] < total:
            before = seen[0]
            target[0] = min(total, before + (batch or settings().fetch_batch))
            done.clear()
            req = {"batch": target[0] - before, "expires": int(timeout * 1e9)}
            await nc.publish(ctx.api.msg_next(name, session.name), json.dumps(req).encode(), reply=sub.subject)
            try:
                await asyncio.wait_for(done.wait(), timeout + 1)
            except asyncio.TimeoutError:
                break
            if seen[0] == before:
                break  # messages went away (limits, purge) while we read
            if progress is not None:
                progress(seen[0], total)
    except asyncio.CancelledError:
        interrupted = True
    finally:
        await sub.unsubscribe()
        await session.close()
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
