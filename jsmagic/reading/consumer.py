"""Read a stream through a consumer: the ephemeral one a replay creates, or a named durable.

* The ephemeral consumer acks nothing, has an explicit inactive threshold (nats-py's 5 s
  default would kill it between cells); it is created, checked against the stream leader
  and deleted by :class:`jsmagic.reading.session.ConsumerSession` (also after an error or
  a kernel interrupt).
* A server restart loses the ephemeral (memory) consumer: a bounded replay then resumes
  with a new one from the sequence after the last one kept, instead of returning a
  silently partial frame.
* ``--durable NAME`` binds to (or creates) a durable with explicit acks; every row it delivers
  is settled by a :class:`~jsmagic.reading.durable.Ledger` (``--ack``/``--term`` as the rows
  are read, window by window; :func:`acknowledge` sends ``--nak``/``--in-progress`` once the
  frame is built).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import nats.errors
import nats.js.errors
import orjson

from ..core.config import settings
from ..core.context import JSContext
from ..core.registry import current, jetstream
from .frames import Collector
from .durable import Ledger, bind_durable
from .pull import Puller
from .session import ConsumerSession
from .selection import ACTIONS, ProgressFn, Selection, consumer_config, rest_after, resumable

LIVE_RETRY = 600.0  # seconds a live tail keeps trying to get a new consumer (a server restarting, an election)
MAX_RESUMES = 10  # consumers lost in one replay before we give up (each loss costs an idle timeout)


async def read_consumer(sel: Selection, info: Any, collector: Collector, progress: ProgressFn | None = None,
                        *, ctx: JSContext | None = None, notes: list[str] | None = None,
                        ledger: Ledger | None = None) -> bool:
    """Pull the selection's consumer into ``collector``; True when it stopped on the idle timeout.

    ``notes`` hears what the caller should tell the user (rows given back to a durable);
    ``ledger``: a durable read's (one is made when none is given), whose ``acted`` says how
    many rows an ``--ack``/``--term`` read acked as it went.
    """
    ctx = current(ctx)
    js = await jetstream(ctx)
    if sel.durable and ledger is None:
        ledger = Ledger(sel, info, ctx.nc)
    return await _read(ctx, js, info, sel, collector, progress, notes=notes, ledger=ledger)


async def _read(ctx: JSContext, js: Any, info: Any, sel: Selection, collector: Collector,
                progress: ProgressFn | None, resumes: int = 0, notes: list[str] | None = None,
                ledger: Ledger | None = None) -> bool:
    """One consumer's worth of reading (and, after a loss, the rest with a new one)."""
    session = None
    if sel.durable:
        ci = await bind_durable(js, sel, info)
    else:  # created with the retry rules, checked against the stream leader (a replica catching up counts short)
        session = ConsumerSession(ctx, sel.stream, consumer_config(sel, info), timeout=sel.api_timeout,
                                  wait=LIVE_RETRY if sel.live else None, resumed=resumes > 0)
        await session.open(sel, info, notes)
        ci = session.consumer_info()
    pending = ci.num_pending
    wait = (sel.deliver == "new" or sel.live) and not sel.durable
    want = None if wait else pending
    if sel.count:
        want = sel.count if want is None else min(want, sel.count)
    if ledger is not None:  # rows pending ack hold the durable at max_ack_pending: the ledger knows how far to go
        want = ledger.want(ci, sel.count)
    batch = min(sel.batch or settings().fetch_batch, (ledger.limit if ledger else None) or 1 << 30)
    puller = Puller(ctx.api, sel.stream, ci.name, batch, wait=wait, expires=min(sel.idle_timeout or 30.0, 30.0),
                    durable=bool(sel.durable), headers_only=sel.headers_only, live=sel.live)
    puller.ledger = ledger
    if sel.live:
        puller.alive = lambda: _consumer_exists(js, sel.stream, ci.name)
    try:
        if want == 0:
            return False
        await puller.start()
        timed_out = await puller.drain(collector, want, sel.idle_timeout, progress)
        if ledger is not None and collector.done:  # rows still arriving past the bound: given back, not left pending
            ledger.given_back_later(await puller.settle())
        lost = timed_out and resumable(sel) and resumes < MAX_RESUMES and (
            puller.cut_off() or puller.lost or puller.short or not await _consumer_exists(js, sel.stream, ci.name)
        )
    finally:
        if puller.datas and not collector.done:  # interrupted: keep what arrived, not only what was flushed
            puller.flush(collector)
        await puller.stop()
        if session is not None:
            await session.close()
    if ledger is not None:  # after the puller stopped: no pull of ours is left to take back what is given back
        await ledger.finish(js, notes if notes is not None else [])
    if lost:
        if sel.live and puller.received:
            resumes = 0  # a tail that runs for days may lose its consumer more than MAX_RESUMES times
        try:
            return await _read(ctx, js, info, _rest(sel, puller, info), collector, progress, resumes + 1, notes)
        finally:  # again: the first delete may have fallen into a leader election and been lost
            await session.close()
    return timed_out


async def _consumer_exists(js: Any, stream: str, name: str) -> bool:
    """Whether our consumer is still there (a restarted or killed server loses an ephemeral one)."""
    try:
        await js.consumer_info(stream, name)
        return True
    except (nats.js.errors.NotFoundError, nats.errors.Error, asyncio.TimeoutError):
        return False


def _rest(sel: Selection, puller: Puller, info: Any) -> Selection:
    """The selection still to read after a lost consumer (:func:`rest_after`).

    A tail that has kept nothing yet goes on from where it began (the stream's end when it started).
    """
    if puller.last_seq is None and sel.live and sel.deliver == "new":
        return dataclasses.replace(sel, deliver="start_seq", start_seq=info.state.last_seq + 1, since=None)
    return rest_after(sel, puller.last_seq, puller.received)


async def acknowledge(replies: list[str], action: str, delay: float | None = None,
                      *, ctx: JSContext | None = None) -> int:
    """Send ``+ACK``/``-NAK``/``+TERM``/``+WPI`` for every kept message (pipelined), the last one as a request.

    The server handles a consumer's acks in order and answers the last one once it has
    done it: when this returns, every ack has been applied (also across an imported
    account or a leafnode, where a flush only says they left this client).
    """
    nc = current(ctx).nc
    body = ACTIONS[action]
    if action == "nak" and delay:
        body += b" " + orjson.dumps({"delay": int(delay * 1e9)})
    if not replies:
        return 0
    for reply in replies[:-1]:
        await nc.publish(reply, body)
    await nc.request(replies[-1], body, timeout=settings().timeout)
    return len(replies)
