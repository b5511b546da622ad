"""Consumer settings beyond the basics, edit, copy and reset - ``nats consumer add/edit/copy/reset``.

``consumer_params`` turns natscli's flags (``--deliver-group``, several ``--filter``,
``--backoff 1s,5s,30s``, ``--inactive-threshold``, ``--replay original|instant``,
``--headers-only``) into nats-py ``ConsumerConfig`` fields.  ``edit`` sends the changed
config as a plain dict (``CONSUMER.CREATE`` with ``action: update``) and returns old → new;
the server refuses what it cannot change (the deliver policy, the ack policy...) with
its own one-line reason.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from nats.js import api

from ..core.context import JSContext
from ..core.errors import InputError
from ..core.registry import connected
from ..core.units import parse_duration
from .consumers import info as consumer_info

NANOS = 1_000_000_000
EDIT_FIELDS = ("description", "max_deliver", "ack_wait", "max_ack_pending", "filter", "backoff",
               "inactive_threshold", "headers_only", "max_waiting")


def durations(flag: str, text: str) -> list[float]:
    """``1s,5s,30s`` as seconds; a typo names the flag."""
    try:
        return [parse_duration(x) for x in str(text).replace(",", " ").split()]
    except InputError:
        raise InputError(f"bad --{flag} {text!r}", hint="give durations like 1s,5s,30s") from None


def consumer_params(deliver_group: str | None = None, filters: list[str] | None = None,
                    backoff: str | None = None, inactive_threshold: str | None = None,
                    replay: str | None = None, headers_only: bool | None = None) -> dict[str, Any]:
    """ConsumerConfig fields for the flags given (seconds, enums); ``filters`` of two or more: filter_subjects."""
    out: dict[str, Any] = {}
    if deliver_group:
        out["deliver_group"] = deliver_group
    if filters and len(filters) > 1:
        out["filter_subjects"] = list(filters)
    if backoff:
        out["backoff"] = durations("backoff", backoff)
    if inactive_threshold:
        out["inactive_threshold"] = parse_duration(inactive_threshold)
    if replay:
        try:
            out["replay_policy"] = api.ReplayPolicy(replay.lower())
        except ValueError:
            raise InputError(f"bad --replay {replay!r}", hint="use instant or original") from None
    if headers_only:
        out["headers_only"] = True
    return out


def _api_changes(opts: dict[str, Any]) -> dict[str, Any]:
    """Edit flags as API JSON fields (durations in nanoseconds)."""
    out: dict[str, Any] = {}
    for key, value in opts.items():
        if value is None or value == []:
            continue
        if key == "filter":
            out.update({"filter_subject": value[0], "filter_subjects": None} if len(value) == 1
                       else {"filter_subjects": list(value), "filter_subject": None})
        elif key in ("ack_wait", "inactive_threshold"):
            out[key] = int(parse_duration(value) * NANOS)
        elif key == "backoff":
            out[key] = [int(s * NANOS) for s in durations("backoff", value)]
        else:
            out[key] = value
    return out


def _shown(key: str, value: Any) -> Any:
    if key in ("ack_wait", "inactive_threshold") and isinstance(value, int):
        return value / NANOS
    if key == "backoff" and isinstance(value, list):
        return [v / NANOS for v in value]
    return json.dumps(value, sort_keys=True) if isinstance(value, dict) else value


async def _raw(stream: str, name: str, ctx: JSContext) -> dict[str, Any]:
    await consumer_info(stream, name, ctx=ctx)  # "did you mean" for typos
    return await ctx.api.request(f"CONSUMER.INFO.{stream}.{name}")


async def edit(stream: str, name: str, dry_run: bool = False, *, ctx: JSContext | None = None,
               **opts: Any) -> pd.DataFrame:
    """``%js_consumer edit``: change what the server allows; setting, old, new (durations in seconds)."""
    ctx = await connected(ctx)
    old = (await _raw(stream, name, ctx))["config"]
    changes = _api_changes(opts)
    if not changes:
        raise InputError(f"nothing to change on consumer {name}", hint="give a setting, e.g. --max-deliver 5")
    wanted = {k: v for k, v in {**old, **changes}.items() if v is not None}
    new = wanted
    if not dry_run:
        answer = await ctx.api.request(f"CONSUMER.CREATE.{stream}.{name}",
                                       {"stream_name": stream, "config": wanted, "action": "update"})
        new = answer["config"]
    rows = [{"setting": k, "old": _shown(k, old.get(k)), "new": _shown(k, new.get(k))}
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    df = pd.DataFrame(rows, columns=["setting", "old", "new"])
    df.attrs["dry_run"] = dry_run
    return df


async def copy(stream: str, name: str, new_name: str, *, ctx: JSContext | None = None) -> api.ConsumerInfo:
    """``%js_consumer copy``: a new durable consumer with ``name``'s configuration (from the start of its policy)."""
    ctx = await connected(ctx)
    cfg = dict((await _raw(stream, name, ctx))["config"])
    cfg["durable_name"] = cfg["name"] = new_name
    answer = await ctx.api.request(f"CONSUMER.CREATE.{stream}.{new_name}",
                                   {"stream_name": stream, "config": cfg, "action": "create"})
    return api.ConsumerInfo.from_response(answer)


async def reset(stream: str, name: str, seq: int | None = None, *, ctx: JSContext | None = None) -> dict[str, Any]:
    """``%js_consumer reset``: deliver again from stream sequence ``seq`` (or its deliver policy's start).

    Needs nats-server 2.14 or later (``CONSUMER.RESET``); an older server says it does not know the request.
    """
    ctx = await connected(ctx)
    await _raw(stream, name, ctx)
    if seq is not None and seq < 0:
        raise InputError(f"bad sequence {seq}", hint="give a stream sequence >= 0")
    return await ctx.api.request(f"CONSUMER.RESET.{stream}.{name}", {"seq": seq} if seq else {})
