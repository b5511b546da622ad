"""Scanning a stream through a throwaway consumer: every pending message raw, or just a count.

Both read through a :class:`jsmagic.reading.session.ConsumerSession` with AckPolicy none
(reading never removes anything): created with the retry rules, deleted afterwards
(shielded; an interrupt hands the delete to the context, ``ctx.close()`` waits for it).
Its inactive threshold removes the consumer anyway if the kernel dies.  A count is checked
against the stream leader (a consumer on a replica still catching up counts short).  A raw
read is the replay's: the one drain/resume loop (:func:`jsmagic.reading.drain.read_consumers`)
over nats-py, so the same status rule, ack-subject parser, end-of-read and resume rules as
``%js_consume``: a scan whose consumer is lost (deleted, its server restarted) goes on with a
new one after the last sequence it kept, and its notes say how often.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Callable

from nats.js import api

from ..core.config import settings
from ..core.context import JSContext
from ..core.errors import InputError, JSMagicError
from ..core.registry import current, jetstream
from ..reading.consumer import NatsSource, throwaway
from ..reading.counted import newest, stale
from ..reading.drain import read_consumers
from ..reading.pull import Batch, Feed
from ..reading.selection import Selection
from ..reading.session import ConsumerSession

ProgressFn = Callable[[int, int | None], None]
"""``progress(done, total_or_None)``: the magic passes a progress line, scripts anything callable."""

_DELIVER = {api.DeliverPolicy.ALL: "all", api.DeliverPolicy.BY_START_SEQUENCE: "start_seq",
            api.DeliverPolicy.LAST_PER_SUBJECT: "last_per_subject", api.DeliverPolicy.LAST: "last"}


async def read_raw(name: str, config: api.ConsumerConfig, handle: Callable[[Batch], None], batch: int | None = None,
                   progress: ProgressFn | None = None, *, ctx: JSContext | None = None,
                   notes: list[str] | None = None) -> bool:
    """Feed ``handle(batch)`` every message pending for a fresh ephemeral consumer; True if interrupted.

    ``config`` says what to scan (its deliver policy, filter and ``headers_only``); the read is
    the replay's drain loop, each flushed :class:`~jsmagic.reading.pull.Batch` (subjects,
    payloads, headers, stream sequences, times) handed to ``handle`` as it comes: at most two
    ``batch``-sized pulls in flight, so memory stays bounded.  Stops at what was pending when
    the consumer was created.  A lost consumer is replaced by one starting after the last
    sequence handed over (nothing is handed over twice), and ``notes`` hears "resumed N
    times"; a ``--last-per-subject`` scan cannot resume (a new consumer's "last" set is
    another one).  An interrupt keeps what arrived (handed over) and returns True.  A read
    that ends short anyway raises: a scan is never short in silence.  So does a "last" scan
    of a replicated stream that ends below the stream leader's newest message of its filter
    (:func:`jsmagic.reading.counted.newest`): its consumer took the "last" set of a replica
    still catching up, and the values handed over were older ones.
    """
    ctx = current(ctx)
    js = await jetstream(ctx)
    info = await js.stream_info(name)
    sel = _selection(name, config, batch)
    last = await newest(sel, info, ctx)
    feed, first = Feed(handle), []
    try:
        short = await read_consumers(sel, info, feed, progress, ctx=ctx, source=NatsSource(ctx, js, raw=True),
                                     open_consumer=_counted(throwaway(ctx, info, notes), first), notes=notes)
    except asyncio.CancelledError:
        return True
    if short:
        total = f" of {first[0]:,}" if first else ""
        raise JSMagicError(f"scan of {name} ended short: {feed.kept:,}{total} messages (the consumer was lost "
                           "and could not be replaced, or no answer came)", hint="run it again")
    if said := stale(feed.newest, last):
        raise JSMagicError(f"scan of {name}: {said}", hint="run it again")
    return False


def _selection(name: str, config: api.ConsumerConfig, batch: int | None) -> Selection:
    """The scan's ``config`` as a replay's selection (the drain loop resumes selections)."""
    deliver = _DELIVER.get(config.deliver_policy or api.DeliverPolicy.ALL)
    if deliver is None:
        raise InputError(f"a scan cannot deliver {config.deliver_policy}", hint="scan from a sequence instead")
    subjects = [config.filter_subject] if config.filter_subject else list(config.filter_subjects or [])
    return Selection(name, subjects=subjects, deliver=deliver, start_seq=config.opt_start_seq,
                     headers_only=bool(config.headers_only), timeout=settings().timeout, batch=batch)


def _counted(opener: Any, first: list[int]) -> Callable[[Selection, int], Any]:
    """``opener``, noting what the first consumer held (what a short scan says it was owed)."""

    @contextlib.asynccontextmanager
    async def consumer(sel: Selection, resumes: int) -> AsyncIterator[Any]:
        async with opener(sel, resumes) as ci:
            if not resumes:
                first.append(ci.num_pending)
            yield ci

    return consumer


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
