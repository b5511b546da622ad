"""Consumers over time and their failures: `priority` (pause and groups), `unpin`, `dead` letters,
`watch` (re-exported by `jsmagic.services.consumers`)."""

from __future__ import annotations

import asyncio
from typing import Any

from ..admin import deadletter as _dead
from ..admin import priority as _priority
from ..admin.consumerwatch import ConsumerWatcher
from ..core.context import JSContext
from ..core.errors import InputError
from .common import Feed, Live

__all__ = ["priority", "unpin", "dead", "watch", "Sample"]

Ctx = JSContext | str | None
Sample = dict  # one row of the consumer's series: time, pending, ack_pending, redelivered, waiting, delivered_seq, ack_floor_seq


async def priority(stream: str, name: str, *, ctx: Ctx = None) -> dict[str, Any]:
    """A consumer's pause and priority groups, with each group's pinned client (the extra part of `%js_consumer info`).

    nats-py's `ConsumerInfo` has no priority fields; this reads the server's own answer.

    Parameters
    ----------
    stream, name : str
        The stream and the consumer.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    dict
        `paused`, `pause_until` (a UTC Timestamp, NaT when delivering), `pause_remaining`
        (seconds), `priority_policy` (`pinned_client`, `overflow`, `prioritized` or None),
        `groups` (group → pin id of its pinned client, None when no client holds the pin),
        `pinned_ttl` (seconds, or None).

    Examples
    --------
    >>> state = await jsmagic.consumers.priority("JOBS", "workers")   # doctest: +SKIP
    >>> state["groups"]
    {'jobs': 'a1B2c3'}
    """
    return await _priority.priority_state(stream, name, ctx=ctx)


async def unpin(stream: str, name: str, group: str, *, ctx: Ctx = None) -> str:
    """Take the pin from a priority group's pinned client; the next pull gets it (`%js_consumer unpin`).

    Parameters
    ----------
    stream, name : str
        The stream and the consumer.
    group : str
        The priority group.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    str
        What happened, in a sentence.

    Examples
    --------
    >>> await jsmagic.consumers.unpin("JOBS", "workers", "jobs")   # doctest: +SKIP
    """
    return await _priority.unpin(stream, name, group, ctx=ctx)


async def dead(stream: str, name: str, *, capture: bool = False, republish: str | None = None, force: bool = False,
               decode: Any = "auto", ctx: Ctx = None) -> Any:
    """A consumer's dead letters joined with their messages (`%js_consumer dead`).

    Parameters
    ----------
    stream, name : str
        The stream and the consumer.
    capture : bool
        Start keeping the consumer's dead letters (max deliveries, terminated) in
        `DEAD_<STREAM>_<CONSUMER>`; returns that stream's name.
    republish : str, optional
        Publish every dead letter's original message to this subject again (needs `force=True`;
        a re-run stores no duplicates); returns how many.
    force : bool
        Required with `republish`.
    decode : str or callable
        How to decode the payloads.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame, str or int
        The dead letters (`seq`, `subject`, `data`, `reason`, `deliveries`, `time`…);
        with `capture` the dead-letter stream's name; with `republish` the count.

    Examples
    --------
    >>> await jsmagic.consumers.dead("ORDERS", "billing", capture=True)   # doctest: +SKIP
    >>> await jsmagic.consumers.dead("ORDERS", "billing")                 # doctest: +SKIP
    """
    if capture and republish:
        raise InputError("choose capture= or republish=")
    if capture:
        return await _dead.capture(stream, name, ctx=ctx)
    if republish:
        return await _dead.republish(stream, name, republish, force, ctx=ctx)
    return await _dead.dead(stream, name, decode, ctx=ctx)


def watch(stream: str, name: str, *, every: float = 1.0, ctx: Ctx = None) -> Live[Sample]:
    """A consumer's counters over time: an async iterator of samples (`%js_consumer watch`).

    One `CONSUMER.INFO` request every `every` seconds (no consumer of its own); a
    server restart shows as a gap, and the samples carry on afterwards.

    Parameters
    ----------
    stream, name : str
        The stream and the consumer.
    every : float
        Seconds between samples.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Live[dict]
        Samples: `time`, `pending`, `ack_pending`, `redelivered`, `waiting`,
        `delivered_seq`, `ack_floor_seq`; `.handle.df` is the whole series.

    Examples
    --------
    >>> async for s in jsmagic.consumers.watch("ORDERS", "billing"):   # doctest: +SKIP
    ...     if s["pending"] == 0:
    ...         break
    """

    async def start(feed: Feed) -> ConsumerWatcher:
        return await ConsumerWatcher(stream, name, every, on_sample=feed.put, ctx=ctx).start()

    async def stop(watcher: ConsumerWatcher) -> None:
        watcher.stop()
        if watcher.task is not None:
            await asyncio.gather(watcher.task, return_exceptions=True)

    return Live(start, stop)
