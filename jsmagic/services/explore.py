"""Exploring a stream: `streams.schema` (fields, types, drift, `check=` validation) and `streams.browse`
(`%js_stream schema`, `%js_stream browse`).

Part of the `jsmagic.streams` group.  Neither changes the stream: `schema` reads through the
read engine (an ephemeral consumer, deleted; or one get per sample point with `sample=N`),
`browse` pages by direct get and never creates a consumer.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

from ..core.context import JSContext
from ..core.errors import IncompleteError, InputError
from ..core.units import parse_duration, plural
from ..explore.browse import PAGE, Browser
from ..explore.schema import Schema, stream_schema
from ..reading.selection import ProgressFn
from .common import ReadWarning
from .common import when as _when

__all__ = ["schema", "browse"]

Ctx = JSContext | str | None
When = str | dt.datetime | None
SHORT = "SHORT"


async def schema(stream: str, *, subject: str | None = None, since: When = None, sample: int | None = None,
                 by_subject: bool = False, check: str | None = None, decode: Any = "auto",
                 timeout: str | float | None = None, progress: ProgressFn | None = None, ctx: Ctx = None) -> Schema:
    """The fields of a stream's payloads: types with counts, nulls, examples, first/last seq, drift points.

    `%js_stream schema`.  Reads every message (or `sample` of them) without keeping them.

    Parameters
    ----------
    stream : str
        The stream.
    subject : str, optional
        Only messages on this subject filter (`-s`).
    since : str or datetime, optional
        From this time: `"2h"` (ago), ISO/RFC 3339 text, or a datetime.
    sample : int, optional
        Read this many messages spread evenly over the stream (by get, no consumer).
    by_subject : bool
        Fields and drift per subject.
    check : str, optional
        A JSON Schema or AsyncAPI file: every payload read is validated against it.
    decode : str or callable
        How to decode the payloads.
    timeout : str or float, optional
        How long to wait for the server (`"5s"`).
    progress : callable, optional
        Called as `progress(messages_read, messages_expected)` while the read goes on
        (`%js_stream schema`'s progress line).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Schema
        `.fields` (one row per field), `.drift` (where a field's type changed), `.kinds`,
        `.timeline`, `.messages`; with `check`: `.violations`, `.checked`, `.violating`.
        An interrupted read or a short one raises `IncompleteError` (the schema of what was
        read in `.frame`).

    Examples
    --------
    >>> s = await jsmagic.streams.schema("ORDERS", since="1d")   # doctest: +SKIP
    >>> s.fields[["field", "types", "presence"]], s.drift          # doctest: +SKIP
    >>> (await jsmagic.streams.schema("ORDERS", check="orders.schema.json")).violating   # doctest: +SKIP
    0
    """
    wait = parse_duration(timeout) if isinstance(timeout, str) else timeout
    out = await stream_schema(stream, subject=subject, since=_when(since), sample=sample, by_subject=by_subject,
                              decode=decode, check=check, timeout=wait, progress=progress, ctx=ctx)
    short = [n for n in out.notes if n.startswith(SHORT)]
    if out.interrupted or short:
        raise IncompleteError(f"schema of {stream} covers only {plural(out.messages, 'message')}: "
                              f"{'; '.join(short) or 'interrupted'}", frame=out, hint="read it again")
    for note in out.notes:
        warnings.warn(f"schema of {stream}: {note}", ReadWarning, stacklevel=2)
    return out


async def browse(stream: str, *, subject: str | None = None, at: When = None, seq: int | None = None,
                 page_size: int = PAGE, decode: Any = "auto", ctx: Ctx = None) -> Browser:
    """A stream browser opened at its first page (`%js_stream browse`, without the widget); no consumer.

    Parameters
    ----------
    stream : str
        The stream.
    subject : str, optional
        Only messages on this subject filter.
    at : str or datetime, optional
        Open at the first message stored at or after this time.
    seq : int, optional
        Open at this sequence (or the next message on the filter).
    page_size : int
        Messages per page.
    decode : str or callable
        How to decode the payloads.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Browser
        `.page.frame` (`seq`, `subject`, `time`, `size`, `headers`, `value`); move with
        `await b.next()`, `previous()`, `first()`, `last()`, `at_seq(n)`, `at_time(t)`;
        `b.consume_line()` is the `%js_consume` line that reads the same page.

    Examples
    --------
    >>> b = await jsmagic.streams.browse("ORDERS", subject="orders.eu.>", page_size=50)   # doctest: +SKIP
    >>> b.page.frame                                                                     # doctest: +SKIP
    >>> (await b.next()).frame                                                           # doctest: +SKIP
    """
    if at is not None and seq is not None:
        raise InputError("choose one of at= and seq=")
    browser = Browser(stream, subject, page_size=page_size, decode=decode, ctx=ctx)
    await browser.open(seq=seq, at=_when(at))
    return browser
