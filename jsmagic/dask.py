"""A replay partitioned over a Dask cluster: `read_stream(...)` → a `dask.dataframe`.

::

    import jsmagic.dask as jd
    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")          # any dask.distributed cluster
    ddf = jd.read_stream("ORDERS", servers="nats://nats:4222", context="prod", partitions=32, since="30d")
    ddf.groupby("region").amount.sum().compute()

The stream's sequence range (from `since`/`start_seq` to `end_seq` or its last
sequence as of the call) is cut into `partitions` ranges.  Each partition is read by
whichever worker runs it, over a connection of its own, with the same non-destructive
reader as `%js_consume` (an ephemeral consumer deleted afterwards, or gets on a
WorkQueue/Interest stream): computed, it equals the single-kernel replay (same
sequences, columns and dtypes; the index runs per partition).  A partition that cannot
read all of its range fails instead of coming back short.

Selection options are `%js_consume`'s (``subjects, since, until, start_seq, end_seq,
where, grep, header, subject_cols, header_cols, decode, flatten, headers_only, timeout``);
connection options are `%js_connect`'s (``context, creds, nkey, user, password, token,
tls_ca, tls_cert, tls_key, domain, api_prefix``).  The options travel in the task graph as
given, and each worker resolves them itself: pass a creds file or a context name (read on
the worker) rather than a password or token, and no secret is in the graph.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Iterable

import pandas as pd

from .core.config import settings
from .core.context import JSContext
from .core.errors import IncompleteError, InputError
from .core.runner import run_apart
from .core.units import epoch_ns, parse_duration, parse_when, plural
from .reading.schema import conform
from .reading.dryrun import first_at_or_after
from .reading.selection import Selection

__all__ = ["read_stream"]

CONNECT_KEYS = ("context", "creds", "nkey", "user", "password", "token", "tls_ca", "tls_cert", "tls_key",
                "tls_first", "domain", "api_prefix", "inbox_prefix", "timeout", "name")
SELECT_KEYS = ("subjects", "until", "where", "grep", "header", "subject_cols", "header_cols", "decode", "flatten",
               "headers_only", "timeout", "batch")


@dataclasses.dataclass(frozen=True)
class Partition:
    """One task: a stream's sequences `first..last` with the selection and connection options."""

    stream: str
    first: int
    last: int
    select: tuple
    connect: tuple
    meta: Any = None  # the read's empty frame: each partition comes back in its columns and dtypes


def read_stream(stream: str, servers: str | Iterable[str] | None = None, partitions: int = 8, *,
                since: str | None = None, start_seq: int | None = None, end_seq: int | None = None,
                meta: pd.DataFrame | None = None, **options: Any) -> Any:
    """A lazy `dask.dataframe` of the stream's messages, one partition per sequence range.

    Each partition is read by whichever worker runs it, over a connection of its own, with
    the same non-destructive reader as `%js_consume`; computed, it equals the single-kernel
    replay.  A partition that cannot read all of its range fails instead of coming back short.

    Args:
        stream: the stream's name.
        servers: server URLs the workers connect to (or give `context=`).
        partitions: how many sequence ranges.
        since: start at this time or duration ago (`"30d"`).
        start_seq: start at this sequence.
        end_seq: stop at this sequence (default: the stream's last as of the call).
        meta: the frame's columns and dtypes, if known (an empty DataFrame); by default the
            range is scanned once here for them, so `ddf.columns` names every column.
        **options: `%js_consume`'s selection (`subjects`, `until`, `where`, `grep`,
            `header`, `subject_cols`, `header_cols`, `decode`…) and `%js_connect`'s
            connection options (`context`, `creds`, `nkey`, `user`, `password`,
            `token`, TLS files, `domain`), resolved on each worker: pass a creds file or a
            context name and no secret is in the task graph.

    Returns:
        A `dask.dataframe.DataFrame`.

    Example:
        ```python
        import jsmagic.dask as jd
        ddf = jd.read_stream("ORDERS", servers="nats://nats:4222", partitions=32, since="30d")
        ddf.groupby("region").amount.sum().compute()
        ```
    """
    import dask.dataframe as dd

    if partitions < 1:
        raise InputError("partitions must be >= 1")
    unknown = set(options) - set(CONNECT_KEYS) - set(SELECT_KEYS)
    if unknown:
        raise InputError(f"read_stream: unknown options {', '.join(sorted(unknown))}",
                         hint=f"selection: {', '.join(SELECT_KEYS)}; connection: {', '.join(CONNECT_KEYS)}")
    connect = {k: v for k, v in options.items() if k in CONNECT_KEYS}
    if servers:
        connect["servers"] = servers
    select = {k: v for k, v in options.items() if k in SELECT_KEYS}
    if select.get("timeout") is not None:
        select["timeout"] = parse_duration(select["timeout"])
    if select.get("until") is not None:
        select["until"] = parse_when(select["until"])
    _selection(stream, select).check()
    first, last, meta = run_apart(_plan(stream, connect, select, since, start_seq, end_seq, meta, partitions))
    ranges = _split(first, last, partitions)
    parts = [Partition(stream, a, b, tuple(select.items()), tuple(connect.items()), meta) for a, b in ranges]
    import dask

    with dask.config.set({"dataframe.convert-string": False}):  # the replay's own dtypes, as in the kernel
        return dd.from_map(read_partition, parts, meta=meta, enforce_metadata=False)


def _selection(stream: str, select: dict, **more: Any) -> Selection:
    subjects = select.get("subjects") or []
    opts = {**select, "subjects": [subjects] if isinstance(subjects, str) else list(subjects)}
    return Selection(stream=stream, **opts, **more)


def _split(first: int, last: int, n: int) -> list[tuple[int, int]]:
    """`first..last` in `n` near-equal ranges (at least one, possibly empty: last < first)."""
    total = max(0, last - first + 1)
    n = max(1, min(n, total or 1))
    step, extra = divmod(total, n)
    out, a = [], first
    for i in range(n):
        b = a + step + (1 if i < extra else 0) - 1
        out.append((a, b))
        a = b + 1
    return out


async def _connect(connect: dict) -> JSContext:
    from .connecting.options import resolve

    ctx = JSContext(alias="dask")
    await ctx.connect(resolve(dict(connect)))
    return ctx


async def _plan(stream: str, connect: dict, select: dict, since: Any, start_seq: int | None,
                end_seq: int | None, meta: pd.DataFrame | None, partitions: int = 1) -> tuple[int, int, pd.DataFrame]:
    """The sequence range to read and the frame's empty `meta` (given, or from a scan of the range).

    Each partition may read through a consumer of its own, all at once: a stream without room
    for `partitions` more consumers (its max_consumers, the account's, or the server's 1,000)
    is refused here, in one line, before any partition starts."""
    from .admin.consumerlimits import require_room
    from .reading.reader import stream_info

    ctx = await _connect(connect)
    try:
        info = await stream_info(ctx.js, stream)
        first = max(info.state.first_seq, 1)
        if start_seq is not None:
            first = max(first, start_seq)
        if since is not None:
            when = parse_when(since) if isinstance(since, str) else since
            found = await first_at_or_after(stream, epoch_ns(when), ctx=ctx)  # the one STREAM.MSG.GET by time
            first = max(first, found if found is not None else info.state.last_seq + 1)
        last = info.state.last_seq if end_seq is None else min(end_seq, info.state.last_seq)
        await require_room(stream, len(_split(first, last, partitions)), f"read_stream with partitions={partitions}", ctx=ctx)
        return first, last, meta.iloc[:0] if meta is not None else await _meta(ctx, stream, select, first, last)
    finally:
        await ctx.close()


async def _meta(ctx: JSContext, stream: str, select: dict, first: int, last: int) -> pd.DataFrame:
    """The empty frame dask shows before computing: every column of the range, in the read's dtypes.

    The range is read once here, chunk by chunk, keeping only the read's schema
    (`jsmagic.reading.schema`): a key that appears only mid-stream is in `ddf.columns`,
    and ids that outgrow int64 are uint64 in every partition.  A scan that cannot read the
    whole range fails here, before anything is computed."""
    from .reading.frames import Rows
    from .reading.reader import replay

    sel = _selection(stream, select, deliver="start_seq", start_seq=max(first, 1), end_seq=max(last, 1))
    if last < first:
        sel = dataclasses.replace(sel, end_seq=first - 1)
    sink = _SchemaSink()
    result = await replay(sel, ctx=ctx, sink=sink)
    if result.interrupted or result.timed_out:
        raise IncompleteError(f"{stream}: the scan for read_stream's columns stopped early",
                              hint="raise timeout=, or pass meta= (an empty DataFrame of the columns)")
    schema = result.export
    if schema is not None and schema.known:
        for note in schema.notes():  # no summary line here: the cell shows a warning instead
            warnings.warn(f"read_stream {stream}: {note}", stacklevel=4)
        return schema.empty()
    rows = Rows(headers_only=sel.headers_only)  # nothing to read: the columns of an empty replay
    rows.shaped(sel.decode, sel.flatten, sel.shape(), None)
    return rows.frame().iloc[:0]


class _SchemaSink:
    """Takes a scan's chunks: each one's frame only updates the read's schema, then goes."""

    def __init__(self) -> None:
        self.read: Any = None

    def write(self, chunk: Any, rows: Any) -> None:
        self.read = rows.schema
        rows.frame_of([chunk])  # recorded in rows.schema

    def close(self, frame: Any = None, interrupted: bool = False) -> Any:
        if frame is not None and len(frame):  # a reader that had to see everything first
            from .reading.schema import ReadSchema

            self.read = self.read or ReadSchema()
            self.read.observe(frame)
        return self.read


def read_partition(part: Partition) -> pd.DataFrame:
    """Run on a worker: read `part.first..part.last` over a connection of its own, then close it.

    On a fresh loop (`asyncio.run`, or a helper thread when a loop already runs here: dask's
    synchronous scheduler in a Jupyter cell); nothing about the caller's loop changes."""
    return run_apart(_read(part))


async def _read(part: Partition) -> pd.DataFrame:
    from .reading.reader import replay
    from .reading.wire.choose import wanted as bulk_wanted  # the bulk reader asks only for the range itself

    select = dict(part.select)
    sel = _selection(part.stream, select, deliver="start_seq", start_seq=part.first, end_seq=part.last)
    if not sel.batch and not bulk_wanted(sel):  # nats-py: a chunk is ~10 pulls; keep it inside the range
        sel.batch = max(100, min(settings().fetch_batch, (part.last - part.first + 1) // 10))
    if part.last < part.first:
        sel = dataclasses.replace(sel, count=None, end_seq=part.first - 1)
    ctx = await _connect(dict(part.connect))
    try:
        result = await replay(sel, ctx=ctx)
    finally:
        await ctx.close()
    if result.interrupted or result.timed_out:
        raise IncompleteError(f"{part.stream} seq {part.first}–{part.last}: the read stopped early "
                              f"after {plural(len(result.frame), 'message')}", hint="raise timeout=, then compute again")
    return result.frame if part.meta is None else conform(result.frame, part.meta)
