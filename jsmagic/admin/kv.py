"""Key-Value buckets: the verbs of ``nats kv`` as plain coroutines returning Python values and frames.

Everything here works without IPython (``await jsmagic.admin.kv.view("config")``).  Where
nats-py falls short we go to the bucket's stream ourselves:

- ``keys``/``view`` filter keys on the server with NATS wildcards (``users.*`` matches
  ``users.a`` but not ``users.a.b``), reading the last message per subject through an
  ordered consumer (:class:`jsmagic.admin.kvwatch.OrderedReader`) instead of nats-py's
  substring filter or the multi-last batch get that the server refuses over 1024 keys;
- buckets are created with direct get on, so ``get`` is one request to any replica;
- optimistic ``update``/``create`` refusals become one-line :class:`ConflictError`\\ s.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
from typing import Any

import nats.js.errors
from nats.js.api import KeyValueConfig, StorageType

from ..core.registry import context
from ..core.decode import decode_value, encode_value, value_column
from ..ui.display import result_frame
from ..core.errors import ConflictError, ForceRequiredError, InputError, NotFoundError, TimeoutError, not_found
from .kvwatch import OrderedReader, frame_times, operation
from ..ui.progress import Progress
from ..core.config import settings
from ..core.units import format_duration, format_size

_BUCKET = re.compile(r"^[a-zA-Z0-9_-]+$")
_KEY = re.compile(r"^[-/_=.a-zA-Z0-9]+$")
_PATTERN_TOKEN = re.compile(r"^([-/_=a-zA-Z0-9]+|\*|>)$")


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
async def buckets() -> list[str]:
    """Names of every bucket (streams named ``KV_*``)."""
    js = await context().jetstream()
    return sorted(s.config.name[3:] for s in await js.streams_info() if s.config.name.startswith("KV_"))


async def _bucket(bucket: str):
    """The nats-py KeyValue handle, or "unknown bucket ... did you mean"."""
    js = await context().jetstream()
    try:
        return await js.key_value(check_bucket(bucket))
    except (nats.js.errors.BucketNotFoundError, nats.js.errors.NotFoundError):
        raise not_found("bucket", bucket, await buckets()) from None


async def add(
    bucket: str,
    history: int = 1,
    ttl: float | None = None,
    storage: str = "file",
    replicas: int = 1,
    max_value_size: int | None = None,
    max_bucket_size: int | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Create a bucket (direct get on); creating an identical one again is harmless."""
    if not 1 <= history <= 64:
        raise InputError(f"--history {history} is out of range", hint="a bucket keeps 1 to 64 revisions per key")
    if storage not in ("file", "memory"):
        raise InputError(f"unknown storage {storage!r}", hint="use file or memory")
    js = await context().jetstream()
    config = KeyValueConfig(
        bucket=check_bucket(bucket), description=description, history=history, ttl=ttl or None,
        storage=StorageType(storage), replicas=replicas, max_value_size=max_value_size,
        max_bytes=max_bucket_size, direct=True,
    )
    await js.create_key_value(config=config)
    return await info(bucket)


async def info(bucket: str) -> dict[str, Any]:
    """The bucket's configuration and state."""
    js = await context().jetstream()
    await _bucket(bucket)
    si = await js.stream_info(f"KV_{bucket}")
    return _bucket_row(si)


def _bucket_row(si) -> dict[str, Any]:
    c, s = si.config, si.state
    return {
        "bucket": c.name[3:],
        "values": s.messages,
        "history": c.max_msgs_per_subject,
        "ttl": format_duration(c.max_age),
        "storage": getattr(c.storage, "value", c.storage) or "file",
        "replicas": c.num_replicas,
        "max_value_size": format_size(c.max_msg_size),
        "max_bucket_size": format_size(c.max_bytes),
        "size": format_size(s.bytes),
        "direct": bool(c.allow_direct),
        "description": c.description or "",
    }


async def ls():
    """Every bucket with its size and settings, as a frame."""
    import pandas as pd

    js = await context().jetstream()
    rows = [_bucket_row(s) for s in await js.streams_info() if s.config.name.startswith("KV_")]
    df = pd.DataFrame(rows, columns=["bucket", "values", "history", "ttl", "storage", "replicas",
                                     "max_value_size", "max_bucket_size", "size", "direct", "description"])
    return result_frame(df.sort_values("bucket", ignore_index=True), f"{len(df)} bucket(s)")


async def rm(bucket: str, force: bool = False) -> str:
    """Delete a bucket and all its values (only with ``force``)."""
    js = await context().jetstream()
    await _bucket(bucket)
    if not force:
        si = await js.stream_info(f"KV_{bucket}")
        raise ForceRequiredError(f"rm would delete bucket {bucket!r} and its {si.state.messages:,} value(s)")
    await js.delete_key_value(bucket)
    return f"deleted bucket {bucket}"


# ---- keys ---------------------------------------------------------------------------------
@dataclasses.dataclass
class Entry:
    """One key's value as ``get`` returns it (``value`` decoded)."""

    bucket: str
    key: str
    value: Any
    revision: int
    time: dt.datetime | None

    def line(self) -> str:
        when = self.time.isoformat(timespec="milliseconds") if self.time else "?"
        return f"{self.bucket} {self.key} @ revision {self.revision}, {when}"


async def put(bucket: str, key: str, value: Any) -> int:
    """Store a value (bytes as is, str as UTF-8, others as JSON); returns the revision."""
    kv = await _bucket(bucket)
    return await kv.put(check_key(key), encode_value(value))


async def get(bucket: str, key: str, revision: int | None = None, decode: str = "auto") -> Entry:
    """The latest value of ``key`` (or the one at ``revision``)."""
    kv = await _bucket(bucket)
    js = await context().jetstream()
    subject = f"$KV.{bucket}.{check_key(key)}"
    try:
        if revision:
            msg = await js.get_msg(f"KV_{bucket}", seq=revision, direct=kv._direct)
        else:
            msg = await js.get_msg(f"KV_{bucket}", subject=subject, direct=kv._direct)
    except nats.js.errors.NotFoundError:
        msg = None
    if msg is None or msg.subject != subject:
        at = f" at revision {revision}" if revision else ""
        raise NotFoundError(f"no key {key!r} in bucket {bucket!r}{at}", hint="list them with %js_kv keys " + bucket)
    op = operation(msg.headers)
    if op != "PUT":
        raise NotFoundError(f"key {key!r} was {'deleted' if op == 'DEL' else 'purged'} (revision {msg.seq})")
    return Entry(bucket, key, decode_value(msg.data or b"", decode), msg.seq, msg.time)


async def update(bucket: str, key: str, value: Any, last: int) -> int:
    """Store ``value`` only if the key's latest revision is ``last``."""
    kv = await _bucket(bucket)
    try:
        return await kv.update(check_key(key), encode_value(value), last=last)
    except nats.js.errors.KeyWrongLastSequenceError:
        current = await _current_revision(bucket, key)
        raise ConflictError(f"update refused: {key!r} is at revision {current}, not {last}") from None


async def create(bucket: str, key: str, value: Any) -> int:
    """Store ``value`` only if the key does not exist (or was deleted)."""
    kv = await _bucket(bucket)
    try:
        return await kv.create(check_key(key), encode_value(value))
    except nats.js.errors.KeyWrongLastSequenceError:
        current = await _current_revision(bucket, key)
        raise ConflictError(f"create refused: {key!r} already exists (revision {current})") from None


async def _current_revision(bucket: str, key: str) -> int | str:
    try:
        return (await get(bucket, key)).revision
    except NotFoundError:
        return "?"


async def delete(bucket: str, key: str) -> str:
    """Place a delete marker (history is kept)."""
    kv = await _bucket(bucket)
    await get(bucket, key)  # a clear error for an absent key, instead of a silent marker
    await kv.delete(check_key(key))
    return f"deleted {key} from {bucket}"


async def purge(bucket: str, key: str, force: bool = False) -> str:
    """Remove a key and all its revisions (only with ``force``)."""
    kv = await _bucket(bucket)
    if not force:
        raise ForceRequiredError(f"purge would remove {key!r} and every revision of it from {bucket!r}")
    await kv.purge(check_key(key))
    return f"purged {key} from {bucket}"


# ---- reading many keys through the stream ----------------------------------------------------
async def _read(bucket: str, pattern: str, mode: str, headers_only: bool = False) -> tuple[list[tuple], bool]:
    """Every record matching ``$KV.<bucket>.<pattern>`` as (key, data, headers, revision, ns).

    Reads until the consumer has delivered everything that existed when it was created.
    Returns the records and whether a kernel interrupt cut the read short.
    """
    await _bucket(bucket)
    ctx = context()
    pre = f"$KV.{bucket}."
    records: list[tuple] = []
    append = records.append

    def on_record(subject, data, headers, seq, tm, pending):
        append((subject[len(pre):], data, headers, seq, tm))

    reader = OrderedReader(ctx.nc, ctx.js, f"KV_{bucket}", pre + check_pattern(pattern), on_record,
                           mode=mode, headers_only=headers_only)
    interrupted = False
    progress = None
    try:
        expected = await reader.start()
        progress = Progress(f"reading {bucket}", expected or None, unit="messages")
        while not reader.caught_up.is_set() and not (reader.resets == 0 and reader.records >= expected):
            seen = reader.records
            try:
                await asyncio.wait_for(reader.caught_up.wait(), timeout=min(0.25, settings().timeout))
            except asyncio.TimeoutError:
                progress(reader.records)
                if reader.needs_reset.is_set():
                    await reader.reset()
                elif reader.records == seen and reader.silent:
                    raise TimeoutError(f"reading bucket {bucket!r} stalled") from None
    except asyncio.CancelledError:
        interrupted = True
    finally:
        await reader.stop()
        if progress is not None:
            progress.close()
    return records, interrupted


def _latest(records: list[tuple]) -> dict[str, tuple]:
    """The last record per key, deleted/purged keys dropped (a resumed read may repeat keys)."""
    last: dict[str, tuple] = {}
    for rec in records:
        last[rec[0]] = rec
    return {k: r for k, r in last.items() if operation(r[2]) == "PUT"}


async def keys(bucket: str, pattern: str = ">") -> list[str]:
    """Current keys matching a NATS wildcard pattern, filtered by the server, sorted."""
    records, _ = await _read(bucket, pattern, "last", headers_only=True)
    return sorted(_latest(records))


async def view(bucket: str, pattern: str = ">", decode: str = "auto"):
    """Every current key with its value (decoded), revision and time, as a frame sorted by key."""
    import pandas as pd

    records, interrupted = await _read(bucket, pattern, "last")
    latest = _latest(records)
    ordered = [latest[k] for k in sorted(latest)]
    df = pd.DataFrame(
        {
            "key": [r[0] for r in ordered],
            "value": value_column([decode_value(r[1], decode) for r in ordered]),
            "revision": pd.array([r[3] for r in ordered], dtype="int64"),
            "time": frame_times([r[4] for r in ordered]),
        }
    )
    summary = f"{len(df):,} key(s) in {bucket}" + (" (interrupted: partial)" if interrupted else "")
    out = result_frame(df, summary)
    out.attrs["interrupted"] = interrupted
    return out


async def history(bucket: str, key: str, decode: str = "auto"):
    """Every kept revision of ``key``: revision, operation, value, time."""
    import pandas as pd

    records, interrupted = await _read(bucket, check_key(key), "all")
    if not records:
        raise NotFoundError(f"no key {key!r} in bucket {bucket!r}", hint="list them with %js_kv keys " + bucket)
    ops = [operation(r[2]) for r in records]
    df = pd.DataFrame(
        {
            "revision": pd.array([r[3] for r in records], dtype="int64"),
            "operation": ops,
            "value": value_column([decode_value(r[1], decode) if op == "PUT" else None for r, op in zip(records, ops)]),
            "time": frame_times([r[4] for r in records]),
        }
    )
    out = result_frame(df, f"{len(df)} revision(s) of {key}" + (" (interrupted: partial)" if interrupted else ""))
    out.attrs["interrupted"] = interrupted
    return out
