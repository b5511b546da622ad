"""Core NATS messages: publish, request (one reply or several, with latency) and collect N messages.

Rows share one shape, read by :func:`frame`: ``subject``, ``data`` (decoded by
:mod:`jsmagic.core.decode`), ``headers``, ``reply``, ``time`` (UTC, when it arrived here:
core NATS carries no server time), and for replies ``latency_ms`` (from the request's
publish to the reply's arrival).  A read that got fewer messages than it was asked for says
so in ``df.attrs["notes"]`` (the magic shows it on the first line); a request nobody
answers is an error, never an empty frame.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Mapping

import pandas as pd

from ..core.decode import decoder, with_errors
from ..core.errors import InputError, NotFoundError, TimeoutError
from ..core.registry import current
from ..core.units import plural
from ..publishing.capture import validate_subject

STATUS = "Status"


def check_subject(subject: str, wildcards: bool = False) -> str:
    """A subject to publish to (:func:`validate_subject`) or to subscribe to (``wildcards``); a clear error otherwise."""
    if not wildcards:
        if subject and any(tok in ("*", ">") for tok in subject.split(".")):
            raise InputError(f"cannot publish to the wildcard subject {subject!r}",
                             hint="publish to a concrete subject; wildcards are for %js_sub")
        validate_subject(subject)
        return subject
    tokens = subject.split(".") if subject else [""]
    if any(c in subject for c in " \t\r\n") or "" in tokens or ">" in tokens[:-1]:
        raise InputError(f"{subject!r} is not a NATS subject",
                         hint="use tokens separated by dots; * is one token, > the rest (orders.*, orders.>)")
    return subject


def no_responders(msg: Any) -> bool:
    """The server's 503 "no responders" status: a header-only frame with no reply subject, never a stored reply."""
    headers = msg.headers or {}
    return headers.get(STATUS) == "503" and not msg.data and not msg.reply


async def publish(subject: str, payload: bytes | str = b"", *, headers: Mapping[str, str] | None = None,
                  count: int = 1, reply: str | None = None, render: Any = None, ctx: Any = None) -> int:
    """Publish ``count`` core NATS messages (no JetStream ack) and flush; returns how many were sent.

    ``render(n)``: the payload of message ``n`` (1-based, ``{{Count}}`` templates); else ``payload``.
    """
    check_subject(subject)
    if count < 1:
        raise InputError(f"--count must be at least 1, not {count}")
    ctx = await current(ctx).ensure()  # core NATS: no JetStream needed
    nc = ctx.nc
    body = payload.encode() if isinstance(payload, str) else payload
    for n in range(1, count + 1):
        data = render(n) if render is not None else body
        await nc.publish(subject, data.encode() if isinstance(data, str) else data,
                         reply=reply or "", headers=dict(headers) if headers else None)
    await nc.flush()
    return count


def frame(rows: list[tuple], decode: Any = "auto", latency: bool = False) -> pd.DataFrame:
    """Rows ``(subject, data, headers, reply, time_ns[, latency_ms])`` as a DataFrame, decoded."""
    dec = decoder(decode)
    values, errors = zip(*[dec.one(r[1], r[2]) for r in rows]) if rows else ((), ())
    cols: dict[str, Any] = {
        "subject": [r[0] for r in rows],
        "data": list(values),
        "headers": [r[2] or None for r in rows],
        "reply": [r[3] or None for r in rows],
        "time": pd.to_datetime(pd.array([r[4] for r in rows], dtype="Int64"), unit="ns", utc=True),
    }
    if latency:
        cols["latency_ms"] = pd.array([r[5] for r in rows], dtype="float64")
    return with_errors(pd.DataFrame(cols), list(errors))


def _row(msg: Any, *extra: Any) -> tuple:
    return (msg.subject, msg.data, dict(msg.headers) if msg.headers else None, msg.reply, time.time_ns(), *extra)


async def exchange(nc: Any, subject: str, body: bytes = b"", *, headers: Mapping[str, str] | None = None,
                   want: int = 0, timeout: float = 2.0) -> list[tuple[Any, float]]:
    """Publish once with a fresh inbox as reply; ``(msg, latency_ms)`` for ``want`` replies (0: all within ``timeout``).

    The server's "no responders" status is an error (:class:`NotFoundError`), never a reply.
    """
    inbox = nc.new_inbox()
    queue: asyncio.Queue = asyncio.Queue()

    async def arrived(msg: Any) -> None:
        queue.put_nowait((msg, time.monotonic()))

    sub = await nc.subscribe(inbox, cb=arrived)
    got: list[tuple[Any, float]] = []
    try:
        await nc.flush()
        sent = time.monotonic()
        await nc.publish(subject, body, reply=inbox, headers=dict(headers) if headers else None)
        deadline = sent + timeout
        while want == 0 or len(got) < want:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                msg, at = await asyncio.wait_for(queue.get(), timeout=left)
            except asyncio.TimeoutError:
                break
            if no_responders(msg):
                raise NotFoundError(f"no responders on {subject}",
                                    hint="start a service that subscribes to it, or check the subject")
            got.append((msg, round((at - sent) * 1000, 3)))
    finally:
        await sub.unsubscribe()
    return got


async def request(subject: str, payload: bytes | str = b"", *, headers: Mapping[str, str] | None = None,
                  replies: int = 1, timeout: float = 2.0, decode: Any = "auto", ctx: Any = None) -> pd.DataFrame:
    """Send one request and gather replies: ``replies`` of them (0: every reply within ``timeout``).

    Each row carries ``latency_ms``.  No reply at all is an error (no responders, or a timeout);
    fewer replies than asked is a note on ``df.attrs["notes"]``.
    """
    check_subject(subject)
    if replies < 0:
        raise InputError(f"--replies must be 0 (all within the timeout) or more, not {replies}")
    ctx = await current(ctx).ensure()  # core NATS: no JetStream needed
    body = payload.encode() if isinstance(payload, str) else payload
    got = await exchange(ctx.nc, subject, body, headers=headers, want=replies, timeout=timeout)
    if not got:
        raise TimeoutError(f"no reply on {subject} within {timeout:g}s")
    df = frame([_row(msg, latency) for msg, latency in got], decode, latency=True)
    if replies > 1 and len(got) < replies:
        df.attrs["notes"] = [f"only {len(got)} of {replies} replies arrived within {timeout:g}s"]
    return df


async def collect(subject: str, n: int, *, queue: str | None = None, timeout: float = 5.0, decode: Any = "auto",
                  ctx: Any = None) -> pd.DataFrame:
    """Subscribe until ``n`` messages arrived (or ``timeout`` passed); fewer is a note on ``df.attrs["notes"]``."""
    check_subject(subject, wildcards=True)
    if n < 1:
        raise InputError(f"-n must be at least 1, not {n}")
    ctx = await current(ctx).ensure()  # core NATS: no JetStream needed
    rows: list[tuple] = []
    done = asyncio.Event()

    async def on_msg(msg: Any) -> None:
        if len(rows) < n:
            rows.append(_row(msg))
            if len(rows) >= n:
                done.set()

    sub = await ctx.nc.subscribe(subject, queue=queue or "", cb=on_msg)
    try:
        await ctx.nc.flush()
        waiter = asyncio.ensure_future(done.wait())
        await asyncio.wait({waiter}, timeout=timeout)  # fewer than n by then: said on the first line below
        waiter.cancel()
    finally:
        await sub.unsubscribe()
    df = frame(rows, decode)
    if len(rows) < n:
        df.attrs["notes"] = [f"only {plural(len(rows), 'message')} of {n} arrived on {subject} within {timeout:g}s"]
    return df
