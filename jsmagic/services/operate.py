"""Operating a live system: `jsmagic.trace` (where one message goes, `%js_trace`) and `jsmagic.events`
(the account's JetStream advisories as they happen, `%js_events`, `nats events`)."""

from __future__ import annotations

import asyncio
import dataclasses
import warnings
from typing import Any, Iterable, Mapping

import pandas as pd

from ..admin.events import EventsWatcher, check_kinds
from ..core.config import settings
from ..core.context import JSContext
from ..core.units import parse_duration
from ..corenats import trace as _trace
from .common import Feed, Live, ReadWarning

__all__ = ["trace", "events", "Event"]

Ctx = JSContext | str | None


async def trace(subject: str, payload: str | bytes = b"", *, headers: Mapping[str, str] | None = None,
                trace_only: bool = False, timeout: str | float | None = None, ctx: Ctx = None) -> _trace.Trace:
    """Trace one message through every server it reaches (nats-server 2.11+, `%js_trace`, `nats trace`).

    Parameters
    ----------
    subject : str
        Where to send the traced message.
    payload : str or bytes
        Its body.
    headers : mapping, optional
        Its headers (not `Nats-Trace-*`: those are set here).
    trace_only : bool
        Report the path without storing or delivering the message.
    timeout : str or float, optional
        How long to wait for every server's report (default `JSMagic.timeout`).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Trace
        `.hops` (a row per event: ingress, mapping, the stream that stored it, every egress),
        `.consumers` (of the storing streams, whose filter takes it), `.stored_in`,
        `.delivered_to`, `.missing` (hops that did not report: warned as a `ReadWarning`).

    Examples
    --------
    >>> t = await jsmagic.trace("orders.new", '{"id": 1}', trace_only=True)   # doctest: +SKIP
    >>> t.hops[["server", "event", "stream"]], t.consumers                   # doctest: +SKIP
    """
    wait = settings().timeout if timeout is None else parse_duration(timeout)
    out = await _trace.trace(subject, payload, headers=headers, trace_only=trace_only, timeout=wait, ctx=ctx)
    if out.missing:
        warnings.warn(f"trace of {subject}: no report within {wait:g}s from {', '.join(out.missing)}", ReadWarning,
                      stacklevel=2)
    return out


@dataclasses.dataclass
class Event:
    """One JetStream advisory seen by `events`."""

    time: pd.Timestamp  # UTC: the advisory's own timestamp
    kind: str  # consumer.created, consumer.max_deliveries, stream.leader_elected, api…
    stream: str
    consumer: str
    detail: str  # what it says beyond its kind, in a few words
    subject: str
    advisory: dict  # the whole JSON document


def events(*, kinds: str | Iterable[str] | None = None, stream: str | None = None, capture: str | None = None,
           ctx: Ctx = None) -> Live[Event]:
    """The account's JetStream advisories as they happen: an async iterator of `Event` (`%js_events`).

    Leaving the `async for` (`break`, an error, a cancelled task) or `await ev.aclose()`
    unsubscribes.  Core NATS keeps nothing: advisories sent while nobody listens are gone,
    unless `capture` keeps them in a stream.

    Parameters
    ----------
    kinds : str or list of str, optional
        Only these kinds (`"consumer.max_deliveries,stream"`; a prefix takes its sub-kinds).
    stream : str, optional
        Only the advisories of this stream.
    capture : str, optional
        Also keep every advisory in this stream (created if absent).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Live[Event]
        An async iterator (and async context manager); `.handle` is the core
        `EventsWatcher` (`.df`: the newest advisories kept).

    Examples
    --------
    >>> async with jsmagic.events(kinds="consumer", stream="ORDERS") as ev:   # doctest: +SKIP
    ...     async for e in ev:
    ...         print(e.kind, e.consumer, e.detail)
    """
    wanted = check_kinds(kinds.split(",") if isinstance(kinds, str) else list(kinds or []))

    async def start(feed: Feed) -> EventsWatcher:
        def on_row(row: tuple) -> None:
            ns, kind, name, consumer, detail, subject, doc = row
            feed.put(Event(pd.Timestamp(ns, unit="ns", tz="UTC"), kind, name, consumer, detail, subject, doc))

        watcher = EventsWatcher(kinds=wanted, stream=stream, capture=capture, on_row=on_row, ctx=ctx)
        return await start_watcher(watcher)

    async def stop(watcher: EventsWatcher) -> None:
        watcher.stop()
        task = watcher.sub.task
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    return Live(start, stop)


async def start_watcher(watcher: EventsWatcher) -> EventsWatcher:
    """Start an advisories watcher that a live view made (`%js_events`' table); what `events` starts too.

    The kinds were checked when `watcher` was made; the capture stream is created here if
    asked (its errors surface here, before any widget shows), then the subscription lives
    in the background.

    Parameters
    ----------
    watcher : EventsWatcher
        Made with the view's callbacks (`on_row`, `on_status`) and its context.

    Returns
    -------
    EventsWatcher
        The same watcher, running (`.df`, `.count`, `.stop()`).

    Examples
    --------
    >>> w = EventsWatcher(kinds=["consumer"], on_row=print)            # doctest: +SKIP
    >>> await jsmagic.services.operate.start_watcher(w)               # doctest: +SKIP
    """
    return await watcher.start()
