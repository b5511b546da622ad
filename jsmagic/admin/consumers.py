"""Consumers: list, create, inspect, pull the next messages (ack/nak/term), delete - ``nats consumer``.

Plain coroutines on the kernel-wide context.  Flag words follow the nats CLI and
nats-py's ``ConsumerConfig`` (deliver all|new|last|last_per_subject, ack explicit|none|all)
so that people who know NATS recognise them.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import nats.errors
import nats.js.errors
import pandas as pd
from nats.js import api

from ..core.config import settings
from ..core.registry import context, jetstream
from ..core.decode import decode_value
from ..ui.display import result_frame
from ..core.errors import ForceRequiredError, InputError, not_found
from .streams import Report, info as stream_info, paged, shown, timestamp
from ..core.units import format_duration, parse_duration, parse_when

ACTIONS = {"ack": b"+ACK", "nak": b"-NAK", "term": b"+TERM", "none": None}


async def consumer_names(stream: str) -> list[str]:
    """Names of a stream's consumers (cheap: no state)."""
    return sorted(await paged(f"CONSUMER.NAMES.{stream}", "consumers"))


async def info(stream: str, name: str) -> api.ConsumerInfo:
    """A consumer's ConsumerInfo; unknown names get "did you mean" (the stream is checked first)."""
    await stream_info(stream)
    js = await jetstream()
    try:
        return await js.consumer_info(stream, name)
    except nats.js.errors.NotFoundError:
        raise not_found(f"consumer on {stream}:", name, await consumer_names(stream)) from None


def _row(ci: api.ConsumerInfo) -> dict[str, Any]:
    """One consumer as a table row, in nats-py's words."""
    c = ci.config
    filters = c.filter_subjects or ([c.filter_subject] if c.filter_subject else [])
    return {
        "name": ci.name,
        "durable": bool(c.durable_name),
        "pull": not c.deliver_subject,
        "deliver_policy": shown("", c.deliver_policy),
        "ack_policy": shown("", c.ack_policy),
        "filter": ", ".join(filters),
        "pending": ci.num_pending or 0,
        "ack_pending": ci.num_ack_pending or 0,
        "redelivered": ci.num_redelivered or 0,
        "waiting": ci.num_waiting or 0,
        "delivered_seq": ci.delivered.stream_seq if ci.delivered else 0,
        "ack_floor_seq": ci.ack_floor.stream_seq if ci.ack_floor else 0,
        "last_active": timestamp(ci.delivered.last_active) if ci.delivered and ci.delivered.last_active else pd.NaT,
    }


async def list_consumers(stream: str) -> pd.DataFrame:
    """``%js_consumer ls STREAM``: one row per consumer with its pending counts."""
    await stream_info(stream)
    raw = await paged(f"CONSUMER.LIST.{stream}", "consumers")
    rows = [_row(api.ConsumerInfo.from_response(c)) for c in raw]
    columns = ["name", "durable", "pull", "deliver_policy", "ack_policy", "filter", "pending", "ack_pending",
               "redelivered", "waiting", "delivered_seq", "ack_floor_seq", "last_active"]
    df = pd.DataFrame(rows, columns=columns).sort_values("name", ignore_index=True)
    return result_frame(df, f"{len(df)} consumer(s) on {stream}")


def deliver_params(deliver: str | None) -> dict[str, Any]:
    """``--deliver all|new|last|last_per_subject|<sequence>|<time or duration ago>`` as config fields."""
    if deliver is None:
        return {}
    word = str(deliver).strip().lower().replace("-", "_")
    if word in ("all", "new", "last", "last_per_subject"):
        return {"deliver_policy": api.DeliverPolicy(word)}
    if word.isdigit():
        return {"deliver_policy": api.DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": int(word)}
    try:
        return {"deliver_policy": api.DeliverPolicy.BY_START_TIME, "opt_start_time": parse_when(deliver)}
    except InputError:
        raise InputError(f"bad --deliver {deliver!r}",
                         hint="use all, new, last, last_per_subject, a sequence number, a time or a duration ago (1h)") from None


async def add_consumer(stream: str, name: str, *, pull: bool = True, target: str | None = None,
                       deliver: str | None = None, ack: str = "explicit", filter: str | None = None,
                       max_deliver: int | None = None, ack_wait: str | None = None,
                       max_ack_pending: int | None = None, description: str | None = None) -> Report:
    """``%js_consumer add``: create a durable consumer (pull by default; push needs ``target``)."""
    if not pull and not target:
        raise InputError("a push consumer needs --target SUBJECT to deliver to", hint="or use --pull")
    try:
        ack_policy = api.AckPolicy(ack.lower())
    except ValueError:
        raise InputError(f"bad --ack {ack!r}", hint="use explicit, none or all") from None
    await stream_info(stream)
    cfg = api.ConsumerConfig(
        durable_name=name, description=description, ack_policy=ack_policy, filter_subject=filter,
        max_deliver=max_deliver, ack_wait=parse_duration(ack_wait) if ack_wait else None,
        max_ack_pending=max_ack_pending, deliver_subject=None if pull else target, **deliver_params(deliver),
    )
    js = await jetstream()
    return describe(await js.add_consumer(stream, cfg))


def describe(ci: api.ConsumerInfo) -> Report:
    """A ConsumerInfo as readable sections."""
    c = ci.config
    config = {
        "durable": c.durable_name or "(ephemeral)",
        "kind": "pull" if not c.deliver_subject else f"push to {c.deliver_subject}",
        "deliver policy": shown("", c.deliver_policy)
        + (f" from {c.opt_start_seq}" if c.opt_start_seq else "")
        + (f" from {c.opt_start_time}" if c.opt_start_time else ""),
        "ack policy": shown("", c.ack_policy),
        "ack wait": format_duration(c.ack_wait),
        "max deliver": "unlimited" if (c.max_deliver or -1) < 0 else c.max_deliver,
        "max ack pending": c.max_ack_pending,
        "filter": ", ".join(c.filter_subjects or ([c.filter_subject] if c.filter_subject else [])) or "-",
        "replay": shown("", c.replay_policy),
    }
    row = _row(ci)
    state = {
        "pending": f"{row['pending']:,}",
        "ack pending": f"{row['ack_pending']:,}",
        "redelivered": f"{row['redelivered']:,}",
        "waiting pulls": row["waiting"],
        "last delivered": f"stream seq {row['delivered_seq']}",
        "ack floor": f"stream seq {row['ack_floor_seq']}",
        "last active": row["last_active"],
    }
    return Report(f"Consumer {ci.stream_name} > {ci.name}", {"Configuration": config, "State": state}, raw=ci)


async def consumer_info(stream: str, name: str) -> Report:
    """``%js_consumer info``: configuration and state, readable; ``.raw`` is the ConsumerInfo."""
    return describe(await info(stream, name))


async def _settle(msgs: list, action: str) -> None:
    """Ack/nak/term ``msgs``; the last one as a request, so the server has applied all when we return."""
    token = ACTIONS[action]
    if token is None or not msgs:
        return
    nc = context().nc
    for msg in msgs[:-1]:
        await nc.publish(msg.reply, token)
    await nc.request(msgs[-1].reply, token, timeout=settings().timeout)


async def next_messages(stream: str, name: str, count: int = 1, action: str = "ack",
                        decode: str = "auto", timeout: float | None = None) -> pd.DataFrame:
    """``%js_consumer next``: pull up to ``count`` messages, then ack, nak, term them or leave them pending.

    Batches never exceed the consumer's ``max_ack_pending`` (a larger batch would wait out
    its timeout every time).  Returns a frame: seq, subject, time, delivered, pending, data.
    """
    if action not in ACTIONS:
        raise InputError(f"bad action {action!r}", hint="use --ack, --nak, --term or --no-ack")
    if count < 1:
        raise InputError("--count must be >= 1")
    if timeout is not None and not (math.isfinite(timeout) and timeout >= 0):  # nan/inf/-1: not a wait
        raise InputError(f"bad --timeout {timeout!r}", hint="give seconds to wait, e.g. --timeout 2")
    ci = await info(stream, name)
    if ci.config.deliver_subject:
        raise InputError(f"consumer {name} is a push consumer", hint="next works on pull consumers")
    acking = ci.config.ack_policy != api.AckPolicy.NONE
    room = (ci.config.max_ack_pending or 1000) if acking else count
    js = await jetstream()
    psub = await js.pull_subscribe_bind(durable=name, stream=stream)
    rows: list[dict[str, Any]] = []
    interrupted = False
    try:
        while len(rows) < count:
            want = min(count - len(rows), room, settings().fetch_batch)
            try:
                msgs = await psub.fetch(want, timeout=timeout or settings().timeout)
            except nats.errors.TimeoutError:
                break
            rows.extend(_message_row(m, decode) for m in msgs)
            if acking:
                await _settle(msgs, action)
            if action == "none" and acking:
                room -= len(msgs)  # they stay pending: the server will not hand out more than max_ack_pending
                if room <= 0:
                    break
    except asyncio.CancelledError:
        interrupted = True
    finally:
        await psub.unsubscribe()
    columns = ["seq", "subject", "time", "delivered", "pending", "headers", "data"]
    df = pd.DataFrame(rows, columns=columns)
    verb = {"ack": "acked", "nak": "nak'd (to be redelivered)", "term": "terminated", "none": "left un-acked"}[action]
    summary = f"{len(df)} message(s) from {stream} > {name}, {verb if acking else 'no acks needed'}"
    out = result_frame(df, summary + (" — interrupted" if interrupted else ""))
    out.attrs["interrupted"] = interrupted
    return out


def _message_row(msg: Any, decode: str) -> dict[str, Any]:
    """One fetched message as a row (metadata from its ack subject)."""
    md = msg.metadata
    headers = {k: v for k, v in (msg.headers or {}).items()}
    return {
        "seq": md.sequence.stream,
        "subject": msg.subject,
        "time": pd.Timestamp(md.timestamp).tz_convert("UTC") if md.timestamp else pd.NaT,
        "delivered": md.num_delivered,
        "pending": md.num_pending,
        "headers": headers,
        "data": decode_value(msg.data, decode),
    }


async def remove_consumer(stream: str, name: str, force: bool = False) -> str:
    """``%js_consumer rm``: delete a consumer (refuses without force, saying what it tracks)."""
    ci = await info(stream, name)
    what = (f"consumer {name} on {stream} ({ci.num_pending or 0:,} pending, "
            f"{ci.num_ack_pending or 0:,} awaiting ack)")
    if not force:
        raise ForceRequiredError(f"would delete {what}")
    js = await jetstream()
    await js.delete_consumer(stream, name)
    return f"Deleted {what}."
