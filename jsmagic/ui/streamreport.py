"""The picture of ``%js_stream report --plot``: messages per stream, and replication lag beside it."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .plots import require_matplotlib


def plot_streams(report: pd.DataFrame) -> Any:
    """Horizontal bars: messages per stream, with lag (mirror/sources + slowest replica) in red; the Axes."""
    require_matplotlib()
    if report.empty:
        return None
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(7, 0.4 * len(report) + 1.2))
    names = report["name"].tolist()
    ax.barh(names, report["messages"], color="#4c72b0", label="messages")
    lag = report["lag"] + report["replica_lag"]
    ax.barh(names, lag, left=report["messages"], color="#c44e52", label="behind (lag)")
    for y, (msgs, behind) in enumerate(zip(report["messages"], lag)):
        ax.text(msgs + behind, y, f" {msgs:,}" + (f" (+{behind:,} behind)" if behind else ""), va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("messages")
    ax.set_title("streams: messages held and replication lag")
    ax.legend(loc="lower right")
    return ax
