"""Core NATS without JetStream, as `nats pub|sub|request` have it: `jsmagic.nats.publish`, `request`,
`subscribe` (live) and `collect` (`%js_pub`, `%js_req`, `%js_sub`).

Nothing here is stored or acknowledged by JetStream (a stream capturing the subject stores
a published message, but nothing confirms it: `jsmagic.publish` does).  Payloads are text
(UTF-8) or bytes; `{{Count}}`-style templates are rendered per message as `%js_pub` does,
unless `raw=True`.  Durations are `"2s"`, `"500ms"` or seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Mapping

import pandas as pd

from ..core.config import settings
from ..core.context import JSContext
from ..core.errors import InputError
from ..core.units import parse_duration
from ..corenats import messages
from ..corenats.subscriber import Subscriber
from ..publishing.templates import Template
from .common import Feed, Live, warn_notes

__all__ = ["publish", "request", "subscribe", "collect", "Msg"]

Ctx = JSContext | str | None


def _seconds(value: str | float | None) -> float:
    return settings().timeout if value is None else parse_duration(value)


@dataclasses.dataclass
class Msg:
    """One message seen by `subscribe`: `data` decoded (`auto`: JSON, else text, else bytes)."""

    subject: str
    data: Any
    headers: dict | None
    reply: str | None
    time: pd.Timestamp  # UTC, when it arrived here (core NATS carries no server time)


async def publish(subject: str, payload: str | bytes = b"", *, headers: Mapping[str, str] | None = None,
                  count: int = 1, reply: str | None = None, raw: bool = False, ctx: Ctx = None) -> int:
    """Publish core NATS messages, not acknowledged (`%js_pub`, `nats pub`).

    Parameters
    ----------
    subject : str
        A concrete subject (no wildcards).
    payload : str or bytes
        The body; in text, `{{Count}}`, `{{ID}}`, `{{TimeStamp}}`… are rendered per message.
    headers : mapping, optional
        Headers for every message.
    count : int
        Publish this many messages (`{{Count}}` runs 1..count).
    reply : str, optional
        The reply subject sent with each message.
    raw : bool
        The text exactly as given: no templates.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    int
        How many messages were sent (and flushed to the server).

    Examples
    --------
    >>> await jsmagic.nats.publish("sensors.t1", '{"n": {{Count}}}', count=10)   # doctest: +SKIP
    10
    """
    render = None
    if isinstance(payload, str) and not raw:
        template = Template(payload, "the payload")
        render = None if template.static else template.render
    return await messages.publish(subject, payload, headers=headers, count=count, reply=reply, render=render,
                                  ctx=ctx)


async def request(subject: str, payload: str | bytes = b"", *, headers: Mapping[str, str] | None = None,
                  replies: int = 1, timeout: str | float | None = None, decode: Any = "auto",
                  ctx: Ctx = None) -> pd.DataFrame:
    """Send one request and gather the replies with their latency (`%js_req`, `nats request`).

    Parameters
    ----------
    subject : str
        Where the service listens.
    payload : str or bytes
        The request body.
    headers : mapping, optional
        Request headers.
    replies : int
        Wait for this many replies (scatter-gather); 0: every reply within `timeout`.
    timeout : str or float, optional
        How long to wait (default `JSMagic.timeout`).
    decode : str or callable
        How to decode the replies.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        One row per reply: `subject`, `data`, `headers`, `reply`, `time`, `latency_ms`.
        No reply at all is an error (no responders, or a timeout); fewer than `replies`
        is a note (`attrs["notes"]`, warned as a `ReadWarning`).

    Examples
    --------
    >>> (await jsmagic.nats.request("calc.add", '{"a": 1, "b": 2}')).data[0]   # doctest: +SKIP
    {'sum': 3}
    """
    df = await messages.request(subject, payload, headers=headers, replies=replies, timeout=_seconds(timeout),
                                decode=decode, ctx=ctx)
    return warn_notes(df, f"request {subject}")


async def collect(subject: str, count: int, *, queue: str | None = None, timeout: str | float | None = None,
                  decode: Any = "auto", ctx: Ctx = None) -> pd.DataFrame:
    """Subscribe until `count` messages arrived, as a DataFrame (`%js_sub SUBJECT -n N`).

    Parameters
    ----------
    subject : str
        A subject or wildcard (`orders.*`, `orders.>`).
    count : int
        How many messages to collect.
    queue : str, optional
        Join this queue group.
    timeout : str or float, optional
        Stop waiting after this long (default `JSMagic.timeout`).
    decode : str or callable
        How to decode the payloads.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `subject`, `data`, `headers`, `reply`, `time`; fewer than `count` is a note
        (`attrs["notes"]`, warned as a `ReadWarning`).

    Examples
    --------
    >>> df = await jsmagic.nats.collect("sensors.*", 5, timeout="10s")   # doctest: +SKIP
    """
    df = await messages.collect(subject, count, queue=queue, timeout=_seconds(timeout), decode=decode, ctx=ctx)
    return warn_notes(df, f"sub {subject}")


def subscribe(subject: str, *, queue: str | None = None, count: int | None = None, decode: Any = "auto",
              ctx: Ctx = None) -> Live[Msg]:
    """Messages on a subject as they arrive: an async iterator of `Msg` (`%js_sub`, `nats sub`).

    Leaving the `async for` (`break`, an error, a cancelled task) or `await s.aclose()`
    unsubscribes; `count=N` ends it by itself after N messages.

    Parameters
    ----------
    subject : str
        A subject or wildcard.
    queue : str, optional
        Join this queue group (each message goes to one member).
    count : int, optional
        End after this many messages.
    decode : str or callable
        How to decode the payloads.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Live[Msg]
        An async iterator (and async context manager); `.handle` is the core `Subscriber`
        (`.df`: the newest messages kept).

    Examples
    --------
    >>> async for msg in jsmagic.nats.subscribe("orders.>", count=10):   # doctest: +SKIP
    ...     print(msg.subject, msg.data)
    """
    if count is not None and count < 1:
        raise InputError(f"count must be at least 1, not {count}")
    messages.check_subject(subject, wildcards=True)

    async def start(feed: Feed) -> Subscriber:
        seen = [0]
        sub: Subscriber | None = None

        def on_row(row: tuple) -> None:
            if count is not None and seen[0] >= count:
                return
            seen[0] += 1
            name, data, headers, reply, ns = row
            feed.put(Msg(name, sub.value(data, headers), headers, reply or None, pd.Timestamp(ns, unit="ns", tz="UTC")))
            if count is not None and seen[0] >= count:
                feed.end()

        sub = Subscriber(subject, queue=queue, decode=decode, on_row=on_row, name="subscribe", ctx=ctx)
        return await start_subscriber(sub)

    async def stop(sub: Subscriber) -> None:
        sub.stop()
        if sub.task is not None:
            await asyncio.gather(sub.task, return_exceptions=True)

    return Live(start, stop)


async def start_subscriber(sub: Subscriber) -> Subscriber:
    """Start a subscription that a live view made (`%js_sub`'s table); what `subscribe` starts too.

    The subject, queue and decoding were checked when `sub` was made; subscribing errors
    (not connected, a permission) surface here, before any widget shows.

    Parameters
    ----------
    sub : Subscriber
        Made with the view's callbacks (`on_row`, `on_status`) and its context.

    Returns
    -------
    Subscriber
        The same subscriber, running in the background (`.df`, `.count`, `.stop()`).

    Examples
    --------
    >>> sub = Subscriber("orders.>", on_row=print)                    # doctest: +SKIP
    >>> await jsmagic.services.corenats.start_subscriber(sub)        # doctest: +SKIP
    """
    return await sub.start()
