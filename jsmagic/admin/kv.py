"""Key-Value buckets: the verbs of ``nats kv`` as plain coroutines returning Python values and frames.

Everything here works without IPython (``await jsmagic.admin.kv.view("config")``) and
returns data: numbers in plain units (bytes, seconds), DataFrames, dataclasses;
``jsmagic.ui.buckets`` shows them with units and summaries.  Where nats-py falls short
we go to the bucket's stream ourselves:

- ``keys``/``view`` filter keys on the server with NATS wildcards (``users.*`` matches
  ``users.a`` but not ``users.a.b``), reading the last message per subject through an
  ordered consumer (:mod:`jsmagic.admin.kvread`) instead of nats-py's
  substring filter or the multi-last batch get that the server refuses over 1024 keys;
- buckets are created with direct get on, so ``get`` is one request to any replica;
- optimistic ``update``/``create`` refusals become one-line :class:`ConflictError`\\ s.

Every verb takes ``ctx=None``: the current connection, or the one given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import nats.js.errors
from nats.js.api import KeyValueConfig, StorageType, StreamInfo

from ..core.context import JSContext
from ..core.decode import decoder, encode_value, value_column, with_errors
from ..core.errors import ConflictError, ForceRequiredError, InputError, NotFoundError, not_found
from ..core.registry import connected, current, jetstream
from ..core.units import plural
from ..jsapi import kv_stream, kv_subject, stored_time
from . import kvread, kvwrite
from .kvrecords import latest
from .kvwatch import frame_times, operation
from .scan import ProgressFn
from .streams import stream_names

_BUCKET = re.compile(r"^[a-zA-Z0-9_-]+$")
_KEY = re.compile(r"^[-/_=.a-zA-Z0-9]+$")
_PATTERN_TOKEN = re.compile(r"^([-/_=a-zA-Z0-9]+|\*|>)$")
_STREAM_PREFIX = kv_stream("")  # every bucket's stream is named KV_<bucket>


# ---- names ----------------------------------------------------------------------------
def check_bucket(bucket: str) -> str:
    """A valid bucket name, or a one-line error (before any request is sent)."""
    if not bucket or not _BUCKET.match(bucket):
        raise InputError(f"invalid bucket name {bucket!r}", hint="use letters, digits, '-' and '_'")
    return bucket


def check_key(key: str) -> str:
    """A valid key (no wildcards, no empty tokens)."""
    if not key or not _KEY.match(key) or key.startswith(".") or key.endswith(".") or ".." in key:
        raise InputError(f"invalid key {key!r}", hint="keys are tokens of letters, digits, -/_= separated by '.'")
    return key


def check_pattern(pattern: str) -> str:
    """A key pattern with NATS wildcards: ``*`` one token, ``>`` the rest (last token only)."""
    tokens = pattern.split(".")
    ok = all(_PATTERN_TOKEN.match(t) for t in tokens) and ">" not in tokens[:-1]
    if not ok:
        raise InputError(f"invalid key pattern {pattern!r}", hint="e.g. users.*, db.>, or a plain key")
    return pattern


# ---- buckets ----------------------------------------------------------------------------
@dataclasses.dataclass
class Bucket:
    """A bucket's configuration and state in plain units (``jsmagic.ui.buckets`` shows them readable)."""

    bucket: str
    values: int
    history: int
    ttl: float  # seconds a value lives; 0 for ever
    storage: str
    replicas: int
    max_value_size: int | None  # bytes; -1 unlimited
    max_bucket_size: int | None  # bytes; -1 unlimited
    bytes: int
    direct: bool
    description: str
    marker_ttl: float = 0.0  # server 2.11: seconds a limit marker lives (0: no markers, no per-key TTL markers)

    @classmethod
    def of(cls, si: StreamInfo) -> "Bucket":
        c, s = si.config, si.state
        return cls(
            bucket=c.name[len(_STREAM_PREFIX):], values=s.messages, history=c.max_msgs_per_subject,
            ttl=c.max_age or 0.0, storage=getattr(c.storage, "value", c.storage) or "file",
            replicas=c.num_replicas, max_value_size=c.max_msg_size, max_bucket_size=c.max_bytes,
            bytes=s.bytes, direct=bool(c.allow_direct), description=c.description or "",
            marker_ttl=getattr(c, "subject_delete_marker_ttl", None) or 0.0,  # nats-py 2.16+
        )


COLUMNS = [f.name for f in dataclasses.fields(Bucket)]


@dataclasses.dataclass
class _Handle:
    """A bucket as the verbs use it: the stream info read when it was made (writes go through :mod:`.kvwrite`)."""

    stream: StreamInfo

    @property
    def direct(self) -> bool:
        """Whether the bucket's stream answers direct gets (any replica, no leader round trip)."""
        return bool(self.stream.config.allow_direct)


async def buckets(*, ctx: JSContext | None = None) -> list[str]:
    """Names of every bucket (streams named ``KV_*``), every page of the stream list."""
    names = await stream_names(ctx=ctx)
    return [n[len(_STREAM_PREFIX):] for n in names if n.startswith(_STREAM_PREFIX)]


async def _bucket(bucket: str, ctx: JSContext | None = None) -> _Handle:
    """The bucket's handle, or "unknown bucket ... did you mean"."""
    js = await jetstream(ctx)
    stream = kv_stream(check_bucket(bucket))
    try:
        si = await js.stream_info(stream)
    except nats.js.errors.NotFoundError:
        raise not_found("bucket", bucket, await buckets(ctx=ctx)) from None
    if (si.config.max_msgs_per_subject or 0) < 1:
        raise nats.js.errors.BadBucketError  # a stream named like a bucket that is not one
    return _Handle(si)


def marker_option(marker_ttl: float | None) -> dict:
    """``limit_marker_ttl`` for KeyValueConfig when asked (nats-py 2.16+; older ones lack the field)."""
    if not marker_ttl:
        return {}
    if "limit_marker_ttl" not in KeyValueConfig.__dataclass_fields__:
        raise InputError("--marker-ttl needs nats-py 2.16 or newer", hint="pip install -U nats-py")
    return {"limit_marker_ttl": marker_ttl}


async def add(
    bucket: str,
    history: int = 1,
    ttl: float | None = None,
    storage: str = "file",
    replicas: int = 1,
    max_value_size: int | None = None,
    max_bucket_size: int | None = None,
    description: str | None = None,
    *,
    marker_ttl: float | None = None,
    ctx: JSContext | None = None,
) -> Bucket:
    """Create a bucket (direct get on); creating an identical one again is harmless."""
    if not 1 <= history <= 64:
        raise InputError(f"--history {history} is out of range", hint="a bucket keeps 1 to 64 revisions per key")
    if storage not in ("file", "memory"):
        raise InputError(f"unknown storage {storage!r}", hint="use file or memory")
    js = await jetstream(ctx)
    config = KeyValueConfig(
        bucket=check_bucket(bucket), description=description, history=history, ttl=ttl or None,
        storage=StorageType(storage), replicas=replicas, max_value_size=max_value_size,
        max_bytes=max_bucket_size, direct=True, **marker_option(marker_ttl),
    )
    await js.create_key_value(config=config)
    return await info(bucket, ctx=ctx)


async def info(bucket: str, *, ctx: JSContext | None = None) -> Bucket:
    """The bucket's configuration and state."""
    return Bucket.of((await _bucket(bucket, ctx)).stream)


async def ls(*, ctx: JSContext | None = None):
    """Every bucket with its size and settings, as a frame sorted by name (sizes in bytes, ttl in seconds).

    A bucket whose stream has no leader at the moment is no row: ``attrs["missing"]``
    names it (bucket -> why) and ``attrs["notes"]`` says it in one line.
    """
    import pandas as pd

    ctx = await connected(ctx)
    listing = await ctx.api.listing("STREAM.LIST", "streams")
    rows = [dataclasses.asdict(Bucket.of(StreamInfo.from_response(s))) for s in listing.items
            if s["config"]["name"].startswith(_STREAM_PREFIX)]
    frame = pd.DataFrame(rows, columns=COLUMNS).sort_values("bucket", ignore_index=True)
    return listing.mark(frame, "bucket", _STREAM_PREFIX)


async def rm(bucket: str, force: bool = False, *, ctx: JSContext | None = None) -> int:
    """Delete a bucket and all its values (only with ``force``); returns how many values it held."""
    handle = await _bucket(bucket, ctx)
    values = handle.stream.state.messages
    if not force:
        raise ForceRequiredError(f"rm would delete bucket {bucket!r} and its {plural(values, 'value')}")
    await (await jetstream(ctx)).delete_key_value(bucket)
    return values


# ---- keys ---------------------------------------------------------------------------------
@dataclasses.dataclass
class Entry:
    """One key's value as ``get`` returns it (``value`` decoded; ``decode_error`` says why it could not be)."""

    bucket: str
    key: str
    value: Any
    revision: int
    time: dt.datetime | None
    decode_error: str | None = None


async def put(bucket: str, key: str, value: Any, *, ctx: JSContext | None = None) -> int:
    """Store a value (bytes as is, str as UTF-8, others as JSON); returns the revision."""
    await _bucket(bucket, ctx)
    return await kvwrite.write(bucket, check_key(key), encode_value(value), ctx=ctx)


async def get(bucket: str, key: str, revision: int | None = None, decode: Any = "auto", *,
              ctx: JSContext | None = None) -> Entry:
    """The latest value of ``key`` (or the one at ``revision``)."""
    dec = decoder(decode)
    handle = await _bucket(bucket, ctx)
    js = await jetstream(ctx)
    subject = kv_subject(bucket, check_key(key))
    stream = kv_stream(bucket)
    try:
        if revision:
            msg = await js.get_msg(stream, seq=revision, direct=handle.direct)
        else:
            msg = await js.get_msg(stream, subject=subject, direct=handle.direct)
    except nats.js.errors.NotFoundError:
        msg = None
    if msg is None or msg.subject != subject:
        at = f" at revision {revision}" if revision else ""
        raise NotFoundError(f"no key {key!r} in bucket {bucket!r}{at}", hint="list them with %js_kv keys " + bucket)
    op = operation(msg.headers)
    if op != "PUT":
        raise NotFoundError(f"key {key!r} was {'deleted' if op.startswith('DEL') else 'purged'} (revision {msg.seq})")
    value, error = dec.one(msg.data or b"", msg.headers, msg.seq)
    return Entry(bucket, key, value, msg.seq, stored_time(msg), error)


async def update(bucket: str, key: str, value: Any, last: int, *, ctx: JSContext | None = None) -> int:
    """Store ``value`` only if the key's latest revision is ``last``."""
    await _bucket(bucket, ctx)
    try:
        return await kvwrite.write(bucket, check_key(key), encode_value(value), last=last, ctx=ctx)
    except nats.js.errors.KeyWrongLastSequenceError:
        now = await _current_revision(bucket, key, ctx)
        raise ConflictError(f"update refused: {key!r} is at revision {now}, not {last}") from None


async def create(bucket: str, key: str, value: Any, *, ctx: JSContext | None = None) -> int:
    """Store ``value`` only if the key does not exist (or was deleted)."""
    await _bucket(bucket, ctx)
    data = encode_value(value)
    try:
        try:
            return await kvwrite.write(bucket, check_key(key), data, last=0, ctx=ctx)
        except nats.js.errors.KeyWrongLastSequenceError:
            marker = await _deleted_at(bucket, key, ctx)  # a deleted key may be created again
            if marker is None:
                raise
            return await kvwrite.write(bucket, key, data, last=marker, ctx=ctx)
    except nats.js.errors.KeyWrongLastSequenceError:
        now = await _current_revision(bucket, key, ctx)
        raise ConflictError(f"create refused: {key!r} already exists (revision {now})") from None


async def _deleted_at(bucket: str, key: str, ctx: JSContext | None) -> int | None:
    """The revision of the key's delete/purge marker, or None when its latest record is a value."""
    handle = await _bucket(bucket, ctx)
    try:
        msg = await (await jetstream(ctx)).get_msg(kv_stream(bucket), subject=kv_subject(bucket, key),
                                                   direct=handle.direct)
    except nats.js.errors.NotFoundError:
        return None
    return msg.seq if operation(msg.headers) != "PUT" else None


async def _current_revision(bucket: str, key: str, ctx: JSContext | None) -> int | str:
    try:
        return (await get(bucket, key, ctx=ctx)).revision
    except NotFoundError:
        return "?"


async def delete(bucket: str, key: str, *, ctx: JSContext | None = None) -> Entry:
    """Place a delete marker (history is kept); returns the entry that was current."""
    await _bucket(bucket, ctx)
    entry = await get(bucket, key, ctx=ctx)  # a clear error for an absent key, instead of a silent marker
    await kvwrite.write(bucket, check_key(key), op="DEL", ctx=ctx)
    return entry


async def purge(bucket: str, key: str, force: bool = False, *, ctx: JSContext | None = None) -> int:
    """Remove a key and all its revisions (only with ``force``); returns how many revisions it had."""
    await _bucket(bucket, ctx)  # a missing bucket is one line
    if not force:
        raise ForceRequiredError(f"purge would remove {key!r} and every revision of it from {bucket!r}")
    subject = kv_subject(bucket, check_key(key))
    si = await (await jetstream(ctx)).stream_info(kv_stream(bucket), subjects_filter=subject)
    await kvwrite.write(bucket, key, op="PURGE", ctx=ctx)
    return (si.state.subjects or {}).get(subject, 0)


# ---- reading many keys through the stream ----------------------------------------------------
async def _read(bucket: str, pattern: str, mode: str, headers_only: bool = False,
                progress: ProgressFn | None = None, ctx: JSContext | None = None) -> tuple[list[tuple], bool]:
    """Every record matching ``$KV.<bucket>.<pattern>`` as (key, data, headers, revision, ns) (:mod:`.kvread`)."""
    ctx = current(ctx)
    handle = await _bucket(bucket, ctx)
    subject = kv_subject(bucket, check_pattern(pattern))
    return await kvread.read(ctx, handle.stream, bucket, subject, mode, headers_only=headers_only, progress=progress)


async def keys(bucket: str, pattern: str = ">", *, progress: ProgressFn | None = None,
               ctx: JSContext | None = None) -> list[str]:
    """Current keys matching a NATS wildcard pattern, filtered by the server, sorted."""
    records, _ = await _read(bucket, pattern, "last", headers_only=True, progress=progress, ctx=ctx)
    return sorted(latest(records))


async def view(bucket: str, pattern: str = ">", decode: Any = "auto", *, progress: ProgressFn | None = None,
               ctx: JSContext | None = None):
    """Every current key with its value (decoded), revision and time, as a frame sorted by key.

    ``df.attrs["interrupted"]`` says whether an interrupt cut the read short; a ``decode_error``
    column names a value that could not be decoded.
    """
    import pandas as pd

    dec = decoder(decode)
    records, interrupted = await _read(bucket, pattern, "last", progress=progress, ctx=ctx)
    last = latest(records)
    ordered = [last[k] for k in sorted(last)]
    values, errors = dec.many([r[1] for r in ordered], [r[2] for r in ordered], [r[3] for r in ordered])
    df = with_errors(pd.DataFrame({"key": [r[0] for r in ordered], "value": value_column(values),
                                   "revision": pd.array([r[3] for r in ordered], dtype="int64"),
                                   "time": frame_times([r[4] for r in ordered])}), errors)
    df.attrs["interrupted"] = interrupted
    return df


async def history(bucket: str, key: str, decode: Any = "auto", *, progress: ProgressFn | None = None,
                  ctx: JSContext | None = None):
    """Every kept revision of ``key``: revision, operation, value, time (``attrs`` and ``decode_error`` as ``view``)."""
    import pandas as pd

    dec = decoder(decode)
    records, interrupted = await _read(bucket, check_key(key), "all", progress=progress, ctx=ctx)
    if not records:
        raise NotFoundError(f"no key {key!r} in bucket {bucket!r}", hint="list them with %js_kv keys " + bucket)
    ops = [operation(r[2]) for r in records]
    values, errors = dec.many([r[1] if op == "PUT" else None for r, op in zip(records, ops)],
                              [r[2] for r in records], [r[3] for r in records])
    df = with_errors(pd.DataFrame({"revision": pd.array([r[3] for r in records], dtype="int64"), "operation": ops,
                                   "value": value_column(values), "time": frame_times([r[4] for r in records])}),
                     errors)
    df.attrs["interrupted"] = interrupted
    return df
