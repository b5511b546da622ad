"""``%js_consume … --follow``: a live tail of a stream in a :class:`jsmagic.ui.livetable.LiveTable`.

The replay machinery of :mod:`jsmagic.replay.reader` runs as a background task on the kernel's
loop with ``Selection.live`` set: no end bound, no idle stop, every arrival flushed into the
kept :class:`~jsmagic.replay.frames.Rows` (so ``.df`` has every row, nothing dropped) and the newest
rows pushed to the table, which renders at most ``JSMagic.max_render_rate`` times a second
while the kernel is idle.  Stopping (the Stop button, ``.stop()``, ``%js_close``) cancels
the task, whose ``finally`` deletes the ephemeral consumer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import pandas as pd

from .reader import Selection, replay
from ..core.registry import context
from ..core.decode import decode_value
from .frames import Rows

COLUMNS = ["seq", "subject", "time", "size", "data"]
SHOWN = 50  # rows rendered (newest first); .df keeps every row


class Follow:
    """A running live tail: ``.df`` (every row so far), ``.stop()``, ``.table`` (the widget)."""

    def __init__(self, sel: Selection) -> None:
        from ..ui.livetable import LiveTable

        self.sel = dataclasses.replace(sel, live=True)
        self.table = LiveTable(COLUMNS, title=f"{sel.stream} (follow)", tail=SHOWN, max_rows=SHOWN, on_stop=self._cancel)
        self._rows: Rows | None = None
        self._seen_chunks = 0
        self.error: str | None = None
        self.entry = None
        self.task: asyncio.Task | None = None

    # ---- lifecycle -------------------------------------------------------------------
    def start(self) -> "Follow":
        """Start the background task on the kernel's loop (returns at once)."""
        ctx = context()
        self.entry = ctx.spawn(self._run(), name=f"follow {self.sel.stream}", kind="follow", describe=self.describe)
        self.task = self.entry.task
        return self

    async def _run(self) -> None:
        try:
            result = await replay(self.sel, self._on_progress, rows_out=self._bind)
            self._on_progress(0, None)
            self.table.finish(note="ended" if not result.interrupted else "")
        except asyncio.CancelledError:
            self.table.finish()
            raise
        except Exception as e:  # shown on the widget; the kernel keeps going
            self.error = str(e)
            self.table.finish("error", note=str(e))

    def _bind(self, rows: Rows) -> None:
        self._rows = rows

    def _cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def stop(self) -> "Follow":
        """Stop following; the consumer is deleted and ``.df`` keeps what arrived."""
        self.table.stop()
        return self

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    # ---- rows ------------------------------------------------------------------------
    def _on_progress(self, done: int, total: int | None) -> None:
        """Push the newest arrivals to the table (only the rows it can show are decoded)."""
        rows = self._rows
        if rows is None:
            return
        chunks = rows.chunks[self._seen_chunks :]
        self._seen_chunks = len(rows.chunks)
        n = sum(len(c) for c in chunks)
        if not n:
            return
        shown, skipped = [], n - min(n, SHOWN)
        for chunk in chunks:
            for i in range(len(chunk)):
                if skipped > 0:
                    skipped -= 1
                    continue
                data = None if rows.headers_only else decode_value(chunk.payload(i), "auto")
                t = pd.Timestamp(int(chunk.time_ns[i]), unit="ns", tz="UTC")
                shown.append((int(chunk.seq[i]), chunk.subjects[i], t, int(chunk.sizes[i]), data))
        for k, row in enumerate(shown):
            self.table.append(row, count=(n - len(shown) + 1) if k == 0 else 1)

    @property
    def df(self) -> pd.DataFrame:
        """Every message received so far, decoded like ``%js_consume`` would."""
        if self._rows is None:
            return Rows().frame()
        return self._rows.frame(self.sel.decode, self.sel.flatten)

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else 0

    def describe(self) -> str:
        state = "running" if self.running else "stopped"
        return f"following {self.sel.stream}: {len(self):,} messages, {state}"

    def __repr__(self) -> str:
        return f"<Follow {self.describe()}>"


def follow(sel: Selection, display: bool = True) -> Follow:
    """Start a live tail of ``sel`` and (in a notebook) display its table."""
    handle = Follow(sel).start()
    if display:
        handle.table.display()
    return handle
