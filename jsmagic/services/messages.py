"""Messages: `publish` (`%%js_publish`), `replay` and `export` (`%js_consume`, `--to`), `follow`
(`%js_consume --follow`), and `selection`, the one translation of their words.

The words are the magics': `subjects` (NATS wildcards), `deliver` (`all`, `new`,
`last`, `last_per_subject`), `start_seq`, `since`/`until` (`"2h"` ago, ISO text or
a datetime; naive means UTC), `end_seq`, `count`, `where`/`grep`/`header`,
`subject_cols`/`header_cols`, and `{{Count}}`-style templates for subjects, headers and
message ids.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Iterable, Mapping

import pandas as pd

from ..core.context import JSContext
from ..core.decode import named
from ..core.errors import IncompleteError, InputError
from ..core.units import parse_duration, parse_when, plural
from ..publishing.features import Features
from ..publishing.inputs import publish_cell, publish_object
from ..reading.selection import Selection
from .common import Feed, Live
from .results import checked, checked_export

__all__ = ["selection", "publish", "replay", "export", "follow"]

Ctx = JSContext | str | None
When = str | dt.datetime | None
POLICIES = ("all", "new", "last", "last_per_subject")


def _when(value: When) -> dt.datetime | None:
    """A time: a datetime as is (naive means UTC), ISO text, or a duration meaning ago (`"2h"`)."""
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return parse_when(value)


def _seconds(value: str | float | None) -> float | None:
    return None if value is None else parse_duration(value) if isinstance(value, str) else float(value)


def _names(value: str | Iterable[str] | None) -> list[str]:
    """`"A,B"` or `["A", "B"]` as a list (the magic's comma form is accepted too)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [s.strip() for s in items if s and s.strip()]


def selection(stream: str, *, subjects: str | Iterable[str] = (), deliver: str | None = None,
              start_seq: int | None = None, since: When = None, until: When = None, end_seq: int | None = None,
              count: int | None = None, headers_only: bool = False, decode: Any = "auto", flatten: bool = False,
              timeout: str | float | None = None, batch: int | None = None, where: str | None = None,
              grep: str | None = None, header: str | Iterable[str] = (), subject_cols: str | None = None,
              header_cols: str | Iterable[str] = (), durable: str | None = None, action: str | None = None,
              delay: str | float | None = None, ack_wait: str | float | None = None,
              max_deliver: int | None = None, namespace: Mapping[str, Any] | None = None) -> Selection:
    """What to read, from `%js_consume`'s words: the one translation the magic and the API share.

    Parameters
    ----------
    stream : str
        The stream.
    subjects : str or list of str
        Subject filters (NATS wildcards): `"orders.eu.>"`.
    deliver : str, optional
        `all` (default), `new`, `last` or `last_per_subject`.
    start_seq : int, optional
        Start at this stream sequence (instead of `deliver`).
    since : str or datetime, optional
        Start at this time: `"2h"` (ago), ISO/RFC 3339 text, or a datetime (naive = UTC).
    until : str or datetime, optional
        Stop after this time (same forms).
    end_seq : int, optional
        Stop after this stream sequence.
    count : int, optional
        At most this many messages (matches, when filtering).
    headers_only : bool
        Headers and sizes, no payloads.
    decode : str or callable
        `auto`, `json`, `text`, `bytes`, `msgpack`, `protobuf:…`, or a function `(data, headers) -> value`.
    flatten : bool
        Nested JSON objects become dotted columns (`a.b`).
    timeout : str or float, optional
        Stop after this long without a message (default `JSMagic.timeout`).
    batch : int, optional
        Messages per pull request.
    where : str, optional
        Keep rows matching this pandas query (payload columns, `seq`, `subject`, `time`).
    grep : str, optional
        Keep messages whose raw payload matches this regex.
    header : str or list of str
        Keep messages with these header values (`"K=V"`; all must match).
    subject_cols : str, optional
        Subject tokens as columns: `"orders.{region}.{kind}"`.
    header_cols : str or list of str
        Header values as columns (`"A,B"` or a list).
    durable : str, optional
        Read through (or create) this durable consumer, with explicit acks: DESTRUCTIVE on WorkQueue streams.
    action : str, optional
        With `durable`: `ack`, `nak`, `term` or `in_progress` for every row read.
    delay : str or float, optional
        With `action="nak"`: redeliver after this long.
    ack_wait : str or float, optional
        With `durable`, on creation: redeliver unacked messages after this long.
    max_deliver : int, optional
        With `durable`, on creation: give up after this many deliveries.
    namespace : mapping, optional
        Where a `decode` name that is no built-in mode is looked up (the notebook's variables).

    Returns
    -------
    Selection
        Checked: contradictory words are a one-line `InputError`.

    Examples
    --------
    >>> jsmagic.selection("ORDERS", subjects="orders.eu.>", since="2h", count=100)   # doctest: +SKIP
    """
    chosen = [d for d in (deliver, "start_seq" if start_seq is not None else None,
                          "since" if since is not None else None) if d]
    if len(chosen) > 1:
        raise InputError(f"choose one of deliver=, start_seq=, since= (got {', '.join(chosen)})")
    if deliver is not None and deliver not in POLICIES:
        raise InputError(f"unknown deliver policy {deliver!r}", hint=f"use one of {', '.join(POLICIES)}")
    if delay is not None and action != "nak":
        raise InputError("delay= goes with action='nak'")
    sel = Selection(
        stream=stream, subjects=_names([subjects] if isinstance(subjects, str) else subjects),
        deliver=chosen[0] if chosen else "all", start_seq=start_seq, since=_when(since), until=_when(until),
        end_seq=end_seq, count=count, headers_only=headers_only,
        decode=named(decode, dict(namespace or {})) if isinstance(decode, str) else decode, flatten=flatten,
        timeout=_seconds(timeout), batch=batch, durable=durable, action=action, delay=_seconds(delay),
        ack_wait=_seconds(ack_wait), max_deliver=max_deliver, where=where, grep=grep,
        header=[header] if isinstance(header, str) else list(header), subject_cols=subject_cols,
        header_cols=_names(header_cols),
    )
    sel.check()
    return sel


async def publish(subject: str | None, data: Any, *, headers: Mapping[str, str] | None = None,
                  msg_id: str | None = None, count: int = 1, cell: bool = False, json: bool = False,
                  raw: bool = False, stream: str | None = None, expect_stream: str | None = None,
                  expect_last_seq: int | None = None, expect_last_subject_seq: int | None = None,
                  data_col: str | None = None, subject_col: str | None = None, header_cols: str | Iterable[str] = (),
                  ttl: str | None = None, ttl_col: str | None = None, atomic: bool = False, split: bool = False,
                  schedule_after: str | None = None, schedule_at: str | None = None,
                  schedule_every: str | None = None, schedule_cron: str | None = None,
                  schedule_dest: str | None = None, schedule_ttl: str | None = None,
                  schedule_source: str | None = None, schedule_rollup: bool = False,
                  schedule_time_zone: str | None = None, fast: bool = False,
                  ctx: Ctx = None) -> pd.DataFrame:
    """Publish to JetStream and check every ack (`%%js_publish`, `%js_publish --from`).

    `data` is published as the magic publishes it: text as a cell (one message per
    non-empty line, or one in all with `cell=True`; `{{Count}}`-style templates in it are
    rendered per message unless `raw=True`); a DataFrame row by row; a list item by item
    (dicts as JSON); bytes, or a dict, as one message.  A subject no stream captures is
    refused before anything is sent.

    Parameters
    ----------
    subject : str or None
        Where to publish; `nats pub` templates allowed (`orders.{{Count}}`).  None with `subject_col`.
    data : str, bytes, dict, list or DataFrame
        What to publish.
    headers : mapping, optional
        Headers; values may hold templates (`{"Trace": "{{ID}}"}`).
    msg_id : str, optional
        `Nats-Msg-Id` template per message, e.g. `"order-{{Count}}"`: a re-run stores no
        duplicates.  `{{Count}}` is the 1-based message number within this publish.
    count : int
        Publish everything this many times (`{{Count}}` runs on).
    cell, json, raw : bool
        Text as one message; every message must be JSON; no templates at all.
    stream : str, optional
        The stream that must capture the subject (checked before publishing).
    expect_stream, expect_last_seq, expect_last_subject_seq : optional
        Server-side expectations (`--expect-*`).
    data_col, subject_col, header_cols : optional
        For a DataFrame or list of dicts: the column holding each payload, subject, headers.
    ttl, ttl_col : str, optional
        Server 2.11+: per-message TTL (`"30m"`), or the column holding each row's.
    atomic, split : bool
        Server 2.12+: one atomic batch (stored all or nothing); `split` cuts a large one into batches.
    schedule_after, schedule_at, schedule_every, schedule_cron, schedule_dest, schedule_ttl : str, optional
        Server 2.12+: message schedules (`%%js_publish --schedule-*`).
    schedule_source, schedule_rollup, schedule_time_zone : optional
        Server 2.14+: fire the last message of a subject (sampling), roll the target up, read a cron line in a zone.
    fast : bool
        Server 2.14+: one fast batch (any size, stored in order, flow-controlled acks; not atomic).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        One row per message: `line` (or `row`), `subject`, `stream`, `seq`, `duplicate`.
        Refused messages raise `PublishError` after the rest were
        sent (its `.result` holds every ack); an interrupted publish raises
        `IncompleteError` with the acks in `.frame`.

    Examples
    --------
    >>> acks = await jsmagic.publish("orders.new", [{"id": 1}, {"id": 2}], msg_id="order-{{Count}}")   # doctest: +SKIP
    >>> await jsmagic.publish("orders.new", '{"id": {{Count}}}', count=3)                              # doctest: +SKIP
    """
    if msg_id is not None and "{i}" in msg_id and "{{" not in msg_id:
        raise InputError(f"msg_id {msg_id!r} uses {{i}}: message-id templates are %%js_publish's",
                         hint="write {{Count}} (the 1-based message number), e.g. msg_id='order-{{Count}}'")
    if count < 1:
        raise InputError("count must be at least 1")
    hdrs = dict(headers or {})
    if msg_id is not None:
        hdrs["Nats-Msg-Id"] = msg_id
    features = Features.from_flags(ttl=ttl, ttl_col=ttl_col, schedule_after=schedule_after, schedule_at_=schedule_at,
                                   schedule_every=schedule_every, schedule_cron=schedule_cron,
                                   schedule_dest=schedule_dest, schedule_ttl=schedule_ttl,
                                   schedule_source=schedule_source, schedule_rollup=schedule_rollup,
                                   schedule_time_zone=schedule_time_zone, atomic=atomic, split=split, fast=fast)
    expect = {k: v for k, v in (("stream", expect_stream), ("last_seq", expect_last_seq),
                                ("last_subject_seq", expect_last_subject_seq)) if v is not None}
    common = dict(count=count, stream=stream, expect=expect, features=features if features != Features() else None,
                  ctx=ctx)
    if isinstance(data, str):
        if subject is None:
            raise InputError("a subject is needed to publish text")
        if data_col or subject_col or header_cols or ttl_col:
            raise InputError("data_col, subject_col, header_cols and ttl_col go with a DataFrame or a list")
        result = await publish_cell(data, subject, hdrs, whole=cell, json_mode=json, templates=not raw, **common)
    else:
        if raw:
            raise InputError("raw= goes with text: a value's payloads are never templated")
        result = await publish_object(data, subject, hdrs, name="data", data_col=data_col, subject_col=subject_col,
                                      header_cols=tuple(_names(header_cols)), **common)
    result.raise_for_errors()
    frame = result.frame()
    if result.interrupted:
        raise IncompleteError(f"publish interrupted after {plural(len(result.acked_positions()), 'acknowledged message')}",
                              frame=frame, hint="publish the rest again: msg_id= makes a re-run store no duplicates")
    return frame


async def replay(stream: str, *, strict: bool = False, result_as: str | None = None, ctx: Ctx = None,
                 **words: Any) -> Any:
    """A stream's messages as a DataFrame, like `%js_consume`; the stream is left unchanged.

    A short frame is never returned in silence: an interrupted read, one that stopped on the
    timeout, or one whose note says rows are missing raises
    `IncompleteError` (its `.frame` holds what arrived).  A
    complete read with something to say returns its frame with `df.attrs["notes"]` and
    warns each note as a `ReadWarning` (`strict=True` raises instead).

    Parameters
    ----------
    stream : str
        The stream ("did you mean" for a typo).
    strict : bool
        Raise on any note, for a script that takes only a plain, complete read.
    result_as : str, optional
        `pandas` (default: `JSMagic.result_type`), `arrow` or `polars` (`--as`).
    ctx : JSContext or str, optional
        A context or alias.
    **words
        What to read, as `selection` takes it: `subjects`, `deliver`,
        `start_seq`, `since`, `until`, `end_seq`, `count`, `where`, `grep`,
        `header`, `decode`, `durable`/`action`…

    Returns
    -------
    pandas.DataFrame (or pyarrow.Table / polars.DataFrame)
        `seq`, `subject`, `time`, payload columns; `attrs["method"]` says how it was read.

    Examples
    --------
    >>> df = await jsmagic.replay("ORDERS", subjects="orders.eu.>", since="2h")   # doctest: +SKIP
    >>> df = await jsmagic.replay("ORDERS", start_seq=1000, end_seq=2000, where="qty > 1")   # doctest: +SKIP
    """
    from ..reading.results import replay_as

    sel = selection(stream, **words)
    result, out = await replay_as(sel, result_as, ctx=ctx)
    checked(result, strict, frame=out)
    return out


async def export(stream: str, path: str, *, partition_by: str | None = None, strict: bool = False, ctx: Ctx = None,
                 **words: Any) -> Any:
    """Stream a replay into Parquet, chunk by chunk, in flat memory (`%js_consume --to`).

    The file is written under a temporary name and renamed when done; a read that cannot
    be complete raises `IncompleteError` (the file then holds
    what arrived and the error says so).

    Parameters
    ----------
    stream : str
        The stream.
    path : str
        The Parquet file, or with `partition_by` a new (or empty) dataset directory.
    partition_by : str, optional
        A column: a hive-layout dataset (`region=eu/part-….parquet`).
    strict : bool
        Raise on any note.
    ctx : JSContext or str, optional
        A context or alias.
    **words
        What to read, as `selection` takes it.

    Returns
    -------
    Export
        `path`, `rows`, `first_seq`, `last_seq`, `bytes`, `seconds`, `parts`, `conflicts`.

    Examples
    --------
    >>> out = await jsmagic.export("ORDERS", "orders.parquet", since="1d")   # doctest: +SKIP
    >>> out.rows, out.path
    """
    from ..core.extras import require
    from ..reading.export import export_replay

    require("pyarrow", "parquet", "export")
    sel = selection(stream, **words)
    result = await export_replay(sel, path, partition_by, ctx=ctx)
    return checked_export(result, strict)


def follow(stream: str, *, ctx: Ctx = None, **words: Any) -> Live[pd.DataFrame]:
    """Follow a stream live: an async iterator of DataFrames, one per arrival (`%js_consume --follow`).

    History first when the words ask for it (`deliver="all"` is the default, as for the
    magic; `deliver="new"` for new messages only), then every new message as it is
    stored.  A server restart or leader change is resumed without a gap or a repeat.
    Leaving the `async for` (`break`, an error, a cancelled task) or `await f.aclose()`
    stops it and deletes its consumer; `count=N` ends it by itself after N messages.

    Parameters
    ----------
    stream : str
        The stream.
    ctx : JSContext or str, optional
        A context or alias.
    **words
        What to read, as `selection` takes it (no `durable`): `deliver="new"`,
        `start_seq`, `since`, `subjects`, `count`, `where`…

    Returns
    -------
    Live[pandas.DataFrame]
        An async iterator (and async context manager) of frames with the columns of
        `replay`; `.handle` is the core `LiveReplay` (`.df`: every row so far).

    Examples
    --------
    >>> seen = 0
    >>> async with jsmagic.follow("ORDERS", deliver="new") as chunks:   # doctest: +SKIP
    ...     async for chunk in chunks:
    ...         seen += len(chunk)
    ...         if seen >= 100:
    ...             break
    >>> async for chunk in jsmagic.follow("ORDERS", deliver="new", count=100):   # doctest: +SKIP
    ...     print(len(chunk))
    """
    from ..reading.follow import ERROR, LiveReplay
    from ..reading.reader import check_stream

    if words.get("durable"):
        raise InputError("follow reads without acking: it does not take durable=")
    sel = selection(stream, **words)

    async def start(feed: Feed) -> LiveReplay:
        await check_stream(sel.stream, ctx=ctx)  # an unknown stream: an error here, not in the background
        handle: LiveReplay | None = None

        def on_rows(chunks: list) -> None:
            feed.put(handle.rows.frame_of(chunks, sel.decode, sel.flatten))

        def on_end(state: str) -> None:
            feed.end(InputError(f"follow of {stream} failed: {handle.error}") if state == ERROR else None)

        handle = LiveReplay(sel, on_rows, on_end, ctx=ctx)
        return handle.start()

    async def stop(handle: LiveReplay) -> None:
        handle.stop()
        if handle.task is not None:
            await asyncio.gather(handle.task, return_exceptions=True)
        await handle.ctx.wait_owned()  # the consumer's delete, when the task never started

    return Live(start, stop)
