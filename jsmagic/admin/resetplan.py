"""``%js_consumer reset STREAM NAME [SEQ] [--since TIME] [--dry-run]``: where a reset starts, and what it redelivers.

``--since`` becomes the sequence of the first message stored at or after that time (the
server's ``STREAM.MSG.GET {start_time}``).  A dry run changes nothing: it counts the
messages from that sequence to the end that the consumer's filters take (by direct get's
``Nats-Num-Pending``, :mod:`jsmagic.reading.dryrun`), beside what the consumer has pending now.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from ..core.context import JSContext
from ..core.errors import InputError
from ..core.registry import connected, jetstream
from ..core.units import epoch_ns, plural
from ..reading.dryrun import count_range, first_at_or_after
from .consumerops import reset
from .consumers import consumer_info


@dataclasses.dataclass(repr=False)
class ResetPlan:
    """What a reset of ``stream > consumer`` to ``from_seq`` would deliver again (``messages``, ≈``bytes``)."""

    stream: str
    consumer: str
    from_seq: int
    messages: int
    bytes: int
    pending_now: int  # num_pending + ack pending before the reset
    filters: list[str]
    exact: bool = True

    def __repr__(self) -> str:
        return self.sentence()

    def sentence(self) -> str:
        approx = "" if self.exact else "≈"
        what = ", ".join(self.filters) if self.filters != [">"] else "every subject"
        return (f"Dry run: reset {self.stream} > {self.consumer} to stream sequence {self.from_seq:,} would deliver "
                f"{approx}{plural(self.messages, 'message')} (≈{self.bytes:,} bytes; {what}) again; "
                f"{self.pending_now:,} pending now; nothing changed")


async def start_of(stream: str, seq: int | None, since: dt.datetime | None, *, ctx: JSContext) -> int | None:
    """The reset's sequence: ``seq``, or the first message at or after ``since`` (None: the consumer's own start)."""
    if seq is not None and since is not None:
        raise InputError("give a sequence or --since, not both")
    if since is None:
        return seq
    found = await first_at_or_after(stream, epoch_ns(since), ctx=ctx)
    if found is None:
        raise InputError(f"no message in {stream} was stored at or after {since.isoformat()}",
                         hint="choose an earlier --since")
    return found


async def plan(stream: str, name: str, seq: int | None = None, since: dt.datetime | None = None, *,
               ctx: JSContext | None = None) -> ResetPlan:
    """What the reset would redeliver; creates and changes nothing."""
    ctx = await connected(ctx)
    ci = await consumer_info(stream, name, ctx=ctx)
    start = await start_of(stream, seq, since, ctx=ctx)
    if start is None:  # the server resets to the ack floor: deliver again what follows it
        start = (ci.ack_floor.stream_seq if ci.ack_floor else 0) + 1
    cfg = ci.config
    filters = list(getattr(cfg, "filter_subjects", None) or []) or ([cfg.filter_subject] if cfg.filter_subject else [">"])
    info = await (await jetstream(ctx)).stream_info(stream)
    st = info.state
    n, exact = await count_range(stream, filters, start, st.last_seq, info, bool(info.config.allow_direct), ctx)
    size = round(n * st.bytes / st.messages) if st.messages else 0
    pending = (ci.num_pending or 0) + (ci.num_ack_pending or 0)
    return ResetPlan(stream, name, start, n, size, pending, filters, exact)


async def reset_since(stream: str, name: str, seq: int | None = None, since: dt.datetime | None = None, *,
                      ctx: JSContext | None = None) -> dict[str, Any]:
    """Reset the consumer to ``seq`` or to the first message at or after ``since``."""
    ctx = await connected(ctx)
    return await reset(stream, name, await start_of(stream, seq, since, ctx=ctx), ctx=ctx)
