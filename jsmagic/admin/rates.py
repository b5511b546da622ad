"""A stream's message rate over time, as numbers: what ``%js_stream plot`` draws.

:func:`message_times` reads only timestamps and subjects (headers-only, nothing acked,
no consumer left behind); :func:`rate_frame` bins them per interval.  Drawing is the
display layer's (:mod:`jsmagic.ui.plots`); these work without matplotlib.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

from ..core.context import JSContext
from ..core.errors import InputError
from ..core.units import parse_duration
from ..reading.reader import replay
from ..reading.selection import Selection
from .streams import info


async def message_times(name: str, subject: str | None = None,
                        progress: Callable[[int, int | None], None] | None = None,
                        *, ctx: JSContext | None = None) -> pd.DataFrame:
    """Time and subject of every message, read headers-only without changing anything.

    The same reader as ``%js_consume``: an ephemeral consumer that acks nothing on Limits
    streams, gets without any consumer on WorkQueue/Interest streams (where a consumer
    could remove messages).  On interrupt, what arrived is kept (``df.attrs["interrupted"]``).
    """
    await info(name, ctx=ctx)
    sel = Selection(name, subjects=[subject] if subject else [], headers_only=True, decode="bytes")
    result = await replay(sel, progress, ctx=ctx)
    df = result.frame[["time", "subject"]].reset_index(drop=True)
    df.attrs["interrupted"] = result.interrupted
    return df


_NICE = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900,
         1800, 3600, 7200, 10800, 21600, 43200, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400]


def auto_every(times: pd.DataFrame, most: int = 200) -> str:
    """The interval that shows the messages' time span as about 80-200 bars (``"5s"``, ``"15m"``, ``"0.05s"``)."""
    if times.empty:
        return "1m"
    span = (times["time"].max() - times["time"].min()).total_seconds()
    step = next((n for n in _NICE if span / n <= most), _NICE[-1])
    if step >= 86400 and step % 86400 == 0:
        return f"{step // 86400}d"
    if step >= 3600 and step % 3600 == 0:
        return f"{step // 3600}h"
    if step >= 60 and step % 60 == 0:
        return f"{step // 60}m"
    return f"{step:g}s"


def rate_frame(times: pd.DataFrame, every: str = "1m", by: str | None = None) -> pd.DataFrame:
    """Messages per ``every`` interval (one column, or one per subject with ``by="subject"``)."""
    seconds = parse_duration(every)
    if seconds <= 0:
        raise InputError(f"bad --every {every!r}", hint="use a positive duration like 10s, 1m, 1h")
    if by not in (None, "subject"):
        raise InputError(f"cannot plot by {by!r}", hint="use --by subject")
    freq = pd.Timedelta(seconds=seconds)
    if times.empty:
        return pd.DataFrame(columns=["messages"], index=pd.DatetimeIndex([], tz="UTC", name="time"))
    bins = times["time"].dt.floor(freq)
    if by:
        out = times.groupby([bins, times["subject"]]).size().unstack(fill_value=0)
    else:
        out = bins.value_counts().sort_index().to_frame("messages")
    full = pd.date_range(out.index.min(), out.index.max(), freq=freq, tz="UTC", name="time")
    out = out.reindex(full, fill_value=0)
    out.attrs["every_seconds"] = seconds  # the interval, for the plot's x range
    return out
