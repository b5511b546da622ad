"""``%js_stream schema``: the fields of a stream's payloads, their types, and where they drift.

:func:`stream_schema` reads the stream with the read engine (:func:`jsmagic.reading.reader.replay`,
non-destructive: an ephemeral consumer, or no consumer at all on WorkQueue/Interest streams),
its chunks handed to a sink that decodes each through the decoder registry
(:mod:`jsmagic.core.decode`) and aggregates it (:class:`~jsmagic.explore.fields.Aggregator`),
so nothing of the stream is held.  ``sample=N`` reads N messages spread evenly over the
sequence range instead, one get each (no consumer): a big stream in seconds.  ``check=FILE``
validates every payload read against a JSON Schema or an AsyncAPI document
(:mod:`jsmagic.explore.check`).  What comes back is a :class:`Schema` of DataFrames.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from ..core.context import JSContext
from ..core.decode import decode_chunk, decoder
from ..core.errors import InputError, JSMagicError
from ..core.registry import current
from ..core.units import plural, rfc3339
from ..reading.get import GET_WINDOW, get_one
from ..reading.reader import check_stream, replay
from ..reading.selection import ProgressFn, Selection
from .check import Checker, load_checker
from .drift import drift_frame, more_changes, timeline_frame
from .fields import KINDS, NON_JSON, Aggregator


@dataclasses.dataclass
class Schema:
    """A stream's payload schema: ``fields``, ``drift`` points, payload ``kinds``, the ``timeline``.

    ``fields``: one row per field (``subject`` first with ``by_subject``): ``types`` as text and
    ``type_counts`` as a dict, ``present`` (messages holding it), ``presence`` (their share of the
    object payloads of its scope), ``nulls``/``null_rate`` (of those holding it), ``examples``,
    ``first_seq/first_time/last_seq/last_time``.  ``drift``: see :func:`~jsmagic.explore.drift.drift_frame`.

    ``messages``: how many were read (``sampled``: out of how many the range held);
    ``violations``: with ``check``, the messages that do not validate (``seq, subject, time,
    reason``) and ``checked``/``violating`` their counts; ``notes``: what the summary must say
    (a note starting ``SHORT`` means messages the read was asked for are missing).
    """

    stream: str
    fields: pd.DataFrame
    drift: pd.DataFrame
    kinds: pd.DataFrame
    timeline: pd.DataFrame
    messages: int
    first_seq: int | None
    last_seq: int | None
    method: str
    sampled: int | None = None  # the messages in the sampled range (None: every message was read)
    interrupted: bool = False
    notes: list[str] = dataclasses.field(default_factory=list)
    violations: pd.DataFrame | None = None
    checked: int = 0
    violating: int = 0

    @property
    def non_json(self) -> int:
        """Payloads that are not JSON (text, bytes, undecodable)."""
        return int(self.kinds.loc[self.kinds["kind"].isin(NON_JSON), "messages"].sum())


async def stream_schema(stream: str, *, subject: str | None = None, since: dt.datetime | None = None,
                        sample: int | None = None, by_subject: bool = False, decode: Any = "auto",
                        check: str | None = None, timeout: float | None = None,
                        progress: ProgressFn | None = None, ctx: JSContext | None = None) -> Schema:
    """The schema of ``stream``'s payloads (on ``subject``, from ``since``), read whole or sampled."""
    if sample is not None and sample < 1:
        raise InputError(f"--sample {sample} is not a number of messages", hint="give --sample N with N >= 1")
    decoder(decode)  # an unknown mode fails here, before reading
    checker = load_checker(check) if check else None
    ctx = current(ctx)
    info = await check_stream(stream, ctx=ctx)
    agg = Aggregator(by_subject, end_seq=info.state.last_seq)
    sel = Selection(stream, subjects=[subject] if subject else [], deliver="since" if since else "all",
                    since=since, decode=decode, timeout=timeout)
    sel.check()
    notes: list[str] = []
    interrupted, sampled = False, None
    if sample is None:
        sink = _Sink(agg, checker, decode)
        result = await replay(sel, progress, sink=sink, ctx=ctx)
        method, interrupted = f"read whole: {result.method}", result.interrupted
        notes.extend(result.notes)
        if result.timed_out:
            notes.insert(0, f"SHORT: the read stopped after {sel.api_timeout:g}s without messages; "
                            "messages may be missing (retry, or raise --timeout)")
    else:
        sampled, interrupted = await _sample(info, sel, sample, agg, checker, progress, ctx)
        how = "direct get" if info.config.allow_direct else "stream msg get"
        method = f"sampled {agg.messages:,} of {plural(sampled, 'sequence')} evenly by {how} (no consumer)"
        if agg.messages < min(sample, sampled):
            notes.append(f"{plural(agg.messages, 'distinct message')} for --sample {sample:,}: the stream holds fewer "
                         "in the range, or its gaps and the filter bring several sample points to the same message")
    untracked = [sc for sc in agg.scopes.values() if sc.untracked_seen]
    if untracked:
        names = len(set().union(*(sc.untracked for sc in untracked)))
        tracked = max(len(sc.fields) for sc in untracked)
        plus = "+" if any(sc.untracked_more for sc in untracked) else ""
        notes.append(f"{names:,}{plus} further field {'name' if names == 1 and not plus else 'names'} beyond the first {tracked:,} not tracked "
                     f"({plural(sum(sc.untracked_seen for sc in untracked), 'occurrence')}): payloads keyed by ids or times?")
    if more := more_changes(agg):
        notes.append(f"{plural(more, 'further type change')} not listed (at most 100 per field)")
    if interrupted:
        notes.insert(0, f"SHORT: interrupted after {plural(agg.messages, 'message')}: the schema covers only those")
    out = Schema(stream, fields_frame(agg), drift_frame(agg), kinds_frame(agg), timeline_frame(agg), agg.messages,
                 agg.first_seq, agg.last_seq, method, sampled, interrupted, notes)
    if checker is not None:
        out.violations, out.checked, out.violating = checker.frame(), checker.checked, checker.violating
        if checker.violating > len(out.violations):
            notes.append(f"{plural(checker.violating, 'violating message')}, the first {len(out.violations):,} listed")
    return out


class _Sink:
    """The replay's sink: each chunk decoded by the registry, aggregated (and checked), then let go."""

    step = 1 << 20  # the bulk reader hands over about this many bytes at a time

    def __init__(self, agg: Aggregator, checker: Checker | None, decode: Any) -> None:
        self.agg, self.checker, self.decode = agg, checker, decode

    def write(self, chunk: Any, rows: Any) -> None:
        values, errors = decode_chunk(chunk, self.decode)
        seqs, times, sizes = chunk.seq.tolist(), chunk.time_ns.tolist(), chunk.sizes.tolist()
        add, check = self.agg.add, self.checker.check if self.checker is not None else None
        for i, subject in enumerate(chunk.subjects):
            add(seqs[i], times[i], subject, values[i], errors[i], sizes[i])
            if check is not None:
                check(seqs[i], times[i], subject, values[i], errors[i])

    def close(self, frame: Any = None, interrupted: bool = False) -> None:
        if frame is not None and len(frame):  # only a read of several get-path filters hands a frame: never made here
            raise JSMagicError("schema: the read handed over a whole frame instead of chunks")


def sample_points(lo: int, hi: int, n: int) -> list[int]:
    """``n`` sequences spread evenly from ``lo`` to ``hi`` (every one when the range holds fewer)."""
    if hi < lo:
        return []
    if hi - lo + 1 <= n:
        return list(range(lo, hi + 1))
    return sorted(set(np.linspace(lo, hi, n).round().astype(np.int64).tolist()))


async def _sample(info: Any, sel: Selection, n: int, agg: Aggregator, checker: Checker | None,
                  progress: ProgressFn | None, ctx: JSContext) -> tuple[int, bool]:
    """Read ``n`` messages spread over the range by get (the next message on the filter at each point)."""
    api, stream, direct = ctx.api, info.config.name, bool(info.config.allow_direct)
    lo, hi, wait = max(info.state.first_seq, 1), info.state.last_seq, sel.api_timeout
    filt = sel.subjects[0] if sel.subjects else ">"
    if sel.since is not None:
        first = await get_one(api, stream, {"start_time": rfc3339(sel.since), "next_by_subj": filt}, wait, direct)
        if first is None:
            return 0, False
        lo = first[0]
    points = sample_points(lo, hi, n)
    dec, seen, last = decoder(sel.decode), 0, 0
    try:
        for at in range(0, len(points), GET_WINDOW):
            window = points[at : at + GET_WINDOW]
            got = await asyncio.gather(*(get_one(api, stream, {"seq": s, "next_by_subj": filt}, wait, direct)
                                         for s in window))
            for m in got:
                if m is None or m[0] <= last or m[0] > hi:
                    continue  # past the end, or the same message as the point before
                seq, ns, subject, headers, data = m
                value, error = dec.one(data, headers, seq)
                agg.add(seq, ns, subject, value, error, len(data))
                if checker is not None:
                    checker.check(seq, ns, subject, value, error)
                last, seen = seq, seen + 1
            if progress is not None:
                progress(seen, len(points))
    except asyncio.CancelledError:
        return hi - lo + 1, True
    return hi - lo + 1, False


def fields_frame(agg: Aggregator) -> pd.DataFrame:
    """One row per field (per subject with ``by_subject``): types with counts, nulls, examples, where it appears."""
    rows = []
    for subject, scope in agg.scopes.items():
        for name, f in scope.fields.items():
            types = ", ".join(f"{t} {c:,}" for t, c in sorted(f.types.items(), key=lambda kv: -kv[1]))
            rows.append((subject, name, types, dict(f.types), f.present, f.present / scope.objects, f.nulls,
                         f.nulls / f.present, list(f.examples), f.first_seq, f.first_ns, f.last_seq, f.last_ns))
    df = pd.DataFrame(rows, columns=["subject", "field", "types", "type_counts", "present", "presence", "nulls",
                                     "null_rate", "examples", "first_seq", "first_time", "last_seq", "last_time"])
    for col in ("first_seq", "last_seq"):
        df[col] = df[col].astype("uint64")
    for col in ("first_time", "last_time"):
        df[col] = pd.to_datetime(df[col].astype("int64"), unit="ns", utc=True)
    if not agg.by_subject:
        df = df.drop(columns="subject")
    return df


def kinds_frame(agg: Aggregator) -> pd.DataFrame:
    """How many payloads of each kind were read (objects, and what is not an object)."""
    rows = [(k, agg.kinds[k]) for k in KINDS if agg.kinds.get(k)]
    return pd.DataFrame(rows, columns=["kind", "messages"]).astype({"messages": "int64"})
