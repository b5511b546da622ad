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
from typing import Any, Callable, Iterable, Mapping

import pandas as pd

from ..core.context import JSContext
from ..core.decode import named
from ..core.errors import InputError
from ..core.units import parse_duration
from ..reading.selection import Selection
from . import reading
from .common import Feed, Live, when
from .publishing import publish  # noqa: F401 - jsmagic.services.messages.publish, as before
from .results import checked, checked_export

__all__ = ["selection", "publish", "replay", "export", "follow", "follower", "start_follow"]  # publish: services/publishing.py

Ctx = JSContext | str | None
When = str | dt.datetime | None
POLICIES = ("all", "new", "last", "last_per_subject")


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
        deliver=chosen[0] if chosen else "all", start_seq=start_seq, since=when(since), until=when(until),
        end_seq=end_seq, count=count, headers_only=headers_only,
        decode=named(decode, namespace) if isinstance(decode, str) else decode, flatten=flatten,
        timeout=_seconds(timeout), batch=batch, durable=durable, action=action, delay=_seconds(delay),
        ack_wait=_seconds(ack_wait), max_deliver=max_deliver, where=where, grep=grep,
        header=[header] if isinstance(header, str) else list(header), subject_cols=subject_cols,
        header_cols=_names(header_cols),
    )
    sel.check()
    return sel


async def replay(stream: str, *, strict: bool = False, result_as: str | None = None, at: When = None,
                 up_to_seq: int | None = None, ctx: Ctx = None, **words: Any) -> Any:
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
    at : str or datetime, optional
        With `deliver="last_per_subject"`: each subject's last message as of then (`--at`,
        time travel): `"2h"` ago, ISO text or a datetime.  A pandas frame.
    up_to_seq : int, optional
        Or as of this stream sequence (`--up-to-seq`).
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
    >>> df = await jsmagic.replay("ORDERS", deliver="last_per_subject", at="1d")   # doctest: +SKIP
    """
    sel = selection(stream, **words)
    if at is not None or up_to_seq is not None:
        if result_as not in (None, "pandas"):
            raise InputError("at= and up_to_seq= read a pandas frame: leave result_as= out")
        return checked(await reading.read_at(sel, at=when(at), up_to_seq=up_to_seq, ctx=ctx), strict)
    result, out = await reading.read_as(sel, result_as, ctx=ctx)
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

    require("pyarrow", "parquet", "export")
    sel = selection(stream, **words)
    result = await reading.read_to(sel, path, partition_by=partition_by, ctx=ctx)
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
    from ..reading.follow import ERROR

    if words.get("durable"):
        raise InputError("follow reads without acking: it does not take durable=")
    sel = selection(stream, **words)

    async def start(feed: Feed) -> Any:
        kept: list = []  # the reader, for its callbacks (they run on the loop, after it started)

        def on_rows(chunks: list) -> None:
            feed.put(kept[0].rows.frame_of(chunks, sel.decode, sel.flatten))

        def on_end(state: str) -> None:
            feed.end(InputError(f"follow of {stream} failed: {kept[0].error}") if state == ERROR else None)

        kept.append(follower(sel, on_rows=on_rows, on_end=on_end, ctx=ctx))
        return await start_follow(kept[0])

    async def stop(handle: Any) -> None:
        handle.stop()
        if handle.task is not None:
            await asyncio.gather(handle.task, return_exceptions=True)
        await handle.ctx.wait_owned()  # the consumer's delete, when the task never started

    return Live(start, stop)


def follower(sel: Selection, *, on_rows: Callable[[list], None] | None = None,
             on_end: Callable[[str], None] | None = None, ctx: Ctx = None) -> Any:
    """The live reader of a follow, not started yet: `follow`'s, and `%js_consume --follow`'s table's.

    One reader for both, so that the magic's table and `async for chunk in
    jsmagic.follow(...)` see the same messages.  Start it with `start_follow`.

    Parameters
    ----------
    sel : Selection
        What to follow (`selection(...)`; `durable` is refused by `follow`).
    on_rows : callable, optional
        `on_rows(chunks)`: the chunks that arrived since the last call (on the loop).
    on_end : callable, optional
        `on_end(state)`: once, `"ended"`, `"interrupted"`, `"cancelled"` or `"error"`.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    LiveReplay
        `.df`, `.stop()`, `.running`, `.describe()`.

    Examples
    --------
    >>> live = follower(jsmagic.selection("ORDERS", deliver="new"), on_rows=print)   # doctest: +SKIP
    >>> await start_follow(live)                                                   # doctest: +SKIP
    """
    from ..reading.follow import LiveReplay

    return LiveReplay(sel, on_rows, on_end, ctx=ctx)


async def start_follow(live: Any) -> Any:
    """Start a `follower` in the background: an unknown stream is an error here ("did you mean"), not in the task.

    Parameters
    ----------
    live : LiveReplay
        Made by `follower`.

    Returns
    -------
    LiveReplay
        The same reader, running (registered on its connection: `%js_close` stops it).

    Examples
    --------
    >>> await start_follow(follower(jsmagic.selection("ORDERS"), on_rows=print))   # doctest: +SKIP
    """
    await reading.check_stream(live.sel.stream, ctx=live.ctx)
    return live.start()
