"""``w = %js_consumer watch STREAM NAME``: a consumer's counters live, with a small chart over time.

The polling is the core's :class:`jsmagic.admin.consumerwatch.ConsumerWatcher`; here each
sample becomes a row of a :class:`jsmagic.ui.livetable.LiveTable` (newest first) and a
point of an SVG chart of pending, ack pending and redelivered under it.  ``w.df`` is the
time series, ``w.stop()`` (or the Stop button, or ``%js_close``) ends it; the saved
notebook keeps the last table and chart as HTML.
"""

from __future__ import annotations

import logging

import html

from ..admin.consumerwatch import COLUMNS, STOPPED, ConsumerWatcher
from ..core.context import JSContext
from .livetable import LiveTable
from .watchview import WatchView

log = logging.getLogger("jsmagic.ui.consumerwatch")

LINES = {"pending": "#4c72b0", "ack_pending": "#dd8452", "redelivered": "#c44e52", "waiting": "#55a868"}
WIDTH, HEIGHT, POINTS = 480, 120, 300


def chart_svg(df, width: int = WIDTH, height: int = HEIGHT) -> str:
    """The last ``POINTS`` samples of pending / ack pending / redelivered / waiting as an SVG line chart."""
    df = df.tail(POINTS)
    if df.empty:
        return ""
    top = max(1, int(df[list(LINES)].to_numpy().max()))
    n = max(len(df) - 1, 1)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height + 18}' "
             f"style='font:10px sans-serif'>",
             f"<rect x='0' y='0' width='{width}' height='{height}' fill='#fafafa' stroke='#ddd'/>",
             f"<text x='3' y='11' fill='#666'>{top:,}</text><text x='3' y='{height - 3}' fill='#666'>0</text>"]
    for i, (column, colour) in enumerate(LINES.items()):
        points = " ".join(f"{x * (width - 4) / n + 2:.1f},{height - 2 - v * (height - 14) / top:.1f}"
                          for x, v in enumerate(df[column]))
        parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{points}'/>")
        parts.append(f"<text x='{6 + i * 110}' y='{height + 13}' fill='{colour}'>■ {html.escape(column)} "
                     f"{int(df[column].iloc[-1]):,}</text>")
    parts.append("</svg>")
    return "".join(parts)


class ConsumerWatch(WatchView):
    """A live consumer watch: ``.table`` and ``.chart`` (widgets), ``.df`` (time series), ``.stop()``."""

    def __init__(self, stream: str, name: str, every: float = 1.0, *, ctx: JSContext | None = None):
        import ipywidgets as w

        self.watcher = ConsumerWatcher(stream, name, every, on_sample=self._on_sample,
                                       on_status=self._on_status, ctx=ctx)
        self.table = LiveTable(COLUMNS, title=f"Consumer {stream} > {name}", max_rows=8,
                               on_stop=self.watcher.stop,
                               formatters={"time": lambda t: t.strftime("%H:%M:%S.%f")[:-3]})
        self.chart = w.HTML()
        self.widget = w.VBox([self.table.widget, self.chart])

    def _on_sample(self, row: dict) -> None:
        self.table.append([row[c] for c in COLUMNS])
        self.chart.value = chart_svg(self.watcher.df)

    def _on_status(self, status: str, note: str) -> None:
        if status == STOPPED:
            self.table.finish(note=note or None)
            self._refresh()
        else:
            self.table.set_status(status, note)

    def html(self) -> str:
        """Table and chart as static HTML (what a saved notebook shows)."""
        return self.table.html() + chart_svg(self.watcher.df)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = self.html()
        bundle["text/plain"] = repr(self)
        return bundle

    def _refresh(self) -> None:
        if getattr(self, "_display", None) is not None:
            try:
                self._display.update(self)
            except Exception as e:  # noqa: BLE001 -- no frontend: nothing to refresh (logged)
                log.debug("refresh without a frontend: %r", e)

    def display(self) -> "ConsumerWatch":
        from IPython.display import display

        self._display = display(self, display_id=True)
        return self

    def describe(self) -> str:
        return self.watcher.describe()

    def __repr__(self) -> str:
        return f"<ConsumerWatch {self.describe()}>"
