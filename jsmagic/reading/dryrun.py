"""``%js_consume … --dry-run``: what a replay would read, by which reader, and about how long — creating nothing.

No consumer is made (a consumer's ``num_pending`` would be the easy count, and exactly what
a dry run must not leave behind).  The counts are the server's own, without one:

* the first and last sequence of the selection: ``STREAM.MSG.GET {start_time}`` for
  ``--since``/``--until`` (to the nanosecond), ``--start-seq``/``--end-seq`` as given;
* the messages from a sequence on that match a filter: one batched direct get
  ``{seq, next_by_subj, batch: 1}`` whose first answer carries ``Nats-Num-Pending`` (the
  server's count of the matches after it), so ``[S, E]`` holds ``N(S) - N(E + 1)``;
* without direct get, the subject counts of ``STREAM.INFO`` (exact for the whole
  stream, in proportion to the sequence range otherwise: marked estimated);
* ``--last-per-subject``: the number of subjects (``STREAM.INFO`` subject details).

Bytes are the stream's own total for a whole-stream read, else the count times the stream's
mean message size (marked estimated).  The time is estimated from typical rates of each reader.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import nats.js.errors
import orjson

from ..admin.find import intersect
from ..admin.streams import subjects as subject_counts
from ..core.config import settings
from ..core.context import JSContext
from ..core.errors import JSMagicError
from ..core.registry import connected, jetstream
from ..core.units import epoch_ns, format_size, plural, rfc3339_ns
from .get import get_method
from .selection import Selection, reads_by_get
from .status import server_status
from .wire.choose import wanted

RATES = {"bulk": 400_000, "consumer": 80_000, "get": 40_000, "multi_last": 100_000}  # msg/s, a 2-core machine


@dataclasses.dataclass(repr=False)
class DryRun:
    """What a replay of ``stream`` would cover: messages, bytes, sequences, the reader and the time it may take."""

    stream: str
    messages: int
    bytes: int
    first_seq: int | None
    last_seq: int | None
    reader: str
    seconds: float
    exact: bool = True  # messages counted by the server (False: estimated)
    bytes_exact: bool = False
    consumers: int = 0  # the stream's consumer count, before and after: a dry run adds none
    notes: list[str] = dataclasses.field(default_factory=list)

    def __repr__(self) -> str:
        return self.sentence()

    def sentence(self) -> str:
        approx = "" if self.exact else "≈"
        size = ("" if self.bytes_exact else "≈") + format_size(self.bytes)
        span = f", seq {self.first_seq:,}–{self.last_seq:,}" if self.messages and self.first_seq else ""
        return "; ".join([f"Dry run: {approx}{plural(self.messages, 'message')}, {size} of {self.stream}{span}",
                          f"read by {self.reader}", f"about {self.seconds:.1f} s", "no consumer created", *self.notes])


async def first_at_or_after(stream: str, ns: int, *, ctx: JSContext) -> int | None:
    """The sequence of the first message stored at or after ``ns``, or None when none is."""
    try:
        resp = await ctx.api.request(f"STREAM.MSG.GET.{stream}", {"start_time": rfc3339_ns(ns)})
    except nats.js.errors.NotFoundError:
        return None
    return int(resp["message"]["seq"])


async def matches_from(stream: str, seq: int, filt: str, *, ctx: JSContext) -> int:
    """How many messages from ``seq`` on match ``filt``: the server's ``Nats-Num-Pending`` (direct get)."""
    nc = ctx.api.nc
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, pending_msgs_limit=10)
    try:
        req = {"seq": max(1, seq), "next_by_subj": filt, "batch": 1, "max_bytes": 1}
        await nc.publish(ctx.api.direct_get(stream), orjson.dumps(req), reply=inbox)
        msg = await sub.next_msg(timeout=ctx.api.timeout)
        h = msg.headers or {}
        st = server_status(msg.reply, h)
        if st is not None:
            if st.code == "404":
                return 0
            raise JSMagicError(f"direct get on {stream}: {st.code} {st.description}".strip())
        return int(h["Nats-Num-Pending"]) + 1
    finally:
        await sub.unsubscribe()


async def _bounds(sel: Selection, info: Any, ctx: JSContext) -> tuple[int, int]:
    """The selection's first and last sequence (first > last: nothing)."""
    st = info.state
    first, last = st.first_seq or 1, st.last_seq
    if sel.deliver == "start_seq" and sel.start_seq:
        first = max(first, sel.start_seq)
    if sel.deliver == "since" and sel.since is not None:
        found = await first_at_or_after(sel.stream, epoch_ns(sel.since), ctx=ctx)
        first = found if found is not None else last + 1
    if sel.end_seq is not None:
        last = min(last, sel.end_seq)
    if sel.until is not None:
        after = await first_at_or_after(sel.stream, epoch_ns(sel.until) + 1, ctx=ctx)
        last = min(last, after - 1) if after is not None else last
    return first, last


async def dry_run(sel: Selection, *, at: dt.datetime | None = None, up_to_seq: int | None = None,
                  bulk_possible: bool = True, ctx: JSContext | None = None) -> DryRun:
    """What ``replay(sel)`` (or ``--at``/``--up-to-seq``) would read, from the server's counts; creates nothing."""
    sel.check()
    ctx = await connected(ctx)
    js = await jetstream(ctx)
    info = await js.stream_info(sel.stream)
    st = info.state
    filters = sel.subjects or [">"]
    direct = bool(info.config.allow_direct)
    notes: list[str] = []
    exact = True
    if at is not None or up_to_seq is not None or sel.deliver == "last_per_subject":
        subjects = {s for f in filters for s in (await subject_counts(sel.stream, f, ctx=ctx))["subject"]}
        n, first, last = len(subjects), None, None
        if at is not None or up_to_seq is not None:
            notes.append("at most: the subjects stored now (fewer may have existed then)")
            exact = False
    elif sel.deliver == "new":
        n, first, last = 0, None, None
        notes.append("--new waits for messages published from now on: nothing stored is read")
    else:
        first, last = await _bounds(sel, info, ctx)
        n, exact = await count_range(sel.stream, filters, first, last, info, direct, ctx)
        if sel.deliver == "last":
            n = min(n, 1)
    if sel.count is not None:
        n = min(n, sel.count)
    if sel.where or sel.grep or sel.header:
        notes.append("at most: --where/--grep/--header keep fewer")
        exact = False
    whole = n == st.messages  # every stored message: the stream's own byte count
    size = st.bytes if whole else round(n * (st.bytes / st.messages)) if st.messages else 0
    reader, rate = _reader(sel, info, at is not None or up_to_seq is not None, bulk_possible)
    after = (await js.stream_info(sel.stream)).state.consumer_count
    return DryRun(sel.stream, n, size, first, last, reader, n / rate, exact, whole, after, notes)


async def count_range(stream: str, filters: list[str], first: int, last: int, info: Any, direct: bool,
                 ctx: JSContext) -> tuple[int, bool]:
    """Messages in ``[first, last]`` matching any of ``filters``: ``(count, exact)``."""
    if first > last:
        return 0, True
    st = info.state
    if direct:
        total = 0
        for f in filters:
            total += await matches_from(stream, first, f, ctx=ctx) - await matches_from(stream, last + 1, f, ctx=ctx)
        return total, disjoint(filters)
    whole = 0
    for f in filters:
        whole += int((await subject_counts(stream, f, ctx=ctx))["messages"].sum())
    span = max(1, (st.last_seq or 0) - (st.first_seq or 1) + 1)
    if first <= (st.first_seq or 1) and last >= st.last_seq:
        return whole, disjoint(filters)
    return round(whole * (last - first + 1) / span), False


def disjoint(filters: list[str]) -> bool:
    """No subject matches two of the filters (then their counts add up exactly)."""
    return all(intersect(a, b) is None for i, a in enumerate(filters) for b in filters[i + 1:])


def _reader(sel: Selection, info: Any, travel: bool, bulk_possible: bool) -> tuple[str, int]:
    """The reader a replay would take, and its typical rate."""
    if travel:
        how = "batched direct get, multi_last (no consumer)" if info.config.allow_direct else \
            "an ephemeral consumer replay up to the point (no direct get), deleted after"
        return how, RATES["multi_last" if info.config.allow_direct else "consumer"]
    if sel.durable:
        return f"durable consumer {sel.durable} (explicit acks)", RATES["consumer"]
    if reads_by_get(info, sel):
        return get_method(info), RATES["get"]
    if wanted(sel) and bulk_possible:
        return "the bulk reader (ephemeral consumer, deleted after)", RATES["bulk"]
    why = "" if settings().bulk_replay else " (bulk_replay is off)"
    return f"an ephemeral consumer through nats-py (deleted after){why}", RATES["consumer"]
