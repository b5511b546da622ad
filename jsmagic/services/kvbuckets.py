"""Key-Value buckets themselves: `add`, `ls`, `info`, `edit`, `compact`, `rm` (re-exported by `jsmagic.services.kv`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..admin import kv as _kv
from ..admin import kvttl as _kvttl
from ..core.context import JSContext
from ..core.units import parse_duration, parse_size
from .common import warn_notes

__all__ = ["add", "ls", "info", "edit", "compact", "rm"]

Ctx = JSContext | str | None


def seconds(value: Any) -> float | None:
    """`"1h"` or a number of seconds as seconds (None stays None)."""
    return None if value is None else parse_duration(value) if isinstance(value, str) else float(value)


def size(value: Any) -> int | None:
    """`"1MB"` or a number of bytes as bytes (None stays None)."""
    return None if value is None else parse_size(value) if isinstance(value, str) else int(value)


async def add(bucket: str, *, history: int = 1, ttl: str | float | None = None, storage: str = "file",
              replicas: int = 1, max_value_size: str | int | None = None, max_bucket_size: str | int | None = None,
              description: str | None = None, marker_ttl: str | float | None = None, ctx: Ctx = None) -> _kv.Bucket:
    """Create a bucket, direct get on (`%js_kv add`); creating an identical one again is harmless.

    Parameters
    ----------
    bucket : str
        The bucket's name.
    history : int
        Revisions kept per key (1-64).
    ttl : str or float, optional
        How long values live (`"1h"`, `"7d"` or seconds).
    storage : str
        `file` or `memory`.
    replicas : int
        Number of replicas.
    max_value_size, max_bucket_size : str or int, optional
        Limits (`"1MB"`, `"1GB"` or bytes).
    description : str, optional
    marker_ttl : str or float, optional
        Server 2.11+: keep delete markers of expired keys this long.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Bucket
        The bucket's settings and state (`values`, `bytes`, `history`, `ttl`…).

    Examples
    --------
    >>> await jsmagic.kv.add("config", history=5)   # doctest: +SKIP
    """
    return await _kv.add(bucket, history, seconds(ttl), storage, replicas, size(max_value_size),
                         size(max_bucket_size), description, marker_ttl=seconds(marker_ttl), ctx=ctx)


async def ls(*, ctx: Ctx = None) -> pd.DataFrame:
    """Every bucket with its size and settings (`%js_kv ls`).

    Parameters
    ----------
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        One row per bucket (`bucket`, `values`, `bytes`, `history`, `ttl`…); a
        bucket without a leader is named in `attrs["missing"]` and warned.

    Examples
    --------
    >>> await jsmagic.kv.ls()   # doctest: +SKIP
    """
    return warn_notes(await _kv.ls(ctx=ctx))


async def info(bucket: str, *, ctx: Ctx = None) -> _kv.Bucket:
    """A bucket's configuration and state (`%js_kv info`).

    Parameters
    ----------
    bucket : str
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Bucket

    Examples
    --------
    >>> (await jsmagic.kv.info("config")).values   # doctest: +SKIP
    3
    """
    return await _kv.info(bucket, ctx=ctx)


async def edit(bucket: str, *, history: int | None = None, ttl: str | float | None = None,
               max_value_size: str | int | None = None, max_bucket_size: str | int | None = None,
               description: str | None = None, marker_ttl: str | float | None = None, ctx: Ctx = None) -> pd.DataFrame:
    """Change a bucket's settings (`%js_kv edit`).

    Parameters
    ----------
    bucket : str
    history, ttl, max_value_size, max_bucket_size, description, marker_ttl
        As for `add`; only those given change.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `setting`, `old`, `new`.

    Examples
    --------
    >>> await jsmagic.kv.edit("config", history=10)   # doctest: +SKIP
    """
    return await _kvttl.edit(bucket, history=history, ttl=ttl, max_value_size=size(max_value_size),
                             max_bucket_size=size(max_bucket_size), description=description,
                             marker_ttl=marker_ttl, ctx=ctx)


async def compact(bucket: str, *, force: bool = False, ctx: Ctx = None) -> Any:
    """Reclaim what deleted and purged keys still hold (`%js_kv compact`; needs `force=True`).

    Parameters
    ----------
    bucket : str
    force : bool
        Required; without it the error says what would be removed.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Compaction
        `records` and `keys` removed.

    Examples
    --------
    >>> await jsmagic.kv.compact("config", force=True)   # doctest: +SKIP
    """
    return await _kvttl.compact(bucket, force, ctx=ctx)


async def rm(bucket: str, *, force: bool = False, ctx: Ctx = None) -> int:
    """Delete a bucket and all its values (`%js_kv rm`; needs `force=True`).

    Parameters
    ----------
    bucket : str
    force : bool
        Required.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    int
        How many values it held.

    Examples
    --------
    >>> await jsmagic.kv.rm("scratch", force=True)   # doctest: +SKIP
    """
    return await _kv.rm(bucket, force, ctx=ctx)
