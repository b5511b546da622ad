"""How ``%js_stream schema`` looks: a summary line, the fields, the drift points, and the plot.

The numbers are the core's (:class:`jsmagic.explore.schema.Schema`); :class:`SchemaReport`
shows them (``s.fields``, ``s.drift``, ``s.kinds``, ``s.timeline``, ``s.violations`` are the
core's frames) and :func:`plot_schema` draws the timeline: one row per field, a bar where
messages hold it, coloured by type and faded where only some do.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from .display import result_frame
from .plots import require_matplotlib
from ..core.units import plural



def _share(v: float) -> str:
    """A share as a percentage (a small one keeps two decimals: 0.05%)."""
    return f"{v:.0%}" if v == 0 or v >= 0.01 else f"{v:.2%}"


SHARES = {"presence": _share, "null_rate": _share}  # shown as percentages (the frame keeps the fraction)
TYPE_COLOURS = {"int": "#1f77b4", "float": "#17becf", "str": "#ff7f0e", "bool": "#2ca02c", "object": "#9467bd",
                "array": "#8c564b", "null": "#bbbbbb", "bytes": "#7f7f7f"}


def summary(schema: Any) -> str:
    """One line: notes first (a SHORT read says so first), then what was read and found."""
    n_fields = len(schema.fields)
    found = [plural(n_fields, "field"), plural(len(schema.drift), "drift point")]
    if schema.non_json:
        found.append(plural(schema.non_json, "non-JSON payload"))
    if schema.violations is not None:
        found.append(f"{schema.violating:,} of {plural(schema.checked, 'message')} violate the schema")
    rng = f" (seq {schema.first_seq}..{schema.last_seq})" if schema.first_seq is not None else ""
    line = f"{schema.stream}: {plural(schema.messages, 'message')}{rng}, {schema.method}; " + ", ".join(found)
    return "; ".join([*schema.notes, line])


class SchemaReport:
    """What the cell shows and ``-o NAME`` keeps: the core's :class:`Schema` with its frames as attributes."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.summary = summary(schema)

    def __getattr__(self, name: str) -> Any:
        if name == "schema":
            raise AttributeError(name)
        return getattr(self.schema, name)

    def _sections(self) -> list[tuple[str, pd.DataFrame]]:
        s = self.schema
        out = []
        if s.violations is not None:
            out.append(("Violations", s.violations))
        out.append(("Fields", s.fields.drop(columns=["type_counts"])))
        if len(s.drift):
            out.append(("Drift", s.drift))
        if len(s.kinds) and not (len(s.kinds) == 1 and s.kinds["kind"].iloc[0] == "object"):
            out.append(("Payloads", s.kinds))
        return out

    def _repr_html_(self) -> str:
        parts = [f"<div><b>{html.escape(self.summary)}</b></div>"]
        for title, df in self._sections():
            parts.append(f"<h4 style='margin:8px 0 2px'>{html.escape(title)}</h4>")
            parts.append(result_frame(df, formats=SHARES)._repr_html_())
        return "".join(parts)

    def __repr__(self) -> str:
        parts = [self.summary]
        for title, df in self._sections():
            parts.append(f"\n{title}:\n{result_frame(df, formats=SHARES)!r}")
        return "\n".join(parts)


def plot_schema(timeline: pd.DataFrame, title: str) -> Any:
    """Fields over time: one row per field; in each stretch of the stream a bar as high as the share of
    messages holding the field, split by type.  Returns the Axes (None: nothing to draw)."""
    require_matplotlib()
    if timeline.empty:
        return None
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    fields = list(dict.fromkeys(timeline.sort_values(["bin"], kind="stable")["field"]))
    bins = timeline.drop_duplicates("bin").sort_values("bin")
    starts = mdates.date2num(bins["time_start"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy())
    ends = mdates.date2num(bins["time_end"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy())
    step = max(float((ends[-1] - starts[0]) / max(len(bins), 1)), 1e-9)  # a bin's usual width (days)
    right = list(starts[1:]) + [max(ends[-1], starts[-1] + step)]
    extent = {b: (x, max(r - x, step * 0.2)) for b, x, r in zip(bins["bin"], starts, right)}
    _, ax = plt.subplots(figsize=(9, max(2.0, 0.4 * len(fields) + 1.4)))
    seen_types: list[str] = []
    for (field, b), group in timeline.groupby(["field", "bin"], sort=False):
        y = len(fields) - 1 - fields.index(field) - 0.4
        x, width = extent[b]
        for row in group.sort_values("type").itertuples():
            height = 0.8 * float(row.presence)
            ax.broken_barh([(x, width)], (y, height), facecolors=TYPE_COLOURS.get(row.type, "#e377c2"))
            y += height
            if row.type not in seen_types:
                seen_types.append(row.type)
    ax.set_yticks(range(len(fields)))
    ax.set_yticklabels(list(reversed(fields)))
    ax.set_xlim(starts[0], right[-1])
    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("time (UTC)")
    ax.set_title(f"{title}\n(bar height: share of messages holding the field; colour: its type)", fontsize=10)
    ax.legend(handles=[Patch(color=TYPE_COLOURS.get(t, "#e377c2"), label=t) for t in seen_types],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), title="type")
    ax.figure.tight_layout()
    return ax
