"""Writing to an object store: an object's meta record, its removal, dropping a version's chunks.

An object is chunks on ``$O.<bucket>.C.<nuid>`` and one rolled-up meta record on
``$O.<bucket>.M.<name>`` (every client's layout, :mod:`jsmagic.jsapi`'s ``obj_*``).  A put
(:mod:`.objtransfer`) publishes its chunks, then :func:`write_meta`; ``%js_obj rm`` is
:func:`delete`: a meta record marked deleted, then the chunks purged, as every client does.
Every object write of jsmagic ends here (nats-py's ``ObjectStore.delete`` was a second
meta writer beside the put's).
"""

from __future__ import annotations

import dataclasses
import json

from nats.js import api

from ..core.context import JSContext
from ..core.registry import jetstream
from ..jsapi import obj_chunks, obj_meta, obj_stream

ROLLUP = {"Nats-Rollup": "sub"}  # the meta record replaces the object's earlier ones


async def write_meta(bucket: str, info: api.ObjectInfo, *, ctx: JSContext | None = None) -> int:
    """Publish ``info`` as the meta record of object ``info.name``; its sequence in the bucket's stream."""
    js = await jetstream(ctx)
    ack = await js.publish(obj_meta(bucket, info.name), json.dumps(info.as_dict()).encode(), headers=ROLLUP)
    return ack.seq


async def drop_chunks(bucket: str, nuid: str, *, ctx: JSContext | None = None) -> None:
    """Purge the chunks of one version of an object (its ``nuid``)."""
    await (await jetstream(ctx)).purge_stream(obj_stream(bucket), subject=obj_chunks(bucket, nuid))


async def delete(bucket: str, info: api.ObjectInfo, *, ctx: JSContext | None = None) -> None:
    """Mark the object deleted (size, chunks and digest cleared) and purge its chunks, even if the mark fails."""
    gone = dataclasses.replace(info, deleted=True, size=0, chunks=0, digest="", mtime="")
    try:
        await write_meta(bucket, gone, ctx=ctx)
    finally:
        await drop_chunks(bucket, info.nuid, ctx=ctx)
