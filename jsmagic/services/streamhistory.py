"""A stream as it was: `streams.last_per_subject(at=)` and `streams.diff` (`%js_consume --last-per-subject --at`,
`%js_stream diff`).

Part of the `jsmagic.streams` group.  The point is a time (`"2h"` ago, ISO/RFC 3339 text,
a datetime; messages stored at or before it count) or a stream sequence.  The last message
of each subject up to it is read by batched direct get (`multi_last`, no consumer) or by a
replay through the read engine when that is cheaper, or when the stream has no direct get;
`attrs["method"]` says which.  Messages from before the point that the stream no longer
stores are said in `attrs["notes"]` and warned as a `ReadWarning`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

import pandas as pd

from ..core.context import JSContext
from ..core.errors import InputError
from ..history import streamtime
from .common import warn_notes
from .common import when as _when
from .messages import selection
from .results import checked

__all__ = ["last_per_subject", "diff"]

Ctx = JSContext | str | None
When = str | dt.datetime | None
POINT_NOTE = "last per subject "  # the note streamtime.consume_at adds to say the point: on attrs, not warned


async def last_per_subject(stream: str, *, at: When = None, up_to_seq: int | None = None,
                           subjects: str | Iterable[str] = (), decode: Any = "auto", flatten: bool = False,
                           ctx: Ctx = None) -> pd.DataFrame:
    """The last message of each subject, as of a time or a sequence (`%js_consume S --last-per-subject --at T`).

    Parameters
    ----------
    stream : str
        The stream (a last-value stream: one message per subject matters).
    at : str or datetime, optional
        The point in time: `"2h"` (ago), ISO/RFC 3339 text, or a datetime.
    up_to_seq : int, optional
        The point as a stream sequence instead (`--up-to-seq`).
    subjects : str or list of str
        Only these subject filters (NATS wildcards).
    decode : str or callable
        How to decode the payloads.
    flatten : bool
        Nested JSON objects become dotted columns.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        The columns of `jsmagic.replay`, one row per subject, in sequence order;
        `attrs["revision"]` is the point's sequence, `attrs["method"]` how it was read.

    Examples
    --------
    >>> await jsmagic.streams.last_per_subject("PRICES", at="2026-12-01T09:00:00Z")   # doctest: +SKIP
    >>> await jsmagic.streams.last_per_subject("PRICES", up_to_seq=5000, subjects="prices.eu.*")   # doctest: +SKIP
    """
    sel = selection(stream, subjects=subjects, deliver="last_per_subject", decode=decode, flatten=flatten)
    result = await streamtime.consume_at(sel, _when(at), up_to_seq, ctx=ctx)
    said = [n for n in result.notes if n.startswith(POINT_NOTE)]
    result.notes = [n for n in result.notes if not n.startswith(POINT_NOTE)]
    frame = checked(result)
    frame.attrs["notes"] = [*result.notes, *said]
    return frame


async def diff(stream: str, since: When = None, until: When = None, *, subjects: str | Iterable[str] = (),
               since_seq: int | None = None, until_seq: int | None = None, decode: Any = "auto",
               progress: Any = None, ctx: Ctx = None) -> pd.DataFrame:
    """Per subject, its last message at two points where they differ (`%js_stream diff STREAM T1 [T2]`).

    Parameters
    ----------
    stream : str
        The stream.
    since : str or datetime, optional
        The first point: `"2h"` (ago), ISO/RFC 3339 text, or a datetime.
    until : str or datetime, optional
        The second point (default: now).
    subjects : str or list of str
        Only these subject filters (`-s`, NATS wildcards).
    since_seq, until_seq : int, optional
        The points as stream sequences instead of times.
    decode : str or callable
        How to decode the payloads.
    progress : callable, optional
        Called as the stream is read (`%js_stream diff`'s progress line).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `subject`, `change` (`added`, `changed`, `deleted`), `old_value`, `new_value`,
        `old_seq`, `new_seq`, `old_time`, `new_time`; `attrs["since_seq"]`/`attrs["until_seq"]`
        are the two points.

    Examples
    --------
    >>> await jsmagic.streams.diff("PRICES", "1d", subjects="prices.eu.>")   # doctest: +SKIP
    """
    if since is None and since_seq is None:
        raise InputError("a diff needs its first point", hint="give since= (a time, or '2h' ago) or since_seq=")
    filters = [subjects] if isinstance(subjects, str) else list(subjects)
    df = await streamtime.diff(stream, _when(since), _when(until), filters, decode, since_seq=since_seq,
                               until_seq=until_seq, progress=progress, ctx=ctx)
    return warn_notes(df, f"diff of {stream}")
