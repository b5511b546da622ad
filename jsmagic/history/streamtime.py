"""A last-value stream as it was: ``%js_consume STREAM --last-per-subject --at TIME`` and ``%js_stream diff``.

The last message of each subject up to a point (a time, or ``--up-to-seq N``), read by
batched direct get (:mod:`jsmagic.history.snapshot`), comes back as the frame a replay
gives (same columns, decoded by the same registry), in sequence order.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from ..admin.scan import ProgressFn
from ..core.context import JSContext
from ..core.errors import InputError
from ..core.registry import connected, jetstream
from ..reading.frames import Rows, make_chunk
from ..reading.reader import Replay, stream_info
from ..reading.selection import Selection
from .kvtime import changes
from .read import last_per_subject
from .snapshot import Point, resolve

UNSUPPORTED = ("start_seq", "since", "until", "end_seq", "count", "durable", "live", "headers_only")


def check(sel: Selection) -> None:
    """A selection time travel can answer: ``--last-per-subject`` with ``-s``, decoding and shaping flags."""
    if sel.deliver != "last_per_subject":
        raise InputError("--at/--up-to-seq go with --last-per-subject: the last message of each subject then",
                         hint="for every message up to a point use --until TIME or --end-seq N")
    used = [f"--{n.replace('_', '-')}" for n in UNSUPPORTED if getattr(sel, n, None) not in (None, False, [], "all")]
    if used:
        raise InputError(f"--at/--up-to-seq do not combine with {', '.join(used)}",
                         hint="the point itself bounds the read: drop those flags")


async def consume_at(sel: Selection, at: dt.datetime | None = None, up_to_seq: int | None = None, *,
                     ctx: JSContext | None = None, progress: ProgressFn | None = None) -> Replay:
    """The last message of each subject of ``sel`` as of ``at`` (or ``up_to_seq``), as a replay's frame."""
    check(sel)
    if (at is None) == (up_to_seq is None):
        raise InputError("give a time (--at) or a sequence (--up-to-seq), one of them")
    ctx = await connected(ctx)
    info = await stream_info(await jetstream(ctx), sel.stream, ctx=ctx)
    point = await resolve(info, at, up_to_seq, ctx=ctx)
    snap = await last_per_subject(info, sel.subjects, point, ctx=ctx, progress=progress)
    rows = Rows()
    rows.shaped(sel.decode, sel.flatten, sel.shape(), None)
    if len(snap):
        rows.add(rows.matching(make_chunk(snap.seqs, snap.times, snap.subjects, snap.headers, snap.datas)))
    frame = rows.frame()
    frame.attrs.update(revision=point.seq, at=point.at)
    notes = [*snap.notes, f"last per subject {point.describe()}"]
    return Replay(sel.stream, frame, method=snap.method, notes=notes)


async def diff(stream: str, since: dt.datetime | None = None, until: dt.datetime | None = None,
               subjects: list[str] | None = None, decode: Any = "auto", *, since_seq: int | None = None,
               until_seq: int | None = None, ctx: JSContext | None = None,
               progress: ProgressFn | None = None) -> pd.DataFrame:
    """Per subject, what its last message was at two points (the second defaults to now) where it differs.

    Columns as :func:`jsmagic.history.kvtime.diff` with ``subject`` for ``key`` and ``seq``
    for ``revision``: ``added`` (no message on it at the first point), ``changed`` (a newer
    message), ``deleted`` (its messages were removed by the second point, or it ends with a
    KV delete/purge marker).
    """
    ctx = await connected(ctx)
    js = await jetstream(ctx)
    info = await stream_info(js, stream, ctx=ctx)
    p1 = await resolve(info, since, since_seq, ctx=ctx)
    info2 = await stream_info(js, stream, ctx=ctx)
    p2 = await resolve(info2, until, until_seq, ctx=ctx)
    if p2.seq < p1.seq:
        raise InputError(f"the second point ({p2.describe()}) is before the first ({p1.describe()})",
                         hint="give the earlier time first: %js_stream diff STREAM T1 [T2]")
    old = await last_per_subject(info, subjects or [], p1, ctx=ctx, progress=progress)
    new = await last_per_subject(info2, subjects or [], p2, ctx=ctx, progress=progress)
    df = changes(old, new, "", decode)
    df = df.rename(columns={"key": "subject", "old_revision": "old_seq", "new_revision": "new_seq"})
    df.attrs.update(notes=list(dict.fromkeys([*old.notes, *new.notes])), method=new.method,
                    since_seq=p1.seq, until_seq=p2.seq, since=p1.at, until=p2.at)
    return df


def points(df: pd.DataFrame) -> tuple[Point, Point]:
    """The two points a diff frame compares (from its ``attrs``)."""
    a = df.attrs
    return Point(a.get("since_seq", a.get("since_revision", 0)), a.get("since")), \
        Point(a.get("until_seq", a.get("revision", 0)), a.get("until", a.get("at")))
