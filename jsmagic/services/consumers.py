"""Durable consumers, as `nats consumer` has them: `add`, `edit`, `info`, `ls`, `next`, `rm`,
`copy`, `reset`, `report`, `pause`, `resume`, `priority`, `unpin`, and `dead` (dead letters) and
`watch` (its counters over time)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from nats.js import api

from ..admin import consumerops as _ops
from ..admin import consumers as _consumers
from ..admin.consumers import add_consumer as _create  # a user's named consumer (admin/consumers.py)
from ..admin import priority as _priority
from ..admin import report as _report
from ..core.context import JSContext
from .common import warn_notes
from .consumerops import Sample, dead, priority, unpin, watch

__all__ = ["add", "edit", "info", "ls", "next", "rm", "copy", "reset", "report", "pause", "resume", "priority",
           "unpin", "dead", "watch", "Sample"]

Ctx = JSContext | str | None


async def add(stream: str, name: str, *, pull: bool = True, target: str | None = None, deliver: str | None = None,
              ack: str = "explicit", filter: str | list[str] | None = None,  # noqa: A002 - natscli's word
              max_deliver: int | None = None, ack_wait: str | None = None, max_ack_pending: int | None = None,
              description: str | None = None, deliver_group: str | None = None, backoff: str | None = None,
              inactive_threshold: str | None = None, replay: str | None = None, headers_only: bool | None = None,
              pause: Any = None, pinned_groups: list[str] | None = None, pinned_ttl: str | None = None,
              overflow_groups: list[str] | None = None, prioritized_groups: list[str] | None = None,
              ctx: Ctx = None) -> api.ConsumerInfo:
    """Create a durable consumer, pull unless `pull=False` with a `target` (`%js_consumer add`).

    Parameters
    ----------
    stream, name : str
        The stream and the consumer's durable name.
    pull : bool
        A pull consumer (default); `False` with `target` for a push consumer.
    target : str, optional
        A push consumer's delivery subject.
    deliver : str, optional
        Where to start: `all`, `new`, `last`, `last_per_subject`, a sequence or a time.
    ack : str
        `explicit`, `none` or `all`.
    filter : str or list of str, optional
        Subject filter(s).
    max_deliver, ack_wait, max_ack_pending, description, deliver_group, backoff, inactive_threshold, replay, headers_only
        As the magic's flags (`ack_wait="30s"`, `backoff="1s,5s,30s"`, `replay="original"`).
    pause : str or datetime, optional
        Server 2.11+: create paused until then (`"10m"` or a time).
    pinned_groups, pinned_ttl, overflow_groups, prioritized_groups : optional
        Server 2.11+ priority groups (one policy): `pinned_groups=["jobs"], pinned_ttl="2m"`.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    nats.js.api.ConsumerInfo

    Examples
    --------
    >>> await jsmagic.consumers.add("ORDERS", "billing", filter="orders.eu.>", ack_wait="30s")   # doctest: +SKIP
    """
    filters = [filter] if isinstance(filter, str) else list(filter or [])
    extra = _ops.consumer_params(deliver_group, filters, backoff, inactive_threshold, replay, headers_only)
    priority = _priority.priority_params(pinned_groups, pinned_ttl, overflow_groups, prioritized_groups)
    return await _create(stream, name, pull=pull, target=target, deliver=deliver, ack=ack,
                         filter=filters[0] if len(filters) == 1 else None, max_deliver=max_deliver,
                         ack_wait=ack_wait, max_ack_pending=max_ack_pending, description=description,
                         pause=pause, priority=priority, extra=extra, ctx=ctx)


async def edit(stream: str, name: str, *, dry_run: bool = False, ctx: Ctx = None, **settings: Any) -> pd.DataFrame:
    """Change what the server allows of a consumer (`%js_consumer edit`).

    Parameters
    ----------
    stream, name : str
    dry_run : bool
        Compare only.
    ctx : JSContext or str, optional
        A context or alias.
    **settings
        `description`, `max_deliver`, `ack_wait`, `max_ack_pending`, `filter` (a list),
        `backoff`, `inactive_threshold`…

    Returns
    -------
    pandas.DataFrame
        `setting`, `old`, `new`.

    Examples
    --------
    >>> await jsmagic.consumers.edit("ORDERS", "billing", max_deliver=5)   # doctest: +SKIP
    """
    if isinstance(settings.get("filter"), str):
        settings["filter"] = [settings["filter"]]
    return await _ops.edit(stream, name, dry_run, ctx=ctx, **settings)


async def info(stream: str, name: str, *, ctx: Ctx = None) -> api.ConsumerInfo:
    """A consumer's configuration and state (`%js_consumer info`).

    Parameters
    ----------
    stream, name : str
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    nats.js.api.ConsumerInfo
        `.config`, `.num_pending`, `.num_ack_pending`, `.delivered`, `.ack_floor`…

    Examples
    --------
    >>> (await jsmagic.consumers.info("ORDERS", "billing")).num_pending   # doctest: +SKIP
    """
    return await _consumers.consumer_info(stream, name, ctx=ctx)


async def ls(stream: str, *, ctx: Ctx = None) -> pd.DataFrame:
    """A stream's consumers: policies, filter, pending, ack pending, redelivered, last active (`%js_consumer ls`).

    Parameters
    ----------
    stream : str
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> await jsmagic.consumers.ls("ORDERS")   # doctest: +SKIP
    """
    return warn_notes(await _consumers.list_consumers(stream, ctx=ctx))


async def next(stream: str, name: str, count: int = 1, *, action: str = "ack",  # noqa: A001 - natscli's word
               decode: Any = "auto", timeout: float | None = None, group: str | None = None,
               min_pending: int | None = None, ctx: Ctx = None) -> pd.DataFrame:
    """Pull the next messages of a durable consumer, then settle them (`%js_consumer next`).

    Parameters
    ----------
    stream, name : str
    count : int
        Up to this many messages.
    action : str
        `ack` (default), `nak`, `term` or `none` (leave them pending).
    decode : str or callable
        How to decode payloads.
    timeout : float, optional
        Seconds to wait for messages.
    group, min_pending : optional
        Server 2.11 priority groups.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `seq`, `subject`, `time`, `delivered`, `pending`, `headers`, `data`.

    Examples
    --------
    >>> await jsmagic.consumers.next("JOBS", "worker", 10)   # doctest: +SKIP
    """
    return await _consumers.next_messages(stream, name, count, action, decode, timeout, group, min_pending, ctx=ctx)


async def rm(stream: str, name: str, *, force: bool = False, ctx: Ctx = None) -> Any:
    """Delete a consumer (`%js_consumer rm`; needs `force=True`).

    Parameters
    ----------
    stream, name : str
    force : bool
        Required; without it the error says what the consumer still tracks.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    ConsumerRemoval
        `pending` and `ack_pending` it held.

    Examples
    --------
    >>> await jsmagic.consumers.rm("ORDERS", "billing", force=True)   # doctest: +SKIP
    """
    return await _consumers.remove_consumer(stream, name, force, ctx=ctx)


async def copy(stream: str, name: str, new_name: str, *, ctx: Ctx = None) -> api.ConsumerInfo:
    """A new durable consumer with another's configuration (`%js_consumer copy`).

    Parameters
    ----------
    stream, name, new_name : str
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    nats.js.api.ConsumerInfo

    Examples
    --------
    >>> await jsmagic.consumers.copy("ORDERS", "billing", "billing2")   # doctest: +SKIP
    """
    return await _ops.copy(stream, name, new_name, ctx=ctx)


async def reset(stream: str, name: str, seq: int | None = None, *, ctx: Ctx = None) -> dict[str, Any]:
    """Deliver again from stream sequence `seq`, or from the ack floor (`%js_consumer reset`; server 2.14+).

    Parameters
    ----------
    stream, name : str
    seq : int, optional
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    dict
        The server's answer.

    Examples
    --------
    >>> await jsmagic.consumers.reset("ORDERS", "billing", 100)   # doctest: +SKIP
    """
    return await _ops.reset(stream, name, seq, ctx=ctx)


async def report(stream: str, *, ctx: Ctx = None) -> pd.DataFrame:
    """A stream's consumers with pending, ack pending, redelivered, waiting, activity (`%js_consumer report`).

    Parameters
    ----------
    stream : str
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> await jsmagic.consumers.report("ORDERS")   # doctest: +SKIP
    """
    return warn_notes(await _report.consumer_report(stream, ctx=ctx))


async def pause(stream: str, name: str, until: Any, *, ctx: Ctx = None) -> dict[str, Any]:
    """Deliver nothing until `until` (`"10m"` or a time) (`%js_consumer pause`; server 2.11+).

    Parameters
    ----------
    stream, name : str
    until : str or datetime
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    dict
        `paused` and `pause_until`.

    Examples
    --------
    >>> await jsmagic.consumers.pause("ORDERS", "billing", "10m")   # doctest: +SKIP
    """
    return await _priority.pause(stream, name, until, ctx=ctx)


async def resume(stream: str, name: str, *, ctx: Ctx = None) -> dict[str, Any]:
    """Deliver again now, ending a pause (`%js_consumer resume`).

    Parameters
    ----------
    stream, name : str
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    dict

    Examples
    --------
    >>> await jsmagic.consumers.resume("ORDERS", "billing")   # doctest: +SKIP
    """
    return await _priority.resume(stream, name, ctx=ctx)
