"""``w = %js_consumer watch STREAM NAME``: a consumer's counters live, with a small chart over time.

The polling is the core's :class:`jsmagic.admin.consumerwatch.ConsumerWatcher`; here each
sample that changed something becomes a row of a :class:`jsmagic.ui.livetable.LiveTable`
(newest first; the header counts samples, not events) and the SVG chart of pending, ack
pending, redelivered and waiting under it is the table's ``extra`` HTML.  It is a
:class:`~jsmagic.ui.watchview.WatchView` like every live view: ``w.df`` is the time series,
``w.stop()`` (or the Stop button, or ``%js_close``) ends it and the saved notebook keeps
the last table and chart as HTML; a paused consumer shows ``paused``.
"""

from __future__ import annotations

import html

import pandas as pd

from ..admin.consumerwatch import COLUMNS, ConsumerWatcher
from ..core.context import JSContext
from .livetable import LiveTable
from .watchview import WatchView

LINES = {"pending": "#4c72b0", "ack_pending": "#dd8452", "redelivered": "#c44e52", "waiting": "#55a868"}
WIDTH, HEIGHT, POINTS = 480, 120, 300


def chart_svg(df, width: int = WIDTH, height: int = HEIGHT, until=None) -> str:
    """The last ``POINTS`` samples of pending / ack pending / redelivered / waiting as an SVG step chart.

    Samples are kept only when something changed, so x is time and each value holds until
    the next sample (or ``until``, the last check).
    """
    df = df.tail(POINTS)
    if df.empty:
        return ""
    top = max(1, int(df[list(LINES)].to_numpy().max()))
    times = [t.value for t in df["time"]]
    t0, t1 = times[0], max(times[-1], pd.Timestamp(until).value if until is not None else times[-1])
    span = max(t1 - t0, 1)

    def x(t: int) -> float:
        return (t - t0) * (width - 4) / span + 2

    def y(v) -> float:
        return height - 2 - float(v) * (height - 14) / top

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height + 18}' "
             f"style='font:10px sans-serif'>",
             f"<rect x='0' y='0' width='{width}' height='{height}' fill='#fafafa' stroke='#ddd'/>",
             f"<text x='3' y='11' fill='#666'>{top:,}</text><text x='3' y='{height - 3}' fill='#666'>0</text>"]
    for i, (column, colour) in enumerate(LINES.items()):
        values = list(df[column])
        steps = [(x(times[0]), y(values[0]))]
        for t, before, v in zip(times[1:], values, values[1:]):
            steps += [(x(t), y(before)), (x(t), y(v))]
        steps.append((x(t1), y(values[-1])))
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in steps)
        parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{points}'/>")
        parts.append(f"<text x='{6 + i * 110}' y='{height + 13}' fill='{colour}'>■ {html.escape(column)} "
                     f"{int(values[-1]):,}</text>")
    parts.append("</svg>")
    return "".join(parts)


class ConsumerWatch(WatchView):
    """A live consumer watch: ``.table`` (the widget, chart included), ``.df`` (time series), ``.stop()``."""

    def __init__(self, stream: str, name: str, every: float = 1.0, *, ctx: JSContext | None = None):
        self.watcher = ConsumerWatcher(stream, name, every, on_sample=self._on_sample,
                                       on_status=self._on_status, ctx=ctx)
        self.table = LiveTable(COLUMNS, title=f"Consumer {stream} > {name}", max_rows=8, unit="sample",
                               on_stop=self.watcher.stop, extra=self.chart, widths={"time": "13ch"},
                               formatters={"time": lambda t: t.strftime("%H:%M:%S.%f")[:-3]})
        self.widget = self.table.widget

    def chart(self) -> str:
        """The chart under the table (SVG), up to the last check."""
        return chart_svg(self.watcher.df, until=self.watcher.last_check)

    def _on_sample(self, row: dict) -> None:
        self.table.append([row[c] for c in COLUMNS])

    def describe(self) -> str:
        return self.watcher.describe()

    def __repr__(self) -> str:
        return f"<ConsumerWatch {self.describe()}>"
