"""What a replay reads: the :class:`Selection`, its checks, and what follows from it alone.

A selection speaks the ``nats sub --stream`` vocabulary (``--all/--new/--last/
--last-per-subject/--start-seq/--since``) plus bounds, decoding and the durable options.
From it and the stream's info follow the consumer to create (:func:`consumer_config`),
where to stop (:func:`bounds_for`) and whether to read without any consumer
(:func:`reads_by_get`).  Nothing here talks to the server.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from typing import Any, Callable

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy

from ..core.config import settings
from ..core.errors import InputError
from ..core.decode import check_mode
from ..core.units import epoch_ns, rfc3339
from .acks import ACTIONS
from .frames import Bounds
from .shaping import Shape, parse_header_filters

DELIVER = ("all", "new", "last", "last_per_subject", "start_seq", "since")
INACTIVE_THRESHOLD = 120.0  # seconds an abandoned ephemeral consumer survives (kernel died mid-replay)

ProgressFn = Callable[[int, int | None], None]
"""What every reader reports to: ``progress(done, total_or_None)`` (the magic passes a progress line)."""


MAX_SEQ = 2**64 - 1  # stream sequences are uint64
RESUME_WAIT = 30.0  # seconds a resumed replay keeps asking for its new consumer (a reconnect plus a leader election)


@dataclasses.dataclass
class Selection:
    """What to replay: the ``nats sub --stream`` words, bounds, decoding and durable options."""

    stream: str
    subjects: list[str] = dataclasses.field(default_factory=list)
    deliver: str = "all"
    start_seq: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    end_seq: int | None = None
    count: int | None = None
    headers_only: bool = False
    decode: Any = "auto"  # a mode name or a function (data, headers) -> value
    flatten: bool = False
    where: str | None = None  # filters applied chunk by chunk (jsmagic.reading.shaping)
    grep: str | None = None
    header: list[str] = dataclasses.field(default_factory=list)  # K=V, all must match
    subject_cols: str | None = None  # 'orders.{region}.{kind}'
    header_cols: list[str] = dataclasses.field(default_factory=list)
    timeout: float | None = None
    batch: int | None = None
    durable: str | None = None
    action: str | None = None  # ack | nak | term | in_progress (durable only)
    delay: float | None = None  # nak delay, seconds
    ack_wait: float | None = None
    max_deliver: int | None = None
    live: bool = False  # --follow: no end, no idle stop; every arrival is flushed to the rows
    bulk: bool | None = None  # bulk reader: None follows %config JSMagic.bulk_replay; False forces nats-py

    def check(self) -> None:
        """Reject contradictory input before anything touches the server."""
        if self.deliver not in DELIVER:
            raise InputError(f"unknown deliver policy {self.deliver!r}", hint=f"use one of {', '.join(DELIVER)}")
        if self.deliver == "start_seq" and (self.start_seq is None or self.start_seq < 1):
            raise InputError("--start-seq needs a sequence >= 1")
        for flag, value in (("--start-seq", self.start_seq), ("--end-seq", self.end_seq)):
            if value is not None and value > MAX_SEQ:
                raise InputError(f"{flag} {value} is beyond any stream sequence", hint=f"sequences go up to {MAX_SEQ:,}")
        if self.deliver == "since" and self.since is None:
            raise InputError("--since needs a time")
        if self.count is not None and self.count < 1:
            raise InputError("-n/--count must be >= 1")
        if self.batch is not None and not 1 <= self.batch <= 10_000_000:
            raise InputError(f"--batch {self.batch} is not a pull size", hint="use a number of messages from 1 to 10,000,000")
        if self.action and not self.durable:
            raise InputError(f"--{self.action.replace('_', '-')} needs --durable NAME", hint="acks only exist on a durable consumer")
        if self.action and self.action not in ACTIONS:
            raise InputError(f"unknown ack action {self.action!r}")
        if self.delay is not None and self.action != "nak":
            raise InputError("--delay only goes with --nak")
        check_mode(self.decode)
        self.shape()  # a bad --grep, --header or --subject-cols fails here, before reading

    @property
    def api_timeout(self) -> float:
        """Seconds to wait for one server answer."""
        return self.timeout or settings().timeout

    @property
    def idle_timeout(self) -> float | None:
        """Seconds without a message after which a replay ends (never, when following)."""
        return None if self.live else self.api_timeout

    def shape(self) -> Shape | None:
        """The filters and extra columns of this selection (None when there are none)."""
        shape = Shape(self.where, self.grep, parse_header_filters(self.header), self.subject_cols, list(self.header_cols))
        return shape if shape else None

    def for_readers(self) -> "Selection":
        """What the readers pull: with filters, -n counts matches (the collector's bound), not pulls."""
        filtering = bool(self.where or self.grep or self.header)
        return dataclasses.replace(self, count=None) if filtering and self.count else self


def reads_by_get(info: Any, sel: Selection) -> bool:
    """WorkQueue/Interest streams are never given a consumer unless --durable says so."""
    return not sel.durable and info.config.retention in (RetentionPolicy.WORK_QUEUE, RetentionPolicy.INTEREST)


LAST_POLICIES = ("last", "last_per_subject")


def bounds_for(sel: Selection, info: Any) -> Bounds:
    """Stop at --end-seq/--until/-n, and at the stream's last sequence as of the call (except --new).

    ``--last``/``--last-per-subject`` through a consumer get no such bound: the consumer
    takes its "last" messages when it is created, after ``info`` was read, and with another
    client writing those lie above ``info``'s last sequence (a bound from it returned 0 rows
    for ``--last`` and lost hundreds of 2,000 subjects).  The readers stop at the consumer's
    own ``num_pending`` at create instead, which the server counts with its "last" set.
    """
    end = sel.end_seq
    by_consumer = sel.deliver in LAST_POLICIES and not reads_by_get(info, sel)
    if sel.deliver != "new" and not sel.durable and not sel.live and not by_consumer:
        last = info.state.last_seq
        end = last if end is None else min(end, last)
    until = epoch_ns(sel.until) if sel.until else None
    count = sel.count
    if sel.deliver == "last" and not sel.durable and not sel.live:
        # one message: the consumer's first delivery is its "last"; its num_pending at create
        # can already count a message stored a moment later (2 rows seen under load)
        count = 1
    return Bounds(end_seq=end, until_ns=until, count=count)


def consumer_config(sel: Selection, info: Any) -> ConsumerConfig:
    """The consumer for a selection: ephemeral/AckNone by default, explicit acks when durable."""
    policy = {
        "all": DeliverPolicy.ALL, "new": DeliverPolicy.NEW, "last": DeliverPolicy.LAST,
        "last_per_subject": DeliverPolicy.LAST_PER_SUBJECT, "start_seq": DeliverPolicy.BY_START_SEQUENCE,
        "since": DeliverPolicy.BY_START_TIME,
    }[sel.deliver]
    cfg = ConsumerConfig(
        deliver_policy=policy,
        opt_start_seq=sel.start_seq if sel.deliver == "start_seq" else None,
        opt_start_time=rfc3339(sel.since) if sel.deliver == "since" else None,
        headers_only=sel.headers_only or None,
    )
    if len(sel.subjects) == 1:
        cfg.filter_subject = sel.subjects[0]
    elif sel.subjects:
        cfg.filter_subjects = list(sel.subjects)
    elif sel.deliver == "last_per_subject":  # the server wants a filter for this policy
        cfg.filter_subject = ">"
    if sel.durable:
        cfg.durable_name = sel.durable
        cfg.ack_policy = AckPolicy.EXPLICIT
        cfg.ack_wait, cfg.max_deliver = sel.ack_wait, sel.max_deliver
    else:
        cfg.name = f"jsmagic_{secrets.token_hex(6)}"
        cfg.ack_policy = AckPolicy.NONE
        cfg.inactive_threshold = max(INACTIVE_THRESHOLD, 3 * sel.api_timeout)
        cfg.mem_storage, cfg.num_replicas = True, 1
    return cfg


def resumable(sel: Selection) -> bool:
    """A bounded ephemeral replay, or a live tail, can restart where it stopped (``--last*``/``--new`` cannot).

    The one rule of every reader (the bulk reader, the nats-py reader, a follow's hand-over):
    a lost consumer is replaced by one that starts after the last sequence kept (:func:`rest_after`).
    """
    return not sel.durable and (sel.live or sel.deliver in ("all", "start_seq", "since"))


def rest_after(sel: Selection, last_seq: int | None, received: int, *, at_least_one: bool = True) -> Selection:
    """The selection still to read once ``received`` messages up to ``last_seq`` are kept: from ``last_seq + 1``.

    A server restart (or a cluster losing the stream's leader) loses an ephemeral (memory)
    consumer; without this a replay would wait out its idle timeout and return a silently
    partial frame.  ``-n`` counts on: what is left of it (at least 1 unless ``at_least_one`` is
    off).  With nothing kept yet the selection is unchanged (as asked).
    """
    left = None if sel.count is None else sel.count - received
    if left is not None and at_least_one:
        left = max(1, left)
    if last_seq is None:
        return dataclasses.replace(sel, count=left) if not at_least_one else sel
    return dataclasses.replace(sel, deliver="start_seq", start_seq=last_seq + 1, since=None, count=left)
