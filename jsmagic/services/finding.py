"""Finding before reading: `streams.find` (which streams capture a subject) and `streams.dry_run`
(what a replay would read), `%js_stream find` and `%js_consume … --dry-run`.

Part of the `jsmagic.streams` group.  Both create nothing on the server: the counts are
the server's own (`STREAM.INFO` subject counts, direct get's `Nats-Num-Pending`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from ..admin import find as _find
from ..core.context import JSContext
from ..reading.dryrun import DryRun
from .common import warn_notes
from .common import when as _when
from .messages import selection
from .reading import dry_run as _dry_run

__all__ = ["find", "dry_run"]

Ctx = JSContext | str | None
When = str | dt.datetime | None


async def find(subject: str, *, all: bool = False, ctx: Ctx = None) -> pd.DataFrame:  # noqa: A002 - the magic's --all
    """Every stream that captures `subject` (a wildcard too), with its message count there (`%js_stream find`).

    A stream captures a subject by its own subjects, a source (with its filter or
    transform) or a mirror, followed through every origin.

    Parameters
    ----------
    subject : str
        A subject or wildcard: `orders.eu.>`.
    all : bool
        Also Key-Value (`KV_`) and object-store (`OBJ_`) streams.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `stream`, `messages` (the server's count for `subject` there), `via` (how it gets
        there), `stream_messages`, `subjects`.  Streams the server could not list are named in
        `attrs["notes"]`, warned as a `ReadWarning`.

    Examples
    --------
    >>> await jsmagic.streams.find("orders.eu.>")   # doctest: +SKIP
    """
    return warn_notes(await _find.find(subject, all, ctx=ctx), f"find {subject}")


async def dry_run(stream: str, *, at: When = None, up_to_seq: int | None = None, ctx: Ctx = None,
                  **words: Any) -> DryRun:
    """What `jsmagic.replay(stream, **words)` would read, by which reader and about how long; creates nothing.

    `%js_consume … --dry-run`: no consumer is made; the counts are the server's.

    Parameters
    ----------
    stream : str
        The stream.
    at : str or datetime, optional
        With `deliver="last_per_subject"`: the point in time (`--at`).
    up_to_seq : int, optional
        With `deliver="last_per_subject"`: the point as a sequence (`--up-to-seq`).
    ctx : JSContext or str, optional
        A context or alias.
    **words
        What to read, as `jsmagic.selection` takes it: `subjects`, `deliver`, `start_seq`,
        `since`, `until`, `end_seq`, `count`, `where`…

    Returns
    -------
    DryRun
        `messages`, `bytes`, `first_seq`, `last_seq`, `reader`, `seconds` (an estimate),
        `exact` (False: an estimate, marked ≈ in `sentence()`), `consumers` (unchanged), `notes`.

    Examples
    --------
    >>> d = await jsmagic.streams.dry_run("ORDERS", since="1d", subjects="orders.eu.>")   # doctest: +SKIP
    >>> d.messages, d.bytes, d.reader                                                      # doctest: +SKIP
    """
    sel = selection(stream, **words)
    return await _dry_run(sel, at=_when(at), up_to_seq=up_to_seq, ctx=ctx)  # the one dry run, by selection
