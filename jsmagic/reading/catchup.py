"""A live replay's history read by the bulk reader, then handed to the live nats-py reader.

``%js_consume STREAM --follow`` (without ``--new``/``--last*``) first replays what the stream
already holds, then waits for new messages.  The history is a bounded replay, so it goes
through the bulk reader (:mod:`jsmagic.reading.wire`):

1. the *history* is the same selection, not live, bounded by the stream's last sequence as
   of the start (``end``; the user's ``--end-seq`` when lower), read in bulk with its rows
   flushed chunk by chunk into the live :class:`~jsmagic.reading.frames.Rows` (the follower
   sees them arrive);
2. the live reader (:func:`jsmagic.reading.consumer.read_consumer`) then takes a consumer
   from ``end + 1``: every sequence above the history's bound, whatever was published while
   the history was read.  Not from "the last row kept + 1": with a subject filter (or
   ``--where``) the last row kept may lie far below ``end``, and that stretch would be
   read again through nats-py.

No gap and no repeat at the hand-over: the history delivers every matching sequence up to
``end`` and nothing above it (the collector's bound), the live consumer starts right above
it.  A history cut short (the bulk reader gave up after its resumes) hands over from the
sequence after the last one it delivered instead.  An interrupt during the history keeps
its rows; the bulk reader deletes its consumer whatever happens.  When the bulk connection
cannot be opened (a websocket URL), the whole replay goes through nats-py, as before, and
the note says why.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..core.context import JSContext
from .consumer import read_consumer
from .frames import Bounds, Chunk, Collector
from .selection import ProgressFn, Selection, rest_after
from .wire.bulk import read_bulk
from .wire.choose import open_bulk
from .wire.protocol import Wire

HISTORY_POLICIES = ("all", "start_seq", "since")  # deliver policies that replay stored messages in order


@dataclasses.dataclass
class CatchUp:
    """How a live replay reads its history: ``end`` (its last sequence), the bulk ``wire`` or why not."""

    sel: Selection  # the history: the live selection, bounded (live=False)
    end: int
    wire: Wire | None = None
    fallback: str | None = None  # why the bulk reader could not be used (then nats-py reads everything)
    rows: int = 0  # rows the history kept
    state: str = "reading"  # then "read" (the whole history), or "stopped" (interrupted during it)
    handed: bool = False  # the live reader took over

    def describe(self) -> str:
        """A few words for the follower's status line."""
        if self.wire is None:
            return f"history: {self.fallback}"
        if self.state == "read":
            return f"history to seq {self.end:,} read by the bulk reader"
        if self.state == "stopped":
            return f"history to seq {self.end:,}: stopped while the bulk reader read it"
        return f"reading the history to seq {self.end:,} with the bulk reader"


def history_end(sel: Selection, info: Any) -> int | None:
    """The last sequence of the history a live selection replays, or None when it replays none."""
    if sel.durable or sel.deliver not in HISTORY_POLICIES or not info.state.messages:
        return None
    end = info.state.last_seq if sel.end_seq is None else min(info.state.last_seq, sel.end_seq)
    first = max(info.state.first_seq, sel.start_seq if sel.deliver == "start_seq" else 1)
    return end if end >= first else None


async def open_catchup(sel: Selection, info: Any, ctx: JSContext, notes: list[str]) -> CatchUp | None:
    """The catch-up of a live selection with history; None when there is none or the bulk reader is off.

    With the bulk reader wanted but its connection refused, a CatchUp without a wire (and a note).
    """
    end = history_end(sel, info)
    if end is None:
        return None
    history = dataclasses.replace(sel, live=False)
    before = len(notes)
    wire = await open_bulk(history, ctx, notes)
    if wire is None and len(notes) == before:  # turned off (config or Selection): today's path, nothing to say
        return None
    return CatchUp(history, end, wire, None if wire is not None else notes[-1])


class _History(Collector):
    """The history's collector: bounded at ``end`` too; remembers what was delivered and why it stopped."""

    def __init__(self, rows: Any, bounds: Bounds, end: int) -> None:
        super().__init__(rows, Bounds(end, bounds.until_ns, bounds.count))
        self.last: int | None = None  # last sequence delivered within the bound
        self.past_until = False  # a message after --until came: the whole replay is over

    def add(self, chunk: Chunk) -> bool:
        if len(chunk):
            inside = chunk.seq[: int(np.searchsorted(chunk.seq, self.bounds.end_seq, side="right"))]
            if len(inside):
                self.last = int(inside[-1])
            u = self.bounds.until_ns
            if u is not None and bool((chunk.time_ns[: len(inside)] > u).any()):
                self.past_until = True
        return super().add(chunk)


async def read_live(sel: Selection, info: Any, cu: CatchUp, collector: Collector, progress: ProgressFn | None,
                    *, ctx: JSContext, notes: list[str]) -> bool:
    """Read ``cu``'s history in bulk into ``collector``'s rows, then follow ``sel`` live from above it."""
    if cu.wire is None:
        return await read_consumer(sel, info, collector, progress, ctx=ctx)
    user = collector.bounds
    history = _History(collector.rows, user, cu.end)
    try:
        timed_out = await read_bulk(cu.sel, info, history, progress, ctx=ctx, wire=cu.wire, notes=notes)
    except BaseException:
        cu.state = "stopped"
        raise
    finally:
        collector.kept = cu.rows = history.kept
    cu.state = "read"
    complete = not timed_out
    if history.past_until or (user.count is not None and history.kept >= user.count) or (
            complete and user.end_seq is not None and user.end_seq <= cu.end):
        collector.done = True  # the user's bound lies inside the history: nothing to follow
        return False
    rest = _rest(sel, cu, history, complete)
    if not complete:
        notes.append(f"the bulk reader stopped at seq {history.last or 0:,}: the rest was read through nats-py")
    cu.handed = True
    return await read_consumer(rest, info, collector, progress, ctx=ctx)


def _rest(sel: Selection, cu: CatchUp, history: _History, complete: bool) -> Selection:
    """What the live reader follows: every sequence above the history (or above what it delivered).

    A complete history hands over at its bound + 1, also for --since: the server places a
    consumer's start at creation (the first message at or after the time, else the next
    sequence), so the live path began right above ``end`` too.
    """
    last = cu.end if complete else history.last
    return rest_after(sel, last, history.kept, at_least_one=False)
