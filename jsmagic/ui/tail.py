"""``%js_consume … --follow``: a live tail of a stream in a :class:`jsmagic.ui.livetable.LiveTable`.

The reading is the one reader of every follow, made by :func:`jsmagic.services.messages.follower`
(the reader ``jsmagic.follow`` iterates too: a background task on the kernel's loop,
registered on its connection) and started by the caller with
:func:`jsmagic.services.messages.start_follow`; this module shows it: the newest rows
pushed to the table, which renders at most ``JSMagic.max_render_rate`` times a second while
the kernel is idle.  Only the rows the table can show are decoded; ``.df`` has every row.
Stopping (the Stop button, ``.stop()``, ``%js_close``) cancels the task, whose ``finally``
deletes the ephemeral consumer.  A :class:`~jsmagic.ui.watchview.WatchView` like every live
view: the header shows the connection's outages, the rows scroll in a box of bounded
height, and the saved notebook keeps the last table.
"""

from __future__ import annotations

import pandas as pd

from ..core.context import JSContext
from ..reading.follow import CANCELLED, ENDED, ERROR, INTERRUPTED
from ..reading.frames import Chunk
from ..reading.selection import Selection
from ..services.messages import follower
from .livetable import LiveTable
from .watchview import WatchView

COLUMNS = ["seq", "subject", "time", "size"]  # then one column per JSON field (as a replay), or data
SHOWN = 50  # rows rendered (newest first); .df keeps every row
MAX_FIELDS = 12  # JSON fields shown as columns; further ones stay in .df


class Follow(WatchView):
    """A running live tail: ``.df`` (every row so far), ``.stop()``, ``.table`` (the widget)."""

    def __init__(self, sel: Selection, *, ctx: JSContext | None = None) -> None:
        self.live = self.watcher = follower(sel, on_rows=self._show, on_end=self._ended, ctx=ctx)
        self.sel = self.live.sel
        self.table = LiveTable(COLUMNS, title=f"{sel.stream} (follow)", tail=SHOWN, max_rows=SHOWN,
                               on_stop=self.live.stop)
        self.fields: list[str] = []  # payload columns shown, in the order first seen

    # ---- lifecycle (the caller starts: run(messages.start_follow(view.live)), then view.attach()) ----
    def stop(self) -> "Follow":
        """Stop following; the consumer is deleted and ``.df`` keeps what arrived."""
        self.table.stop()
        return self

    def _ended(self, state: str) -> None:
        """Show how the read ended: by itself, stopped, or with an error (the kernel keeps going)."""
        if state == ENDED:
            self.table.finish(note="ended")
        elif state == INTERRUPTED:
            self.table.finish(note="")
        elif state == ERROR:
            self.table.finish("error", note=self.live.error)
        elif state == CANCELLED:
            self.table.finish()

    @property
    def task(self):
        return self.live.task

    @property
    def error(self) -> str | None:
        return self.live.error

    # ---- rows ------------------------------------------------------------------------
    def _show(self, chunks: list[Chunk]) -> None:
        """Push the newest arrivals to the table (only the rows it can show are decoded)."""
        n = sum(len(c) for c in chunks)
        if not n:
            return
        shown, skipped = [], n - min(n, SHOWN)
        for chunk in chunks:
            start = min(skipped, len(chunk))
            skipped -= start
            for i, data in enumerate(self.live.values(chunk, start), start):  # decoded by the core, as .df
                t = pd.Timestamp(int(chunk.time_ns[i]), unit="ns", tz="UTC")
                shown.append((int(chunk.seq[i]), chunk.subjects[i], t, int(chunk.sizes[i]), *self._fields(data)))
        for k, row in enumerate(shown):
            self.table.append(row, count=(n - len(shown) + 1) if k == 0 else 1)
        if self.live.dropped:  # .df is capped: say how much of the tail it no longer holds
            note = f".df: oldest {self.live.dropped:,} dropped (JSMagic.follow_max_rows)"
            self.table.set_status(self.table.status, note)

    def _fields(self, data) -> tuple:
        """The payload as cells: JSON object fields as columns (as a replay splits them), else one ``data`` cell."""
        if self.sel.headers_only:
            return ()
        values = data if isinstance(data, dict) else {"data": data}
        new = [k for k in values if k not in self.fields][: max(0, MAX_FIELDS - len(self.fields))]
        if new:
            self.fields.extend(new)
            self.table.add_columns(new)
        return tuple(values.get(f) for f in self.fields)

    @property
    def df(self) -> pd.DataFrame:
        """Every message received so far, decoded like ``%js_consume`` would."""
        return self.live.df

    def __len__(self) -> int:
        return len(self.live)

    def describe(self) -> str:
        return self.live.describe()

    def __repr__(self) -> str:
        return f"<Follow {self.describe()}>"

