"""A generic live table widget: rows that change while the kernel is idle, rendered throttled.

:class:`LiveTable` is what every jsmagic "live" view shows (``%js_kv watch``, a followed
consume, an object-store watch).  It knows nothing about NATS: a producer (a background
task on the kernel's loop) calls :meth:`LiveTable.upsert` / :meth:`LiveTable.append` as fast
as events arrive, and the table renders at most ``JSMagic.max_render_rate`` times a second.

Why it is built this way:

- an update is a dict assignment and a flag: no DataFrame, no HTML, no comm message per
  event, so a watch can apply tens of thousands of events a second;
- rendering happens on a timer on the same loop (``call_later``), so updates are coalesced
  and a final render always follows the last update: the shown state is never behind;
- the header (title, status, events, rate) and the table are separate HTML widgets, so a
  status or rate change does not resend the table;
- :meth:`LiveTable.display` keeps a display id: once the table ends, its output is replaced
  by the static snapshot (:meth:`LiveTable.snapshot`, no widget view), so a saved notebook
  shows the table, not "model not found"; while live, the bundle's ``text/html`` is
  refreshed now and then.  Example: ``t = LiveTable(["key", "value"], key="key");
  t.display(); t.upsert(("db.host", "pg2"))``;
- the rows scroll inside a box of bounded height (:data:`MAX_HEIGHT`), live and saved;
- the header (:mod:`jsmagic.ui.liveheader`) shows the connection's state with times once
  :meth:`LiveTable.watch_connection` is given the context (the protocol every live view
  follows is in :mod:`jsmagic.ui.watchview`).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
from typing import Any, Callable, Sequence

from ..core.config import settings
from ..core.units import plural
from . import liveshown
from .liveheader import LIVE, STOPPED, Connection, RateMeter, header_html
from .tablestyle import cell as _cell
from .tablestyle import table_html

log = logging.getLogger("jsmagic.ui.livetable")

MAX_HEIGHT = "min(60vh, 560px)"  # the rows scroll inside this (a 50-row tail is ~1,000 px tall)


class LiveTable:
    """A live, throttled table widget keyed by a column (upsert) or appended (tail mode).

    ``columns``: the column names.  ``key``: the key column (upsert mode); None means tail
    mode, where the newest ``tail`` rows are kept and shown newest first.  ``max_rows``:
    rows rendered (the kept state is complete, see :attr:`df`).  ``order``: ``"key"`` sorts
    the shown rows by key, ``"recent"`` shows the most recently changed first.
    ``on_stop``: called once by :meth:`stop` or the Stop button (may return a coroutine,
    which is scheduled on the loop).  ``max_render_rate``: renders per second, default
    ``JSMagic.max_render_rate``.  ``unit``: what the header counts (``event``, ``sample``).
    ``extra``: HTML shown under the table (a chart), re-made on each render and in the snapshot.
    ``widths``: column widths (``{"time": "14ch"}``) over :data:`jsmagic.ui.tablestyle.WIDTHS`.
    """

    def __init__(
        self,
        columns: Sequence[str],
        *,
        key: str | None = None,
        title: str = "",
        tail: int = 1000,
        max_rows: int = 50,
        order: str = "key",
        on_stop: Callable[[], Any] | None = None,
        max_render_rate: float | None = None,
        static_every: float = 5.0,
        formatters: dict[str, Callable[[Any], Any]] | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        unit: str = "event",
        extra: Callable[[], str] | None = None,
        widths: dict[str, str] | None = None,
    ):
        import ipywidgets as w

        self.columns = list(columns)
        if key is not None and key not in self.columns:
            raise ValueError(f"key column {key!r} is not one of {self.columns}")
        if order not in ("key", "recent"):
            raise ValueError("order must be 'key' or 'recent'")
        self.key = key
        self._key_index = self.columns.index(key) if key is not None else None
        self.title, self.max_rows, self.order, self.on_stop, self.widths = title, max_rows, order, on_stop, widths
        self.max_render_rate = max_render_rate or settings().max_render_rate
        self.static_every = static_every
        fmts = formatters or {}
        self._formatters = [fmts.get(c) for c in self.columns]
        self._loop = loop
        self.unit, self._extra_html = unit, extra
        self.connection = Connection()
        self._unlisten: Callable[[], Any] | None = None
        # state: upsert mode keeps key -> (row, muted) in change order; tail mode a bounded deque
        self._rows: dict[Any, tuple[tuple, bool]] = {}
        self._tail: collections.deque = collections.deque(maxlen=tail)
        self._last_key: Any = None
        self.events, self.status, self.note, self.renders = 0, LIVE, "", 0
        self._meter = RateMeter()
        # rendering state
        self._dirty = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = 0.0
        self._render_pending = False
        self._last_render = 0.0
        self._static_dirty = False
        self._last_static = 0.0
        self._display = None
        self._stopped = False
        self._finished: tuple | None = None
        self._ended_at = ""
        self._stop_result: Any = None
        # the widget: header + stop button, table underneath
        self._header = w.HTML(value=self._header_html())
        self._table = w.HTML(value=self._table_html())
        self._extra = w.HTML(value=extra() if extra is not None else "")
        self._button = w.Button(description="Stop", icon="stop", layout=w.Layout(width="80px"))
        self._button.on_click(lambda _b: self.stop())
        below = [self._extra] if extra is not None else []
        self.widget = w.VBox([w.HBox([self._header, self._button]), self._table, *below])

    # ---- producer side: cheap per event ----------------------------------------------
    def upsert(self, row: Sequence[Any], muted: bool = False, count: int = 1) -> None:
        """Insert or replace the row with this row's key; ``muted`` greys it (e.g. deleted)."""
        key = row[self._key_index]
        rows = self._rows
        if key in rows:
            del rows[key]  # re-insert so dict order is change order ("recent" view, O(1))
        rows[key] = (tuple(row), muted)
        self._last_key = key
        self.events += count
        self._changed()

    def remove(self, key: Any, count: int = 1) -> None:
        """Drop the row of ``key`` (e.g. a deleted KV key when deletes are not shown)."""
        if self._rows.pop(key, None) is not None and self._last_key == key:
            self._last_key = None
        self.events += count
        self._changed()

    def append(self, row: Sequence[Any], muted: bool = False, count: int = 1) -> None:
        """Tail mode: add a row; only the newest ``tail`` rows are kept."""
        self._tail.append((tuple(row), muted))
        self.events += count
        self._changed()

    def clear(self) -> None:
        """Forget every row (a resync that rebuilds the state)."""
        self._rows.clear()
        self._tail.clear()
        self._last_key = None
        self._changed()

    def add_columns(self, names: Sequence[str]) -> None:
        """More columns (e.g. JSON fields seen for the first time); earlier rows show them empty."""
        new = [n for n in names if n not in self.columns]
        if new:
            self.columns.extend(new)
            self._formatters.extend([None] * len(new))
            self._changed()

    def set_status(self, status: str, note: str = "") -> None:
        """``live``, ``reconnecting``, ``stopped`` (or any short text), with an optional note."""
        if (status, note) != (self.status, self.note):
            self.status, self.note = status, note
            self._changed()

    def watch_connection(self, ctx: Any) -> None:
        """Show ``ctx``'s connection state (reconnecting / disconnected / resumed, with times) until the end.

        The context reports (``ctx.on_state``, ``ctx.state_since``); the table only renders.
        """
        if ctx is None or self._unlisten is not None or self._finished is not None:
            return
        self.set_connection(getattr(ctx, "state", "connected"), getattr(ctx, "state_since", time.time()))
        self._unlisten = ctx.on_state(lambda state: self.set_connection(state, ctx.state_since))

    def set_connection(self, state: str, at: float) -> None:
        """The connection is ``connected``, ``reconnecting`` or ``closed`` since ``at`` (``time.time()``)."""
        if self._finished is None and self.connection.update(state, at):
            self._changed()

    # ---- reading the state -----------------------------------------------------------
    def rows(self) -> list[tuple]:
        """Every kept row: upsert mode in key order, tail mode oldest first."""
        if self.key is None:
            return [r for r, _m in self._tail]
        return [self._rows[k][0] for k in sorted(self._rows, key=_sort_key)]

    @property
    def df(self):
        """The kept state as a DataFrame (built column-wise, on demand)."""
        import pandas as pd

        rows = self.rows()
        return pd.DataFrame({c: [r[i] if i < len(r) else None for r in rows] for i, c in enumerate(self.columns)},
                            columns=self.columns)

    def __len__(self) -> int:
        return len(self._rows) if self.key is not None else len(self._tail)

    @property
    def rate(self) -> float:
        """Events per second over the last couple of seconds (as last rendered)."""
        return self._meter.rate

    # ---- throttled rendering -----------------------------------------------------------
    def _changed(self) -> None:
        """Mark dirty and make sure a render is due within the throttle interval (one timer at most)."""
        self._dirty = True
        self._static_dirty = True
        if self._render_pending or self._stopped:
            return  # the common case under load: one flag test per update
        now = time.monotonic()
        due = max(now, self._last_render + 1.0 / self.max_render_rate)
        if self._timer is not None and self._timer_due <= due + 0.005:
            return  # a render is already coming soon enough: coalesce
        self._meter.wake(now, self.events)
        self._schedule(due - now, render=True)

    def _schedule(self, delay: float, render: bool = False) -> None:
        """(Re)arm the single timer; a slow rate/static tick is replaced by a sooner render."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        loop = self._loop
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (plain script): render now; no timer ticks (they would recurse)
                if render:
                    self._tick()
                return
        self._timer_due = time.monotonic() + delay
        self._render_pending = render
        self._timer = loop.call_later(delay, self._tick)

    def _tick(self) -> None:
        """The timer: render if dirty, keep the rate honest while live, refresh the static copy."""
        self._timer = None
        self._render_pending = False
        now = time.monotonic()
        self._meter.sample(now, self.events)
        quiet = not self._dirty  # nothing changed since the last render
        if not quiet:
            self.render()
        elif self._header.value != (header := self._header_html()):
            self._header.value = header  # only the rate moved (decaying to 0 when idle)
        if self._static_dirty and quiet and now - self._last_static >= self.static_every:
            self.refresh_static()  # only once updates pause: re-sending the output re-creates its view
        if self._stopped:
            return
        if self._meter.rate > 0:
            self._schedule(1.0)  # let the rate decay to 0 once events stop
        elif self._static_dirty and self._display is not None:
            self._schedule(max(0.1, self._last_static + self.static_every - now))

    def render(self) -> None:
        """Render now (the throttle calls this; call it yourself only for a forced refresh)."""
        self._dirty = False
        self._last_render = time.monotonic()
        self.renders += 1
        header, table = self._header_html(), self._table_html()
        if self._header.value != header:
            self._header.value = header
        if self._table.value != table:
            self._table.value = table
        if self._extra_html is not None:
            self._extra.value = self._extra_html()  # traitlets send nothing when the value is unchanged

    def _header_html(self) -> str:
        """Live: ``● live · 1,200 events · 340/s · 12 rows``; ended: ``stopped at 17:15:06`` (no rate)."""
        return header_html(self.title, self.status, self.note, connection=self.connection, events=self.events,
                           unit=self.unit, rate=self._meter.rate, rows=len(self),
                           ended_at=self._ended_at if self._finished is not None else None)

    def _shown(self) -> list[tuple[tuple, bool, bool]]:
        """(row, muted, highlighted) for the rows to render, at most ``max_rows``."""
        n = self.max_rows
        if self.key is None:
            newest = list(itertools.islice(reversed(self._tail), n))
            return [(r, m, i == 0) for i, (r, m) in enumerate(newest)]
        if self.order == "recent":
            keys = list(itertools.islice(reversed(self._rows), n))
        else:
            keys = sorted(self._rows, key=_sort_key)[:n]
        last = self._last_key
        return [(*self._rows[k], k == last) for k in keys]

    def _table_html(self) -> str:
        width = len(self.columns)
        rows = (([_cell(f(v) if f is not None and v is not None else v)
                  for v, f in zip(row + (None,) * (width - len(row)), self._formatters)],
                 muted, hot) for row, muted, hot in self._shown())
        total = len(self)
        foot = f"<div><small>showing {self.max_rows:,} of {total:,} rows</small></div>" if total > self.max_rows else ""
        box = f"<div class='jsmagic-scroll' style='max-height:{MAX_HEIGHT};overflow:auto'>"
        return f"{box}{table_html(self.columns, rows, widths=self.widths)}</div>{foot}"

    def html(self) -> str:
        """A static HTML copy of the current state (what a saved notebook shows)."""
        extra = self._extra_html() if self._extra_html is not None else ""
        return (f"<div class='jsmagic-live'><div style='margin-bottom:4px'>{self._header_html()}</div>"
                f"{self._table_html()}{extra}</div>")

    def snapshot(self) -> dict[str, str]:
        """The output that replaces the widget once the table ended: static HTML and text, no widget view."""
        return {"text/html": self.html(), "text/plain": repr(self)}

    # ---- display and stop ----------------------------------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = self.html()
        bundle["text/plain"] = repr(self)
        return bundle

    def display(self) -> "LiveTable":
        """Display the widget with a display id, so the static copy can be refreshed later."""
        from IPython.display import display

        self._display = display(self, display_id=True)
        liveshown.track(self)  # kernel shutdown: snapshots where the frontend still listens
        self._last_static = time.monotonic()
        self._static_dirty = False
        return self

    def refresh_static(self) -> None:
        """Re-send the displayed output so its ``text/html`` fallback shows the current state."""
        self._static_dirty = False
        self._last_static = time.monotonic()
        if self._display is not None:
            try:
                if self._finished is not None:  # ended: the widget view goes, the table stays in the file
                    self._display.update(self.snapshot(), raw=True)
                else:
                    self._display.update(self)
            except Exception as e:  # noqa: BLE001 -- no frontend (plain Python): nothing to refresh (logged)
                log.debug("refresh without a frontend: %r", e)

    def stop(self) -> Any:
        """Stop once: call ``on_stop``, show ``stopped``, render the final state now."""
        if self._stopped:
            return self._stop_result
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        result = self.on_stop() if self.on_stop is not None else None
        if asyncio.iscoroutine(result):
            result = asyncio.ensure_future(result, loop=self._loop)  # returned: the caller may await it
        self._stop_result = result
        self.finish()
        return result

    def stopped_by(self, entry: Any) -> None:
        """Let ``%js_close`` (or an unwatch) stop this table first, from the cell that closes (not the watch's task)."""
        if entry is not None and getattr(entry, "stop", "absent") is None:
            entry.stop = self.stop

    def finish(self, status: str = STOPPED, note: str | None = None) -> None:
        """Mark the table ended (by its producer, or by :meth:`stop`) and render it one last time."""
        if self._finished == (status, note if note is not None else self.note):
            return  # already shown as ended: no second final render
        self._finished = (status, note if note is not None else self.note)
        self._ended_at = time.strftime("%H:%M:%S")
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.status = status
        if note is not None:
            self.note = note
        self._button.disabled = True
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        self._meter.rate = 0.0
        self.render()
        self.refresh_static()
        liveshown.untrack(self)

    @property
    def stopped(self) -> bool:
        return self._stopped

    def __repr__(self) -> str:
        return f"<LiveTable {self.title!r} {self.status}: {plural(len(self), 'row')}, {plural(self.events, self.unit)}>"


def _sort_key(key: Any) -> tuple:
    """Sort keys of mixed types without failing (numbers before text)."""
    return (isinstance(key, str), key) if isinstance(key, (int, float, str)) else (True, str(key))
