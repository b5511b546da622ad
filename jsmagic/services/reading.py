"""Reads for the front-ends that word a read themselves: a selection in, the engine's whole `Replay` out.

`%js_consume` (its summary line), the `jsmagic` command (its exit code) and
`jsmagic.replay`/`export` (their `IncompleteError`) all read through these, so that
the same words give the same frame everywhere.  What comes back is the read engine's
`Replay`: `frame` (or `export`, what a sink wrote), `method`, `notes`,
`interrupted`, `timed_out`, and for a durable read `action`/`acknowledged`/`failed`.
Nothing is raised for a short read here: the caller decides (`jsmagic.services.results.checked`
for scripts, a summary line in a notebook, an exit code in a scheduler).

A selection is what `jsmagic.selection` builds from the magic's words.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..core.context import JSContext
from ..core.registry import current
from ..history import streamtime
from ..reading import dryrun, reader, results
from ..reading.selection import ProgressFn, Selection

__all__ = ["check_stream", "read", "read_as", "read_to", "read_at", "dry_run"]

Ctx = JSContext | str | None
Progress = ProgressFn | None  # progress(done, total_or_None) as messages arrive


async def check_stream(stream: str, *, ctx: Ctx = None) -> Any:
    """The stream's info, connecting first; a typo is an error that says "did you mean".

    Parameters
    ----------
    stream : str
        The stream.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    nats.js.api.StreamInfo

    Examples
    --------
    >>> info = await check_stream("ORDERS")   # doctest: +SKIP
    """
    return await reader.check_stream(stream, ctx=current(ctx))


async def read(sel: Selection, *, progress: Progress = None, ctx: Ctx = None) -> reader.Replay:
    """Read `sel` into a pandas frame (`%js_consume`); the whole `Replay`, short or not.

    Parameters
    ----------
    sel : Selection
        What to read (`jsmagic.selection(...)`).
    progress : callable, optional
        `progress(done, total)` as messages arrive.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Replay
        `frame`, `method`, `notes`, `interrupted`, `timed_out`…

    Examples
    --------
    >>> result = await read(jsmagic.selection("ORDERS", since="2h"))   # doctest: +SKIP
    >>> result.frame, result.notes
    """
    return await reader.replay(sel, progress, ctx=current(ctx))


async def read_as(sel: Selection, result_as: str | None = None, *, progress: Progress = None,
                  ctx: Ctx = None) -> tuple[reader.Replay, Any]:
    """Read `sel` as pandas, Arrow or Polars (`%js_consume --as`); the `Replay` and the result.

    Parameters
    ----------
    sel : Selection
        What to read.
    result_as : str, optional
        `pandas`, `arrow` or `polars` (default `JSMagic.result_type`; Arrow-backed pandas
        with `JSMagic.arrow_dtypes`).
    progress : callable, optional
        `progress(done, total)` as messages arrive.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    tuple
        `(Replay, result)`: the read's figures and notes, and the frame or table.

    Examples
    --------
    >>> result, table = await read_as(jsmagic.selection("ORDERS"), "arrow")   # doctest: +SKIP
    """
    return await results.replay_as(sel, result_as, progress, ctx=current(ctx))


async def read_to(sel: Selection, path: str, *, partition_by: str | None = None, progress: Progress = None,
                  ctx: Ctx = None) -> reader.Replay:
    """Stream a read of `sel` into Parquet, chunk by chunk (`%js_consume --to`, `jsmagic export`).

    Parameters
    ----------
    sel : Selection
        What to read.
    path : str
        A Parquet file, or with `partition_by` a new (or empty) dataset directory.
    partition_by : str, optional
        A column: a hive-layout dataset.
    progress : callable, optional
        `progress(done, total)` as messages arrive.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Replay
        `.export` says what was written (`path`, `rows`, `first_seq`, `last_seq`, `bytes`…).

    Examples
    --------
    >>> result = await read_to(jsmagic.selection("ORDERS"), "orders.parquet")   # doctest: +SKIP
    >>> result.export.rows
    """
    from ..reading import export as _export  # pyarrow: only the [parquet] extra has it, so only when exporting

    return await _export.export_replay(sel, path, partition_by, progress, ctx=current(ctx))


async def read_at(sel: Selection, *, at: dt.datetime | None = None, up_to_seq: int | None = None,
                  progress: Progress = None, ctx: Ctx = None) -> reader.Replay:
    """Each subject's last message as of a time or sequence (`%js_consume --last-per-subject --at`).

    Parameters
    ----------
    sel : Selection
        What to read, with `deliver="last_per_subject"`.
    at : datetime, optional
        The point in time (writes at or before it count).
    up_to_seq : int, optional
        Or the point as a stream sequence (one of `at`, `up_to_seq`).
    progress : callable, optional
        `progress(done, total)` as messages arrive.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Replay
        Its frame's `attrs` hold `revision` and `at`, the point read.

    Examples
    --------
    >>> sel = jsmagic.selection("ORDERS", deliver="last_per_subject")                 # doctest: +SKIP
    >>> result = await read_at(sel, up_to_seq=1000)                                  # doctest: +SKIP
    """
    return await streamtime.consume_at(sel, at, up_to_seq, ctx=current(ctx), progress=progress)


async def dry_run(sel: Selection, *, at: dt.datetime | None = None, up_to_seq: int | None = None,
                  ctx: Ctx = None) -> dryrun.DryRun:
    """What a read of `sel` would cover, from the server's counts; reads nothing, creates no consumer.

    Parameters
    ----------
    sel : Selection
        What would be read.
    at, up_to_seq : optional
        As `read_at` takes them (a time-travel read).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    DryRun
        `messages`, `bytes`, `first_seq`, `last_seq`, `reader`, `seconds`, `notes`; its repr is one sentence.

    Examples
    --------
    >>> await dry_run(jsmagic.selection("ORDERS", since="1d"))   # doctest: +SKIP
    Dry run: 1,200 messages, ≈52 KiB of ORDERS, seq 1–1,200; read by …
    """
    return await dryrun.dry_run(sel, at=at, up_to_seq=up_to_seq, ctx=current(ctx))
