"""Dead letters: where did my failed messages go?

The server drops a message from a consumer's work after ``max_deliver`` deliveries, or
when a client terminates it (``+TERM``), and says so only in an advisory - a core message
nobody keeps.  ``capture(STREAM, CONSUMER)`` creates a small stream (named by
:func:`dead_stream`) that keeps both advisories of that consumer; ``dead(...)`` reads them
back joined with the original messages (still in the stream: the consumer gave up on them,
the stream did not), and ``republish(...)`` sends them to a subject for another try.
"""

from __future__ import annotations

import json
from typing import Any

import nats.errors
import nats.js.errors
import pandas as pd

from ..core.context import JSContext
from ..core.decode import decoder, with_errors
from ..core.errors import ForceRequiredError, InputError, NotFoundError
from ..core.registry import connected, jetstream
from ..core.units import plural
from ..jsapi import max_deliveries_advisory, terminated_advisory
from .consumers import info as consumer_info
from .streams import add_stream, stream_names, timestamp

COLUMNS = ["seq", "subject", "data", "reason", "deliveries", "time", "headers", "dead_seq"]
KEEP = 10_000  # advisories kept per consumer (oldest dropped first)
REASONS = {"io.nats.jetstream.advisory.v1.max_deliver": "max deliveries",
           "io.nats.jetstream.advisory.v1.terminated": "terminated"}


def dead_stream(stream: str, consumer: str) -> str:
    """The name of the stream that keeps a consumer's dead letters: ``DEAD_<STREAM>_<CONSUMER>``."""
    return f"DEAD_{stream}_{consumer}".replace(".", "_")


async def capture(stream: str, consumer: str, *, ctx: JSContext | None = None) -> str:
    """Start keeping ``consumer``'s max-deliveries and terminated advisories; returns the dead-letter stream's name."""
    await consumer_info(stream, consumer, ctx=ctx)
    name = dead_stream(stream, consumer)
    subjects = [max_deliveries_advisory(stream, consumer), terminated_advisory(stream, consumer)]
    if name in await stream_names(ctx=ctx):
        return name  # already capturing
    await add_stream(name, subjects=subjects, max_msgs=KEEP, discard="old",  # the one creator: domains, prefixes
                     description=f"jsmagic: dead letters of {stream} > {consumer}", ctx=ctx)
    return name


async def _messages(js: Any, stream: str, first: int, last: int) -> list[Any]:
    out = []
    for seq in range(first, last + 1):
        try:
            out.append(await js.get_msg(stream, seq))
        except nats.js.errors.NotFoundError:
            continue
    return out


async def dead(stream: str, consumer: str, decode: Any = "auto", *, ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_consumer dead``: the captured dead letters joined with their original messages.

    Columns: seq (in ``stream``), subject, data (decoded), reason (max deliveries or
    terminated, with the client's reason), deliveries, time (of the advisory), headers,
    dead_seq (in the dead-letter stream), and ``decode_error`` where a payload could not be
    decoded.  ``attrs["missing"]`` counts originals the stream no longer holds (their data is None).
    """
    dec = decoder(decode)
    name = dead_stream(stream, consumer)
    ctx = await connected(ctx)
    if name not in await stream_names(ctx=ctx):
        raise NotFoundError(f"dead letters of {stream} > {consumer} are not captured",
                            hint=f"start with %js_consumer dead {stream} {consumer} --capture")
    js = await jetstream(ctx)
    state = (await js.stream_info(name)).state
    rows, errors, missing = [], [], 0
    for adv in await _messages(js, name, state.first_seq, state.last_seq) if state.messages else []:
        event = json.loads(adv.data)
        reason = REASONS.get(event.get("type"), event.get("type"))
        if event.get("reason"):
            reason += f": {event['reason']}"
        row = {"seq": event.get("stream_seq"), "subject": None, "data": None, "reason": reason,
               "deliveries": event.get("deliveries"), "time": timestamp(event.get("timestamp")),
               "headers": None, "dead_seq": adv.seq}
        error = None
        try:
            original = await js.get_msg(stream, event.get("stream_seq"))
            data, error = dec.one(original.data or b"", original.headers, original.seq)
            row.update(subject=original.subject, data=data, headers=dict(original.headers or {}))
        except nats.js.errors.NotFoundError:
            missing += 1
        rows.append(row)
        errors.append(error)
    df = with_errors(pd.DataFrame(rows, columns=COLUMNS), errors)
    df.attrs["missing"] = missing
    df.attrs["stream"] = name
    return df


async def republish(stream: str, consumer: str, subject: str, force: bool = False,
                    *, ctx: JSContext | None = None) -> int:
    """Publish every dead letter's original message to ``subject`` (a stream must capture it); the count.

    Each copy carries ``Nats-Msg-Id: dead-<stream>-<seq>-<dead_seq>``, so a second run within
    the stream's duplicate window stores nothing twice.
    """
    df = await dead(stream, consumer, decode="bytes", ctx=ctx)
    ready = df[df["subject"].notna()]
    if not force:
        raise ForceRequiredError(f"would publish {plural(len(ready), 'dead letter')} of {stream} > {consumer} to {subject}")
    js = await jetstream(ctx)
    for row in ready.itertuples():
        headers = {k: v for k, v in (row.headers or {}).items() if not k.startswith("Nats-")}
        headers["Nats-Msg-Id"] = f"dead-{stream}-{row.seq}-{row.dead_seq}"
        try:
            await js.publish(subject, row.data or b"", headers=headers)
        except nats.errors.NoRespondersError:
            raise InputError(f"no stream captures {subject}", hint="republish to a subject a stream stores") from None
    return len(ready)
