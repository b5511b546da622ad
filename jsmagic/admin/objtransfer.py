"""Object transfers: files and values streamed into and out of the object store in chunks.

nats-py's put waits for one ack per chunk and its get collects the whole object in
memory.  Here a put keeps a small window of chunk publishes in flight and a get pulls a
few chunks at a time straight into the file, so memory stays flat whatever the size.
Both verify the SHA-256 digest (a get writes ``NAME.part`` and renames it only when the
digest matches) and report their figures to an optional ``progress(done, total)``.
The layout is every client's (:mod:`jsmagic.jsapi`'s ``obj_*`` builders), so the nats
CLI reads what we write.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import datetime as dt
import hashlib
import io
import os
from pathlib import Path
from typing import Any, BinaryIO

import nats.js.errors
import pandas as pd
from nats.js import api
from nats.nuid import NUID

from ..core.config import settings
from ..core.context import JSContext
from ..core.errors import InputError, JSMagicError
from ..core.registry import jetstream
from ..jsapi import obj_chunks, obj_stream
from . import objwrite
from .objects import object_info, object_row, store
from ..reading.pull import Batch
from .scan import ProgressFn, read_raw

CHUNK = 128 * 1024  # nats-py's and the nats CLI's default chunk size
WINDOW = 16  # chunk publishes in flight during a put (2 MiB)
GET_BATCH = 16  # chunks pulled per request during a get


async def put(bucket: str, source: BinaryIO, name: str, description: str | None = None,
              size: int | None = None, headers: dict | None = None, *,
              progress: ProgressFn | None = None, ctx: JSContext | None = None) -> pd.Series:
    """Store what ``source`` reads as object ``name``, chunk by chunk (never whole in memory).

    A failure or interrupt removes the chunks already sent; the previous version of the
    object stays intact until the new one is complete.  Returns the object's row.
    """
    obs = await store(bucket, ctx=ctx)
    js = await jetstream(ctx)
    nuid = NUID().next().decode()
    stream, chunk_subject = obj_stream(bucket), obj_chunks(bucket, nuid)
    try:
        previous = await obs.get_info(name)
    except nats.js.errors.NotFoundError:
        previous = None
    digest, total, chunks = hashlib.sha256(), 0, 0
    inflight: collections.deque = collections.deque()
    try:
        while data := source.read(CHUNK):
            digest.update(data)
            inflight.append(await js.publish_async(chunk_subject, data, stream=stream))
            total, chunks = total + len(data), chunks + 1
            while len(inflight) >= WINDOW:
                await asyncio.wait_for(inflight.popleft(), settings().timeout)
            if progress is not None:
                progress(total, size)
        while inflight:
            await asyncio.wait_for(inflight.popleft(), settings().timeout)
        info = api.ObjectInfo(
            name=name, description=description, headers=headers, bucket=bucket, nuid=nuid, size=total,
            chunks=chunks, mtime=dt.datetime.now(dt.timezone.utc).isoformat(),
            options=api.ObjectMetaOptions(max_chunk_size=CHUNK),
            digest="SHA-256=" + base64.urlsafe_b64encode(digest.digest()).decode(),
        )
        await objwrite.write_meta(bucket, info, ctx=ctx)
    except BaseException:
        for fut in inflight:
            fut.cancel()
        await objwrite.drop_chunks(bucket, nuid, ctx=ctx)
        raise
    if previous is not None and not previous.deleted:
        await objwrite.drop_chunks(bucket, previous.nuid, ctx=ctx)
    return pd.Series(object_row(info), name=name)


async def put_file(bucket: str, path: str | os.PathLike, name: str | None = None, description: str | None = None,
                   *, progress: ProgressFn | None = None, ctx: JSContext | None = None) -> pd.Series:
    """``%js_obj put BUCKET FILE``: stream a file in (name defaults to the file's name)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"no such file {str(path)!r}")
    with p.open("rb") as f:
        return await put(bucket, f, name or p.name, description, size=p.stat().st_size, progress=progress, ctx=ctx)


def value_bytes(value: Any, name: str) -> bytes:
    """bytes / str / DataFrame as object content (parquet if pyarrow is present and the name asks for it, else CSV)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, pd.DataFrame):
        if not name.endswith(".csv"):
            try:
                buf = io.BytesIO()
                value.to_parquet(buf)
                return buf.getvalue()
            except ImportError:
                pass
        return value.to_csv(index=False).encode()
    raise InputError(f"cannot store a {type(value).__name__}", hint="give bytes, str or a DataFrame")


async def get(bucket: str, name: str, file: str | os.PathLike | None = None, *,
              progress: ProgressFn | None = None, ctx: JSContext | None = None) -> bytes | Path:
    """``%js_obj get``: the object's bytes, or written to ``file`` chunk by chunk; digest verified."""
    info = await object_info(bucket, name, ctx=ctx)
    if info.options and info.options.link:
        link = info.options.link
        if not link.name:
            raise InputError(f"{name} links to a whole bucket ({link.bucket})", hint="get an object from that bucket")
        return await get(link.bucket, link.name, file, progress=progress, ctx=ctx)
    target = Path(file).expanduser() if file is not None else None
    part = target.with_name(target.name + ".part") if target is not None else None
    # in memory: a BytesIO whose getvalue() hands over its own buffer (bytes(bytearray) would hold the object twice)
    sink: Any = part.open("wb") if part is not None else io.BytesIO()
    digest, got = hashlib.sha256(), [0]

    def write(batch: Batch) -> None:  # each batch as it comes: the object is never held twice
        for data in batch.datas:
            digest.update(data)
            sink.write(data)
            got[0] += len(data)

    def report(_done: int, _total: int | None) -> None:
        progress(got[0], info.size)  # bytes, not chunks

    cfg = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.ALL, filter_subject=obj_chunks(bucket, info.nuid),
                             mem_storage=True)
    short: JSMagicError | None = None  # the scan ended short (chunks went away, the consumer was lost)
    try:
        interrupted = False
        if info.size:
            interrupted = await read_raw(obj_stream(bucket), cfg, write, batch=GET_BATCH,
                                         progress=report if progress is not None else None, ctx=ctx)
    except JSMagicError as e:
        short = e
    finally:
        if part is not None:
            sink.close()
    expected = base64.urlsafe_b64decode(info.digest.split("=", 1)[1]) if info.digest else b""
    ok = short is None and not interrupted and got[0] == info.size and (not info.size or digest.digest() == expected)
    if not ok:
        if part is not None:
            part.unlink(missing_ok=True)
        if interrupted:
            raise asyncio.CancelledError()
        why = f"{short}" if short is not None else "digest mismatch or chunks missing"
        raise JSMagicError(f"object {name} in {bucket} failed verification ({got[0]:,} of {info.size:,} bytes, "
                           f"{why}); nothing was written", hint="get it again, or put it again")
    if target is None:
        return sink.getvalue()
    os.replace(part, target)
    return target
