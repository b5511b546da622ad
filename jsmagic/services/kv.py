"""Key-Value buckets, as `nats kv` has them: `add`, `put`, `get`, `create`, `update`, `delete`
(natscli's `del`), `purge`, `revert`, `history`, `keys`, `view`, `ls`, `info`, `edit`,
`compact`, `rm` and `watch`.

Values are stored as `%js_kv put` stores them: bytes as they are, str as UTF-8, anything
else as JSON; reads decode them (`decode="auto"`).  Durations are `"1h"`, sizes `"1MB"`.
Every write goes through the prefix-aware writer, so it works across domains and imports.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..admin import kv as _kv
from ..admin import kvttl as _kvttl
from ..admin.scan import ProgressFn
from ..core.context import JSContext
from ..core.errors import IncompleteError
from ..core.units import plural
from .common import warn_notes
from .kvbuckets import add, compact, edit, info, ls, rm
from .kvwatch import Change, start_watcher, unwatch, watch  # noqa: F401 -- start_watcher: for a view's own watcher (%js_kv watch)

__all__ = ["add", "put", "get", "create", "update", "delete", "purge", "revert", "history", "keys", "view", "ls",
           "info", "edit", "compact", "rm", "watch", "unwatch", "Change"]

Ctx = JSContext | str | None


def _complete(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """A read cut short is an error holding what arrived (never a short frame that looks whole)."""
    if frame.attrs.get("interrupted"):
        raise IncompleteError(f"{what} stopped early after {plural(len(frame), 'row')}", frame=frame, hint="read it again")
    return warn_notes(frame, what)


async def put(bucket: str, key: str, value: Any, *, ctx: Ctx = None) -> int:
    """Store a value (`%js_kv put`): bytes as is, str as UTF-8, anything else as JSON.

    Parameters
    ----------
    bucket : str
    key : str
        A key (`db.host`; NATS subject tokens).
    value : Any
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    int
        The new revision.

    Examples
    --------
    >>> await jsmagic.kv.put("config", "db.host", "postgres.local")   # doctest: +SKIP
    1
    """
    return await _kv.put(bucket, key, value, ctx=ctx)


async def get(bucket: str, key: str, *, revision: int | None = None, decode: Any = "auto", ctx: Ctx = None) -> _kv.Entry:
    """A key's latest value, or the one at `revision` (`%js_kv get`).

    Parameters
    ----------
    bucket, key : str
    revision : int, optional
        A past revision.
    decode : str or callable
        How to decode the value (`auto`, `json`, `text`, `bytes`… or a function).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Entry
        `.value` (decoded), `.revision`, `.time`; a deleted key is a `NotFoundError`.

    Examples
    --------
    >>> (await jsmagic.kv.get("config", "db.host")).value   # doctest: +SKIP
    'postgres.local'
    """
    return await _kv.get(bucket, key, revision, decode, ctx=ctx)


async def create(bucket: str, key: str, value: Any, *, ttl: str | float | None = None, ctx: Ctx = None) -> int:
    """Store a value only if the key does not exist or was deleted (`%js_kv create`).

    Parameters
    ----------
    bucket, key : str
    value : Any
    ttl : str or float, optional
        Server 2.11+: this key expires after `ttl` (the bucket must allow per-key TTLs).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    int
        The revision.

    Examples
    --------
    >>> await jsmagic.kv.create("locks", "job.42", "worker-1", ttl="30s")   # doctest: +SKIP
    """
    if ttl is not None:
        return await _kvttl.create(bucket, key, value, ttl, ctx=ctx)
    return await _kv.create(bucket, key, value, ctx=ctx)


async def update(bucket: str, key: str, value: Any, last: int, *, ctx: Ctx = None) -> int:
    """Store a value only if the key is still at revision `last` (`%js_kv update`).

    Parameters
    ----------
    bucket, key : str
    value : Any
    last : int
        The revision the key must be at; otherwise a `ConflictError` naming the current one.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    int
        The new revision.

    Examples
    --------
    >>> await jsmagic.kv.update("config", "db.host", "pg2", last=1)   # doctest: +SKIP
    2
    """
    return await _kv.update(bucket, key, value, last, ctx=ctx)


async def delete(bucket: str, key: str, *, ctx: Ctx = None) -> _kv.Entry:
    """Place a delete marker; the history is kept (`%js_kv del`).

    Parameters
    ----------
    bucket, key : str
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Entry
        The entry that was current before the delete.

    Examples
    --------
    >>> await jsmagic.kv.delete("config", "db.host")   # doctest: +SKIP
    """
    return await _kv.delete(bucket, key, ctx=ctx)


async def purge(bucket: str, key: str, *, force: bool = False, ttl: str | float | None = None, ctx: Ctx = None) -> Any:
    """Remove a key and every revision of it (`%js_kv purge`; needs `force=True`).

    Parameters
    ----------
    bucket, key : str
    force : bool
        Required.
    ttl : str or float, optional
        Server 2.11+: the purge marker itself goes away after `ttl`.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    int or str
        How many revisions the key had (without `ttl`).

    Examples
    --------
    >>> await jsmagic.kv.purge("config", "old.key", force=True)   # doctest: +SKIP
    3
    """
    if ttl is not None:
        return await _kvttl.purge(bucket, key, ttl, force, ctx=ctx)
    return await _kv.purge(bucket, key, force, ctx=ctx)


async def revert(bucket: str, key: str, revision: int, *, ctx: Ctx = None) -> int:
    """Store the value `key` had at `revision` again, as its newest revision (`%js_kv revert`).

    Parameters
    ----------
    bucket, key : str
    revision : int
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    int
        The new revision.

    Examples
    --------
    >>> await jsmagic.kv.revert("config", "db.host", 1)   # doctest: +SKIP
    """
    return await _kvttl.revert(bucket, key, revision, ctx=ctx)


async def history(bucket: str, key: str, *, decode: Any = "auto", progress: ProgressFn | None = None,
                  ctx: Ctx = None) -> pd.DataFrame:
    """Every kept revision of a key (`%js_kv history`).

    Parameters
    ----------
    bucket, key : str
    decode : str or callable
        How to decode the values.
    progress : callable, optional
        Called as `progress(records_read, records_expected)` while the read goes on.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `revision`, `operation` (PUT/DEL/PURGE), `value`, `time`.

    Raises
    ------
    IncompleteError
        An interrupt cut the read short; `.frame` holds what arrived.

    Examples
    --------
    >>> await jsmagic.kv.history("config", "db.host")   # doctest: +SKIP
    """
    return _complete(await _kv.history(bucket, key, decode, progress=progress, ctx=ctx), f"history of {bucket}/{key}")


async def keys(bucket: str, pattern: str = ">", *, progress: ProgressFn | None = None, ctx: Ctx = None) -> list[str]:
    """The current keys matching a NATS wildcard pattern, filtered by the server, sorted (`%js_kv keys`).

    Parameters
    ----------
    bucket : str
    pattern : str
        `users.*`, `db.>`…
    progress : callable, optional
        Called as `progress(records_read, records_expected)` while the read goes on.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    list of str

    Examples
    --------
    >>> await jsmagic.kv.keys("config", "db.>")   # doctest: +SKIP
    ['db.host', 'db.port']
    """
    return await _kv.keys(bucket, pattern, progress=progress, ctx=ctx)


async def view(bucket: str, pattern: str = ">", *, decode: Any = "auto", progress: ProgressFn | None = None,
               ctx: Ctx = None) -> pd.DataFrame:
    """Every current key with its value, revision and time, sorted by key (`%js_kv view`).

    Parameters
    ----------
    bucket : str
    pattern : str
        NATS wildcards (`db.>`).
    decode : str or callable
        How to decode the values.
    progress : callable, optional
        Called as `progress(records_read, records_expected)` while the read goes on.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `key`, `value`, `revision`, `time` (a `decode_error` column when a value could not be decoded).

    Raises
    ------
    IncompleteError
        An interrupt cut the read short; `.frame` holds what arrived.

    Examples
    --------
    >>> await jsmagic.kv.view("config")   # doctest: +SKIP
    """
    return _complete(await _kv.view(bucket, pattern, decode, progress=progress, ctx=ctx), f"view of {bucket}")
