"""The ONE drain/resume loop of every consumer read, over a small transport interface.

A replay through a consumer pulls it until it delivered what it owed.  How the messages
come in differs (a :class:`Transport`): the bulk wire reader (:mod:`jsmagic.reading.wire.bulk`:
its own connection, frames parsed in bulk) or nats-py (:class:`jsmagic.reading.pull.Puller`:
where the wire cannot go, e.g. a websocket URL, and for durables, live tails, scans and
single pulls).  What a read does with them is decided here, once:

* **what is owed** (:func:`owed`): the consumer's ``num_pending`` (checked against the stream
  leader by :class:`~jsmagic.reading.session.ConsumerSession`), at most ``-n``, at most the
  sequences of an ``--end-seq`` range when that is fewer; a durable's ledger says how far its
  ``max_ack_pending`` window lets it go; a read that waits (``--new``, live) owes ``-n`` or no end;
* **the bounds** (``--end-seq``, ``--until``, ``-n``, the stream's last sequence as of the call,
  and the "last" rule of :func:`jsmagic.reading.selection.bounds_for`) are the collector's:
  a read ends when a chunk crosses one, or when it received what was owed;
* **statuses**: "no messages" while messages are still owed (a leader change) is a loss, not
  the end (a durable's or a waiting read's is the end); a consumer or connection gone is a loss;
  any other failure raises;
* **silence**: ``idle`` seconds without a message end the read as timed out; a live tail instead
  checks every :data:`LIVE_CHECK` seconds that its connection and consumer are still there; a
  consuming durable read (``--ack``/``--term``) acks what arrived after :data:`WINDOW_QUIET` s,
  so its ``max_ack_pending`` never holds it, and rows that arrive after a bound go back to it;
* **resume after faults** (:func:`read_consumers`): a lost consumer is replaced by one that starts
  after the last sequence kept (:func:`~jsmagic.reading.selection.rest_after`), up to
  :data:`MAX_RESUMES` times (a tail that keeps receiving, forever); nothing at or below the last
  kept sequence is kept twice; the notes say how often;
* **an interrupt** keeps what arrived and propagates; the consumer is always deleted.

Only this module loops over what a transport fetched (``tests/test_architecture.py``).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Protocol

import numpy as np

from ..core.context import JSContext
from ..core.errors import JSMagicError
from ..core.runner import check_cancelled
from ..core.units import plural
from .selection import ProgressFn, Selection, rest_after, resumable
from .session import delete

log = logging.getLogger("jsmagic.reading.drain")

DONE, LOST, SHORT, IDLE = "done", "lost", "short", "idle"
LIVE_CHECK = 3.0  # seconds of silence after which a live tail checks its connection and consumer
WINDOW_QUIET = 0.05  # seconds of silence after which a consuming durable read acks what arrived (max_ack_pending)
MAX_RESUMES = 10  # consumers lost in one replay before we give up (each loss may cost an idle timeout)


class Transport(Protocol):
    """One consumer's messages coming in; what the loop reads of it after each :meth:`fetch`.

    ``received``: data messages that arrived from this consumer; ``lost``: the consumer or the
    connection is gone; ``empty``: the server said "no messages" (404); ``error``: a failure
    to raise; ``status``: the last status the server sent; ``flush_at``: messages gathered
    before :meth:`take` hands them over (0: whatever each fetch brought).
    """

    received: int
    lost: bool
    empty: bool
    error: str | None
    status: Any
    flush_at: int

    async def refill(self) -> None:
        """Keep pull requests in flight for what is still owed."""

    async def fetch(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` s for messages or statuses; False when nothing came."""

    def gathered(self) -> int:
        """Messages that arrived and were not taken yet."""

    def take(self, final: bool = False) -> list:
        """What arrived, as chunks (or raw batches); ``final``: all of it, after a stop."""

    async def gone(self) -> bool:
        """Live: whether the connection was cut or the consumer is gone (the tail resumes)."""

    async def settle(self) -> list[str]:
        """A durable after a bound: wait out deliveries still in flight; their reply subjects."""


@dataclasses.dataclass
class Kept:
    """Where a read stands across its consumers: the last sequence kept, rows kept, resumes."""

    last_seq: int | None = None
    received: int = 0
    resumes: int = 0


@dataclasses.dataclass
class Drain:
    """What one consumer's drain is asked: ``want`` messages (None: no end), and how it waits."""

    want: int | None
    idle: float | None
    waiting: bool = False  # pulls wait for messages (--new, live): "no messages" is not the end
    live: bool = False
    durable: bool = False
    once: bool = False  # one pull request: the first status ends the read
    ranged: bool = False  # the consumer holds more than the read's range (--end-seq): ``want`` is the range
    ledger: Any = None  # durable: sorts (and, --ack/--term, acks) each kept chunk (jsmagic.reading.durable)
    kept: Kept | None = None  # a replay's resume state (None: a raw read, a scan)

    @property
    def windowed(self) -> bool:
        return self.ledger is not None and self.ledger.consuming


def owed(sel: Selection, pending: int, end_seq: int | None, info: Any,
         waiting: bool = False) -> tuple[int | None, bool]:
    """How many messages one consumer owes the read (see the module doc; None: no end), and whether
    that is a range shorter than what the consumer holds (``--end-seq``, a Dask partition)."""
    want = None if waiting else pending
    if sel.count:
        want = sel.count if want is None else min(want, sel.count)
    span = _span(sel, end_seq, info)
    if want is not None and span is not None and span < want:
        return span, True
    return want, False


def _span(sel: Selection, end_seq: int | None, info: Any) -> int | None:
    """How many sequences the read's range holds at most, when it starts at a known one and has an end."""
    first = sel.start_seq if sel.deliver == "start_seq" else info.state.first_seq if sel.deliver == "all" else None
    if end_seq is None or first is None:
        return None
    return max(0, end_seq - max(int(first), 1) + 1)


async def drain(t: Transport, collector: Any, d: Drain, progress: ProgressFn | None = None) -> str:
    """Pull ``t`` into ``collector`` until it owes nothing or a bound is crossed (DONE), or LOST/SHORT/IDLE."""
    base = collector.kept
    total = None if d.want is None else base + d.want
    try:
        await t.refill()
        while True:
            quiet = WINDOW_QUIET if d.windowed and t.gathered() else None
            if not await t.fetch(quiet or (d.idle if d.idle is not None or not d.live else LIVE_CHECK)):
                if quiet:  # the durable may wait for our acks (max_ack_pending): send them
                    if await _window(t, collector, d):
                        return DONE
                    continue
                if d.idle is None and d.live:  # a quiet tail: is it still connected to its consumer?
                    if await t.gone():
                        _keep(t, collector, d)
                        return LOST
                    continue
                _keep(t, collector, d)
                return IDLE if d.want is not None and not d.waiting else DONE
            check_cancelled()  # an interrupt that an inner wait swallowed still stops the read
            if t.error:
                raise JSMagicError(t.error)
            finished = d.want is not None and t.received >= d.want
            ended = finished or t.lost or (t.empty and not d.waiting) or (d.once and t.status is not None)
            if ended or d.live or t.gathered() >= t.flush_at:
                if _keep(t, collector, d) or finished or (d.once and t.status is not None):
                    return DONE
            if t.lost and (not d.waiting or d.live):
                return LOST
            if t.empty and not d.waiting:
                # "no messages" while the consumer still owes some: during a leader change it can.
                # Ending here would return a short frame as if complete.
                short = d.want is not None and not d.durable and t.received < d.want
                return SHORT if short else DONE
            t.empty = False
            if d.windowed and t.gathered() and await _window(t, collector, d):
                return DONE
            await t.refill()
            if progress is not None:
                progress(collector.kept + t.gathered(), total)
    except BaseException:
        if not collector.done:  # interrupted or failed: keep what arrived, not only what was taken
            try:
                _keep(t, collector, d, final=True)
            except Exception as e:  # noqa: BLE001 -- the first error is what the user sees, not a half-received frame
                log.debug("what arrived before the read stopped was not kept: %r", e)
        raise


async def _window(t: Transport, collector: Any, d: Drain) -> bool:
    """Keep what arrived and ack it; True when the read should end (a bound, or an undecodable payload)."""
    done = _keep(t, collector, d)
    await d.ledger.settle()
    return done or d.ledger.stopped is not None


def _keep(t: Transport, collector: Any, d: Drain, final: bool = False) -> bool:
    """Hand what arrived to the collector; True once a bound is crossed."""
    for chunk in t.take(final):
        if len(chunk) and not collector.done:
            _add(chunk, collector, d)
    return collector.done


def _add(chunk: Any, collector: Any, d: Drain) -> bool:
    """One chunk into the collector (once per sequence across resumes), sorted by a durable's ledger."""
    k = d.kept
    if k is None:  # a raw read (a scan's Feed, a single pull): every message, as it came
        return collector.add(chunk)
    if k.resumes and k.last_seq is not None and int(chunk.seq.min()) <= k.last_seq:
        # after a resume (only replays delivered in sequence order resume) nothing at or below
        # the last kept sequence is kept again
        chunk = chunk.select(np.flatnonzero(chunk.seq > k.last_seq))
        if not chunk.seq.size:
            return collector.done
    before = collector.kept
    done = collector.add(chunk)
    k.received += collector.kept - before
    if not collector.done:  # what a resume goes on after: the last delivered (a filter keeps fewer)
        k.last_seq = int(chunk.seq[-1])
    if d.ledger is not None:
        d.ledger.sort(chunk.extra["reply"], chunk.extra["num_delivered"], collector)
    return done


class Source(Protocol):
    """Where a read's consumers are pulled from (the bulk wire, or nats-py): one transport per consumer."""

    resume_on_idle: bool  # silence while messages are owed is a loss (its pulls died unseen) and resumes

    async def transport(self, sel: Selection, name: str, d: Drain) -> Transport:
        """A started transport for consumer ``name``."""

    async def release(self, t: Transport) -> None:
        """Stop ``t`` (its subscription)."""

    async def recover(self, sel: Selection) -> None:
        """After a loss: repair the connection before the next consumer."""

    def close(self, notes: list[str] | None) -> None:
        """The read is over: close what is the source's own; say what it had to do."""


async def read_consumers(sel: Selection, info: Any, collector: Any, progress: ProgressFn | None, *, ctx: JSContext,
                         source: Source, open_consumer: Any, notes: list[str] | None = None,
                         ledger: Any = None) -> bool:
    """Read ``sel`` consumer after consumer until it is complete; True when it stopped still owing messages.

    ``open_consumer(sel, resumes)``: an async context manager giving the consumer's
    ``ConsumerInfo`` (a throwaway :class:`~jsmagic.reading.session.ConsumerSession`, or a
    durable bound to), deleted when it exits.
    """
    kept, lost = Kept(), []
    try:
        while True:
            outcome, t, name = await _one(sel, info, collector, progress, ctx, source, open_consumer, kept, ledger,
                                          notes)
            if outcome == DONE or collector.done:
                if progress is not None:
                    progress(collector.kept, collector.kept)  # the last figure is the true count
                return False
            if outcome == IDLE and not source.resume_on_idle and not (t.lost or await t.gone()):
                return True  # silence, with the consumer and the connection still there: timed out
            if not resumable(sel) or kept.resumes >= MAX_RESUMES:
                return True
            lost.append(name)
            kept.resumes = 1 if sel.live and t.received else kept.resumes + 1  # a tail runs for days
            sel = _rest(sel, kept, info)
            await source.recover(sel)
    finally:
        source.close(notes)
        for name in lost:  # again: the first delete may have fallen into a leader election and been lost
            await delete(ctx, sel.stream, name)
        if kept.resumes and notes is not None and not sel.live:
            notes.append(f"resumed {plural(kept.resumes, 'time')} with a new consumer after the last sequence kept")


async def _one(sel: Selection, info: Any, collector: Any, progress: ProgressFn | None, ctx: JSContext,
               source: Source, open_consumer: Any, kept: Kept, ledger: Any,
               notes: list[str] | None) -> tuple[str, Any, str]:
    """One consumer's worth of reading: created (or bound), drained, settled, deleted."""
    async with open_consumer(sel, kept.resumes) as ci:
        waiting = (sel.deliver == "new" or sel.live) and not sel.durable
        want, ranged = owed(sel, ci.num_pending, collector.bounds.end_seq, info, waiting)
        if ledger is not None:  # rows pending ack hold the durable at max_ack_pending: the ledger knows how far
            want = ledger.want(ci, sel.count)
        if want == 0:
            return DONE, None, ci.name
        d = Drain(want, sel.idle_timeout, waiting=waiting, live=sel.live, durable=bool(sel.durable), ledger=ledger,
                  kept=kept, ranged=ranged)
        t = await source.transport(sel, ci.name, d)
        try:
            outcome = await drain(t, collector, d, progress)
            if ledger is not None and collector.done:  # rows still arriving past the bound: given back
                ledger.given_back_later(await t.settle())
        finally:
            await source.release(t)
    if ledger is not None:  # after the transport stopped: no pull of ours is left to take back what is given back
        await ledger.finish(ctx.js, notes if notes is not None else [])  # (durables read through nats-py)
    return outcome, t, ci.name


def _rest(sel: Selection, kept: Kept, info: Any) -> Selection:
    """The selection still to read after a lost consumer (:func:`rest_after`).

    A tail that has kept nothing yet goes on from where it began (the stream's end when it started).
    """
    if kept.last_seq is None and sel.live and sel.deliver == "new":
        return dataclasses.replace(sel, deliver="start_seq", start_seq=info.state.last_seq + 1, since=None)
    return rest_after(sel, kept.last_seq, kept.received)


__all__ = ["DONE", "IDLE", "LOST", "SHORT", "Drain", "Kept", "Source", "Transport", "drain", "owed", "read_consumers"]
