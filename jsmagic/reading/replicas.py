"""A new consumer's view checked against the stream leader's: a replica still catching up answers short.

An R1 ephemeral consumer of a replicated stream is placed on any of the stream's peers.  A
peer that has just restarted, or was stopped for a while, may not have applied the newest
messages yet, and a consumer there counts only what that peer holds: right after a follower
came back, consumers on it reported 0, 24,096 and 93,623 pending of 200,000 stored, and a
replay that trusts that count returns short without a word (any client would).

For a replay of the whole stream (every subject, from the start) the leader's count is known
from the stream info the replay began with, so :func:`pending_seen` waits until the consumer
sees at least that many (the peer catches up within seconds).  Fewer messages in the stream
meanwhile (age or size limits, a purge, deletes) is not a lag and ends the wait.  If the
peer has not caught up by ``RESUME_WAIT``, the replay goes on and its notes say so.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..core.context import JSContext
from .selection import RESUME_WAIT, Selection

POLL = 0.25  # seconds between two looks at a lagging consumer


def checkable(sel: Selection) -> bool:
    """Whether the stream info alone says how many messages the consumer must see."""
    return not sel.durable and not sel.live and not sel.subjects and sel.deliver == "all"


async def pending_seen(ctx: JSContext, sel: Selection, info: Any, name: str, pending: int,
                       notes: list[str] | None = None) -> int:
    """The consumer ``name``'s pending count once it sees every message the stream held at ``info``.

    ``pending``: what its create answered.  Returns at once when the selection is not a
    whole-stream replay or the count already matches.
    """
    want = int(info.state.messages)
    if not checkable(sel) or pending >= want:
        return pending
    first, short = int(info.state.first_seq), pending
    deadline = time.monotonic() + RESUME_WAIT
    while True:
        state = (await ctx.api.request(f"STREAM.INFO.{sel.stream}", timeout=sel.api_timeout))["state"]
        if int(state.get("first_seq", 0)) > first or int(state.get("messages", 0)) < want:
            return pending  # messages were removed meanwhile: the consumer's count is not a lag
        ci = await ctx.api.request(f"CONSUMER.INFO.{sel.stream}.{name}", timeout=sel.api_timeout)
        pending = int(ci.get("num_pending", 0))
        host = (ci.get("cluster") or {}).get("leader") or "its server"
        if pending >= want:
            if notes is not None:
                notes.append(f"waited for {host} to catch up: its consumer saw {short:,} of {want:,} messages at first")
            return pending
        if time.monotonic() > deadline:
            if notes is not None:
                notes.append(f"SHORT: the consumer on {host} sees only {pending:,} of the {want:,} messages the "
                             f"stream leader reports (a replica still catching up); run the replay again")
            return pending
        await asyncio.sleep(POLL)
