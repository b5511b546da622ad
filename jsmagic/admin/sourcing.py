"""Who reads a stream to source or mirror it (ADR-60): ``%js_stream sourcing NAME``.

A stream that sources or mirrors a *Limits* stream reads it through an ephemeral consumer
nobody sees.  Sourcing a *WorkQueue* or *Interest* stream (server 2.14+) uses a durable
consumer instead, named ``JS_SRC_…`` (``JS_MIRROR_…`` for a mirror), with the ack policy
``flow_control``: the origin removes a message only once the sourcing stream has stored
it, so nothing is lost while the link is down.  Its metadata names the stream that reads
(``_nats.src.stream``/``_nats.mirror.stream``, with ``.acc`` and ``.domain``).  These
consumers do not count against the origin's ``max_consumers``.

On an Interest stream a message published before that consumer exists has no interest and
is dropped at once: wait until :func:`sourcing` lists it before publishing.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.context import JSContext
from ..core.registry import connected
from .streams import raw_info

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
    raw = await raw_info(name, ctx=ctx)
    listing = await ctx.api.listing(f"CONSUMER.LIST.{name}", "consumers")
    rows = [r for r in map(sourcing_row, listing.items) if r is not None]
    df = listing.mark(pd.DataFrame(rows, columns=COLUMNS).sort_values(["for_stream", "consumer"], ignore_index=True),
                      "consumer")
    df.attrs["retention"] = (raw.get("config") or {}).get("retention")
    return df
