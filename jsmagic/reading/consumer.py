"""Read a stream through a consumer: the ephemeral one a replay creates, or a named durable.

* The ephemeral consumer acks nothing, has an explicit inactive threshold (nats-py's 5 s
  default would kill it between cells); it is created, checked against the stream leader
  and deleted by :class:`jsmagic.reading.session.ConsumerSession` (also after an error or
  a kernel interrupt).
* The reading itself is the one drain/resume loop's (:mod:`jsmagic.reading.drain`), with
  nats-py as its transport (:class:`NatsSource`): a server restart loses the ephemeral
  (memory) consumer, and a bounded replay or a tail resumes with a new one from the
  sequence after the last one kept, instead of returning a silently partial frame.
* ``--durable NAME`` binds to (or creates) a durable with explicit acks; every row it delivers
  is settled by a :class:`~jsmagic.reading.durable.Ledger` (``--ack``/``--term`` as the rows
  are read, window by window; :func:`acknowledge` sends ``--nak``/``--in-progress`` once the
  frame is built).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Callable

import nats.errors
import nats.js.errors
import orjson

from ..core.config import settings
from ..core.context import JSContext
from ..core.registry import current, jetstream
from .drain import Drain, read_consumers
from .durable import Ledger, bind_durable
from .frames import Collector
from .pull import Puller
from .selection import ACTIONS, ProgressFn, Selection, consumer_config
from .session import ConsumerSession

LIVE_RETRY = 600.0  # seconds a live tail keeps trying to get a new consumer (a server restarting, an election)


async def read_consumer(sel: Selection, info: Any, collector: Collector, progress: ProgressFn | None = None,
                        *, ctx: JSContext | None = None, notes: list[str] | None = None,
                        ledger: Ledger | None = None) -> bool:
    """Pull the selection's consumer into ``collector`` through nats-py; True when it stopped still owed messages.

    ``notes`` hears what the caller should tell the user (rows given back to a durable, resumes);
    ``ledger``: a durable read's (one is made when none is given), whose ``acted`` says how
    many rows an ``--ack``/``--term`` read acked as it went.
    """
    ctx = current(ctx)
    js = await jetstream(ctx)
    if sel.durable and ledger is None:
        ledger = Ledger(sel, info, ctx.nc)
    opener = bound(js, info) if sel.durable else throwaway(ctx, info, notes)
    return await read_consumers(sel, info, collector, progress, ctx=ctx, source=NatsSource(ctx, js),
                                open_consumer=opener, notes=notes, ledger=ledger)


def throwaway(ctx: JSContext, info: Any, notes: list[str] | None) -> Callable[[Selection, int], Any]:
    """The drain loop's consumers of an ephemeral read: created with the retry rules, checked, always deleted."""

    @contextlib.asynccontextmanager
    async def consumer(sel: Selection, resumes: int) -> AsyncIterator[Any]:
        session = ConsumerSession(ctx, sel.stream, consumer_config(sel, info), timeout=sel.api_timeout,
                                  wait=LIVE_RETRY if sel.live else None, resumed=resumes > 0)
        await session.open(sel, info, notes)  # checked against the stream leader (a replica catching up counts short)
        try:
            yield session.consumer_info()
        finally:
            await session.close()

    return consumer


def bound(js: Any, info: Any) -> Callable[[Selection, int], Any]:
    """The drain loop's consumer of a durable read: the durable, bound to (or created), never deleted."""

    @contextlib.asynccontextmanager
    async def consumer(sel: Selection, resumes: int) -> AsyncIterator[Any]:
        yield await bind_durable(js, sel, info)

    return consumer


class NatsSource:
    """nats-py as the drain loop's source: a :class:`~jsmagic.reading.pull.Puller` per consumer.

    Silence is a loss only when the connection was cut or the consumer is gone (``resume_on_idle``
    off): otherwise the read ends as timed out.  ``raw``: a scan's (:mod:`jsmagic.admin.scan`):
    each batch goes to its :class:`~jsmagic.reading.pull.Feed` as raw lists, as soon as it came.
    """

    resume_on_idle = False

    def __init__(self, ctx: JSContext, js: Any, raw: bool = False) -> None:
        self.ctx, self.js, self.raw = ctx, js, raw

    async def transport(self, sel: Selection, name: str, d: Drain) -> Puller:
        batch = min(sel.batch or settings().fetch_batch, (d.ledger.limit if d.ledger else None) or 1 << 30)
        puller = Puller(self.ctx.api, sel.stream, name, batch, wait=d.waiting, expires=min(sel.idle_timeout or 30.0, 30.0),
                        durable=d.durable, headers_only=sel.headers_only, live=d.live)
        puller.want = d.want
        puller.alive = lambda: _consumer_exists(self.js, sel.stream, name)
        if self.raw:  # hand each batch over as it comes (an object's chunks are 128 KiB each)
            puller.raw, puller.flush_at = True, batch
        await puller.start()
        return puller

    async def release(self, t: Puller) -> None:
        await t.stop()

    async def recover(self, sel: Selection) -> None:
        return None  # nats-py reconnects by itself

    def close(self, notes: list[str] | None) -> None:
        return None


async def _consumer_exists(js: Any, stream: str, name: str) -> bool:
    """Whether our consumer is still there (a restarted or killed server loses an ephemeral one)."""
    try:
        await js.consumer_info(stream, name)
        return True
    except (nats.js.errors.NotFoundError, nats.errors.Error, asyncio.TimeoutError):
        return False


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
