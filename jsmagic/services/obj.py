"""Object stores, as `nats object` has them: `add`, `put`, `get`, `ls`, `info`, `rm`, `watch`.

`ls()` lists the buckets and `ls(bucket)` its objects; `info` and `rm` take a bucket,
or a bucket and an object, the same way.  Files are streamed in chunks; digests are verified.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..admin import objects as _objects
from ..admin import objtransfer as _transfer
from ..admin.objwatch import COLUMNS, ObjectStoreWatcher
from ..core.context import JSContext
from ..core.errors import InputError
from ..reading.selection import ProgressFn
from .common import Feed, Live, warn_notes

__all__ = ["add", "put", "get", "ls", "info", "rm", "watch", "ObjectChange"]

Ctx = JSContext | str | None


async def add(bucket: str, *, description: str | None = None, ttl: str | float | None = None,
              max_bytes: str | int | None = None, storage: str | None = None, replicas: int = 1,
              ctx: Ctx = None) -> _objects.BucketStatus:
    """Create an object-store bucket (`%js_obj add`); an identical one again is a no-op.

    Parameters
    ----------
    bucket : str
    description : str, optional
    ttl : str or float, optional
        How long objects live (`"7d"`).
    max_bytes : str or int, optional
        Largest bucket (`"1GB"`).
    storage : str, optional
        `file` or `memory`.
    replicas : int
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    BucketStatus

    Examples
    --------
    >>> await jsmagic.obj.add("models")   # doctest: +SKIP
    """
    return await _objects.add_bucket(bucket, description, ttl, max_bytes, storage, replicas, ctx=ctx)


async def put(bucket: str, file: str | os.PathLike | None = None, *, data: Any = None, name: str | None = None,
              description: str | None = None, progress: ProgressFn | None = None, ctx: Ctx = None) -> pd.Series:
    """Store a file (streamed in chunks) or a value: bytes, str or a DataFrame (`%js_obj put`).

    Parameters
    ----------
    bucket : str
    file : str or os.PathLike, optional
        A file to store (`%js_obj put BUCKET FILE`).
    data : bytes, str or DataFrame, optional
        Instead of `file`: a value (`--from VAR`; a DataFrame as Parquet, or CSV for a `.csv` name).
    name : str, optional
        The object's name (default: the file's name; required with `data`).
    description : str, optional
    progress : callable, optional
        `progress(done, total)` in bytes as chunks are stored.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.Series
        The stored object's `name`, `size`, `chunks`, `digest`…

    Examples
    --------
    >>> await jsmagic.obj.put("models", "model.onnx")                       # doctest: +SKIP
    >>> await jsmagic.obj.put("models", data=b"...", name="weights.bin")    # doctest: +SKIP
    """
    if (file is None) == (data is None):
        raise InputError("give a file or data= (one of them)")
    if file is not None:
        return await _transfer.put_file(bucket, file, name, description, progress=progress, ctx=ctx)
    if not name:
        raise InputError("data= needs name=", hint="obj.put(bucket, data=value, name='data.bin')")
    raw = _transfer.value_bytes(data, name)
    return await _transfer.put(bucket, io.BytesIO(raw), name, description, size=len(raw), progress=progress, ctx=ctx)


async def get(bucket: str, name: str, *, file: str | os.PathLike | None = None, progress: ProgressFn | None = None,
              ctx: Ctx = None) -> bytes | Path:
    """An object's bytes, or written to `file` chunk by chunk (`%js_obj get`); the digest is verified.

    Parameters
    ----------
    bucket, name : str
    file : str or os.PathLike, optional
        Write here instead of returning the bytes.
    progress : callable, optional
        `progress(done, total)` in bytes as chunks arrive.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    bytes or pathlib.Path

    Examples
    --------
    >>> await jsmagic.obj.get("models", "model.onnx", file="/tmp/model.onnx")   # doctest: +SKIP
    """
    return await _transfer.get(bucket, name, file, progress=progress, ctx=ctx)


async def ls(bucket: str | None = None, *, deleted: bool = False, ctx: Ctx = None) -> pd.DataFrame:
    """The buckets, or with `bucket` its objects (`%js_obj ls`).

    Parameters
    ----------
    bucket : str, optional
    deleted : bool
        Include deleted objects.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        Buckets, or objects: `name`, `size`, `chunks`, `modified`, `digest`, `deleted`.

    Examples
    --------
    >>> await jsmagic.obj.ls("models")   # doctest: +SKIP
    """
    if bucket is None:
        return warn_notes(await _objects.list_buckets(ctx=ctx))
    return await _objects.list_objects(bucket, deleted, ctx=ctx)


async def info(bucket: str, name: str | None = None, *, ctx: Ctx = None) -> Any:
    """A bucket's settings and usage, or one object's metadata (`%js_obj info`).

    Parameters
    ----------
    bucket : str
    name : str, optional
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    BucketStatus or nats.js.api.ObjectInfo

    Examples
    --------
    >>> (await jsmagic.obj.info("models", "model.onnx")).size   # doctest: +SKIP
    """
    if name is None:
        return await _objects.bucket_info(bucket, ctx=ctx)
    return await _objects.object_info(bucket, name, ctx=ctx)


async def rm(bucket: str, name: str | None = None, *, force: bool = False, ctx: Ctx = None) -> _objects.Removal:
    """Delete an object, or a whole bucket when no `name` is given (`%js_obj rm`; needs `force=True`).

    Parameters
    ----------
    bucket : str
    name : str, optional
    force : bool
        Required.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Removal
        What was deleted: objects, bytes, chunks.

    Examples
    --------
    >>> await jsmagic.obj.rm("models", "old.onnx", force=True)   # doctest: +SKIP
    """
    if name is None:
        return await _objects.remove_bucket(bucket, force, ctx=ctx)
    return await _objects.remove_object(bucket, name, force, ctx=ctx)


@dataclasses.dataclass
class ObjectChange:
    """One change seen by `watch`: an object stored (its metadata) or deleted (`deleted` True)."""

    bucket: str
    name: str
    deleted: bool
    size: int | None = None
    chunks: int | None = None
    modified: Any = None
    digest: str | None = None


def watch(bucket: str, *, ctx: Ctx = None) -> Live[ObjectChange]:
    """Watch a bucket's objects: an async iterator of `ObjectChange` (`%js_obj watch`).

    The objects there now first, then every put and delete as it happens.  Leaving the
    `async for` or `await w.aclose()` stops it and deletes its consumer.

    Parameters
    ----------
    bucket : str
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Live[ObjectChange]
        `.handle` is the core `ObjectStoreWatcher` (`.df`: the objects as they are now).

    Examples
    --------
    >>> async with jsmagic.obj.watch("models") as changes:   # doctest: +SKIP
    ...     async for change in changes:
    ...         print(change.name, "deleted" if change.deleted else change.size)
    """

    async def start(feed: Feed) -> ObjectStoreWatcher:
        def on_row(name: str, row: tuple | None) -> None:
            values = dict(zip(COLUMNS, row)) if row is not None else {"name": name}
            feed.put(ObjectChange(bucket=bucket, deleted=row is None, **values))

        return await ObjectStoreWatcher(bucket, on_row=on_row, ctx=ctx).start()

    async def stop(watcher: ObjectStoreWatcher) -> None:
        watcher.stop()
        if watcher.entry is not None and watcher.entry.task is not None:
            await asyncio.gather(watcher.entry.task, return_exceptions=True)

    return Live(start, stop)
