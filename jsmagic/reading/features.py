"""Readable columns for the server 2.11/2.12 headers a replayed message may carry.

``%js_consume`` keeps every header in ``headers``; when some messages carry a per-message
TTL, a counter increment, a schedule or a server marker, those values also get a column
of their own (only then: a stream without them gains no empty columns)::

    ttl         Nats-TTL              how long the message lives (2s, 1h, never)
    incr        Nats-Incr             a counter's increment (+1, -5)
    schedule    Nats-Schedule         a schedule (@at …, @every 1m, a cron line)
    schedule_target  Nats-Schedule-Target   where the schedule fires
    scheduler   Nats-Scheduler        the schedule that generated this message
    marker      Nats-Marker-Reason    why the server placed this marker (MaxAge, Remove, Purge)
"""

from __future__ import annotations

from typing import Any

import numpy as np

FEATURE_HEADERS = {
    "ttl": "Nats-TTL",
    "incr": "Nats-Incr",
    "schedule": "Nats-Schedule",
    "schedule_target": "Nats-Schedule-Target",
    "scheduler": "Nats-Scheduler",
    "marker": "Nats-Marker-Reason",
}


def feature_columns(headers: list[dict | None]) -> dict[str, Any]:
    """``{column: values}`` for each feature header present in at least one message (None elsewhere)."""
    present = {key for h in headers if h for key in h}
    out: dict[str, Any] = {}
    for column, key in FEATURE_HEADERS.items():
        if key in present:
            values = np.empty(len(headers), dtype=object)
            values[:] = [(h or {}).get(key) for h in headers]
            out[column] = values
    return out
