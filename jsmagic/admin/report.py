"""Reports an operator reads first: is replication keeping up, and are consumers keeping up?

``stream_report()`` is one row per stream (``nats stream report``): messages, bytes,
consumers, replicas with the leader and the followers' lag, lost and deleted messages,
and how far a mirror or its sources are behind.  ``consumer_report(STREAM)`` is one row
per consumer (``nats consumer report``): pending, ack pending, redelivered, waiting pulls,
last activity, paused.  Plain numbers; the magics format them.

Both carry the API level an asset needs (``_nats.req.level``, ADR-44, server 2.11+: natscli's
"API Level") and name the *offline* assets (server 2.12+: a stream or consumer the server
could not load, e.g. one that needs a newer API level) as rows with the server's reason in
``offline``, not only in the note: an offline asset still exists and must not vanish.  A
stream's ``sourced_seqs`` is the highest sequence copied from each source (``sources[].seq``
of the stream info: sent by 2.15.1, not by older servers; 2.15.1 sends none for a mirror,
which keeps its upstream's sequences).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.context import JSContext
from ..core.registry import connected
from .offline import stream_offline, with_offline
from .streams import timestamp

STREAM_COLUMNS = ["name", "storage", "messages", "bytes", "consumers", "replicas", "leader", "followers",
                  "replica_lag", "lost", "deleted", "mirror", "sources", "lag", "sourced_seqs", "api_level", "offline"]
CONSUMER_COLUMNS = ["name", "pull", "pending", "ack_pending", "redelivered", "waiting", "delivered_seq",
                    "ack_floor_seq", "last_active", "paused", "leader", "replicas", "api_level", "offline"]
REQUIRED_LEVEL = "_nats.req.level"  # ADR-44: the API level the asset needs (the server writes it)


def _followers(cluster: dict[str, Any]) -> tuple[str, int]:
    """``"n2 (current, lag 0), n3 (lag 12)"`` and the largest follower lag."""
    parts, worst = [], 0
    for r in cluster.get("replicas") or []:
        lag = r.get("lag") or 0
        worst = max(worst, lag)
        state = "offline" if r.get("offline") else ("current" if r.get("current") else "catching up")
        parts.append(f"{r.get('name')} ({state}, lag {lag:,})")
    return ", ".join(parts), worst


def stream_row(s: dict[str, Any]) -> dict[str, Any]:
    """One stream of a STREAM.LIST answer as a report row."""
    cfg, st, cluster = s["config"], s["state"], s.get("cluster") or {}
    followers, replica_lag = _followers(cluster)
    mirror = s.get("mirror") or {}
    sources = s.get("sources") or []
    lost = st.get("lost") or {}
    return {
        "name": cfg["name"],
        "storage": cfg.get("storage"),
        "messages": st.get("messages", 0),
        "bytes": st.get("bytes", 0),
        "consumers": st.get("consumer_count", 0),
        "replicas": cfg.get("num_replicas", 1),
        "leader": cluster.get("leader") or "",
        "followers": followers,
        "replica_lag": replica_lag,
        "lost": len(lost.get("msgs") or []),
        "deleted": st.get("num_deleted", 0) or 0,
        "mirror": mirror.get("name", ""),
        "sources": ", ".join(sorted(x.get("name", "") for x in sources)),  # the server lists them in no fixed order
        "lag": (mirror.get("lag", 0) or 0) + sum(x.get("lag", 0) or 0 for x in sources),
        "sourced_seqs": sourced_seqs(s),
        "api_level": api_level(cfg),
        "offline": "",
    }


def api_level(cfg: dict[str, Any]) -> int:
    """The API level a stream or consumer config needs (``_nats.req.level``; 0 when unset, as natscli shows it)."""
    try:
        return int((cfg.get("metadata") or {}).get(REQUIRED_LEVEL) or 0)
    except ValueError:
        return 0


def sourced_seqs(s: dict[str, Any]) -> str:
    """``"A 5, B 9"`` (``"mirror M 12"`` if a server sends it): the highest sequence copied from each upstream (``seq``)."""
    parts = [f"mirror {m['name']} {m['seq']}" for m in [s.get("mirror") or {}] if m.get("seq") is not None]
    parts += [f"{x.get('name', '')} {x['seq']}" for x in sorted(s.get("sources") or [], key=lambda x: x.get("name", ""))
              if x.get("seq") is not None]
    return ", ".join(parts)


async def stream_report(*, ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_stream report``: every stream, sorted by name (``lag``: mirror/source messages not yet copied)."""
    ctx = await connected(ctx)
    listing = await ctx.api.listing("STREAM.LIST", "streams")  # attrs["missing"]: streams it could not describe
    rows = [stream_row(s) for s in listing.items]
    frame = pd.DataFrame(rows, columns=STREAM_COLUMNS).sort_values("name", ignore_index=True)
    counts = ["messages", "bytes", "consumers", "replicas", "replica_lag", "lost", "deleted", "lag", "api_level"]
    return listing.mark(with_offline(frame, listing.missing, counts), "stream")


def consumer_row(c: dict[str, Any]) -> dict[str, Any]:
    """One consumer of a CONSUMER.LIST answer as a report row."""
    cfg, cluster = c.get("config") or {}, c.get("cluster") or {}
    delivered, floor = c.get("delivered") or {}, c.get("ack_floor") or {}
    last = delivered.get("last_active")
    return {
        "name": c.get("name"),
        "pull": not cfg.get("deliver_subject"),
        "pending": c.get("num_pending", 0),
        "ack_pending": c.get("num_ack_pending", 0),
        "redelivered": c.get("num_redelivered", 0),
        "waiting": c.get("num_waiting", 0),
        "delivered_seq": delivered.get("stream_seq", 0),
        "ack_floor_seq": floor.get("stream_seq", 0),
        "last_active": timestamp(last) if last else pd.NaT,
        "paused": bool(c.get("paused")),
        "leader": cluster.get("leader") or "",
        "replicas": len(cluster.get("replicas") or []) + 1 if cluster.get("leader") else 1,
        "api_level": api_level(cfg),
        "offline": "",
    }


async def consumer_report(stream: str, *, ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_consumer report STREAM``: every consumer of a stream with how far behind it is.

    An offline stream (2.12+) still lists its consumers: the one that took it offline shows
    as an offline row with its reason.
    """
    ctx = await connected(ctx)
    await stream_offline(stream, ctx=ctx)  # "did you mean" for a name that does not exist; an offline one lists
    listing = await ctx.api.listing(f"CONSUMER.LIST.{stream}", "consumers")
    rows = [consumer_row(c) for c in listing.items]
    frame = pd.DataFrame(rows, columns=CONSUMER_COLUMNS).sort_values("name", ignore_index=True)
    counts = ["pending", "ack_pending", "redelivered", "waiting", "delivered_seq", "ack_floor_seq", "replicas", "api_level"]
    return listing.mark(with_offline(frame, listing.missing, counts), "consumer")
