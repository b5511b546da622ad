"""How many consumers a stream takes, and the defaults it gives them: ``max_consumers`` and ``consumer_limits``.

A stream refuses a consumer beyond its limit: its own ``max_consumers`` when set, else the
account's (``$JS.API.INFO`` ``limits.max_consumers``, per tier when tiered), else the
server's default — nats-server 2.15.1 refuses the 1,001st consumer of a stream whose
``max_consumers`` is -1 ("maximum consumers limit reached", error 10026).  The durable
consumers a server makes to source or mirror a WorkQueue/Interest stream (ADR-60,
``_nats.src.*``/``_nats.mirror.*`` metadata) do not count.

``consumer_limits`` (server 2.10) caps what a consumer of the stream may ask for and fills
in what it leaves out: ``inactive_threshold`` and ``max_ack_pending``.  A consumer asking for
more is refused (errors 10153 and 10121).  natscli's flags: ``--max-consumers``,
``--limit-consumer-inactive``, ``--limit-consumer-max-pending``.

Whatever creates several consumers (Dask partitions, watches) asks :func:`require_room` first
and refuses in one line instead of failing half-way.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import nats.js.errors

from ..core.context import JSContext
from ..core.errors import InputError
from ..core.registry import connected
from ..core.units import parse_duration, plural
from .streamconfig import whole_number

SERVER_DEFAULT = 1000
"""Consumers per stream when neither the stream nor the account sets a limit (measured on nats-server 2.15.1)."""

NANOS = 1_000_000_000
MAX_CONSUMERS_REACHED, INACTIVE_TOO_LONG, ACK_PENDING_TOO_BIG = 10026, 10153, 10121
"""The server's error codes for a consumer the stream's limits refuse."""

SYSTEM_METADATA = ("_nats.src.", "_nats.mirror.")


def limits_config(*, max_consumers: Any = None, limit_consumer_inactive: Any = None,
                  limit_consumer_max_pending: Any = None) -> dict[str, Any]:
    """The API StreamConfig fields these flags set (None: not given); durations like ``30s``, ``1h``."""
    out: dict[str, Any] = {}
    if max_consumers is not None:
        out["max_consumers"] = whole_number("max_consumers", max_consumers)
    limits: dict[str, int] = {}
    if limit_consumer_inactive is not None:
        seconds = parse_duration(limit_consumer_inactive)
        if seconds <= 0:
            raise InputError(f"bad --limit-consumer-inactive {limit_consumer_inactive!r}", hint="give a duration, e.g. 1h")
        limits["inactive_threshold"] = int(seconds * NANOS)
    if limit_consumer_max_pending is not None:
        pending = whole_number("limit_consumer_max_pending", limit_consumer_max_pending)
        if pending < 1:
            raise InputError(f"bad --limit-consumer-max-pending {limit_consumer_max_pending!r}", hint="give a count of 1 or more")
        limits["max_ack_pending"] = pending
    if limits:
        out["consumer_limits"] = limits
    return out


@dataclasses.dataclass
class ConsumerRoom:
    """How many more consumers ``stream`` takes: ``limit`` (from ``source``), ``in_use`` (those that count), ``free``."""

    stream: str
    limit: int
    source: str  # "stream max_consumers", "account limit" or "server default"
    in_use: int
    inactive_threshold: float | None = None  # the stream's consumer_limits, seconds
    max_ack_pending: int | None = None

    @property
    def free(self) -> int:
        return max(0, self.limit - self.in_use)

    def sentence(self) -> str:
        return (f"stream {self.stream} allows {plural(self.limit, 'consumer')} ({self.source}) "
                f"and has {self.in_use:,} in use")


async def consumer_room(stream: str, *, ctx: JSContext | None = None) -> ConsumerRoom:
    """The stream's consumer limit, where it comes from, and how many consumers count against it."""
    ctx = await connected(ctx)
    raw = await _stream(ctx, stream)
    cfg, state = raw["config"], raw.get("state") or {}
    limit, source = _limit(cfg, await _account_limit(ctx, cfg))
    room = ConsumerRoom(stream, limit, source, int(state.get("consumer_count") or 0), *_caps(cfg))
    if room.in_use:  # the server's own sourcing/mirroring consumers do not count
        listing = await ctx.api.listing(f"CONSUMER.LIST.{stream}", "consumers")
        room.in_use -= sum(1 for c in listing.items if _system((c.get("config") or {}).get("metadata")))
    return room


async def _stream(ctx: JSContext, stream: str) -> dict[str, Any]:
    try:
        return await ctx.api.request(f"STREAM.INFO.{stream}")
    except nats.js.errors.NotFoundError:
        raise InputError(f"no stream {stream!r}", hint="list them with %js_stream ls") from None


def _caps(cfg: dict[str, Any]) -> tuple[float | None, int | None]:
    """The stream's consumer_limits: inactive threshold (seconds) and max ack pending; None where unset."""
    limits = cfg.get("consumer_limits") or {}
    inactive = limits.get("inactive_threshold")
    return (inactive / NANOS if inactive else None), (limits.get("max_ack_pending") or None)


def _limit(cfg: dict[str, Any], account: int | None) -> tuple[int, str]:
    own = int(cfg.get("max_consumers") or -1)
    if own > 0 and (account is None or own <= account):
        return own, "stream max_consumers"
    if account is not None:
        return account, "account limit"
    return SERVER_DEFAULT, "server default"


async def _account_limit(ctx: JSContext, cfg: dict[str, Any]) -> int | None:
    """The account's per-stream consumer limit (the stream's replica tier when limits are tiered); None: none."""
    info = await ctx.api.request("INFO")
    tiers = info.get("tiers") or {}
    limits = (tiers.get(f"R{cfg.get('num_replicas') or 1}") or {}).get("limits") or info.get("limits") or {}
    value = int(limits.get("max_consumers") or -1)
    return value if value > 0 else None


def _system(metadata: dict[str, str] | None) -> bool:
    return any(k.startswith(SYSTEM_METADATA) for k in (metadata or {}))


async def require_room(stream: str, wanted: int, what: str, *, ctx: JSContext | None = None) -> ConsumerRoom:
    """Refuse in one line, before anything is created, when ``wanted`` more consumers do not fit."""
    room = await consumer_room(stream, ctx=ctx)
    if wanted > room.free:
        fewer = f"use at most {room.free:,}, " if room.free else ""
        raise InputError(f"{what} needs {plural(wanted, 'consumer')} but {room.sentence()}",
                         hint=f"{fewer}delete consumers you no longer need (%js_consumer ls {stream}), "
                              f"or raise it: %js_stream edit {stream} --max-consumers N")
    return room


async def refused(ctx: JSContext, stream: str, error: Exception) -> float | None:
    """After a consumer create failed: the stream's inactive-threshold cap to retry with, or None.

    A create refused for the stream's consumer count raises the one-line error that says
    the limit and the count in use; any other error returns None (the caller raises it).
    """
    code = getattr(error, "err_code", None)
    if code == MAX_CONSUMERS_REACHED:
        room = await consumer_room(stream, ctx=ctx)
        raise InputError(f"no room for another consumer: {room.sentence()}",
                         hint=f"delete consumers you no longer need (%js_consumer ls {stream}), "
                              f"or raise it: %js_stream edit {stream} --max-consumers N") from None
    if code == INACTIVE_TOO_LONG:
        return _caps((await _stream(ctx, stream))["config"])[0]
    return None
