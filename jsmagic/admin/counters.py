"""Distributed counters (server 2.12, ADR-49): ``nats counter`` as plain coroutines.

A stream created with ``allow_msg_counter`` turns every subject into a counter: a message
carries only a ``Nats-Incr: +5`` header, the server adds it to the subject's last value
and stores ``{"val": "105"}``; the ack carries the new value.  Values are arbitrary
precision (the server uses big integers and sends them as strings): here they are Python
ints, exact beyond 2**63.  Streams that source counters keep each source's last value in
``Nats-Counter-Sources``; :func:`view` shows it.
"""

from __future__ import annotations

import base64
from typing import Any

import nats.js.errors
import orjson
import pandas as pd
from nats.js import api

from ..core.context import JSContext
from ..core.decode import decode_value
from ..core.errors import InputError, JSMagicError, NotFoundError
from ..core.registry import connected
from ..reading.pull import Batch
from .scan import read_raw
from .streams import info, stream_names, timestamp

INCR, SOURCES = "Nats-Incr", "Nats-Counter-Sources"
LIST_COLUMNS = ["subject", "value", "last_increment", "seq", "time"]


def as_int(value: Any, what: str = "VALUE") -> int:
    """A whole number (``5``, ``-3``, ``+10``, a 30-digit string) as a Python int; else a one-line error."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise InputError(f"bad {what} {value!r}", hint="give a whole number, e.g. 5 or -3") from None


async def counter_stream(subject: str, *, ctx: JSContext | None = None) -> str:
    """The counter stream that captures ``subject``; a one-line error when none does or it is no counter."""
    ctx = await connected(ctx)
    owners = await stream_names(subject, ctx=ctx)
    if not owners:
        raise NotFoundError(f"no stream captures subject {subject!r}",
                            hint=f"create a counter stream: %js_stream add COUNTERS --subjects '{subject}' --allow-counter")
    cfg = (await info(owners[0], ctx=ctx)).config
    if not getattr(cfg, "allow_msg_counter", None):  # nats-py 2.14+ knows the field
        raise InputError(f"stream {owners[0]} is not a counter stream (server 2.12+: allow_msg_counter)",
                         hint="counters live in a stream created with --allow-counter")
    return owners[0]


async def incr(subject: str, value: Any = 1, *, ctx: JSContext | None = None) -> int:
    """Add ``value`` (may be negative) to the counter on ``subject``; the new value, from the ack."""
    amount = as_int(value)
    ctx = await connected(ctx)
    await counter_stream(subject, ctx=ctx)
    msg = await ctx.nc.request(subject, b"", timeout=ctx.api.timeout, headers={INCR: f"{amount:+d}"})
    ack = orjson.loads(msg.data)
    if "error" in ack:
        e = ack["error"]
        raise JSMagicError(f"counter {subject}: {e.get('description')} (error {e.get('err_code')})")
    return int(ack["val"])


async def decr(subject: str, value: Any = 1, *, ctx: JSContext | None = None) -> int:
    """Subtract ``value`` from the counter on ``subject``; the new value."""
    return await incr(subject, -as_int(value), ctx=ctx)


async def _last(stream: str, subject: str, ctx: JSContext) -> dict[str, Any]:
    """The last message on ``subject``: seq, time, headers, value (no consumer created)."""
    try:
        raw = (await ctx.api.request(f"STREAM.MSG.GET.{stream}", {"last_by_subj": subject}))["message"]
    except nats.js.errors.NotFoundError:
        raise NotFoundError(f"counter {subject!r} has no value yet",
                            hint=f"start it: %js_counter incr {subject}") from None
    headers = _headers(base64.b64decode(raw.get("hdrs") or b""))
    return {"subject": raw["subject"], "value": _value(base64.b64decode(raw.get("data") or b"")),
            "last_increment": headers.get(INCR), "seq": raw["seq"], "time": timestamp(raw.get("time")),
            "headers": headers}


def _value(data: bytes) -> int:
    """``{"val": "105"}`` → 105 (exact, however large); a payload that is no counter value is a one-line error."""
    if not data:
        return 0
    value = decode_value(data, "json")
    try:
        return int(value["val"])
    except (TypeError, KeyError, ValueError):
        raise InputError(f"not a counter value: {bytes(data)[:80]!r}", hint="counters store {\"val\": \"N\"}") from None


def _headers(block: bytes) -> dict[str, str]:
    """A raw ``NATS/1.0`` header block as a dict (the last value of a repeated key)."""
    out: dict[str, str] = {}
    for line in block.decode(errors="replace").split("\r\n")[1:]:
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


async def get(subject: str, *, ctx: JSContext | None = None) -> int:
    """The counter's value on ``subject``."""
    ctx = await connected(ctx)
    stream = await counter_stream(subject, ctx=ctx)
    return (await _last(stream, subject, ctx))["value"]


async def view(subject: str, *, ctx: JSContext | None = None) -> dict[str, Any]:
    """Everything about one counter: value, last increment, seq, time, stream and its sources' contributions."""
    ctx = await connected(ctx)
    stream = await counter_stream(subject, ctx=ctx)
    entry = await _last(stream, subject, ctx)
    sources = orjson.loads(entry["headers"][SOURCES]) if SOURCES in entry["headers"] else {}
    entry["sources"] = {src: {subj: int(v) for subj, v in per.items()} for src, per in sources.items()}
    entry["stream"] = stream
    return entry


async def list_counters(stream: str, subject: str | None = None, *, ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_counter ls STREAM``: one row per counter subject with its value (Python ints: exact)."""
    ctx = await connected(ctx)
    cfg = (await info(stream, ctx=ctx)).config
    if not getattr(cfg, "allow_msg_counter", None):
        raise InputError(f"stream {stream} is not a counter stream", hint="create one with %js_stream add ... --allow-counter")
    rows: list[dict[str, Any]] = []

    def keep(batch: Batch) -> None:
        times = pd.to_datetime(batch.time_ns, unit="ns", utc=True)
        for subject, data, headers, seq, time in zip(batch.subjects, batch.datas, batch.headers, batch.seq, times):
            rows.append({"subject": subject, "value": _value(data), "last_increment": (headers or {}).get(INCR),
                         "seq": int(seq), "time": time})

    config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT, filter_subject=subject or ">",
                                mem_storage=True)
    notes: list[str] = []
    interrupted = await read_raw(stream, config, keep, ctx=ctx, notes=notes)
    df = pd.DataFrame(rows, columns=LIST_COLUMNS).sort_values("subject", ignore_index=True)
    df["value"] = df["value"].astype(object)  # Python ints: exact beyond 2**63
    df.attrs["interrupted"] = interrupted
    if notes:  # what the scan had to do (a replica catching up, checked against the stream leader)
        df.attrs["notes"] = notes
    return df
