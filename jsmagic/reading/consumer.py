"""Read a stream through a consumer: the ephemeral one a replay creates, or a named durable.

* The ephemeral consumer acks nothing, has an explicit inactive threshold (nats-py's 5 s
  default would kill it between cells) and is deleted in ``finally`` — also after an
  error or a kernel interrupt.  An interrupt during its *create* leaves a delete that
  runs in the background, owned by the context (``ctx.own``) so ``ctx.close()`` waits for it.
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
import time
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
from .replicas import pending_seen
from .selection import ACTIONS, RESUME_WAIT, ProgressFn, Selection, consumer_config

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
    if sel.durable:
        ci = await bind_durable(js, sel, info)
    elif resumes:
        ci = await _add_consumer_retrying(ctx, js, sel, info)
    else:
        cfg = consumer_config(sel, info)
        try:
            ci = await js.add_consumer(sel.stream, cfg, timeout=sel.api_timeout)
        except nats.js.errors.ServiceUnavailableError:  # "temporarily unavailable": a cluster electing
            ci = await _add_consumer_retrying(ctx, js, sel, info)
        except asyncio.CancelledError:  # interrupted mid-create: the server may still make it
            _delete_later(ctx, js, sel.stream, cfg.name)
            raise
    pending = ci.num_pending
    if not sel.durable and not resumes:  # a consumer on a replica still catching up counts short
        try:
            pending = await pending_seen(ctx, sel, info, ci.name, pending, notes)
        except BaseException:
            await _delete_consumer(js, sel.stream, ci.name)
            raise
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
        lost = timed_out and _resumable(sel) and resumes < MAX_RESUMES and (
            puller.cut_off() or puller.lost or puller.short or not await _consumer_exists(js, sel.stream, ci.name)
        )
    finally:
        if puller.datas and not collector.done:  # interrupted: keep what arrived, not only what was flushed
            puller.flush(collector)
        await puller.stop()
        if not sel.durable:
            await _delete_consumer(js, sel.stream, ci.name)
    if ledger is not None:  # after the puller stopped: no pull of ours is left to take back what is given back
        await ledger.finish(js, notes if notes is not None else [])
    if lost:
        if sel.live and puller.received:
            resumes = 0  # a tail that runs for days may lose its consumer more than MAX_RESUMES times
        try:
            return await _read(ctx, js, info, _rest(sel, puller, info), collector, progress, resumes + 1)
        finally:  # again: the first delete may have fallen into a leader election and been lost
            await _delete_consumer(js, sel.stream, ci.name)
    return timed_out


async def _consumer_exists(js: Any, stream: str, name: str) -> bool:
    """Whether our consumer is still there (a restarted or killed server loses an ephemeral one)."""
    try:
        await js.consumer_info(stream, name)
        return True
    except (nats.js.errors.NotFoundError, nats.errors.Error, asyncio.TimeoutError):
        return False


async def _add_consumer_retrying(ctx: JSContext, js: Any, sel: Selection, info: Any) -> Any:
    """Create the replacement consumer, waiting out a stream leader election (a few seconds).

    A try the server answered (no leader yet) is repeated with the same name.  A try nobody
    answered is repeated under a new name, and the old one is deleted in the background:
    the meta leader may have placed that name on the member that just died, and every
    create of it then waits for that member (a killed leader's cluster showed this).
    If we give up (or are interrupted), the name is deleted too.
    """
    cfg = consumer_config(sel, info)
    deadline = time.monotonic() + (LIVE_RETRY if sel.live else max(3 * sel.api_timeout, RESUME_WAIT))
    while True:
        try:
            return await js.add_consumer(sel.stream, cfg, timeout=sel.api_timeout)
        except (nats.js.errors.ServiceUnavailableError, nats.errors.TimeoutError, nats.errors.NoRespondersError,
                nats.js.errors.APIError, asyncio.TimeoutError) as e:
            if time.monotonic() > deadline:
                _delete_later(ctx, js, sel.stream, cfg.name)
                raise
            if isinstance(e, (nats.errors.TimeoutError, asyncio.TimeoutError)):
                _delete_later(ctx, js, sel.stream, cfg.name)
                cfg = consumer_config(sel, info)
            try:
                await asyncio.sleep(0.5)
            except asyncio.CancelledError:
                _delete_later(ctx, js, sel.stream, cfg.name)
                raise
        except asyncio.CancelledError:
            _delete_later(ctx, js, sel.stream, cfg.name)
            raise


def _resumable(sel: Selection) -> bool:
    """A bounded ephemeral replay, or a live tail, can restart where it stopped (``--last*``/``--new`` cannot)."""
    return not sel.durable and (sel.live or sel.deliver in ("all", "start_seq", "since"))


def _rest(sel: Selection, puller: Puller, info: Any) -> Selection:
    """The selection still to read after a reconnect: from the sequence after the last one kept.

    A server restart (or a cluster losing the stream's leader) loses our ephemeral (memory)
    consumer; without this the replay would wait out its idle timeout and return a silently
    partial frame, and a live tail would stay "live" with nothing arriving.  A tail that has
    kept nothing yet goes on from where it began (the stream's end when it started).
    """
    if puller.last_seq is None:
        if sel.live and sel.deliver == "new":
            return dataclasses.replace(sel, deliver="start_seq", start_seq=info.state.last_seq + 1, since=None)
        return sel
    count = None if sel.count is None else max(1, sel.count - puller.received)
    return dataclasses.replace(sel, deliver="start_seq", start_seq=puller.last_seq + 1, since=None, count=count)


def _delete_later(ctx: JSContext, js: Any, stream: str, name: str) -> None:
    """Delete a consumer whose creation was interrupted, without holding up the cell.

    We chose its name up front, so it can be deleted even though the create's answer
    never came; the task outlives the cell (the server may be slow to answer) and is
    owned by the context, so closing the connection waits for it (bounded).
    """
    ctx.own(_delete_consumer(js, stream, name), name=f"delete consumer {stream}/{name}")


async def _delete_consumer(js: Any, stream: str, name: str, attempts: int = 3) -> None:
    """Delete our ephemeral consumer; shielded so an interrupt cannot skip it.

    Retried when the server does not answer: during a cluster leader election the delete
    times out while the consumer lives on (until its inactive threshold).  Not retried after
    an interrupt: the user is waiting for the cell to end.  A (second) interrupt while we
    wait is not swallowed: it propagates, and the shielded delete finishes by itself.
    Failures the server can answer with end quietly (the inactive threshold removes the
    consumer anyway); anything else is a bug and propagates.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        attempts = 1
    for _ in range(attempts):
        try:
            await asyncio.shield(js.delete_consumer(stream, name))
            return
        except nats.js.errors.NotFoundError:
            return
        except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError, asyncio.TimeoutError):
            continue
        except (nats.errors.Error, nats.js.errors.Error):  # closed connection, no responders, other API answers
            return


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
