"""A new consumer's view checked against the stream leader's: a replica still catching up answers short.

An R1 consumer of a replicated stream is placed on any of the stream's peers.  A peer that
has just restarted, or was stopped for a while, may not have applied the newest messages
yet, and a consumer there counts only what that peer holds: right after a follower came
back, consumers on it reported 0, 24,096 and 93,623 pending of 200,000 stored, and a
replay that trusts that count returns short without a word (any client would).  This holds
for every selection: a filtered (``-s``), ``--start-seq`` or ``--since`` replay came back
with 27,202 of 30,000 in about 1 try of 3.

:func:`pending_seen` decides, in this order:

1. a consumer placed on the stream leader itself counts what the leader holds: trusted;
2. where the stream leader can count the selection exactly (:func:`leader_count`), the
   consumer must see at least that many: every message (``state.messages``), or an
   unfiltered ``--start-seq`` (the leader's sequence range, its interior deletes taken
   out).  The session (:mod:`.session`) brings the other selections to these: a filtered
   consumer is created without its filter, checked, then given its filter (an update keeps
   its server and its start); ``--since`` starts at the sequence the stream leader places
   the time at (:func:`seq_since`: a server still behind would place it at its own end);
3. otherwise (more than ``DELETED_LIMIT`` interior deletes): the stream leader must report
   the consumer's server current (``cluster.replicas[].current``, lag 0), after which the
   consumer's count is read again until it holds still.  "Current" is the raft log, not the
   stream store (measured: a follower reported current while a consumer on it counted 0 of
   15,000), so this is the fallback, not the rule.

``--last``/``--last-per-subject`` consumers take their "last" set at create: on a server
still behind (:func:`host_behind`) the session replaces the consumer once it caught up.

Fewer messages in the stream meanwhile (age or size limits, a purge, deletes) is not a lag
and ends the wait.  If the peer has not caught up by ``RESUME_WAIT``, the replay goes on
and its notes say so (a line starting with ``SHORT``).  The check's own requests ride out
the cluster's 503s and silences (:func:`ask`): right after a member resumes is when it runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import nats.errors
import nats.js.errors

from ..core.context import JSContext
from ..core.units import rfc3339
from .selection import RESUME_WAIT, Selection

log = logging.getLogger("jsmagic.reading.replicas")

POLL = 0.25  # seconds between two looks at a lagging consumer
STILL = 2.0  # seconds a caught-up consumer's count may keep moving (the peer applying its last entries)
DELETED_LIMIT = 100_000  # interior deletes listed to count an unfiltered start; above that, rule 3


_BUSY = (nats.js.errors.ServiceUnavailableError, nats.errors.TimeoutError, asyncio.TimeoutError)


async def ask(ctx: JSContext, suffix: str, body: dict | None, timeout: float) -> dict:
    """One API request of the check, asked again while the cluster is busy (503, unanswered) up to RESUME_WAIT.

    Right after a member resumes, the cluster answers "temporarily unavailable" or nothing
    for a few seconds: the very moment this check exists for.
    """
    deadline = time.monotonic() + RESUME_WAIT
    while True:
        try:
            return await ctx.api.request(suffix, body, timeout=timeout)
        except _BUSY as e:
            if time.monotonic() > deadline:
                raise
            log.debug("%s asked again after %r", suffix, e)
            await asyncio.sleep(POLL)


def replicated(info: Any) -> bool:
    """Whether the stream of ``info`` has replicas (an R1 consumer of it may sit on one still catching up)."""
    return int(getattr(info.config, "num_replicas", 1) or 1) > 1


def checkable(sel: Selection, info: Any = None) -> bool:
    """Whether a replay's consumer may sit on a lagging replica (an ephemeral replay of a replicated stream)."""
    return (info is None or replicated(info)) and not sel.durable and not sel.live and sel.deliver != "new"


async def pending_seen(ctx: JSContext, sel: Selection, info: Any, name: str, pending: int,
                       notes: list[str] | None = None, host: str | None = None) -> int:
    """The consumer ``name``'s pending count once its server holds what the stream leader held at ``info``.

    ``pending``: what its create answered; ``host``: the server the consumer was placed on
    (its create's ``cluster.leader``).  Returns at once when nothing can be short.
    """
    if not checkable(sel, info):
        return pending
    if host is not None and host == _leader(info):
        return pending
    want = await leader_count(ctx, sel, info)
    if want is not None:
        return await _counted(ctx, sel, info, name, pending, want, notes)
    return await _caught_up(ctx, sel, name, pending, host, notes)


def _leader(info: Any) -> str | None:
    return getattr(getattr(info, "cluster", None), "leader", None)


async def host_behind(ctx: JSContext, sel: Selection, info: Any, host: str | None,
                      notes: list[str] | None = None) -> bool:
    """For ``--last*``: whether the consumer's server was behind (then waited for); its "last" set is stale.

    Such a consumer took its "last" messages from what its server held at create: waiting
    does not change them.  The caller creates a new consumer once this returns True.
    """
    if not checkable(sel, info) or host is None or host == _leader(info) or await _current(ctx, sel, host):
        return False
    deadline = time.monotonic() + RESUME_WAIT
    while not await _current(ctx, sel, host):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(POLL)
    if notes is not None:
        notes.append(f"waited for {host} to catch up: a consumer created there first took its last messages "
                     f"from a replica still behind; read with a new one")
    return True


async def leader_count(ctx: JSContext, sel: Selection, info: Any) -> int | None:
    """How many messages an unfiltered selection holds by the stream leader's count, when it can say exactly."""
    if sel.subjects:
        return None  # the session checks a filtered selection's consumer before it gets its filter
    state = info.state
    if sel.deliver == "all":
        return int(state.messages)
    if sel.deliver == "start_seq":
        first, last = max(int(state.first_seq), sel.start_seq or 1), int(state.last_seq)
        if last < first:
            return 0
        deleted = int(getattr(state, "num_deleted", 0) or 0)
        if not deleted:
            return last - first + 1
        if deleted > DELETED_LIMIT:
            return None
        now = (await ask(ctx, f"STREAM.INFO.{sel.stream}", {"deleted_details": True}, sel.api_timeout))["state"]
        gone = sum(1 for s in now.get("deleted") or () if first <= s <= last)
        return max(0, last - first + 1 - gone)
    return None


async def seq_since(ctx: JSContext, sel: Selection) -> int | None:
    """The first sequence at or after ``--since`` by the stream leader (``STREAM.MSG.GET`` is the leader's)."""
    when = rfc3339(sel.since)
    try:
        msg = await ask(ctx, f"STREAM.MSG.GET.{sel.stream}", {"start_time": when}, sel.api_timeout)
    except nats.js.errors.NotFoundError:
        return None
    return int(msg["message"]["seq"])


async def _consumer(ctx: JSContext, sel: Selection, name: str) -> tuple[int, str]:
    ci = await ask(ctx, f"CONSUMER.INFO.{sel.stream}.{name}", None, sel.api_timeout)
    return int(ci.get("num_pending", 0)), (ci.get("cluster") or {}).get("leader") or "its server"


async def _counted(ctx: JSContext, sel: Selection, info: Any, name: str, pending: int, want: int,
                   notes: list[str] | None) -> int:
    """Rule 2: wait until the consumer counts at least ``want`` (the leader's count)."""
    if pending >= want:
        return pending
    first, last, total, short = int(info.state.first_seq), int(info.state.last_seq), int(info.state.messages), pending
    deadline = time.monotonic() + RESUME_WAIT
    while True:
        state = (await ask(ctx, f"STREAM.INFO.{sel.stream}", None, sel.api_timeout))["state"]
        # a member that has not heard from the leader for a while (just resumed) answers STREAM.INFO with its
        # own, older state: that is the lag itself, not a removal (it ended this wait short, in silence)
        current = int(state.get("last_seq", 0)) >= last
        if current and (int(state.get("first_seq", 0)) > first or int(state.get("messages", 0)) < total):
            log.debug("%s: messages removed while waiting for consumer %s (%d of %d)", sel.stream, name, pending, want)
            return pending  # messages were removed meanwhile: the consumer's count is not a lag
        pending, host = await _consumer(ctx, sel, name)
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


async def _caught_up(ctx: JSContext, sel: Selection, name: str, pending: int, host: str | None,
                     notes: list[str] | None) -> int:
    """Rule 3: wait until the stream leader reports the consumer's server current, then for its count to settle."""
    if host is None:
        _, host = await _consumer(ctx, sel, name)
    deadline, waited = time.monotonic() + RESUME_WAIT, False
    while not await _current(ctx, sel, host):
        if time.monotonic() > deadline:
            if notes is not None:
                notes.append(f"SHORT: the consumer on {host} may miss messages: the stream leader still reports that "
                             f"server behind (a replica catching up); run the replay again")
            return pending
        waited = True
        await asyncio.sleep(POLL)
    if not waited:
        return pending
    short, settle = pending, time.monotonic() + STILL
    pending, _ = await _consumer(ctx, sel, name)
    while time.monotonic() < settle:  # the peer applies what it has stored a moment later
        await asyncio.sleep(POLL)
        now, _ = await _consumer(ctx, sel, name)
        if now == pending:
            break
        pending = now
    if notes is not None:
        notes.append(f"waited for {host} to catch up: its consumer counted {short:,} at first, {pending:,} after")
    return pending


async def _current(ctx: JSContext, sel: Selection, host: str) -> bool:
    """Whether the stream leader reports ``host`` as the leader itself or a current replica (no lag)."""
    cluster = (await ask(ctx, f"STREAM.INFO.{sel.stream}", None, sel.api_timeout)).get("cluster") or {}
    if cluster.get("leader") == host:
        return True
    for peer in cluster.get("replicas") or ():
        if peer.get("name") == host:
            return bool(peer.get("current")) and not int(peer.get("lag", 0) or 0)
    return True  # not a peer of the stream (moved): nothing to compare with
