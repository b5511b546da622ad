"""A live replay: new messages of a stream read in the background, until stopped.

:class:`LiveReplay` runs :func:`jsmagic.reading.reader.replay` as a background task on its
context's loop with ``Selection.live`` set: no end bound, no idle stop, every arrival
flushed into the kept :class:`~jsmagic.reading.frames.Rows`.  A tail runs for days, so
:attr:`LiveReplay.df` keeps the newest ``JSMagic.follow_max_rows`` rows; older ones are
dropped and counted (:attr:`LiveReplay.dropped`, shown by :meth:`LiveReplay.describe`).
A follow that replays history first (``--all``, ``--start-seq``, ``--since``) reads it
through the bulk reader and hands over to the live reader right above it
(:mod:`jsmagic.reading.catchup`); :meth:`LiveReplay.describe` says which reader read it.
A server restart or a stream leader change costs the tail its consumer: the reader
resumes with a new one from the sequence after the last row kept (no gap, no repeat).
Each arrival is handed to ``on_rows`` as the chunks that are new since the last call;
``on_end`` hears once how it ended.  The task is registered on the context
(``ctx.spawn``), so ``%js_close`` stops it with its connection; stopping cancels the
task, whose ``finally`` deletes the ephemeral consumer.

The widget that shows it is :class:`jsmagic.ui.tail.Follow` (``%js_consume --follow``).
"""

from __future__ import annotations

import asyncio
import logging
import dataclasses
from typing import Callable

import pandas as pd

from ..core.config import settings
from ..core.context import JSContext
from ..core.decode import view_values
from ..core.registry import current
from .frames import Chunk, Rows
from .reader import Replay, replay
from .selection import Selection

log = logging.getLogger("jsmagic.reading.follow")

ENDED, INTERRUPTED, CANCELLED, ERROR = "ended", "interrupted", "cancelled", "error"


class LiveReplay:
    """A running live read of ``sel``: ``.df`` (every row so far), ``.stop()``, ``.running``.

    ``on_rows(chunks)``: called from the loop with the chunks that arrived since the last
    call.  ``on_end(state)``: called once, ``state`` one of ``"ended"`` (the read ended by
    itself), ``"interrupted"`` (stopped: what arrived is kept), ``"cancelled"`` (stopped
    before reading began) or ``"error"`` (:attr:`error` says why).
    """

    def __init__(self, sel: Selection, on_rows: Callable[[list[Chunk]], None] | None = None,
                 on_end: Callable[[str], None] | None = None, *, ctx: JSContext | None = None) -> None:
        self.sel = dataclasses.replace(sel, live=True)
        self.ctx = current(ctx)
        self.on_rows, self.on_end = on_rows, on_end
        self.rows: Rows | None = None
        self.result: Replay | None = None  # filled as the replay goes (how its history was read)
        self.error: str | None = None
        self.entry = None
        self.task: asyncio.Task | None = None
        self._seen_chunks = 0
        self.dropped = 0  # oldest rows let go to stay within JSMagic.follow_max_rows

    # ---- lifecycle -------------------------------------------------------------------
    def start(self, describe: Callable[[], str] | None = None) -> "LiveReplay":
        """Start the background task on the context's loop (returns at once)."""
        self.entry = self.ctx.spawn(self._run(), name=f"follow {self.sel.stream}", kind="follow",
                                    describe=describe or self.describe)
        self.task = self.entry.task
        return self

    async def _run(self) -> None:
        try:
            result = await replay(self.sel, self._arrived, rows_out=self._bind, ctx=self.ctx, result_out=self._track)
            self._arrived(0, None)
            self._end(INTERRUPTED if result.interrupted else ENDED)
        except asyncio.CancelledError:
            self._end(CANCELLED)
            raise
        except Exception as e:  # noqa: BLE001 -- reported through on_end (and logged); the kernel keeps going
            log.warning("live replay of %s ended with an error", self.sel.stream, exc_info=True)
            self.error = str(e)
            self._end(ERROR)

    def _bind(self, rows: Rows) -> None:
        self.rows = rows

    def _track(self, result: Replay) -> None:
        self.result = result

    def _end(self, state: str) -> None:
        if self.on_end is not None:
            self.on_end(state)

    def stop(self) -> None:
        """Stop following; the consumer is deleted and ``.df`` keeps what arrived."""
        if self.task is not None and not self.task.done():
            self.task.cancel()

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    # ---- rows ------------------------------------------------------------------------
    def _arrived(self, done: int, total: int | None) -> None:
        """The replay's progress callback: hand the chunks that are new to ``on_rows``."""
        chunks = self.new_chunks()
        if chunks:
            self._cap(settings().follow_max_rows)  # first, so that on_rows sees the count dropped so far
        if chunks and self.on_rows is not None:
            self.on_rows(chunks)

    def _cap(self, limit: int) -> None:
        """Drop the oldest rows beyond ``limit`` (whole chunks, then the front of the oldest one)."""
        if self.rows is None or limit < 0:
            return
        over = len(self.rows) - limit
        chunks = self.rows.chunks
        while over > 0 and chunks:
            first = chunks[0]
            if len(first) <= over:
                chunks.pop(0)
                self._seen_chunks -= 1
                over -= len(first)
                self.dropped += len(first)
            else:
                chunks[0] = _without_front(first, over)
                self.dropped += over
                over = 0

    def new_chunks(self) -> list[Chunk]:
        """The chunks kept since the last call (each arrival is read once)."""
        if self.rows is None:
            return []
        chunks = self.rows.chunks[self._seen_chunks :]
        self._seen_chunks = len(self.rows.chunks)
        return chunks

    def values(self, chunk: Chunk, start: int = 0) -> list:
        """The payloads of ``chunk[start:]`` decoded as ``.df`` decodes them (None under ``--headers-only``)."""
        if self.sel.headers_only:
            return [None] * (len(chunk) - start)
        return view_values(chunk, self.sel.decode, start)

    @property
    def df(self) -> pd.DataFrame:
        """Every message received so far, decoded like ``%js_consume`` would."""
        if self.rows is None:
            return Rows().frame()
        return self.rows.frame(self.sel.decode, self.sel.flatten)

    def __len__(self) -> int:
        return len(self.rows) if self.rows is not None else 0

    def describe(self) -> str:
        """What ``%js_status`` lists for this task."""
        state = "running" if self.running else "stopped"
        dropped = f" (the oldest {self.dropped:,} dropped: JSMagic.follow_max_rows)" if self.dropped else ""
        history = self.result.catchup if self.result is not None else None
        how = f"; {history.describe()}" if history is not None else ""
        return f"following {self.sel.stream}: {len(self):,} messages{dropped}, {state}{how}"

    def __repr__(self) -> str:
        return f"<LiveReplay {self.describe()}>"


def _without_front(chunk: Chunk, n: int) -> Chunk:
    """``chunk`` without its first ``n`` messages."""
    start = int(chunk._starts()[n])
    return Chunk(chunk.seq[n:], chunk.time_ns[n:], chunk.subjects[n:], chunk.headers[n:], chunk.sizes[n:],
                 chunk.buf[start:], {k: v[n:] for k, v in chunk.extra.items()})
