"""The last message of each subject up to a point: which way to read it, and the ways that replay.

Batched direct get with ``multi_last`` (:mod:`jsmagic.history.snapshot`) reads only the
answers, but the server pays for each subject: it matches every requested subject against
the stream's subjects, and for a point in the past it walks back, message by message, from
the point to each subject's last message before it.  Over many subjects that grows faster
than reading the messages themselves, so the read is chosen by what it costs (measured on
nats-server 2.15, 2 cores; ``bench/timetravel.py``):

* ``multi_last``: about ``S × (T × 10 ns + D × 100 ns)`` for ``S`` subjects asked of a
  stream of ``T`` subjects, ``D`` the distance walked back (half the messages up to the
  point, at most a block's ~30,000; none for "now");
* a replay of the messages up to the point through the read engine (the bulk reader:
  about 3 µs a message), keeping the last of each subject; for "now", a
  ``last_per_subject`` consumer reads only ``S`` messages.

``method="multi_last"`` or ``"replay"`` forces a way.  Without direct get the replay is the
only way; ``Snapshot.method`` says which was taken and why.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pandas as pd

from ..admin.scan import ProgressFn
from ..core.context import JSContext
from ..core.registry import connected
from ..jsapi import DEFAULT_PREFIX
from ..reading.dryrun import count_range
from ..reading.get import batched_direct_get
from ..reading.reader import replay
from ..reading.selection import Selection
from .snapshot import (MAX_SUBJECTS, NotBatched, Point, Snapshot, TooMany, groups, multi_last, removed_note,
                       subjects_of)

METHODS = ("auto", "multi_last", "replay")
BLOCK = 30_000  # messages walked back at most per subject (about one file-store block of small messages)


def multi_last_cheaper(asked: int, stored_subjects: int, messages: int, now: bool) -> bool:
    """Whether ``multi_last`` over ``asked`` subjects beats replaying ``messages`` (see the module's costs)."""
    walk = 0 if now else min(messages // 2, BLOCK) * 100e-9
    return asked * (stored_subjects * 10e-9 + walk) < messages * 3e-6


async def last_per_subject(info: Any, filters: list[str], point: Point, *, method: str = "auto",
                           ctx: JSContext | None = None, progress: ProgressFn | None = None) -> Snapshot:
    """The last message of each subject matching ``filters`` (default ``>``) up to ``point``."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    ctx = await connected(ctx)
    name = info.config.name
    filters = list(filters) or [">"]
    snap = Snapshot(name, point)
    note = await removed_note(info, point, ctx=ctx)
    if note:
        snap.notes.append(note)
    if point.seq < 1:
        snap.method = "nothing stored before that point"
        return snap
    version = None if ctx.api.prefix != DEFAULT_PREFIX else ctx.server_info.get("version")
    if not info.config.allow_direct or not batched_direct_get(version):
        why = "allow_direct is false" if not info.config.allow_direct else f"server {version} is older than 2.11"
        return await by_replay(info, filters, point, snap, f"{why}: no direct get", progress, ctx)
    now = point.seq >= info.state.last_seq
    stored = (await ctx.api.request(f"STREAM.INFO.{name}"))["state"].get("num_subjects", 0)
    whole = filters == [">"] or sorted(filters) == sorted(info.config.subjects or [])
    subjects = None if whole and method != "multi_last" else await subjects_of(name, filters, ctx)
    if method == "auto":
        first = info.state.first_seq or 1
        messages, _ = await count_range(name, filters, first, point.seq, info, True, ctx)
        asked = stored if subjects is None else len(subjects)
        method = "multi_last" if multi_last_cheaper(asked, stored, messages, now) else "replay"
        why = f"{asked:,} subjects, {messages:,} messages up to the point: cheaper than multi_last"
    else:
        why = "asked for"
    if method == "replay":
        if now:
            return await latest(info, filters, point, snap, why, progress, ctx)
        return await by_replay(info, filters, point, snap, why, progress, ctx)
    if subjects is None:
        subjects = await subjects_of(name, filters, ctx)
    try:
        if len(subjects) <= MAX_SUBJECTS:
            try:
                await multi_last(ctx.api, name, filters, point.seq, snap, progress)
                snap.method = f"batched direct get, multi_last up to seq {point.seq:,} (no consumer)"
                return snap
            except TooMany:  # subjects were added since they were listed
                snap = Snapshot(name, point, notes=snap.notes)
                subjects = await subjects_of(name, filters, ctx)
        chunks = [subjects[i:i + MAX_SUBJECTS] for i in range(0, len(subjects), MAX_SUBJECTS)]
        await groups(ctx.api, name, chunks, point.seq, snap, progress)
        snap.method = (f"batched direct get, multi_last up to seq {point.seq:,} in {len(chunks)} groups of "
                       f"≤{MAX_SUBJECTS} subjects (no consumer)")
    except NotBatched:
        return await by_replay(info, filters, point, Snapshot(name, point, notes=snap.notes),
                               "the server answers no batched direct get", progress, ctx)
    return snap


def _add_frame(snap: Snapshot, df: Any, up_to: int) -> None:
    """The last row of each subject of a replay's frame (decoded as bytes), up to seq ``up_to``, into ``snap``."""
    if not len(df):
        return
    df = df[df["seq"].astype("int64") <= up_to]
    last = df.drop_duplicates("subject", keep="last").sort_values("seq")
    value = [c for c in last.columns if c not in ("seq", "subject", "time", "headers", "size")][0]
    stamps = pd.DatetimeIndex(last["time"]).as_unit("ns").asi8.tolist()  # exact nanoseconds, no float
    for seq, stamp, subject, headers, data in zip(last["seq"].tolist(), stamps, last["subject"], last["headers"],
                                                  last[value]):
        snap.add(int(seq), stamp, subject, headers or None, bytes(data))


async def _replayed(sel: Selection, progress: ProgressFn | None, ctx: JSContext) -> Any:
    result = await replay(sel, progress, ctx=ctx)
    if result.interrupted:
        raise asyncio.CancelledError()
    return result


async def by_replay(info: Any, filters: list[str], point: Point, snap: Snapshot, why: str,
                    progress: ProgressFn | None, ctx: JSContext) -> Snapshot:
    """Replay every message up to the point through the read engine; keep the last of each subject."""
    sel = Selection(stream=info.config.name, subjects=[] if filters == [">"] else filters, deliver="all",
                    end_seq=point.seq, decode="bytes")
    result = await _replayed(sel, progress, ctx)
    _add_frame(snap, result.frame, point.seq)
    snap.method = f"{result.method}, replayed up to seq {point.seq:,} ({why})"
    snap.notes.extend(result.notes)
    return snap


async def latest(info: Any, filters: list[str], point: Point, snap: Snapshot, why: str,
                 progress: ProgressFn | None, ctx: JSContext) -> Snapshot:
    """"Now": a ``last_per_subject`` read; if a subject was written after the point meanwhile, a replay instead."""
    sel = Selection(stream=info.config.name, subjects=[] if filters == [">"] else filters,
                    deliver="last_per_subject", decode="bytes")
    result = await _replayed(sel, progress, ctx)
    if len(result.frame) and int(result.frame["seq"].max()) > point.seq:
        return await by_replay(info, filters, point, snap, why + "; written meanwhile", progress, ctx)
    _add_frame(snap, result.frame, point.seq)
    snap.method = f"{result.method}, the last message of each subject ({why})"
    snap.notes.extend(result.notes)
    return snap
