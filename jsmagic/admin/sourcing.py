"""Who reads a stream to source or mirror it (ADR-60): ``%js_stream sourcing NAME``.

A stream that sources or mirrors a *Limits* stream reads it through an ephemeral consumer
nobody sees.  Sourcing a *WorkQueue* or *Interest* stream (server 2.14+) uses a durable
consumer instead, named ``JS_SRC_…`` (``JS_MIRROR_…`` for a mirror), with the ack policy
``flow_control``: the origin removes a message only once the sourcing stream has stored
it, so nothing is lost while the link is down.  Its metadata names the stream that reads
(``_nats.src.stream``/``_nats.mirror.stream``, with ``.acc`` and ``.domain``).  These
consumers do not count against the origin's ``max_consumers``.

On an Interest stream a message published before that consumer exists has no interest and
is dropped at once.  The server makes it a moment after the sourcing stream's create or
edit returns, so :func:`ready` (called by both) waits until the origin lists it: once
``%js_stream add AGG --source JOBS`` has returned, what is published to JOBS reaches AGG.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import nats.js.errors
import pandas as pd

from ..core.context import JSContext
from ..core.errors import not_found
from ..core.registry import connected

log = logging.getLogger(__name__)
READY_WAIT = 10.0  # seconds add/edit wait for an origin's sourcing consumer
DURABLE_LEVEL = 4  # the JetStream API level (ADR-44, `_nats.level`) of server 2.14, which brought durable sourcing
COLUMNS = ["consumer", "kind", "for_stream", "account", "domain", "ack_policy", "pending", "ack_pending",
           "delivered_seq", "ack_floor_seq"]


def sourcing_row(info: dict[str, Any]) -> dict[str, Any] | None:
    """A CONSUMER.LIST entry as a row when a server sources or mirrors through it (else None)."""
    cfg = info.get("config") or {}
    meta = cfg.get("metadata") or {}
    for kind, prefix in (("source", "_nats.src."), ("mirror", "_nats.mirror.")):
        if f"{prefix}stream" in meta:
            return {
                "consumer": info.get("name"),
                "kind": kind,
                "for_stream": meta[f"{prefix}stream"],
                "account": meta.get(f"{prefix}acc"),
                "domain": meta.get(f"{prefix}domain"),
                "ack_policy": cfg.get("ack_policy"),
                "pending": int(info.get("num_pending") or 0),
                "ack_pending": int(info.get("num_ack_pending") or 0),
                "delivered_seq": int((info.get("delivered") or {}).get("stream_seq") or 0),
                "ack_floor_seq": int((info.get("ack_floor") or {}).get("stream_seq") or 0),
            }
    return None


async def sourcing(name: str, *, ctx: JSContext | None = None) -> pd.DataFrame:
    """The durable consumers through which other streams source or mirror ``name``, one row each.

    ``attrs["retention"]``: the stream's retention (only WorkQueue and Interest streams get
    such consumers; a Limits stream's readers are ephemeral and not listed).
    """
    ctx = await connected(ctx)
    try:
        raw = await ctx.api.request(f"STREAM.INFO.{name}")
    except nats.js.errors.NotFoundError:
        raise not_found("stream", name, sorted(await ctx.api.paged("STREAM.NAMES", "streams"))) from None
    listing = await ctx.api.listing(f"CONSUMER.LIST.{name}", "consumers")
    rows = [r for r in map(sourcing_row, listing.items) if r is not None]
    df = listing.mark(pd.DataFrame(rows, columns=COLUMNS).sort_values(["for_stream", "consumer"], ignore_index=True),
                      "consumer")
    df.attrs["retention"] = (raw.get("config") or {}).get("retention")
    return df


async def ready(cfg: dict[str, Any], *, ctx: JSContext, wait: float = READY_WAIT) -> list[str]:
    """Wait until each WorkQueue/Interest origin of ``cfg`` (a created or edited stream) lists its sourcing consumer.

    Origins in this account only (a source with ``external`` is another account's or domain's);
    returns the origins still without one after ``wait`` seconds (logged; the server keeps trying).
    """
    if int((cfg.get("metadata") or {}).get("_nats.level") or 0) < DURABLE_LEVEL:
        return []  # an older server reads every origin through an ephemeral consumer: nothing to wait for
    kinds = [("mirror", cfg["mirror"])] if cfg.get("mirror") else []
    kinds += [("source", s) for s in cfg.get("sources") or []]
    waiting = []
    for kind, src in kinds:
        if src.get("external") or not src.get("name"):
            continue
        try:
            origin = await ctx.api.request(f"STREAM.INFO.{src['name']}")
        except nats.js.errors.NotFoundError:
            continue  # not made yet: the server starts sourcing when it is
        if (origin.get("config") or {}).get("retention") in ("workqueue", "interest"):
            waiting.append((kind, src["name"]))
    deadline, missing = time.monotonic() + wait, []
    for kind, origin_name in waiting:
        while not await _has_sourcing(ctx, origin_name, kind, cfg["name"]):
            if time.monotonic() > deadline:
                log.warning("%s %s has no sourcing consumer for %s yet", kind, origin_name, cfg["name"])
                missing.append(origin_name)
                break
            await asyncio.sleep(0.05)
    return missing


async def _has_sourcing(ctx: JSContext, origin: str, kind: str, stream: str) -> bool:
    listing = await ctx.api.listing(f"CONSUMER.LIST.{origin}", "consumers")
    return any((r or {}).get("kind") == kind and r["for_stream"] == stream for r in map(sourcing_row, listing.items))
