"""Stream operations beside the basics: `report`, `sources`, `backup`, `restore`, `copy`, `seal`,
`schedules`, `rates` (re-exported by `jsmagic.services.streams`)."""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from ..admin import backup as _backup
from ..admin import rates as _rates
from ..admin import report as _report
from ..admin import schedules as _schedules
from ..admin import streams as _streams
from ..admin import topology
from ..core.context import JSContext
from ..core.errors import IncompleteError
from ..core.units import plural
from .common import warn_notes
from .streamconfig import split_settings

__all__ = ["report", "sources", "backup", "restore", "copy", "seal", "schedules", "rates"]

Ctx = JSContext | str | None
Progress = Callable[[float, float | None], None] | None


async def report(*, ctx: Ctx = None) -> pd.DataFrame:
    """Every stream's size, consumers and replication lag (`%js_stream report`).

    Parameters
    ----------
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        One row per stream; notes (streams without a leader) warned as `ReadWarning`.

    Examples
    --------
    >>> await jsmagic.streams.report()   # doctest: +SKIP
    """
    return warn_notes(await _report.stream_report(ctx=ctx))


async def sources(name: str, *, ctx: Ctx = None) -> pd.DataFrame:
    """A stream's mirror and sources with their replication lag (the Replication part of `%js_stream info`).

    Parameters
    ----------
    name : str
        The stream (a mirror, or a stream with sources; any other has no rows).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        One row for the mirror and one per source: `kind` (mirror/source), `stream`,
        `filter`, `lag` (messages not yet copied), `active` (seconds since the last
        contact, NaN for never), `error` (the server's description, or None).

    Examples
    --------
    >>> lag = await jsmagic.streams.sources("ALL")   # doctest: +SKIP
    >>> lag[["stream", "lag"]]
    """
    return await topology.sources(name, ctx=ctx)


async def backup(name: str, directory: str, *, consumers: bool = True, progress: Progress = None,
                 ctx: Ctx = None) -> _backup.Backup:
    """Back a stream up into a directory, in natscli's layout (`%js_stream backup`).

    Parameters
    ----------
    name : str
        The stream.
    directory : str
        A new or empty directory.
    consumers : bool
        Include the stream's durable consumers.
    progress : callable, optional
        `progress(done, total)` as bytes arrive.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Backup
        `stream`, `directory`, `messages`, `last_seq`, `bytes`, `consumers`, `data_file`
        (`stream.arc.s2` from server 2.15, `stream.tar.s2` before) and its `format`.

    Examples
    --------
    >>> await jsmagic.streams.backup("ORDERS", "./orders-backup")   # doctest: +SKIP
    """
    return await _backup.backup(name, directory, consumers, progress, ctx=ctx)


async def restore(directory: str, *, name: str | None = None, subjects: list[str] | None = None,
                  progress: Progress = None, ctx: Ctx = None) -> _backup.Backup:
    """Recreate a stream from a backup directory (`%js_stream restore`).

    Refused while a stream of that name exists; `name` and `subjects` restore a copy
    beside the original (its subjects must not overlap).

    Parameters
    ----------
    directory : str
        A directory written by `backup` or `nats stream backup`.
    name : str, optional
        Restore under another name.
    subjects : list of str, optional
        The copy's subjects.
    progress : callable, optional
        `progress(done, total)` as bytes are sent.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Backup
        What was restored: `messages`, `last_seq`, `consumers`…

    Examples
    --------
    >>> await jsmagic.streams.restore("./orders-backup", name="ORDERS_COPY", subjects=["copy.>"])   # doctest: +SKIP
    """
    return await _backup.restore(directory, name, progress, subjects, ctx=ctx)


async def copy(name: str, new_name: str, *, ctx: Ctx = None, **settings: Any) -> _streams.StreamDetails:
    """A new stream with another's configuration, changed by `settings` (`%js_stream copy`; no messages).

    Parameters
    ----------
    name : str
        The stream to copy the configuration of.
    new_name : str
        The new stream.
    ctx : JSContext or str, optional
        A context or alias.
    **settings
        As for `add` (its subjects usually must differ: `subjects="copy.>"`).

    Returns
    -------
    StreamDetails

    Examples
    --------
    >>> await jsmagic.streams.copy("ORDERS", "ORDERS_TEST", subjects="test.orders.>")   # doctest: +SKIP
    """
    flags, topo = split_settings(settings)
    return await topology.copy(name, new_name, flags, topo, ctx=ctx)


async def seal(name: str, *, force: bool = False, ctx: Ctx = None) -> dict[str, Any]:
    """Seal a stream: nothing can be added, deleted or purged any more (`%js_stream seal`; needs `force=True`).

    Parameters
    ----------
    name : str
        The stream.
    force : bool
        Required.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    dict
        The sealed stream's state.

    Examples
    --------
    >>> await jsmagic.streams.seal("ARCHIVE_2025", force=True)   # doctest: +SKIP
    """
    return await topology.seal(name, force, ctx=ctx)


async def schedules(name: str, subject: str | None = None, *, ctx: Ctx = None) -> pd.DataFrame:
    """The message schedules of a stream still to fire (`%js_stream schedules`; server 2.12+).

    Parameters
    ----------
    name : str
        The stream.
    subject : str, optional
        Only schedules on this subject filter.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> await jsmagic.streams.schedules("JOBS")   # doctest: +SKIP
    """
    return await _schedules.pending_schedules(name, subject, ctx=ctx)


async def rates(name: str, *, every: str | None = None, by: str | None = None, subject: str | None = None,
                progress: Progress = None, ctx: Ctx = None) -> pd.DataFrame:
    """Messages per interval over the stream's time span: the data of `%js_stream plot`.

    Parameters
    ----------
    name : str
        The stream (read headers-only; nothing is changed).
    every : str, optional
        The interval (`"10s"`, `"1m"`, `"1h"`); default: chosen for about 80-200 intervals.
    by : str, optional
        `"subject"`: one column per subject.
    subject : str, optional
        Only messages on this subject filter.
    progress : callable, optional
        `progress(done, total)` as messages are read.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        Indexed by interval start; `attrs["every"]` is the interval used and
        `attrs["messages"]` the number of messages counted.  An interrupted read raises
        `IncompleteError` whose `.frame` is this frame for the messages read so far.

    Examples
    --------
    >>> df = await jsmagic.streams.rates("ORDERS", by="subject", every="1m")   # doctest: +SKIP
    >>> df.plot()
    """
    times = await _rates.message_times(name, subject, progress=progress, ctx=ctx)
    every = every or _rates.auto_every(times)
    out = _rates.rate_frame(times, every, by)
    out.attrs.update(every=every, messages=len(times))
    if times.attrs.get("interrupted"):
        raise IncompleteError(f"reading {name}'s times stopped early after {plural(len(times), 'message')}", frame=out,
                              hint="the rates of what was read are in the error's .frame; run it again for all")
    return out
