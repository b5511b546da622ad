"""Key-Value per-key TTL, limit markers, revert, compact and edit (server 2.11, ADR-48): beside :mod:`.kv`.

* ``create(..., ttl=)``: a key that expires on its own (``Nats-TTL`` on its message); when
  it expires, a bucket with a marker TTL (``--marker-ttl``) shows a delete marker with the
  reason (``Nats-Marker-Reason: MaxAge``) to watchers for that long.
* ``purge(..., ttl=)``: the purge marker itself goes away after ``ttl``: nothing of the key is left.
* ``revert``: an old revision's value stored again as the newest (history kept).
* ``compact``: removes what deleted and purged keys still hold (their markers, and their
  old revisions), after a preview; markers younger than 30 minutes are kept as the last
  record of their key, as every NATS client does, so that watchers see the delete.
* ``edit``: the bucket's settings (history, TTL, sizes, marker TTL); returns what changed.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import nats.js.errors
import pandas as pd

from ..core.context import JSContext
from ..core.decode import encode_value
from ..core.errors import ConflictError, ForceRequiredError, InputError
from ..core.registry import connected, jetstream
from ..core.units import parse_duration, plural
from ..jsapi import kv_stream, kv_subject
from . import kvwrite
from .kv import _bucket, _deleted_at, _read, check_key, get
from .kvwatch import operation
from .streamconfig import changes, feature_changes, feature_params

KEEP_RECENT = 30 * 60  # seconds: younger delete markers stay (nats.go, nats-py and natscli do the same)


def _ttl(value: Any, flag: str = "--ttl") -> float:
    seconds = parse_duration(value)
    if seconds < 1 or seconds != int(seconds):
        raise InputError(f"bad {flag} {value!r}", hint="a TTL is whole seconds, at least 1s")
    return seconds


async def _needs_ttl(bucket: str, seconds: float, ttl: Any, ctx: JSContext | None) -> Any:
    """The bucket's handle, if it takes a TTL of ``seconds``; else a one-line refusal (nothing stored)."""
    handle = await _bucket(bucket, ctx)
    if not handle.stream.config.allow_msg_ttl:
        raise InputError(f"bucket {bucket} does not allow per-key TTL (server 2.11+)",
                         hint=f"enable it: %js_kv edit {bucket} --marker-ttl 1m")
    marker = getattr(handle.stream.config, "subject_delete_marker_ttl", None) or 0
    if seconds < marker:  # observed on 2.15: the server quietly raises a shorter TTL to the marker TTL
        raise InputError(f"--ttl {ttl} is shorter than bucket {bucket}'s marker TTL ({marker:g}s): "
                         f"the server would keep it {marker:g}s", hint=f"use --ttl {marker:g}s or more")
    return handle


async def create(bucket: str, key: str, value: Any, ttl: Any, *, ctx: JSContext | None = None) -> int:
    """Store ``value`` only if the key does not exist, expiring after ``ttl``; the revision."""
    seconds = _ttl(ttl)
    await _needs_ttl(bucket, seconds, ttl, ctx)
    data = encode_value(value)
    try:
        try:
            return await kvwrite.write(bucket, check_key(key), data, last=0, ttl=seconds, ctx=ctx)
        except nats.js.errors.KeyWrongLastSequenceError:
            marker = await _deleted_at(bucket, key, ctx)  # a deleted (or expired) key may be created again
            if marker is None:
                raise
            return await kvwrite.write(bucket, key, data, last=marker, ttl=seconds, ctx=ctx)
    except nats.js.errors.KeyWrongLastSequenceError:
        raise ConflictError(f"create refused: {key!r} already exists") from None


async def purge(bucket: str, key: str, ttl: Any, force: bool = False, *, ctx: JSContext | None = None) -> str:
    """Purge a key, its purge marker going away after ``ttl`` (only with ``force``)."""
    seconds = _ttl(ttl)
    await _needs_ttl(bucket, seconds, ttl, ctx)
    if not force:
        raise ForceRequiredError(f"purge would remove {key!r} and every revision of it from {bucket!r}")
    await kvwrite.write(bucket, check_key(key), op="PURGE", ttl=seconds, ctx=ctx)
    return f"purged {key} from {bucket}; its purge marker goes in {seconds:g}s"


async def revert(bucket: str, key: str, revision: int, *, ctx: JSContext | None = None) -> int:
    """Store the value ``key`` had at ``revision`` again, as its newest revision; the new revision."""
    await _bucket(bucket, ctx)
    old = await get(bucket, key, revision, decode="bytes", ctx=ctx)
    return await kvwrite.write(bucket, check_key(key), old.value or b"", ctx=ctx)


@dataclasses.dataclass
class Compaction:
    """What ``compact`` removes (or would): deleted/purged keys and the records they still hold."""

    bucket: str
    keys: list[str]
    records: int
    kept_markers: int  # recent markers kept as their key's last record

    @property
    def what(self) -> str:
        kept = f", keeping {plural(self.kept_markers, 'recent marker')}" if self.kept_markers else ""
        return f"{plural(self.records, 'record')} of {plural(len(self.keys), 'deleted key')} in bucket {self.bucket}{kept}"


async def compact(bucket: str, force: bool = False, *, ctx: JSContext | None = None) -> Compaction:
    """``%js_kv compact``: reclaim what deleted keys hold; without ``force`` a refusal that says what it would remove."""
    ctx = await connected(ctx)
    await _bucket(bucket, ctx)
    records, _ = await _read(bucket, ">", "last", headers_only=True, ctx=ctx)
    now = time.time_ns()
    gone = {r[0]: r for r in records if operation(r[2]) != "PUT"}
    js = await jetstream(ctx)
    stream = kv_stream(bucket)
    si = await js.stream_info(stream, subjects_filter=kv_subject(bucket, ">")) if gone else None
    held = {k: (si.state.subjects or {}).get(kv_subject(bucket, k), 0) for k in gone} if si else {}
    recent = {k for k, r in gone.items() if (now - r[4]) / 1e9 < KEEP_RECENT}
    plan = Compaction(bucket, sorted(gone), sum(held.values()) - len(recent), len(recent))
    if not force:
        raise ForceRequiredError(f"compact would remove {plan.what}" if gone else f"nothing to compact in {bucket}")
    for key in plan.keys:
        await js.purge_stream(stream, subject=kv_subject(bucket, key), keep=1 if key in recent else 0)
    return plan


async def edit(bucket: str, *, history: int | None = None, ttl: Any = None, max_value_size: int | None = None,
               max_bucket_size: int | None = None, description: str | None = None, marker_ttl: Any = None,
               ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_kv edit``: change the bucket's settings; a frame of what changed (setting, old, new)."""
    handle = await _bucket(bucket, ctx)
    old = handle.stream.config
    params: dict[str, Any] = {}
    if history is not None:
        if not 1 <= history <= 64:
            raise InputError(f"--history {history} is out of range", hint="a bucket keeps 1 to 64 revisions per key")
        params["max_msgs_per_subject"] = history
    if ttl is not None:
        params["max_age"] = parse_duration(ttl)
    if max_value_size is not None:
        params["max_msg_size"] = max_value_size
    if max_bucket_size is not None:
        params["max_bytes"] = max_bucket_size
    if description is not None:
        params["description"] = description
    if marker_ttl is not None:
        params.update(feature_params(subject_del_markers_ttl=f"{_ttl(marker_ttl, '--marker-ttl'):g}s"))
    if not params:
        raise InputError(f"nothing to change on bucket {bucket!r}", hint="give a setting, e.g. --history 5")
    new = (await (await jetstream(ctx)).update_stream(old.evolve(**params))).config
    rows = changes(old, new) + feature_changes(old, new)
    return pd.DataFrame(rows, columns=["setting", "old", "new"], dtype=object)  # None stays None (no NaN)
