"""A bucket as it was: `kv.view` and `kv.get` with `at=`, and `kv.diff` (`%js_kv view|get --at`, `%js_kv diff`).

Part of the `jsmagic.kv` group (`jsmagic.services.groups.group`): without `at=` or
`revision=`, `view` and `get` are `jsmagic.services.kv`'s own.  A time is what the magics
take: `"2h"` (ago), ISO/RFC 3339 text, or a datetime (naive means UTC); writes stored at or
before it count.  A bucket's revisions are its stream's sequences.  Reads go through
`jsmagic.history` (batched direct get, or a replay when cheaper); what the server no longer
stores from before the point is said in `df.attrs["notes"]` and warned as a `ReadWarning`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from ..admin.kv import Entry
from ..core.context import JSContext
from ..core.errors import InputError
from ..history import kvtime
from . import kv as _kv
from .common import warn_notes
from .common import when as _when

__all__ = ["view", "get", "diff"]

Ctx = JSContext | str | None
When = str | dt.datetime | None


async def view(bucket: str, pattern: str = ">", *, at: When = None, revision: int | None = None,
               decode: Any = "auto", progress: Any = None, ctx: Ctx = None) -> pd.DataFrame:
    """Every key with its value, revision and time, now or as it was at `at` (`%js_kv view [--at|--revision]`).

    Parameters
    ----------
    bucket : str
        The bucket.
    pattern : str
        Keys matching this NATS wildcard (`db.>`).
    at : str or datetime, optional
        The bucket as it was then: `"2h"` (ago), ISO/RFC 3339 text, or a datetime.
    revision : int, optional
        The bucket as of this revision (every write up to it).
    decode : str or callable
        How to decode the values (`auto`, `json`, `text`, `bytes`… or a function).
    progress : callable, optional
        Called as the bucket's history is read, as `jsmagic.kv.view` calls it.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `key`, `value`, `revision`, `time`, sorted by key; deleted and purged keys are absent,
        as they were.  With `at`/`revision`: `attrs["revision"]` (the last revision the point
        includes), `attrs["at"]`, `attrs["method"]` and `attrs["notes"]`.

    Examples
    --------
    >>> await jsmagic.kv.view("config", at="2h")                 # doctest: +SKIP
    >>> await jsmagic.kv.view("config", "db.>", revision=12)     # doctest: +SKIP
    """
    if at is None and revision is None:
        return await _kv.view(bucket, pattern, decode=decode, progress=progress, ctx=ctx)
    df = await kvtime.view_at(bucket, pattern, _when(at), revision, decode, progress=progress, ctx=ctx)
    return warn_notes(df, f"view of {bucket}")


async def get(bucket: str, key: str, *, revision: int | None = None, at: When = None, decode: Any = "auto",
              ctx: Ctx = None) -> Entry:
    """A key's latest value, the one at `revision`, or the one it had at `at` (`%js_kv get [--at]`).

    Parameters
    ----------
    bucket, key : str
        The bucket and the key.
    revision : int, optional
        That revision of the key.
    at : str or datetime, optional
        The value the key had then: `"2h"` (ago), ISO/RFC 3339 text, or a datetime.
    decode : str or callable
        How to decode the value.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Entry
        `.value` (decoded), `.revision`, `.time`.  A key that did not exist then, or was
        deleted, is a `NotFoundError` that says so.

    Examples
    --------
    >>> (await jsmagic.kv.get("config", "db.host", at="2026-12-01T09:00:00Z")).value   # doctest: +SKIP
    'postgres.old'
    """
    if at is None:
        return await _kv.get(bucket, key, revision=revision, decode=decode, ctx=ctx)
    if revision is not None:
        raise InputError("give at= or revision=, not both")
    return await kvtime.get_at(bucket, key, _when(at), decode=decode, ctx=ctx)


async def diff(bucket: str, since: When = None, until: When = None, *, keys: str = ">",
               since_revision: int | None = None, until_revision: int | None = None, decode: Any = "auto",
               progress: Any = None, ctx: Ctx = None) -> pd.DataFrame:
    """What changed in a bucket between two points, one row per key (`%js_kv diff BUCKET T1 [T2]`).

    Parameters
    ----------
    bucket : str
        The bucket.
    since : str or datetime, optional
        The first point: `"2h"` (ago), ISO/RFC 3339 text, or a datetime.
    until : str or datetime, optional
        The second point (default: now).
    keys : str
        Only keys matching this NATS wildcard (`--keys`).
    since_revision, until_revision : int, optional
        The points as revisions instead of times.
    decode : str or callable
        How to decode the values.
    progress : callable, optional
        Called as the history is read (`%js_kv diff`'s progress line).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `key`, `change` (`added`, `changed`, `deleted`), `old_value`, `new_value`,
        `old_revision`, `new_revision`, `old_time`, `new_time`, sorted by key;
        `attrs["since_revision"]` and `attrs["revision"]` are the two points.

    Examples
    --------
    >>> df = await jsmagic.kv.diff("config", "1h")            # doctest: +SKIP
    >>> df[df.change == "changed"][["key", "old_value", "new_value"]]   # doctest: +SKIP
    """
    if since is None and since_revision is None:
        raise InputError("a diff needs its first point", hint="give since= (a time, or '2h' ago) or since_revision=")
    df = await kvtime.diff(bucket, _when(since), _when(until), keys, decode, since_revision=since_revision,
                           until_revision=until_revision, progress=progress, ctx=ctx)
    return warn_notes(df, f"diff of {bucket}")
