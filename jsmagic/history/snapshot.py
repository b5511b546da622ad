"""The last message of each subject as of a point in a stream's history (ADR-31).

A point is a stream sequence ``U``: every message stored up to it.  A time ``T`` becomes
``U`` once, by asking the stream leader for the first message stored *after* ``T``
(``STREAM.MSG.GET {start_time: T + 1 ns}``): so "as of T" holds each message stored at or
before ``T``, to the nanosecond, and every request of the read then names the same ``U``.

The read is a batched direct get ``{"multi_last": [...], "up_to_seq": U}``: the server
answers with the last message of each subject up to ``U``, in sequence order, and ends
each batch with its own ``204 EOB`` status, whose ``Nats-Num-Pending`` says how many are
left (a batch stops at ``max_bytes``): the next request goes on from after the last one
received (``seq``).  The server refuses a request that matches more than 1,024 subjects
(``413``): the stream's subjects are then listed (``STREAM.INFO`` subject details, paged)
and asked for in groups of at most 1,024, a few groups in flight at once.  A stored message
may carry its own ``Status`` header: the frame decides (:func:`~jsmagic.reading.status.server_status`).

Without direct get (``allow_direct`` false, or a server before 2.11) the stream is replayed
up to ``U`` through the read engine (an ephemeral consumer, deleted) and the last message of
each subject kept.  ``Snapshot.method`` says which way was taken.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from typing import Any

import nats.errors
import nats.js.errors
import orjson
import pandas as pd

from ..admin.scan import ProgressFn
from ..admin.streams import subjects as stream_subjects
from ..core.context import JSContext
from ..core.errors import JSMagicError
from ..core.registry import connected
from ..core.units import epoch_ns, plural, rfc3339_ns
from ..jsapi import JSApi
from ..reading.get import MAX_BATCH_BYTES, SUB_PENDING_BYTES
from ..reading.status import server_status

log = logging.getLogger(__name__)

MAX_SUBJECTS = 1024  # the server's cap on the subjects one multi_last request may match (413 beyond)
GROUPS_IN_FLIGHT = 4  # multi_last requests of 1,024 subjects sent at once
MAX_DELETED_DETAILS = 100_000  # interior deletes listed (STREAM.INFO deleted_details) to place them
MAX_FRUITLESS = 5  # requests in a row that lost their first message before the read gives up
META_HEADERS = frozenset(("Nats-Stream", "Nats-Subject", "Nats-Sequence", "Nats-Time-Stamp", "Nats-Num-Pending",
                          "Nats-Last-Sequence", "Nats-UpTo-Sequence"))


@dataclasses.dataclass
class Point:
    """A point in a stream's history: every message up to stream sequence ``seq``.

    ``at``: the time asked for (None when asked by sequence); ``seq`` 0: before the first message.
    """

    seq: int
    at: dt.datetime | None = None

    def describe(self) -> str:
        when = f" ({self.at.isoformat()})" if self.at is not None else ""
        return f"as of seq {self.seq:,}{when}"


@dataclasses.dataclass
class Snapshot:
    """The last message of each subject up to ``point``, in sequence order, as parallel lists."""

    stream: str
    point: Point
    seqs: list[int] = dataclasses.field(default_factory=list)
    times: list[int] = dataclasses.field(default_factory=list)  # ns since the epoch
    subjects: list[str] = dataclasses.field(default_factory=list)
    headers: list[dict | None] = dataclasses.field(default_factory=list)
    datas: list[bytes] = dataclasses.field(default_factory=list)
    method: str = ""
    notes: list[str] = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.seqs)

    def add(self, seq: int, stamp: Any, subject: str, headers: dict | None, data: bytes) -> None:
        self.seqs.append(seq)
        self.times.append(stamp)
        self.subjects.append(subject)
        self.headers.append(headers)
        self.datas.append(data)

    def by_subject(self) -> dict[str, int]:
        """Subject → index of its record."""
        return {s: i for i, s in enumerate(self.subjects)}


async def resolve(info: Any, at: dt.datetime | None = None, up_to_seq: int | None = None, *,
                  ctx: JSContext | None = None) -> Point:
    """The point of ``at`` (a time) or ``up_to_seq`` in the stream ``info`` describes; neither: now."""
    last = info.state.last_seq
    if at is None:
        return Point(last if up_to_seq is None else max(0, min(up_to_seq, last)))
    ctx = await connected(ctx)
    try:  # the first message stored after ``at``: the point is just before it
        resp = await ctx.api.request(f"STREAM.MSG.GET.{info.config.name}", {"start_time": rfc3339_ns(epoch_ns(at) + 1)})
    except nats.js.errors.NotFoundError:
        return Point(last, at)  # nothing stored after it (info was read before this request)
    except nats.js.errors.APIError as e:
        raise JSMagicError(f"stream {info.config.name}: the server cannot find a message by time ({e.description})",
                           hint="time travel needs nats-server 2.11 or later; use --revision/--up-to-seq") from None
    return Point(int(resp["message"]["seq"]) - 1, at)


async def removed_note(info: Any, point: Point, *, ctx: JSContext | None = None) -> str | None:
    """A line saying that messages at or before ``point`` were removed (limits, purges, TTLs), or None.

    The server can only answer from what it still stores: a subject whose last message at
    the point was removed since shows an older message, or none.
    """
    st = info.state
    if point.seq < 1 or not st.messages and not st.last_seq:
        return None
    gone = (st.first_seq or 0) - 1 if (st.first_seq or 0) > 1 else 0
    below = min(gone, point.seq)
    deleted = st.num_deleted or 0
    if deleted > MAX_DELETED_DETAILS:  # too many to list: say how many, wherever they are
        return (f"{plural(deleted + below, 'message')} of the stream were removed since they were written (history limit, "
                f"purge, TTL or delete): a subject whose last message at seq {point.seq:,} is gone shows an older "
                "one, or is missing")
    if deleted and below < point.seq:
        ctx = await connected(ctx)
        resp = await ctx.api.request(f"STREAM.INFO.{info.config.name}", {"deleted_details": True})
        below += sum(1 for s in resp.get("state", {}).get("deleted") or [] if s <= point.seq)
    if not below:
        return None
    return (f"{plural(below, 'message')} up to seq {point.seq:,} were removed since (history limit, purge, TTL or "
            f"delete): a subject whose last message then is gone shows an older one, or is missing")


class TooMany(Exception):
    """413: the request matches more subjects than the server answers at once."""


class NotBatched(Exception):
    """An answer without ``Nats-Num-Pending``: a server before 2.11 (one message, no batch)."""


async def subjects_of(stream: str, filters: list[str], ctx: JSContext) -> list[str]:
    """Every subject the stream stores under ``filters`` (the server's subject details, paged)."""
    found: dict[str, None] = {}
    for filt in filters:
        df = await stream_subjects(stream, filt, ctx=ctx)
        found.update(dict.fromkeys(df["subject"].tolist()))
    return sorted(found)


async def groups(api: JSApi, stream: str, groups: list[list[str]], up_to: int, snap: Snapshot,
                  progress: ProgressFn | None) -> None:
    """Each group's last messages (a few requests in flight), merged into ``snap`` in sequence order."""
    parts = [Snapshot(stream, snap.point) for _ in groups]
    gate = asyncio.Semaphore(GROUPS_IN_FLIGHT)
    done = [0]

    def counted(n: int, _total: int | None) -> None:
        done[0] += n
        if progress is not None:
            progress(done[0], None)

    async def one(group: list[str], part: Snapshot) -> None:
        async with gate:
            await multi_last(api, stream, group, up_to, part, counted, step=True)

    await asyncio.gather(*(one(g, p) for g, p in zip(groups, parts)))
    order = sorted(range(sum(map(len, parts))), key=[s for p in parts for s in p.seqs].__getitem__)
    for field in ("seqs", "times", "subjects", "headers", "datas"):
        flat = [x for p in parts for x in getattr(p, field)]
        getattr(snap, field).extend(flat[i] for i in order)


async def multi_last(api: JSApi, stream: str, subjects: list[str], up_to: int, snap: Snapshot,
                      progress: ProgressFn | None, step: bool = False) -> None:
    """Every batch of one multi_last request, each going on after the last message received."""
    cursor, fruitless = 0, 0
    while True:
        before = len(snap)
        more = await _batch(api, stream, subjects, up_to, cursor, snap)
        got = len(snap) - before
        if progress is not None:
            progress(got if step else len(snap), None)
        if not more:
            return
        fruitless = 0 if got else fruitless + 1
        if fruitless >= MAX_FRUITLESS:
            raise JSMagicError(f"direct get on {stream}: the answers from sequence {cursor} keep getting lost",
                               hint="retry; if it persists, check the client's slow-consumer errors")
        if got:
            cursor = snap.seqs[-1] + 1


async def _batch(api: JSApi, stream: str, subjects: list[str], up_to: int, cursor: int, snap: Snapshot) -> bool:
    """One batched multi_last request into ``snap``; whether more are left (or a message was lost on the way)."""
    nc = api.nc
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, pending_msgs_limit=MAX_SUBJECTS + 10, pending_bytes_limit=SUB_PENDING_BYTES)
    req: dict[str, Any] = {"multi_last": subjects, "up_to_seq": up_to, "max_bytes": MAX_BATCH_BYTES}
    if cursor:
        req["seq"] = cursor
    prev = 0
    stamps: list[str] = []
    start = len(snap)
    try:
        await nc.publish(api.direct_get(stream), orjson.dumps(req), reply=inbox)
        while True:
            try:
                msg = await sub.next_msg(timeout=api.timeout)
            except nats.errors.TimeoutError:
                if prev:
                    log.debug("multi_last on %s: the end of a batch was lost after seq %d", stream, prev)
                    return True
                raise
            h = msg.headers or {}
            st = server_status(msg.reply, h)
            if st is not None:
                if st.code == "204":
                    return int(h.get("Nats-Num-Pending", 0) or 0) > 0
                if st.code == "404":
                    return False
                if st.code == "413":
                    raise TooMany()
                raise JSMagicError(f"direct get on {stream}: {st.code} {st.description}".strip())
            if "Nats-Num-Pending" not in h:
                raise NotBatched()
            if int(h.get("Nats-Last-Sequence", 0) or 0) != prev:
                return True  # a message before this one never reached us: go on after the last one kept
            prev = int(h["Nats-Sequence"])
            stamps.append(h["Nats-Time-Stamp"])
            snap.add(prev, 0, h["Nats-Subject"], {k: v for k, v in h.items() if k not in META_HEADERS} or None,
                     msg.data)
    finally:
        if stamps:
            snap.times[start:start + len(stamps)] = pd.to_datetime(stamps, utc=True, format="ISO8601").as_unit("ns").asi8.tolist()
        await asyncio.shield(sub.unsubscribe())
