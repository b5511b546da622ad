"""Pending message schedules of a stream (server 2.12, ADR-51): ``%js_stream schedules STREAM``.

A schedule is a stored message with a ``Nats-Schedule`` header (``@at …``, ``@every …`` or
a cron line) and a ``Nats-Schedule-Target``; it is the last message on its subject.  When
an ``@at`` schedule fires, the server stores the generated message on the target (with
``Nats-Scheduler: <schedule subject>``) and removes the schedule, so what is listed here
is exactly what has still to fire.  Read through a throwaway consumer (last per subject,
no acks): nothing is changed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from nats.js import api

from ..core.context import JSContext
from ..core.decode import decoder
from ..core.errors import InputError
from ..core.registry import connected
from ..reading.pull import Batch
from .scan import read_raw
from .streams import info

COLUMNS = ["subject", "schedule", "target", "ttl", "source", "rollup", "time_zone", "seq", "stored", "data"]


async def pending_schedules(stream: str, subject: str | None = None, *, ctx: JSContext | None = None) -> pd.DataFrame:
    """One row per schedule still to fire: its subject, ``Nats-Schedule``, target, TTL of what it generates.

    Server 2.14's ``source`` (the subject whose last message it fires), ``rollup`` and
    ``time_zone`` (of a cron line; empty: UTC) are columns too, empty when not set.
    """
    ctx = await connected(ctx)
    cfg = (await info(stream, ctx=ctx)).config
    if not getattr(cfg, "allow_msg_schedules", None):  # nothing to list: no scan of a whole stream
        raise InputError(f"stream {stream} does not allow message schedules",
                         hint=f"enable them (server 2.12+): %js_stream edit {stream} --allow-schedules")
    rows: list[dict[str, Any]] = []
    auto = decoder("auto")

    def keep(batch: Batch) -> None:
        times = pd.to_datetime(batch.time_ns, unit="ns", utc=True)
        for subject, data, headers, seq, time in zip(batch.subjects, batch.datas, batch.headers, batch.seq, times):
            headers = headers or {}
            if "Nats-Schedule" not in headers:
                continue
            rows.append({
                "subject": subject,
                "schedule": headers["Nats-Schedule"],
                "target": headers.get("Nats-Schedule-Target"),
                "ttl": headers.get("Nats-Schedule-TTL"),
                "source": headers.get("Nats-Schedule-Source"),
                "rollup": headers.get("Nats-Schedule-Rollup"),
                "time_zone": headers.get("Nats-Schedule-Time-Zone"),
                "seq": int(seq),
                "stored": time,
                "data": auto.value(data, headers),
            })

    cfg = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT, filter_subject=subject or ">",
                             mem_storage=True)
    notes: list[str] = []
    interrupted = await read_raw(stream, cfg, keep, ctx=ctx, notes=notes)
    df = pd.DataFrame(rows, columns=COLUMNS).sort_values("seq", ignore_index=True)
    df.attrs["interrupted"] = interrupted
    if notes:  # what the scan had to do (a replica catching up, checked against the stream leader)
        df.attrs["notes"] = notes
    return df
