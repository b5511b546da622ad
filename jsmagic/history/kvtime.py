"""A KV bucket as it was: its keys at a time or revision, one key then, and what changed between two points.

A bucket's revisions are its stream's sequences, so "at revision N" is the point
``up_to_seq = N`` and "at 14:00" the point just after the last write stored at or before
14:00 (:func:`jsmagic.history.snapshot.resolve`).  A key whose last write at that point is a
delete or purge marker (``KV-Operation: DEL/PURGE``) is absent, as it was.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from ..admin.kv import Entry, check_bucket, check_key, check_pattern, info as bucket_info
from ..admin.kvwatch import frame_times, operation
from ..admin.scan import ProgressFn
from ..core.context import JSContext
from ..core.decode import decoder, value_column, with_errors
from ..core.errors import InputError, NotFoundError
from ..core.registry import connected, jetstream
from ..jsapi import kv_prefix, kv_stream, kv_subject
from .read import last_per_subject
from .snapshot import Point, Snapshot, resolve

DIFF_COLUMNS = ["key", "change", "old_value", "new_value", "old_revision", "new_revision", "old_time", "new_time"]


async def point_of(bucket: str, at: dt.datetime | None = None, revision: int | None = None, *,
                   ctx: JSContext | None = None) -> tuple[Any, Point]:
    """The bucket's stream info and the point of ``at`` or ``revision`` (neither: now)."""
    if at is not None and revision is not None:
        raise InputError("give a time (--at) or a revision (--revision), not both")
    if revision is not None and revision < 0:
        raise InputError(f"bad revision {revision}", hint="revisions start at 1")
    await bucket_info(check_bucket(bucket), ctx=ctx)  # unknown bucket: "did you mean"
    info = await (await jetstream(ctx)).stream_info(kv_stream(bucket))
    return info, await resolve(info, at, revision, ctx=ctx)


async def keys_at(bucket: str, pattern: str, point: Point, info: Any, *, ctx: JSContext | None = None,
                  progress: ProgressFn | None = None, method: str = "auto") -> Snapshot:
    """The last write of each key matching ``pattern`` up to ``point`` (deletes included).

    ``method``: how to read (:func:`jsmagic.history.read.last_per_subject`; ``auto`` chooses).
    """
    return await last_per_subject(info, [kv_subject(bucket, check_pattern(pattern))], point, ctx=ctx,
                                  progress=progress, method=method)


def _live(snap: Snapshot, cut: int) -> dict[str, int]:
    """Key → index of its record, for keys whose last write is a PUT (deleted and purged keys left out)."""
    return {snap.subjects[i][cut:]: i for i in range(len(snap)) if operation(snap.headers[i]) == "PUT"}


def _noted(df: pd.DataFrame, snap: Snapshot, point: Point) -> pd.DataFrame:
    df.attrs.update(notes=list(snap.notes), method=snap.method, revision=point.seq, at=point.at, interrupted=False)
    return df


async def view_at(bucket: str, pattern: str = ">", at: dt.datetime | None = None, revision: int | None = None,
                  decode: Any = "auto", *, ctx: JSContext | None = None,
                  progress: ProgressFn | None = None, method: str = "auto") -> pd.DataFrame:
    """Every key of the bucket as it was at ``at`` (or ``revision``): key, value, revision, time, sorted by key.

    ``attrs``: ``revision`` (the point: the last revision it includes), ``at``, ``method`` (how it
    was read) and ``notes`` (say so when writes from before the point were removed since).
    """
    ctx = await connected(ctx)
    info, point = await point_of(bucket, at, revision, ctx=ctx)
    snap = await keys_at(bucket, pattern, point, info, ctx=ctx, progress=progress, method=method)
    live = _live(snap, len(kv_prefix(bucket)))
    order = [live[k] for k in sorted(live)]
    dec = decoder(decode)
    values, errors = dec.many([snap.datas[i] for i in order], [snap.headers[i] for i in order],
                              [snap.seqs[i] for i in order])
    df = with_errors(pd.DataFrame({"key": sorted(live), "value": value_column(values),
                                   "revision": pd.array([snap.seqs[i] for i in order], dtype="int64"),
                                   "time": frame_times([snap.times[i] for i in order])}), errors)
    return _noted(df, snap, point)


async def get_at(bucket: str, key: str, at: dt.datetime | None = None, revision: int | None = None,
                 decode: Any = "auto", *, ctx: JSContext | None = None) -> Entry:
    """``key``'s value as it was at ``at`` (or as of ``revision``): NotFoundError when it did not exist then."""
    ctx = await connected(ctx)
    info, point = await point_of(bucket, at, revision, ctx=ctx)
    snap = await last_per_subject(info, [kv_subject(bucket, check_key(key))], point, ctx=ctx)
    when = point.describe()
    if not len(snap):
        gone = f" ({snap.notes[0]})" if snap.notes else ""
        raise NotFoundError(f"no key {key!r} in bucket {bucket!r} {when}{gone}",
                            hint=f"its revisions: %js_kv history {bucket} {key}")
    op = operation(snap.headers[0])
    if op != "PUT":
        raise NotFoundError(f"key {key!r} was {'deleted' if op.startswith('DEL') else 'purged'} {when} "
                            f"(revision {snap.seqs[0]})", hint=f"its revisions: %js_kv history {bucket} {key}")
    value, error = decoder(decode).one(snap.datas[0], snap.headers[0], snap.seqs[0])
    stamp = pd.Timestamp(snap.times[0], unit="ns", tz="UTC")
    return Entry(bucket, key, value, snap.seqs[0], stamp, error)


async def diff(bucket: str, since: dt.datetime | None = None, until: dt.datetime | None = None,
               pattern: str = ">", decode: Any = "auto", *, since_revision: int | None = None,
               until_revision: int | None = None, ctx: JSContext | None = None,
               progress: ProgressFn | None = None, method: str = "auto") -> pd.DataFrame:
    """What changed in the bucket between two points (the second defaults to now), one row per key.

    ``change``: ``added`` (absent or deleted at the first point), ``changed`` (written again:
    old → new value and revision), ``deleted`` (deleted or purged by the second point;
    ``new_revision``/``new_time`` are the marker's when it is still stored).  Sorted by key.
    """
    ctx = await connected(ctx)
    info, p1 = await point_of(bucket, since, since_revision, ctx=ctx)
    info2, p2 = await point_of(bucket, until, until_revision, ctx=ctx)
    if p2.seq < p1.seq:
        raise InputError(f"the second point ({p2.describe()}) is before the first ({p1.describe()})",
                         hint="give the earlier time first: %js_kv diff BUCKET T1 [T2]")
    old = await keys_at(bucket, pattern, p1, info, ctx=ctx, progress=progress, method=method)
    new = await keys_at(bucket, pattern, p2, info2, ctx=ctx, progress=progress, method=method)
    return _noted(changes(old, new, kv_prefix(bucket), decode), new, p2).pipe(_both_notes, old, p1)


def _both_notes(df: pd.DataFrame, old: Snapshot, p1: Point) -> pd.DataFrame:
    df.attrs["notes"] = list(dict.fromkeys([*old.notes, *df.attrs["notes"]]))
    df.attrs["since_revision"] = p1.seq
    df.attrs["since"] = p1.at
    return df


def changes(old: Snapshot, new: Snapshot, prefix: str = "", decode: Any = "auto") -> pd.DataFrame:
    """Rows of :data:`DIFF_COLUMNS` for the keys (subjects after ``prefix``) whose last write differs."""
    cut = len(prefix)
    was, now = _live(old, cut), _live(new, cut)
    every = new.by_subject()
    rows: list[tuple] = []
    for key in sorted(set(was) | set(now)):
        i, j = was.get(key), now.get(key)
        if i is not None and j is not None and old.seqs[i] == new.seqs[j]:
            continue
        if j is None:  # deleted or purged: the marker, if it is still stored
            j_any = every.get(prefix + key)
            rows.append((key, "deleted", i, j_any))
        else:
            rows.append((key, "added" if i is None else "changed", i, j))
    dec = decoder(decode)

    def side(snap: Snapshot, idx: list[int | None], live: bool) -> tuple[list, list, list, list]:
        datas = [snap.datas[i] if i is not None and live else None for i in idx]
        values, errors = dec.many(datas, [snap.headers[i] if i is not None else None for i in idx])
        revs = pd.array([snap.seqs[i] if i is not None else None for i in idx], dtype="Int64")
        times = frame_times([snap.times[i] if i is not None else None for i in idx])
        return values, errors, revs, times

    old_v, old_e, old_r, old_t = side(old, [r[2] for r in rows], True)
    new_live = [r[1] != "deleted" for r in rows]
    new_v, new_e, new_r, new_t = side(new, [r[3] for r in rows], True)
    new_v = [v if keep else None for v, keep in zip(new_v, new_live)]
    df = pd.DataFrame({"key": [r[0] for r in rows], "change": [r[1] for r in rows],
                       "old_value": value_column(old_v), "new_value": value_column(new_v),
                       "old_revision": old_r, "new_revision": new_r, "old_time": old_t, "new_time": new_t},
                      columns=DIFF_COLUMNS)
    errors = [a or b for a, b in zip(old_e, new_e)]
    return with_errors(df, errors)
