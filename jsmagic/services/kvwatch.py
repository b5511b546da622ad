"""`kv.watch`: a bucket's changes as an async iterator; `start_watcher` and `unwatch` for live views (re-exported by `jsmagic.services.kv`)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pandas as pd

from ..admin import kv as _kv
from ..admin import kvwatch as _kvwatch
from ..admin.kvwatch import KVWatcher
from ..core.context import JSContext
from ..core.errors import InputError
from .common import Feed, Live

__all__ = ["watch", "start_watcher", "unwatch", "Change"]

Ctx = JSContext | str | None


@dataclasses.dataclass
class Change:
    """One change seen by `watch`: a key's new value, or its deletion (`value` None)."""

    bucket: str
    key: str
    value: Any
    revision: int
    operation: str  # PUT, DEL, PURGE (or a server TTL marker: "PURGE (expired: …)")
    time: pd.Timestamp  # UTC, to the nanosecond


def watch(bucket: str, pattern: str = ">", *, history: bool = False, updates: bool = False,
          revision: int | None = None, decode: Any = "auto", ctx: Ctx = None) -> Live[Change]:
    """Watch a bucket's keys: an async iterator of `Change` (`%js_kv watch`, `nats kv watch`).

    By default each matching key's current value first, then every change as it happens.
    The watch survives server restarts; leaving the `async for` (`break`, an error, a
    cancelled task) or `await w.aclose()` stops it and deletes its consumer.

    Parameters
    ----------
    bucket : str
    pattern : str
        Keys to watch (`db.>`, `users.*`).
    history : bool
        Every kept revision first, not only the latest.
    updates : bool
        Only changes from now on.
    revision : int, optional
        Start at this revision.
    decode : str or callable
        How to decode the values.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Live[Change]
        An async iterator (and async context manager); `.handle` is the core
        `KVWatcher` (`.df`: the current state).

    Examples
    --------
    >>> async with jsmagic.kv.watch("config", "db.>", updates=True) as changes:   # doctest: +SKIP
    ...     async for change in changes:
    ...         print(change.key, change.value)
    ...         if change.key == "db.stop":
    ...             break
    """
    if sum([history, updates, revision is not None]) > 1:
        raise InputError("choose one of history=, updates=, revision=")
    _kv.check_bucket(bucket)
    _kv.check_pattern(pattern)
    mode = "all" if history else "new" if updates else "last"

    async def start(feed: Feed) -> KVWatcher:
        watcher: KVWatcher | None = None

        def on_row(key: str, row: tuple | None) -> None:
            if row is not None:
                _, data, rev, op, tm = row
                feed.put(Change(bucket, key, watcher.value(data) if data is not None else None, rev, op,
                                pd.Timestamp(tm, unit="ns", tz="UTC")))

        def on_status(status: str, note: str | None) -> None:
            if status == "stopped" and note:  # ended by itself (the bucket was deleted)
                feed.end(InputError(f"kv watch of {bucket} ended: {note}"))

        watcher = KVWatcher(bucket, pattern, mode=mode, revision=revision, deletes=True, decode=decode,
                            on_row=on_row, on_status=on_status, ctx=ctx)
        return await start_watcher(watcher)

    async def stop(watcher: KVWatcher) -> None:
        watcher.stop()
        await asyncio.gather(watcher.task, return_exceptions=True)
        await watcher.ctx.wait_owned()  # the consumer's delete, when the task never started

    return Live(start, stop)


async def start_watcher(watcher: KVWatcher) -> KVWatcher:
    """Start a watcher that a live view made (`%js_kv watch`'s table); what `watch` starts too.

    An invalid bucket name or key pattern, or an unknown bucket, is a one-line error
    before any consumer exists.

    Parameters
    ----------
    watcher : KVWatcher
        Made with the view's callbacks (`on_row`, `on_status`) and its context.

    Returns
    -------
    KVWatcher
        The same watcher, running in the background (`.df`, `.events`, `.stop()`).

    Examples
    --------
    >>> w = KVWatcher("config", "db.>", on_row=print)   # doctest: +SKIP
    >>> await jsmagic.services.kv.start_watcher(w)      # doctest: +SKIP
    """
    _kv.check_bucket(watcher.bucket)
    _kv.check_pattern(watcher.pattern)
    await _kv.info(watcher.bucket, ctx=watcher.ctx)  # an unknown bucket: "did you mean", before any consumer
    return await watcher.start()


async def unwatch(bucket: str | None = None, *, ctx: Ctx = None) -> int:
    """Stop the live KV watches of a connection, or only those of `bucket` (`%js_kv unwatch`).

    Parameters
    ----------
    bucket : str, optional
        Only this bucket's watches.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    int
        How many watches were stopped (their consumers are deleted before this returns).

    Examples
    --------
    >>> await jsmagic.kv.unwatch("config")   # doctest: +SKIP
    1
    """
    return await _kvwatch.unwatch(bucket, ctx=ctx)
