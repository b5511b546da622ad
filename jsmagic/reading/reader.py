"""Replay a stream's history into a DataFrame — without changing the stream.

``await replay(Selection("ORDERS", subjects=["orders.eu.>"], since=...))`` picks a reader:

* a Limits stream: an *ephemeral* pull consumer with AckPolicy none, deleted whatever
  happens (:mod:`jsmagic.reading.consumer`, pulled by hand by :mod:`jsmagic.reading.pull`);
* a WorkQueue or Interest stream: no consumer at all (one could remove messages there); the
  messages are read by batched direct get or pipelined ``STREAM.MSG.GET``
  (:mod:`jsmagic.reading.get`);
* a live replay (``--follow``) with history to read: the history through the bulk reader,
  then a live consumer from the sequence after it (:mod:`jsmagic.reading.catchup`);
* ``durable=NAME``: the explicit, destructive path — a durable consumer with explicit acks:
  ``--ack``/``--term`` sent as the rows are read (window by window, past the durable's
  ``max_ack_pending``), ``--nak``/``--in-progress`` after the frame is built; rows a filter
  dropped or a bound cut are settled too (:mod:`jsmagic.reading.durable`).

What comes back is data: a :class:`Replay` with the complete frame, how it was read and
whether it was cut short; :func:`jsmagic.ui.replay.replay_summary` words it for a notebook.
Payloads go to :mod:`jsmagic.reading.frames` as joined buffers, and the garbage collector
is off during the bulk load (it adds ~40% on millions of objects).  Without a bound the
replay stops at the stream's last sequence as of the call.  Where the server can count the
selection, it is counted before the read (:mod:`jsmagic.reading.counted`): a read that
returns fewer rows (the stream purged meanwhile) has a first note starting ``SHORT``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any, Callable

import nats.errors
import nats.js.errors
import pandas as pd

from ..core import gcpause
from ..core.context import JSContext
from ..core.errors import JSMagicError, not_found
from ..core.registry import current, jetstream
from .catchup import CatchUp, open_catchup, read_live
from .consumer import acknowledge, read_consumer
from .counted import behind, expected, newest, shortfall
from .durable import Ledger
from .frames import Collector, Rows
from .get import get_method, read_by_get
from .selection import ProgressFn, Selection, bounds_for, reads_by_get
from .wire.bulk import read_bulk
from .wire.choose import open_bulk

__all__ = ["Replay", "Selection", "check_stream", "replay", "stream_info"]

log = logging.getLogger("jsmagic.reading.reader")


@dataclasses.dataclass
class Replay:
    """A finished (or interrupted) replay: the complete frame and how it was read.

    ``method`` names the reader (``"ephemeral consumer (deleted)"``, ``"durable consumer
    NAME"``, ``"direct get (workqueue stream: no consumer created)"``); ``interrupted``: a
    cancellation stopped it and ``frame`` holds what had arrived; ``timed_out``: it stopped
    after the idle timeout while still expecting messages; ``action``/``acknowledged``:
    the durable ack verb sent and for how many rows (``--ack``/``--term`` are sent as rows
    arrive: an interrupted read has ``acknowledged`` rows acked, every one of them in ``frame``).
    """

    stream: str
    frame: pd.DataFrame
    method: str
    interrupted: bool = False
    timed_out: bool = False
    export: Any = None  # what a sink wrote (jsmagic.reading.export.Export), instead of a frame
    notes: list[str] = dataclasses.field(default_factory=list)
    action: str | None = None
    acknowledged: int = 0
    failed: str | None = None  # an --ack/--term read failed after acking rows: ``frame`` holds every one of them
    bulk: bool = False  # read by the bulk reader (jsmagic.reading.wire), not through nats-py
    counted: int | None = None  # the server's count of the selection before the read (.counted; None: not countable)
    newest: int | None = None  # --last*: the stream leader's newest sequence of the selection before the read (.counted)
    catchup: CatchUp | None = None  # live: how the history was read before following (jsmagic.reading.catchup)


async def stream_info(js: Any, name: str, *, ctx: JSContext | None = None) -> Any:
    """The stream's info, or "unknown stream 'ORDRS': did you mean 'ORDERS'?" (among every page of names)."""
    try:
        return await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        names = await current(ctx).api.paged("STREAM.NAMES", "streams")  # js.streams_info() is one page (256)
        raise not_found("stream", name, names) from None


async def check_stream(name: str, *, ctx: JSContext | None = None) -> Any:
    """The stream's info, connecting first (a live follow checks this before going background)."""
    return await stream_info(await jetstream(ctx), name, ctx=ctx)


async def replay(sel: Selection, progress: ProgressFn | None = None,
                 rows_out: Callable[[Rows], None] | None = None, *, sink: Any = None,
                 ctx: JSContext | None = None, result_out: Callable[[Replay], None] | None = None) -> Replay:
    """Read the selection into a frame (see :func:`_replay`); a short read (:mod:`.counted`) is read again.

    A consumer placed on a replica still catching up can owe less than the stream holds (seen
    once under load: 0 of 30,000 for a filtered read as an R3 follower resumed, although the
    count was checked against the leader).  An in-memory read that comes back short of the
    count taken before it (:mod:`.counted`) is therefore read again, with a new consumer, and
    the fuller of the two kept; it stays SHORT only if that one is short of the first count
    too (a purge meanwhile), and says it read again.  A ``--last*`` read that ended below the
    stream leader's newest message of its selection (its consumer took its "last" set from a
    replica catching up) is read again up to :data:`LAST_REREADS` times, each against the
    leader's newest as of then.
    """
    first = await _replay(sel, progress, rows_out, sink=sink, ctx=ctx, result_out=result_out)
    if not (_short(first) and (first.counted is not None or first.newest is not None) and sink is None
            and rows_out is None and result_out is None and not sel.durable and not sel.live):
        return first
    best = first
    for _ in range(1 if first.counted is not None else LAST_REREADS):
        log.info("replay of %s short (%s): read again", sel.stream, best.notes[0])
        again = await _replay(sel, progress, ctx=ctx, counted=first.counted)
        if not _short(again) or (first.counted is not None and len(again.frame) > len(best.frame)):
            best = again
        if not _short(best):
            break
    if first.counted is not None:
        said = f"returned {len(first.frame):,} of the {first.counted:,} messages counted before it"
    else:
        said = f"ended below the stream leader's newest message of the selection (seq {first.newest:,})"
    best.notes.append(f"read again: the first read {said} (a replica catching up, or messages removed meanwhile)")
    return best


LAST_REREADS = 3  # --last*: reads again while the read's consumer took its "last" set from a replica catching up


def _short(result: Replay) -> bool:
    return bool(result.notes) and result.notes[0].startswith("SHORT")


async def _replay(sel: Selection, progress: ProgressFn | None = None,
                  rows_out: Callable[[Rows], None] | None = None, *, sink: Any = None,
                  ctx: JSContext | None = None, result_out: Callable[[Replay], None] | None = None,
                  counted: int | None = None) -> Replay:
    """Read the selection into a frame; on cancellation return what arrived, marked interrupted.

    ``progress(done, total)`` is called as messages arrive; ``rows_out`` receives the
    :class:`Rows` being filled before reading starts (a live follower reads new chunks
    from it as they arrive); ``sink``: takes each chunk instead of the frame
    (:mod:`jsmagic.reading.export`), its summary lands in ``Replay.export``; ``ctx``: the
    connection (default: the current one); ``result_out`` receives the :class:`Replay` being
    filled before reading starts (a live follower shows how its history is read).
    """
    sel.check()
    ctx = current(ctx)
    js = await jetstream(ctx)
    info = await stream_info(js, sel.stream, ctx=ctx)
    # the server's count of the selection (.counted): a purge mid-read is SHORT; a second read keeps the first count
    want = counted if counted is not None else await expected(sel, info, ctx)
    if want is not None:  # the end bound taken after the count: every message counted lies within it
        info = await stream_info(js, sel.stream, ctx=ctx)
    last = await newest(sel, info, ctx)  # --last*: the read must reach the leader's newest message (.counted)
    rows = Rows(durable=bool(sel.durable), headers_only=sel.headers_only)
    collector = Collector(rows, bounds_for(sel, info))
    collector.progress = progress  # a filtered read's progress follows what was read, not what was kept
    streamed = sink is not None and not needs_finish(sel, info)
    rows.shaped(sel.decode, sel.flatten, sel.shape(), sink if streamed else None)
    rows.eager = rows_out is None  # nobody reads the chunks before the frame: decode each as it arrives
    sel_all, sel = sel, sel.for_readers()  # with filters, -n counts matches in the collector
    pulled = sink_sized(sel) if streamed else sel  # what the readers other than the bulk one pull
    if rows_out is not None:
        rows_out(rows)
    result = Replay(sel.stream, pd.DataFrame(), method="")
    if result_out is not None:
        result_out(result)
    ledger = Ledger(sel, info, ctx.nc) if sel.durable else None
    paused = gcpause.hold(not sel.live)  # a bulk load: the collector only slows it down (a follow runs for hours)
    try:
        try:
            if sel.durable:
                result.method = f"durable consumer {sel.durable}"
                result.timed_out = await read_consumer(pulled, info, collector, progress, ctx=ctx, notes=result.notes,
                                                       ledger=ledger)
            elif reads_by_get(info, sel):
                result.method = get_method(info)
                result.timed_out = await read_by_get(info, pulled, rows, collector.bounds, progress, ctx=ctx)
            elif sel.live and (cu := await open_catchup(sel, info, ctx, result.notes)) is not None:
                result.method, result.bulk, result.catchup = "ephemeral consumer (deleted)", cu.wire is not None, cu
                result.timed_out = await read_live(sel, info, cu, collector, progress, ctx=ctx, notes=result.notes)
            elif (wire := await open_bulk(sel, ctx, result.notes)) is not None:
                result.method, result.bulk = "ephemeral consumer (deleted)", True
                result.timed_out = await read_bulk(sel, info, collector, progress, ctx=ctx, wire=wire, notes=result.notes,
                                                   step=SINK_STEP if streamed else None)
            else:
                result.method = "ephemeral consumer (deleted)"
                result.timed_out = await read_consumer(pulled, info, collector, progress, ctx=ctx, notes=result.notes)
        except asyncio.CancelledError:
            result.interrupted = True
        except (JSMagicError, nats.errors.Error, asyncio.TimeoutError) as e:
            if ledger is None or not ledger.acted:
                raise
            result.failed = " ".join(str(e).split()) or type(e).__name__  # rows were acked: the frame must come back
        # one-shot unless a follower still reads the chunks: each is let go once decoded (peak memory)
        result.frame = finish(rows.frame(sel.decode, sel.flatten, release=rows_out is None), sel_all, info)
        if sink is None:  # columns whose values share no type (a sink words its own: see its conflicts)
            result.notes.extend(rows.schema.notes())
        if sink is not None:  # streamed: the frame is empty; else the finished frame is written now
            result.export = sink.close(None if streamed else result.frame, interrupted=result.interrupted)
            result.frame = pd.DataFrame()
    finally:
        gcpause.release(paused)
    result.counted, result.newest = want, last
    if not result.interrupted and not result.failed and (
            short := shortfall(collector.kept, want) or behind(collector.newest, last)):
        result.notes.insert(0, short)  # the first note: the summary leads with it, the API raises, the command exits 3
    if ledger is not None and sel.action and ledger.consuming:  # acked as read (also when interrupted)
        result.action, result.acknowledged = sel.action, ledger.acted
    elif sel.durable and sel.action and not result.interrupted:
        result.action = sel.action
        result.acknowledged = await acknowledge(rows.replies(), sel.action, sel.delay, ctx=ctx)
    return result


SINK_BATCH = 1_000  # nats-py pulls per request when a sink takes the chunks: smaller chunks, a lower peak
SINK_STEP = 4 << 20  # bulk reader: bytes of what arrived per chunk a sink converts at once (its transient peak)


def sink_sized(sel: Selection) -> Selection:
    """``sel`` with the sinks' pull size for the nats-py and get readers, unless --batch chose one.

    The nats-py reader's chunk is about ten pulls (50k rows at the default batch, 10k with
    this).  The bulk reader is not given it: pulls of 1,000 messages cost it a round trip
    each (a 1M-message ``--to`` ran at 0.4x the in-memory replay).  It pulls as for the
    in-memory replay and hands the sink what arrived in chunks of about :data:`SINK_STEP`
    bytes (4 MiB: ~20k orders of 120 B; 1 MiB cost ~25% more CPU per message in the
    sink's per-chunk frame, 16 MiB ~40 MB more peak).
    """
    return sel if sel.batch else dataclasses.replace(sel, batch=SINK_BATCH)


def needs_finish(sel: Selection, info: Any) -> bool:
    """Whether :func:`finish` must see the whole frame (several get-path filters, --last*)."""
    return not sel.durable and reads_by_get(info, sel) and (len(sel.subjects) > 1 or sel.deliver in ("last", "last_per_subject"))


def finish(df: pd.DataFrame, sel: Selection, info: Any) -> pd.DataFrame:
    """Get-path results of several filters merged in stream order; --last/--last-per-subject applied."""
    if sel.durable or not reads_by_get(info, sel) or df.empty:
        return df
    if len(sel.subjects) > 1:
        df = df.drop_duplicates("seq").sort_values("seq", kind="stable")
        if sel.count:
            df = df.head(sel.count)
    if sel.deliver == "last":
        df = df.tail(1)
    elif sel.deliver == "last_per_subject":
        df = df.drop_duplicates("subject", keep="last")
    return df.reset_index(drop=True)
