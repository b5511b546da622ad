"""Consumers: list, create, inspect, pull the next messages (ack/nak/term), delete - ``nats consumer``.

Plain coroutines that return data (``ctx=`` picks a named connection, by default the
current one); ``%js_consumer`` and :mod:`jsmagic.ui.report` make them readable.  Flag
words follow the nats CLI and nats-py's ``ConsumerConfig`` (deliver all|new|last|
last_per_subject, ack explicit|none|all) so that people who know NATS recognise them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from typing import Any

import nats.js.errors
import pandas as pd
from nats.js import api

from ..core.config import settings
from ..core.context import JSContext
from ..core.decode import Decoder, decoder, with_errors
from ..core.errors import ForceRequiredError, InputError, JSMagicError, not_found
from ..core.registry import connected, current, jetstream
from ..jsapi import last_active
from .consumerdiff import ALREADY_EXISTS, refuse_existing
from .offline import offline_error, offline_reason, stream_offline, with_offline
from ..reading.acks import ACTIONS as ACK_BODIES, parse_ack
from ..reading.pull import pull_once
from ..core.units import parse_duration, parse_when, plural
from .priority import pull_group, rfc3339, until
from .streamconfig import plain
from .streams import info as stream_info, timestamp

ACTIONS = {**{k: ACK_BODIES[k] for k in ("ack", "nak", "term")}, "none": None}  # what next does after a pull
LIST_COLUMNS = ["name", "durable", "pull", "deliver_policy", "ack_policy", "filter", "pending", "ack_pending",
                "redelivered", "waiting", "delivered_seq", "ack_floor_seq", "last_active", "paused", "offline"]
NEXT_COLUMNS = ["seq", "subject", "time", "delivered", "pending", "headers", "data"]


async def consumer_names(stream: str, *, ctx: JSContext | None = None) -> list[str]:
    """Names of a stream's consumers (cheap: no state)."""
    ctx = await connected(ctx)
    return sorted(await ctx.api.paged(f"CONSUMER.NAMES.{stream}", "consumers"))


async def info(stream: str, name: str, *, ctx: JSContext | None = None) -> api.ConsumerInfo:
    """A consumer's ConsumerInfo; unknown names get "did you mean" (the stream is checked first).

    On an offline stream (server 2.12+) the server still answers for its consumers: an
    offline consumer, or one not loaded, is one line with the server's reason.
    """
    down = await stream_offline(stream, ctx=ctx)
    js = await jetstream(ctx)
    try:
        return await js.consumer_info(stream, name)
    except nats.js.errors.NotFoundError:
        if down is not None:  # its consumers are not loaded: say why rather than "unknown"
            raise offline_error(f"stream {stream}", down) from None
        raise not_found(f"consumer on {stream}:", name, await consumer_names(stream, ctx=ctx)) from None
    except nats.js.errors.APIError as e:
        if (why := offline_reason(e)) is None:
            raise
        also = f" (stream {stream}: {down})" if down is not None else ""
        raise offline_error(f"consumer {name} of stream {stream}", why + also) from None


def consumer_row(ci: api.ConsumerInfo) -> dict[str, Any]:
    """One consumer as a table row, in nats-py's words (counts as numbers, policies as words)."""
    c = ci.config
    filters = c.filter_subjects or ([c.filter_subject] if c.filter_subject else [])
    return {
        "name": ci.name,
        "durable": bool(c.durable_name),
        "pull": not c.deliver_subject,
        "deliver_policy": plain(c.deliver_policy),
        "ack_policy": plain(c.ack_policy),
        "filter": ", ".join(filters),
        "pending": ci.num_pending or 0,
        "ack_pending": ci.num_ack_pending or 0,
        "redelivered": ci.num_redelivered or 0,
        "waiting": ci.num_waiting or 0,
        "delivered_seq": ci.delivered.stream_seq if ci.delivered else 0,
        "ack_floor_seq": ci.ack_floor.stream_seq if ci.ack_floor else 0,
        "last_active": timestamp(last_active(ci.delivered)) if last_active(ci.delivered) else pd.NaT,
        "paused": bool(getattr(ci, "paused", False)),  # server 2.11: %js_consumer pause
    }


async def list_consumers(stream: str, *, ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_consumer ls STREAM``: one row per consumer with its pending counts (``attrs["missing"]``: unlisted).

    An offline consumer (server 2.12+) is a row with the server's reason in ``offline``;
    the consumers of an offline stream list as the server lists them.
    """
    await stream_offline(stream, ctx=ctx)  # "did you mean"; an offline stream still lists its consumers
    ctx = await connected(ctx)
    listing = await ctx.api.listing(f"CONSUMER.LIST.{stream}", "consumers")
    rows = [{**consumer_row(api.ConsumerInfo.from_response(c)), "offline": ""} for c in listing.items]
    frame = pd.DataFrame(rows, columns=LIST_COLUMNS).sort_values("name", ignore_index=True)
    counts = ["pending", "ack_pending", "redelivered", "waiting", "delivered_seq", "ack_floor_seq"]
    return listing.mark(with_offline(frame, listing.missing, counts), "consumer")


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
                       max_ack_pending: int | None = None, description: str | None = None,
                       pause: Any = None, priority: dict | None = None,
                       extra: dict[str, Any] | None = None, ctx: JSContext | None = None) -> api.ConsumerInfo:
    """``%js_consumer add``: create a durable consumer (pull by default; push needs ``target``).

    ``extra``: further ConsumerConfig fields (:func:`jsmagic.admin.consumerops.consumer_params`);
    ``pause``/``priority``: server 2.11 fields nats-py lacks, sent as raw config.
    """
    if not pull and not target:
        raise InputError("a push consumer needs --target SUBJECT to deliver to", hint="or use --pull")
    try:
        ack_policy = api.AckPolicy(ack.lower())
    except ValueError:
        raise InputError(f"bad --ack {ack!r}", hint="use explicit, none or all") from None
    await stream_info(stream, ctx=ctx)
    cfg = api.ConsumerConfig(
        durable_name=name, description=description, ack_policy=ack_policy, filter_subject=filter,
        max_deliver=max_deliver, ack_wait=parse_duration(ack_wait) if ack_wait else None,
        max_ack_pending=max_ack_pending, deliver_subject=None if pull else target, **deliver_params(deliver),
        **(extra or {}),
    )
    # server 2.11 fields (priority groups: nats-py has none) go as raw config
    raw = {**(priority or {}), **({"pause_until": rfc3339(until(pause))} if pause is not None else {})}
    wanted = {**cfg.as_dict(), **raw}
    for key, value in wanted.items():
        if isinstance(value, int) and not -2**63 <= value < 2**64:
            raise InputError(f"bad {key} {value}: out of the server's range", hint="give a smaller number")
    ctx = await connected(ctx)
    try:  # "create": the same settings again are no change; others are refused, never replaced
        answer = await ctx.api.request(f"CONSUMER.CREATE.{stream}.{name}",
                                       {"stream_name": stream, "config": wanted, "action": "create"})
    except nats.js.errors.APIError as e:
        if e.err_code != ALREADY_EXISTS:
            raise
        raise await refuse_existing(stream, name, wanted, ctx=ctx) from None
    return api.ConsumerInfo.from_response(answer)


async def consumer_info(stream: str, name: str, *, ctx: JSContext | None = None) -> api.ConsumerInfo:
    """``%js_consumer info``: the ConsumerInfo (configuration and state)."""
    return await info(stream, name, ctx=ctx)


# ---- next: pull, then ack / nak / term -----------------------------------------------------
async def _settle(nc: Any, msgs: list, action: str) -> None:
    """Ack/nak/term ``msgs``; the last one as a request, so the server has applied all when we return."""
    token = ACTIONS[action]
    if token is None or not msgs:
        return
    for msg in msgs[:-1]:
        await nc.publish(msg.reply, token)
    await nc.request(msgs[-1].reply, token, timeout=settings().timeout)


def _check_next(action: str, count: int, timeout: float | None) -> None:
    """One-line errors for what ``next`` cannot do, before anything is pulled."""
    if action not in ACTIONS:
        raise InputError(f"bad action {action!r}", hint="use --ack, --nak, --term or --no-ack")
    if count < 1:
        raise InputError("--count must be >= 1")
    if timeout is not None and not (math.isfinite(timeout) and timeout >= 0):  # nan/inf/-1: not a wait
        raise InputError(f"bad --timeout {timeout!r}", hint="give seconds to wait, e.g. --timeout 2")


async def next_messages(stream: str, name: str, count: int = 1, action: str = "ack",
                        decode: Any = "auto", timeout: float | None = None, group: str | None = None,
                        min_pending: int | None = None, *, ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_consumer next``: pull up to ``count`` messages, then ack, nak, term them or leave them pending.

    Batches never exceed the consumer's ``max_ack_pending`` (a larger batch would wait out
    its timeout every time).  Returns a frame: seq, subject, time, delivered, pending,
    headers, data (decoded as ``--decode`` says; a ``decode_error`` column names a payload that
    could not be); ``attrs["ack_policy"]`` is the consumer's, ``attrs["interrupted"]`` says
    whether an interrupt ended the pulling (what arrived is kept, and settled).
    """
    _check_next(action, count, timeout)
    dec = decoder(decode)
    if min_pending is not None and group is None:
        raise InputError("--min-pending goes with --group G")
    ci = await info(stream, name, ctx=ctx)
    if ci.config.deliver_subject:
        raise InputError(f"consumer {name} is a push consumer", hint="next works on pull consumers")
    ctx = current(ctx)
    if group is not None:
        return await _next_in_group(ctx, ci, stream, name, group, count, action, dec, timeout, min_pending)
    acking = ci.config.ack_policy != api.AckPolicy.NONE
    room = (ci.config.max_ack_pending or 1000) if acking else count
    rows: list[dict[str, Any]] = []
    # nak'd messages are redelivered at once: nak them only when the call is done, so that one
    # call returns each message once (until then they hold the consumer's ack-pending room)
    later: list = [] if acking and action == "nak" else None
    interrupted = False
    try:
        while len(rows) < count:
            want = min(count - len(rows), room, settings().fetch_batch)
            msgs: list = []  # what arrived, also when an interrupt ends the pull
            wait = timeout or settings().timeout
            try:  # like nats-py's fetch: what is there now, else wait for it
                _, st = await pull_once(ctx.api, stream, name, want, wait, no_wait=True, into=msgs)
                if not msgs:
                    _, st = await pull_once(ctx.api, stream, name, want, wait, into=msgs)
            except asyncio.CancelledError:
                rows.extend(await _batch_rows(ctx.nc, msgs, dec, acking, len(rows)))
                if later is not None:
                    later.extend(msgs)
                elif acking:
                    await _settle(ctx.nc, msgs, action)
                raise
            if not msgs:
                if st is not None and st.code not in ("404", "408"):  # 409 (consumer deleted, …): say it
                    raise JSMagicError(f"pull from {stream} > {name} failed: {st.code} {st.description}".strip())
                break
            rows.extend(await _batch_rows(ctx.nc, msgs, dec, acking, len(rows)))
            if later is not None:
                later.extend(msgs)
            elif acking:
                await _settle(ctx.nc, msgs, action)
            if (action == "none" or later is not None) and acking:
                room -= len(msgs)  # they stay pending: the server will not hand out more than max_ack_pending
                if room <= 0:
                    break
    except asyncio.CancelledError:
        interrupted = True
    finally:
        if later:
            await _settle(ctx.nc, later, "nak")
    df = with_errors(pd.DataFrame(rows, columns=NEXT_COLUMNS), [r["decode_error"] for r in rows])
    df.attrs.update(ack_policy=plain(ci.config.ack_policy), interrupted=interrupted)
    if action == "none" and acking and room <= 0 and len(rows) < count and not interrupted:
        # held at max_ack_pending by the rows left pending: say how many more wait, not a silent short frame
        left = (await info(stream, name, ctx=ctx)).num_pending
        if left:
            df.attrs["held"] = (left, ci.config.max_ack_pending or 1000)
    return df


async def _next_in_group(ctx: JSContext, ci: api.ConsumerInfo, stream: str, name: str, group: str, count: int,
                         action: str, dec: Decoder, timeout: float | None, min_pending: int | None) -> pd.DataFrame:
    """``next --group G``: one pull within a priority group (the pin is kept for this notebook's next pulls)."""
    msgs, pin_id, why = await pull_group(stream, name, group, min(count, settings().fetch_batch), timeout=timeout,
                                         min_pending=min_pending, ctx=ctx)
    acking = ci.config.ack_policy != api.AckPolicy.NONE
    rows = await _batch_rows(ctx.nc, msgs, dec, acking, 0)
    if acking:
        await _settle(ctx.nc, msgs, action)
    df = with_errors(pd.DataFrame(rows, columns=NEXT_COLUMNS), [r["decode_error"] for r in rows])
    df.attrs.update(ack_policy=plain(ci.config.ack_policy), interrupted=False, group=group, pin_id=pin_id, why=why)
    return df


async def _batch_rows(nc: Any, msgs: list, dec: Decoder, acking: bool, earlier: int) -> list[dict[str, Any]]:
    """A batch's rows, before it is settled: a payload a strict ``--decode`` refuses gives the batch back (nak)."""
    try:
        return [_message_row(m, dec) for m in msgs]
    except InputError as e:
        if acking:
            await _settle(nc, msgs, "nak")
        given = "; this batch was given back (nak)" if acking else ""
        settled = f"; {plural(earlier, 'earlier message')} already settled" if earlier else ""
        raise InputError(f"{e.args[0]}{given}{settled}", hint=e.hint) from None


def _message_row(msg: Any, dec: Decoder) -> dict[str, Any]:
    """One fetched message as a row (metadata from its ack subject)."""
    ack = parse_ack(msg.reply)
    headers = {k: v for k, v in (msg.headers or {}).items()}
    data, error = dec.one(msg.data, headers, ack.stream_seq)
    return {
        "seq": ack.stream_seq,
        "subject": msg.subject,
        "time": pd.Timestamp(ack.timestamp_ns, unit="ns", tz="UTC"),
        "delivered": ack.delivered,
        "pending": ack.pending,
        "headers": headers,
        "data": data,
        "decode_error": error,
    }


# ---- rm -------------------------------------------------------------------------------------
@dataclasses.dataclass
class ConsumerRemoval:
    """What ``rm`` deleted: a consumer and the work it still tracked."""

    stream: str
    consumer: str
    pending: int
    ack_pending: int

    @property
    def what(self) -> str:
        """The phrase the refusal and the confirmation share."""
        return (f"consumer {self.consumer} on {self.stream} ({self.pending:,} pending, "
                f"{self.ack_pending:,} awaiting ack)")


async def remove_consumer(stream: str, name: str, force: bool = False, *,
                          ctx: JSContext | None = None) -> ConsumerRemoval:
    """``%js_consumer rm``: delete a consumer (refuses without force, saying what it tracks)."""
    ci = await info(stream, name, ctx=ctx)
    removal = ConsumerRemoval(stream, name, ci.num_pending or 0, ci.num_ack_pending or 0)
    if not force:
        raise ForceRequiredError(f"would delete {removal.what}")
    js = await jetstream(ctx)
    await js.delete_consumer(stream, name)
    return removal
