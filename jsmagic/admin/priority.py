"""Consumer pause and priority groups (server 2.11): ``nats consumer pause|resume|unpin`` and pulls in a group.

*Pause*: a paused consumer delivers nothing until ``pause_until`` (``CONSUMER.PAUSE``
with a time; an empty time resumes).  *Priority groups*: a pull consumer created with
``priority_groups`` and a ``priority_policy`` serves pulls that name a group:
``pinned_client`` sends everything to one pulling client (its pulls carry the
``Nats-Pin-Id`` the server handed out) until it stays silent for ``priority_timeout``
(natscli's ``--pinned-ttl``) or is unpinned; ``overflow`` serves a pull only while the
consumer has at least ``min_pending`` messages waiting.  nats-py has no fields for
priority groups, so these requests are raw JSON through ``ctx.api`` (prefix-aware).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import nats.js.errors
import pandas as pd

from ..core.config import settings
from ..core.context import JSContext
from ..core.errors import InputError, not_found
from ..core.registry import connected
from ..core.units import parse_duration, rfc3339
from ..reading.pull import pull_once
from .streams import info as stream_info

POLICIES = {"pinned": "pinned_client", "overflow": "overflow", "prioritized": "prioritized"}
_pins: dict[tuple, str] = {}  # (connection id, stream, consumer, group) -> the pin id this notebook holds


def until(value: Any) -> datetime:
    """``10m`` (from now) or a time (``2026-12-01 09:00``; naive means UTC) as a UTC datetime in the future."""
    try:
        return datetime.now(timezone.utc) + timedelta(seconds=parse_duration(value))
    except InputError:
        pass
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InputError(f"bad pause time {value!r}", hint="give a duration (10m) or a time (2026-12-01T09:00:00Z)") from None
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


def priority_params(pinned_groups: list[str] | None = None, pinned_ttl: Any = None,
                    overflow_groups: list[str] | None = None, prioritized_groups: list[str] | None = None) -> dict:
    """Raw ConsumerConfig fields for natscli's ``--pinned-groups G --pinned-ttl D`` / ``--overflow-groups`` / ``--prioritized-groups``."""
    given = {k: v for k, v in (("pinned", pinned_groups), ("overflow", overflow_groups),
                               ("prioritized", prioritized_groups)) if v}
    if len(given) > 1:
        raise InputError("a consumer has one priority policy", hint="give only one of --pinned-groups, --overflow-groups, --prioritized-groups")
    if pinned_ttl is not None and "pinned" not in given:
        raise InputError("--pinned-ttl goes with --pinned-groups")
    if not given:
        return {}
    policy, groups = next(iter(given.items()))
    out: dict[str, Any] = {"priority_groups": [g for part in groups for g in str(part).replace(",", " ").split()],
                           "priority_policy": POLICIES[policy]}
    if pinned_ttl is not None:
        out["priority_timeout"] = int(parse_duration(pinned_ttl) * 1e9)
    return out


async def create_raw(stream: str, config: dict, *, ctx: JSContext | None = None) -> dict:
    """Create a durable consumer from a raw config dict (fields nats-py lacks); the server's answer."""
    ctx = await connected(ctx)
    name = config["durable_name"]
    return await ctx.api.request(f"CONSUMER.CREATE.{stream}.{name}", {"stream_name": stream, "config": config})


async def _consumer(stream: str, name: str, ctx: JSContext) -> dict:
    """The raw CONSUMER.INFO answer (with the priority fields nats-py drops); "did you mean" when unknown."""
    await stream_info(stream, ctx=ctx)  # an unknown stream: its own "did you mean"
    try:
        return await ctx.api.request(f"CONSUMER.INFO.{stream}.{name}")
    except nats.js.errors.NotFoundError:
        names = sorted(await ctx.api.paged(f"CONSUMER.NAMES.{stream}", "consumers"))
        raise not_found(f"consumer on {stream}:", name, names) from None


async def pause(stream: str, name: str, until_: Any, *, ctx: JSContext | None = None) -> dict:
    """``%js_consumer pause``: deliver nothing until ``until_`` (a duration from now or a time)."""
    ctx = await connected(ctx)
    when = until(until_)
    await _consumer(stream, name, ctx)
    resp = await ctx.api.request(f"CONSUMER.PAUSE.{stream}.{name}", {"pause_until": rfc3339(when)})
    return pause_state(resp)


async def resume(stream: str, name: str, *, ctx: JSContext | None = None) -> dict:
    """``%js_consumer resume``: deliver again now."""
    ctx = await connected(ctx)
    await _consumer(stream, name, ctx)
    return pause_state(await ctx.api.request(f"CONSUMER.PAUSE.{stream}.{name}", {}))


def pause_state(raw: dict) -> dict:
    """``{paused, pause_until, pause_remaining (s)}`` from a pause answer or a raw consumer info."""
    paused = bool(raw.get("paused"))
    when = raw.get("pause_until") or (raw.get("config") or {}).get("pause_until")
    return {"paused": paused, "pause_until": pd.Timestamp(when) if paused and when else pd.NaT,
            "pause_remaining": (raw.get("pause_remaining") or 0) / 1e9 if paused else 0.0}


async def unpin(stream: str, name: str, group: str, *, ctx: JSContext | None = None) -> str:
    """``%js_consumer unpin``: the pinned client of ``group`` loses its pin; the next pull gets it."""
    ctx = await connected(ctx)
    await _consumer(stream, name, ctx)
    await ctx.api.request(f"CONSUMER.UNPIN.{stream}.{name}", {"group": group})
    for key in [k for k in _pins if k[1:] == (stream, name, group)]:
        del _pins[key]
    return f"Unpinned group {group} of {stream} > {name}: the next pull in the group is pinned."


async def priority_state(stream: str, name: str, *, ctx: JSContext | None = None) -> dict:
    """Pause and priority settings and state: policy, groups, pinned TTL, and each group's pinned client."""
    ctx = await connected(ctx)
    raw = await _consumer(stream, name, ctx)
    cfg = raw.get("config") or {}
    groups = {g["group"]: g.get("pinned_client_id") for g in raw.get("priority_groups") or []}
    timeout = cfg.get("priority_timeout")
    return {**pause_state(raw), "priority_policy": cfg.get("priority_policy"), "groups": groups,
            "pinned_ttl": timeout / 1e9 if timeout else None}


async def pull_group(stream: str, name: str, group: str, count: int = 1, *, min_pending: int | None = None,
                     pin_id: str | None = None, remember: bool = True, timeout: float | None = None,
                     ctx: JSContext | None = None) -> tuple[list, str | None, str | None]:
    """Pull up to ``count`` messages within ``group``; ``(messages, pin id, why none came)``.

    The pin id the server hands out is remembered per connection (``remember``), so the
    notebook's later pulls stay pinned; pass ``pin_id``/``remember=False`` to act as another worker.
    """
    ctx = await connected(ctx)
    key = (id(ctx), stream, name, group)
    pin_id = pin_id if pin_id is not None or not remember else _pins.get(key)
    wait = timeout or settings().timeout
    body: dict[str, Any] = {"group": group}
    if pin_id:
        body["id"] = pin_id
    if min_pending:
        body["min_pending"] = min_pending
    msgs, st = await pull_once(ctx.api, stream, name, count, wait, body)  # a stored Status header is a row
    why = None
    if st is not None and len(msgs) < count:
        why = {"408": "no message in time", "404": "no messages",
               "423": "another worker holds the pin"}.get(st.code, st.description or st.code)
        if st.code == "423":
            _pins.pop(key, None)
    for msg in msgs:
        pin_id = (msg.headers or {}).get("Nats-Pin-Id", pin_id)
    if remember and pin_id and msgs:
        _pins[key] = pin_id
    return msgs, pin_id if msgs else None, why
