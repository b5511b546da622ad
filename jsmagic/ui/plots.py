"""Drawing with matplotlib (an optional dependency): the message-rate bars of ``%js_stream plot``.

The numbers come from the core (:func:`jsmagic.admin.rates.rate_frame`); only the
drawing needs matplotlib, and a missing matplotlib is one clear line before any work.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.errors import ConfigError
from ..core.extras import require


def require_matplotlib() -> Any:
    """The matplotlib module; a clear one-line error, before any work, when it is not installed."""
    return require("matplotlib", "plot", "plotting", ConfigError)


def plot_rate(rates: pd.DataFrame, title: str) -> Any:
    """Draw a rate frame as bars (subjects stacked) with matplotlib; returns the Axes (None: nothing to draw).

    Drawn with matplotlib directly, not ``DataFrame.plot``: pandas' time axis lays out a
    tick per interval over the padded range (one bin at ``--every 0.2`` asked for ~900M
    ticks) and a single bin gives singular limits.  Here the x range always spans at least
    one interval either side and matplotlib's date locator keeps the ticks few.
    """
    require_matplotlib()
    if rates.empty:  # the summary already says 0 messages
        return None
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    times = rates.index.tz_convert("UTC").tz_localize(None).to_pydatetime()
    step = pd.Timedelta(seconds=rates.attrs.get("every_seconds", 60)).to_pytimedelta()
    bottom = None
    for column in rates.columns:  # one bar per interval, subjects stacked
        values = rates[column].to_numpy()
        ax.bar(times, values, width=step, align="edge", bottom=bottom, label=str(column))
        bottom = values if bottom is None else bottom + values
    ax.set_xlim(times[0] - step, times[-1] + 2 * step)
    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_title(title)
    ax.set_ylabel("messages per interval")
    totals = rates.sum(axis=1).to_numpy()
    if totals.max() > 100 * max(totals[totals > 0].min(), 1):  # bursty: small bars would be invisible
        ax.set_yscale("symlog", linthresh=1)
        ax.set_ylabel("messages per interval (log scale)")
    ax.set_xlabel("time (UTC)")
    if len(rates.columns) > 1 or rates.columns[0] != "messages":
        ax.legend(title=rates.columns.name)
    return ax
