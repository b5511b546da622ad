"""Counting the messages a purge would remove — without a consumer where a consumer could do harm.

On a WorkQueue stream the server refuses an AckNone consumer (error 10084), and any
consumer on a WorkQueue or Interest stream takes part in its retention.  So counts come
from the stream itself:

* messages on a subject filter: the stream's per-subject counts (``STREAM.INFO`` with
  ``subjects_filter``, every page);
* matches from a sequence on: one batched direct get of one message, whose
  ``Nats-Num-Pending`` header says how many more match (server 2.11+, ``allow_direct``);
* otherwise a Limits stream is counted by a throwaway consumer (:func:`.scan.count_matching`);
  on a WorkQueue/Interest stream without direct get the count is unknown (``None``).
"""

from __future__ import annotations

from typing import Any

import orjson
from nats.js.api import RetentionPolicy

from ..core.context import JSContext
from ..core.errors import JSMagicError
from ..core.registry import connected
from ..reading.status import server_status
from .scan import count_matching


async def subjects(name: str, subject: str, *, ctx: JSContext | None = None) -> dict[str, int]:
    """Every stored subject matching ``subject`` with its message count (all pages)."""
    ctx = await connected(ctx)
    found: dict[str, int] = {}
    while True:  # the server pages subject details
        resp = await ctx.api.request(f"STREAM.INFO.{name}", {"subjects_filter": subject, "offset": len(found)})
        page = resp.get("state", {}).get("subjects") or {}
        found.update(page)
        if not page or len(found) >= resp.get("total", 0):
            return found


async def subject_count(name: str, subject: str, *, ctx: JSContext | None = None) -> int:
    """Messages stored on subjects matching ``subject`` (the stream's own per-subject counts)."""
    return sum((await subjects(name, subject, ctx=ctx)).values())


async def count_from(name: str, subject: str | None, start_seq: int, *, ctx: JSContext | None = None) -> int | None:
    """Messages matching ``subject`` at or after ``start_seq``, by one batched direct get (2.11+).

    None from a server that answers without ``Nats-Num-Pending`` (before 2.11 a direct
    get is not batched and does not count).
    """
    ctx = await connected(ctx)
    nc = ctx.api.nc
    sub = await nc.subscribe(nc.new_inbox(), pending_msgs_limit=16, pending_bytes_limit=8 << 20)
    try:
        req = {"seq": max(start_seq, 1), "batch": 1, "next_by_subj": subject or ">"}
        await nc.publish(ctx.api.direct_get(name), orjson.dumps(req), reply=sub.subject)
        msg = await sub.next_msg(timeout=ctx.api.timeout)
        st = server_status(msg.reply, msg.headers)  # None: a stored message, whatever its own Status header
        if st is not None and st.code == "404":
            return 0
        if st is not None and st.code != "204":
            raise JSMagicError(f"direct get on {name}: {st.code} {st.description}".strip())
        pending = (msg.headers or {}).get("Nats-Num-Pending")
        return None if pending is None else 1 + int(pending)
    finally:
        await sub.unsubscribe()


async def count(name: str, info: Any, subject: str | None = None, start_seq: int | None = None,
                *, ctx: JSContext | None = None) -> int | None:
    """Messages matching ``subject`` (all when None) from ``start_seq`` on; None when it cannot be counted safely."""
    if start_seq is None:
        return await subject_count(name, subject, ctx=ctx) if subject else info.state.messages
    if info.config.allow_direct:
        return await count_from(name, subject, start_seq, ctx=ctx)
    if info.config.retention == RetentionPolicy.LIMITS:
        return await count_matching(name, subject, start_seq, ctx=ctx)
    return None
