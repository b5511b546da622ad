"""The object store: buckets, and objects streamed to and from files in chunks - ``nats object``.

Objects use nats-py's on-the-wire layout (chunks on ``$O.<bucket>.C.<nuid>``, a rolled-up
meta message on ``$O.<bucket>.M.<name>``, SHA-256 digest), so the nats CLI and other
clients read what we write.  Put and get are our own because nats-py's put waits for one
ack per chunk and its get collects the whole object in memory: here a put keeps a small
window of chunk publishes in flight, a get pulls a few chunks at a time straight into the
file, so memory stays flat whatever the size; both show :class:`Progress` and verify the
digest (a get writes ``NAME.part`` and renames only when the digest matches).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import datetime as dt
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any, BinaryIO

import nats.js.errors
import pandas as pd
from nats.js import api

from ..core.config import settings
from ..core.registry import context, jetstream
from ..ui.display import result_frame
from ..core.errors import ForceRequiredError, InputError, JSMagicError, not_found
from ..ui.progress import Progress
from .reading import read_raw
from .streams import Report, config_params, paged, shown, timestamp
from ..core.units import format_duration, format_size, parse_duration, parse_size

CHUNK = 128 * 1024  # nats-py's and the nats CLI's default chunk size
WINDOW = 16  # chunk publishes in flight during a put (2 MiB)
GET_BATCH = 16  # chunks pulled per request during a get


# ---- buckets -------------------------------------------------------------------------------
async def bucket_names() -> list[str]:
    """Object store buckets (streams named ``OBJ_<bucket>``)."""
    return sorted(n[4:] for n in await paged("STREAM.NAMES", "streams") if n.startswith("OBJ_"))


async def store(bucket: str) -> Any:
    """nats-py's ObjectStore for ``bucket``, or a "did you mean" error."""
    js = await jetstream()
    try:
        return await js.object_store(bucket)
    except (nats.js.errors.BucketNotFoundError, nats.js.errors.NotFoundError):
        raise not_found("object store bucket", bucket, await bucket_names()) from None
    except nats.js.errors.InvalidBucketNameError:
        raise InputError(f"invalid bucket name {bucket!r}", hint="use letters, digits, - and _") from None


async def add_bucket(bucket: str, description: str | None = None, ttl: str | None = None,
                     max_bytes: str | None = None, storage: str | None = None, replicas: int = 1) -> Report:
    """``%js_obj add``: create a bucket (creating an existing one with the same settings is a no-op)."""
    js = await jetstream()
    cfg = api.ObjectStoreConfig(
        bucket=bucket, description=description, ttl=parse_duration(ttl) if ttl else None,
        max_bytes=parse_size(max_bytes) if max_bytes else None, replicas=replicas,
        storage=config_params(storage=storage)["storage"] if storage else None,  # a bad value: InputError
    )
    try:
        await js.create_object_store(bucket, config=cfg)
    except nats.js.errors.InvalidBucketNameError:
        raise InputError(f"invalid bucket name {bucket!r}", hint="use letters, digits, - and _") from None
    return await bucket_info(bucket)


async def _objects_count(bucket: str) -> int:
    """Objects (not deleted) in a bucket: one meta subject each, read from stream subjects."""
    return len(await list_objects(bucket))


async def list_buckets() -> pd.DataFrame:
    """``%js_obj ls``: one row per bucket."""
    rows = []
    for s in await paged("STREAM.LIST", "streams"):
        cfg, st = s["config"], s["state"]
        if not cfg["name"].startswith("OBJ_"):
            continue
        bucket = cfg["name"][4:]
        rows.append({"bucket": bucket, "description": cfg.get("description") or "",
                     "objects": await _objects_count(bucket), "bytes": st["bytes"], "size": format_size(st["bytes"]),
                     "storage": cfg.get("storage"), "replicas": cfg.get("num_replicas", 1),
                     "ttl": format_duration((cfg.get("max_age") or 0) / 1e9), "sealed": bool(cfg.get("sealed"))})
    df = pd.DataFrame(rows, columns=["bucket", "description", "objects", "bytes", "size", "storage", "replicas", "ttl", "sealed"])
    return result_frame(df.sort_values("bucket", ignore_index=True), f"{len(df)} object store bucket(s)")


async def bucket_info(bucket: str) -> Report:
    """``%js_obj info BUCKET``: settings and usage, readable."""
    st = await (await store(bucket)).status()
    c = st.stream_info.config
    config = {"description": c.description or "-", "ttl": format_duration(st.ttl), "storage": shown("", c.storage),
              "replicas": st.replicas, "max bytes": format_size(c.max_bytes if c.max_bytes is not None else -1),
              "sealed": st.sealed}
    state = {"objects": await _objects_count(bucket), "size": format_size(st.size), "stream": f"OBJ_{bucket}"}
    return Report(f"Object store {bucket}", {"Configuration": config, "State": state}, raw=st)


async def remove_bucket(bucket: str, force: bool = False) -> str:
    """``%js_obj rm BUCKET``: delete a bucket and every object in it (refuses without force)."""
    st = await (await store(bucket)).status()
    what = f"bucket {bucket} with {await _objects_count(bucket)} object(s) ({format_size(st.size)})"
    if not force:
        raise ForceRequiredError(f"would delete {what}")
    await (await jetstream()).delete_object_store(bucket)
    return f"Deleted {what}."


# ---- objects -------------------------------------------------------------------------------
def _row(info: api.ObjectInfo) -> dict[str, Any]:
    return {"name": info.name, "size": info.size or 0, "chunks": info.chunks or 0,
            "modified": timestamp(info.mtime), "digest": info.digest or "", "deleted": bool(info.deleted),
            "description": info.description or ""}


async def list_objects(bucket: str, deleted: bool = False) -> pd.DataFrame:
    """``%js_obj ls BUCKET``: name, size, chunks, modified, digest, deleted (deleted ones with ``deleted``)."""
    obs = await store(bucket)
    try:
        infos = await obs.list(ignore_deletes=not deleted)
    except nats.js.errors.NotFoundError:
        infos = []
    columns = ["name", "size", "chunks", "modified", "digest", "deleted", "description"]
    df = pd.DataFrame([_row(i) for i in infos], columns=columns).sort_values("name", ignore_index=True)
    return result_frame(df, f"{len(df)} object(s) in {bucket}, {format_size(int(df['size'].sum()) if len(df) else 0)}")


async def object_info(bucket: str, name: str) -> api.ObjectInfo:
    """An object's ObjectInfo, or "did you mean" among the bucket's objects."""
    obs = await store(bucket)
    try:
        return await obs.get_info(name)
    except nats.js.errors.NotFoundError:
        names = (await list_objects(bucket))["name"].tolist()
        raise not_found(f"object in {bucket}:", name, names) from None


def _meta_subject(bucket: str, name: str) -> str:
    return f"$O.{bucket}.M.{base64.urlsafe_b64encode(name.encode()).decode()}"


async def put(bucket: str, source: BinaryIO, name: str, description: str | None = None,
              size: int | None = None, headers: dict | None = None) -> pd.Series:
    """Store what ``source`` reads as object ``name``, chunk by chunk (never whole in memory).

    A failure or interrupt removes the chunks already sent; the previous version of the
    object stays intact until the new one is complete.
    """
    obs = await store(bucket)
    js, nc = await jetstream(), context().nc
    nuid = nc._nuid.next().decode()
    chunk_subject = f"$O.{bucket}.C.{nuid}"
    try:
        previous = await obs.get_info(name)
    except nats.js.errors.NotFoundError:
        previous = None
    digest, total, chunks = hashlib.sha256(), 0, 0
    inflight: collections.deque = collections.deque()
    progress = Progress(f"put {name}", size)
    try:
        while data := source.read(CHUNK):
            digest.update(data)
            inflight.append(await js.publish_async(chunk_subject, data, stream=f"OBJ_{bucket}"))
            total, chunks = total + len(data), chunks + 1
            while len(inflight) >= WINDOW:
                await asyncio.wait_for(inflight.popleft(), settings().timeout)
            progress(total)
        while inflight:
            await asyncio.wait_for(inflight.popleft(), settings().timeout)
        info = api.ObjectInfo(
            name=name, description=description, headers=headers, bucket=bucket, nuid=nuid, size=total,
            chunks=chunks, mtime=dt.datetime.now(dt.timezone.utc).isoformat(),
            options=api.ObjectMetaOptions(max_chunk_size=CHUNK),
            digest="SHA-256=" + base64.urlsafe_b64encode(digest.digest()).decode(),
        )
        await js.publish(_meta_subject(bucket, name), json.dumps(info.as_dict()).encode(),
                         headers={"Nats-Rollup": "sub"})
    except BaseException:
        for fut in inflight:
            fut.cancel()
        await js.purge_stream(f"OBJ_{bucket}", subject=chunk_subject)
        raise
    finally:
        progress.close()
    if previous is not None and not previous.deleted:
        await js.purge_stream(f"OBJ_{bucket}", subject=f"$O.{bucket}.C.{previous.nuid}")
    return pd.Series(_row(info), name=name)


async def put_file(bucket: str, path: str | os.PathLike, name: str | None = None,
                   description: str | None = None) -> pd.Series:
    """``%js_obj put BUCKET FILE``: stream a file in (name defaults to the file's name)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"no such file {str(path)!r}")
    with p.open("rb") as f:
        return await put(bucket, f, name or p.name, description, size=p.stat().st_size)


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


async def get(bucket: str, name: str, out: str | os.PathLike | None = None) -> bytes | Path:
    """``%js_obj get``: the object's bytes, or written to ``out`` chunk by chunk; digest verified."""
    info = await object_info(bucket, name)
    if info.options and info.options.link:
        link = info.options.link
        if not link.name:
            raise InputError(f"{name} links to a whole bucket ({link.bucket})", hint="get an object from that bucket")
        return await get(link.bucket, link.name, out)
    target = Path(out).expanduser() if out is not None else None
    part = target.with_name(target.name + ".part") if target is not None else None
    sink: Any = part.open("wb") if part is not None else bytearray()
    digest, got = hashlib.sha256(), [0]
    progress = Progress(f"get {name}", info.size)

    def write(msg: Any) -> None:
        digest.update(msg.data)
        sink.write(msg.data) if part is not None else sink.extend(msg.data)
        got[0] += len(msg.data)

    cfg = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.ALL, filter_subject=f"$O.{bucket}.C.{info.nuid}",
                             mem_storage=True)
    try:
        interrupted = False
        if info.size:
            interrupted = await read_raw(f"OBJ_{bucket}", cfg, write, batch=GET_BATCH, progress=lambda *_: progress(got[0]))
    finally:
        if part is not None:
            sink.close()
        progress.close()
    expected = base64.urlsafe_b64decode(info.digest.split("=", 1)[1]) if info.digest else b""
    ok = not interrupted and got[0] == info.size and (not info.size or digest.digest() == expected)
    if not ok:
        if part is not None:
            part.unlink(missing_ok=True)
        if interrupted:
            raise asyncio.CancelledError()
        raise JSMagicError(f"object {name} in {bucket} failed verification ({got[0]:,} of {info.size:,} bytes, "
                           "digest mismatch or chunks missing); nothing was written", hint="put it again")
    if target is None:
        return bytes(sink)
    os.replace(part, target)
    return target


async def remove_object(bucket: str, name: str, force: bool = False) -> str:
    """``%js_obj rm BUCKET NAME``: delete one object (refuses without force)."""
    info = await object_info(bucket, name)
    what = f"object {name} ({format_size(info.size or 0)}, {info.chunks or 0} chunk(s)) from bucket {bucket}"
    if not force:
        raise ForceRequiredError(f"would delete {what}")
    await (await store(bucket)).delete(name)
    return f"Deleted {what}."


def describe_object(info: api.ObjectInfo) -> Report:
    """An ObjectInfo as readable fields."""
    row = _row(info)
    row["size"] = f"{format_size(row['size'])} ({row['size']:,} bytes)"
    return Report(f"Object {info.bucket}/{info.name}", {"Object": row}, raw=info)


# ---- watch ---------------------------------------------------------------------------------
class ObjectWatch:
    """A live view of a bucket's objects: a :class:`jsmagic.ui.livetable.LiveTable` kept current by a
    background task (an ordered consumer on the bucket's meta subjects).

    We do not use nats-py's ``ObjectWatcher``: its ``stop()`` does not end an ``async for``.
    Here :meth:`stop` (or the widget's Stop button, or ``%js_close``) ends the task, whose
    ``finally`` unsubscribes - nothing is left behind.
    """

    COLUMNS = ["name", "size", "chunks", "modified", "digest"]

    def __init__(self, bucket: str):
        from ..ui.livetable import LiveTable

        self.bucket = bucket
        self.table = LiveTable(self.COLUMNS, key="name", title=f"object store {bucket}", on_stop=self._request_stop,
                               formatters={"size": format_size})
        self._stopping = asyncio.Event()
        self.entry: Any = None

    @property
    def df(self) -> pd.DataFrame:
        """The objects as they are now."""
        return self.table.df

    @property
    def events(self) -> int:
        return self.table.events

    def _on_meta(self, data: bytes) -> None:
        info = api.ObjectInfo.from_response(json.loads(data))
        if info.deleted:
            self.table.remove(info.name)
        else:
            row = _row(info)
            self.table.upsert(tuple(row[c] for c in self.COLUMNS))

    async def start(self) -> "ObjectWatch":
        """Subscribe (current objects first, then changes) and run until stopped."""
        await store(self.bucket)
        js = await jetstream()

        async def on_msg(msg: Any) -> None:
            self._on_meta(msg.data)

        sub = await js.subscribe(f"$O.{self.bucket}.M.>", cb=on_msg, ordered_consumer=True,
                                 deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT)
        self.entry = context().spawn(self._run(sub), f"obj watch {self.bucket}", kind="watch",
                                     describe=lambda: f"{len(self.table):,} objects, {self.table.events:,} events")
        return self

    async def _run(self, sub: Any) -> None:
        try:
            await self._stopping.wait()
        finally:
            try:
                await sub.unsubscribe()
            except Exception:
                pass  # the connection is closing: the server drops the consumer anyway
            if not self.table.stopped:
                self.table.finish()

    def _request_stop(self) -> None:
        self._stopping.set()

    def stop(self) -> None:
        """Stop watching (the table keeps its last state)."""
        self.table.stop()
        self._stopping.set()

    @property
    def running(self) -> bool:
        return self.entry is not None and self.entry.running()

    def __repr__(self) -> str:
        state = "live" if self.running else "stopped"
        return f"<ObjectWatch {self.bucket} {state}: {len(self.table):,} objects, {self.table.events:,} events>"


async def watch(bucket: str) -> ObjectWatch:
    """``%js_obj watch BUCKET``: a started :class:`ObjectWatch`."""
    return await ObjectWatch(bucket).start()
