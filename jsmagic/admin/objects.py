"""The object store: buckets and the objects in them - the ``nats object`` verbs (transfers: ``objtransfer``).

Objects use nats-py's on-the-wire layout (chunks on ``$O.<bucket>.C.<nuid>``, a rolled-up
meta message on ``$O.<bucket>.M.<name>``, SHA-256 digest), so the nats CLI and other
clients read what we write.  Here: create, list, inspect and delete buckets and objects.
Everything returns data (frames with sizes in bytes, dataclasses, nats-py's
``ObjectInfo``); ``jsmagic.ui.buckets`` makes it readable.  Every verb takes ``ctx=None``:
the current connection, or the one given.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import nats.js.errors
import pandas as pd
from nats.js import api

from ..core.context import JSContext
from ..core.errors import ForceRequiredError, InputError, not_found
from ..core.registry import connected, jetstream
from ..core.units import format_size, parse_duration, parse_size, plural
from ..jsapi import obj_all_meta, obj_stream
from . import counting, objwrite
from .streamconfig import config_params
from .streams import stream_names, timestamp

_STREAM_PREFIX = obj_stream("")  # every object store bucket's stream is named OBJ_<bucket>
OBJECT_COLUMNS = ["name", "size", "chunks", "modified", "digest", "deleted", "description"]
BUCKET_COLUMNS = ["bucket", "description", "objects", "bytes", "storage", "replicas", "ttl", "sealed"]


# ---- buckets -------------------------------------------------------------------------------
async def bucket_names(*, ctx: JSContext | None = None) -> list[str]:
    """Object store buckets (streams named ``OBJ_<bucket>``)."""
    names = await stream_names(ctx=ctx)
    return [n[len(_STREAM_PREFIX):] for n in names if n.startswith(_STREAM_PREFIX)]


async def store(bucket: str, *, ctx: JSContext | None = None) -> Any:
    """nats-py's ObjectStore for ``bucket``, or a "did you mean" error."""
    js = await jetstream(ctx)
    try:
        return await js.object_store(bucket)
    except (nats.js.errors.BucketNotFoundError, nats.js.errors.NotFoundError):
        raise not_found("object store bucket", bucket, await bucket_names(ctx=ctx)) from None
    except nats.js.errors.InvalidBucketNameError:
        raise InputError(f"invalid bucket name {bucket!r}", hint="use letters, digits, - and _") from None


@dataclasses.dataclass
class BucketStatus:
    """A bucket's settings and usage in plain units; ``raw`` is nats-py's ObjectStoreStatus."""

    bucket: str
    description: str | None
    ttl: float  # seconds an object lives; 0 for ever
    storage: api.StorageType | str | None
    replicas: int
    max_bytes: int  # -1 unlimited
    sealed: bool
    objects: int
    bytes: int
    stream: str
    raw: Any = dataclasses.field(default=None, repr=False)


async def add_bucket(bucket: str, description: str | None = None, ttl: str | float | None = None,
                     max_bytes: str | int | None = None, storage: str | None = None, replicas: int = 1,
                     *, ctx: JSContext | None = None) -> BucketStatus:
    """``%js_obj add``: create a bucket (creating an existing one with the same settings is a no-op).

    ``ttl`` and ``max_bytes`` take numbers (seconds, bytes) or human units ("7d", "1GB").
    """
    js = await jetstream(ctx)
    cfg = api.ObjectStoreConfig(
        bucket=bucket, description=description, ttl=parse_duration(ttl) if ttl else None,
        max_bytes=parse_size(max_bytes) if max_bytes else None, replicas=replicas,
        storage=config_params(storage=storage)["storage"] if storage else None,  # a bad value: InputError
    )
    try:
        await js.create_object_store(bucket, config=cfg)
    except nats.js.errors.InvalidBucketNameError:
        raise InputError(f"invalid bucket name {bucket!r}", hint="use letters, digits, - and _") from None
    return await bucket_info(bucket, ctx=ctx)


async def _objects_count(bucket: str, ctx: JSContext | None) -> int:
    """Objects (not deleted) in a bucket: one meta subject each."""
    return len(await list_objects(bucket, ctx=ctx))


async def list_buckets(*, ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_obj ls``: one row per bucket (``bytes`` stored, ``ttl`` in seconds, 0 for ever).

    ``attrs["missing"]``/``attrs["notes"]``: buckets whose stream could not be described (no leader).
    """
    rows, ctx = [], await connected(ctx)
    listing = await ctx.api.listing("STREAM.LIST", "streams")
    for s in listing.items:
        cfg, st = s["config"], s["state"]
        if not cfg["name"].startswith(_STREAM_PREFIX):
            continue
        bucket = cfg["name"][len(_STREAM_PREFIX):]
        rows.append({"bucket": bucket, "description": cfg.get("description") or "",
                     "objects": await _objects_count(bucket, ctx), "bytes": st["bytes"],
                     "storage": cfg.get("storage"), "replicas": cfg.get("num_replicas", 1),
                     "ttl": (cfg.get("max_age") or 0) / 1e9, "sealed": bool(cfg.get("sealed"))})
    frame = pd.DataFrame(rows, columns=BUCKET_COLUMNS).sort_values("bucket", ignore_index=True)
    return listing.mark(frame, "object store bucket", _STREAM_PREFIX)


async def bucket_info(bucket: str, *, ctx: JSContext | None = None) -> BucketStatus:
    """``%js_obj info BUCKET``: settings and usage."""
    st = await (await store(bucket, ctx=ctx)).status()
    c = st.stream_info.config
    return BucketStatus(
        bucket=bucket, description=c.description, ttl=st.ttl or 0.0, storage=c.storage, replicas=st.replicas,
        max_bytes=c.max_bytes if c.max_bytes is not None else -1, sealed=st.sealed,
        objects=await _objects_count(bucket, ctx), bytes=st.size, stream=obj_stream(bucket), raw=st,
    )


@dataclasses.dataclass
class Removal:
    """What ``rm`` deletes: a whole bucket (``name`` None) or one object of it."""

    bucket: str
    name: str | None
    objects: int  # objects removed (1 for one object)
    bytes: int
    chunks: int | None = None  # the object's chunks (one object only)

    @property
    def what(self) -> str:
        """The phrase the refusal and the confirmation share."""
        if self.name is None:
            return f"bucket {self.bucket} with {plural(self.objects, 'object')} ({format_size(self.bytes)})"
        return f"object {self.name} ({format_size(self.bytes)}, {plural(self.chunks or 0, 'chunk')}) from bucket {self.bucket}"


async def remove_bucket(bucket: str, force: bool = False, *, ctx: JSContext | None = None) -> Removal:
    """``%js_obj rm BUCKET``: delete a bucket and every object in it (refuses without force)."""
    st = await (await store(bucket, ctx=ctx)).status()
    removal = Removal(bucket, None, await _objects_count(bucket, ctx), st.size)
    if not force:
        raise ForceRequiredError(f"would delete {removal.what}")
    await (await jetstream(ctx)).delete_object_store(bucket)
    return removal


# ---- objects -------------------------------------------------------------------------------
def object_row(info: api.ObjectInfo) -> dict[str, Any]:
    """An object as a row: name, size (bytes), chunks, modified, digest, deleted, description."""
    return {"name": info.name, "size": info.size or 0, "chunks": info.chunks or 0,
            "modified": timestamp(info.mtime), "digest": info.digest or "", "deleted": bool(info.deleted),
            "description": info.description or ""}


async def list_objects(bucket: str, deleted: bool = False, *, ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_obj ls BUCKET``: name, size, chunks, modified, digest, deleted (deleted ones with ``deleted``)."""
    infos = [i for i in await _metas(bucket, ctx) if deleted or not i.deleted]
    return pd.DataFrame([object_row(i) for i in infos], columns=OBJECT_COLUMNS).sort_values("name", ignore_index=True)


async def _metas(bucket: str, ctx: JSContext | None) -> list[api.ObjectInfo]:
    """Every object's latest meta record, read by subject: no consumer, nothing pushed to us.

    nats-py's ``ObjectStore.list`` watches through a push consumer and waits for ever when
    its deliveries cannot reach us (an imported JetStream without an exported inbox
    prefix); the stream's subject list and a get per subject work on any API prefix.
    """
    si = (await (await store(bucket, ctx=ctx)).status()).stream_info
    js = await jetstream(ctx)
    stream, direct = obj_stream(bucket), bool(si.config.allow_direct)
    found = await counting.subjects(stream, obj_all_meta(bucket), ctx=ctx)
    gate = asyncio.Semaphore(64)

    async def one(subject: str) -> api.ObjectInfo:
        async with gate:
            msg = await js.get_msg(stream, subject=subject, direct=direct)
        return api.ObjectInfo.from_response(json.loads(msg.data))

    return list(await asyncio.gather(*(one(s) for s in found)))


async def object_info(bucket: str, name: str, *, ctx: JSContext | None = None) -> api.ObjectInfo:
    """An object's ObjectInfo, or "did you mean" among the bucket's objects."""
    obs = await store(bucket, ctx=ctx)
    try:
        return await obs.get_info(name)
    except nats.js.errors.NotFoundError:
        names = (await list_objects(bucket, ctx=ctx))["name"].tolist()
        raise not_found(f"object in {bucket}:", name, names) from None


async def remove_object(bucket: str, name: str, force: bool = False, *, ctx: JSContext | None = None) -> Removal:
    """``%js_obj rm BUCKET NAME``: delete one object (refuses without force)."""
    info = await object_info(bucket, name, ctx=ctx)
    removal = Removal(bucket, name, 1, info.size or 0, info.chunks or 0)
    if not force:
        raise ForceRequiredError(f"would delete {removal.what}")
    await objwrite.delete(bucket, info, ctx=ctx)  # the one object writer (nats-py's delete wrote its own meta)
    return removal
