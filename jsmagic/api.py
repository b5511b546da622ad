"""The async Python API: what the magics do, for scripts and cells, without IPython.

Every function is a coroutine that takes ``ctx=None`` (the current context; see
``jsmagic.context``) and returns data: DataFrames, numbers, dataclasses.
Errors are ``jsmagic.JSMagicError`` subclasses with one-line messages.

Example:
    A script:

    ```python
    import asyncio, jsmagic

    async def main():
        ctx = await jsmagic.connect("nats://127.0.0.1:4222")
        await jsmagic.publish("orders.new", [{"id": 1}, {"id": 2}], msg_id="order-{i}")
        df = await jsmagic.replay("ORDERS", since="2h")           # non-destructive
        await jsmagic.kv_put("config", "db.host", "postgres.local")
        print(await jsmagic.kv_view("config"))
        await jsmagic.close()

    asyncio.run(main())
    ```

In a notebook the same calls work with top-level ``await`` and share the magics' connection.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any, Iterable

import orjson
import pandas as pd

from .connecting.options import resolve
from .core import registry
from .core.context import JSContext
from .core.errors import IncompleteError, InputError
from .core.units import parse_duration, parse_when

__all__ = ["connect", "close", "replay", "publish", "streams", "kv_put", "kv_get", "kv_view", "ReadWarning"]

SHORT = "SHORT"  # a note that starts with this word says rows are missing (the engine could not read them all)


class ReadWarning(UserWarning):
    """A read or listing came back with notes: what the summary line of its magic would say.

    The notes are on the frame too (``df.attrs["notes"]``).  Make them errors with
    ``warnings.simplefilter("error", jsmagic.api.ReadWarning)``, or ``replay(..., strict=True)``.
    """


async def connect(*servers: str, alias: str | None = None, **options: Any) -> JSContext:
    """Open a connection (made current) and return its context.

    With nothing given, the same order as the magic: ``NATS_*`` variables, the nats CLI's
    context, 127.0.0.1:4222, an embedded server.

    Args:
        *servers: server URLs (``"nats://a:4222"``); none: see above.
        alias: open it under this name (``%js_connect --alias``); default: the ``default`` connection.
        **options: ``%js_connect``'s flags as keywords: ``context="prod"``, ``creds=...``,
            ``user``/``password``, ``token``, ``domain``, ``api_prefix``, ``embedded=True``,
            ``store``, ``timeout``, ``name``.

    Returns:
        The connection's context (``ctx.nc``, ``ctx.js``: plain nats-py on the same connection).

    Example:
        ```python
        ctx = await jsmagic.connect("nats://127.0.0.1:4222", name="analysis")
        ```
    """
    return await registry.connect(alias or registry.DEFAULT, resolve({"servers": list(servers), **options}))


async def close(ctx: JSContext | None = None, *, all: bool = False) -> None:  # noqa: A002 - natscli's word
    """Close the current connection (or ``ctx``; or every one with ``all=True``).

    Args:
        ctx: the connection to close; default: the current one.
        all: close every connection.
    """
    targets = list(registry.contexts().values()) if all else [registry.current(ctx)]
    for c in targets:
        await registry.close(c)


def _when(value: str | dt.datetime | None) -> dt.datetime | None:
    """A time: a datetime as is (naive means UTC), ISO text, or a duration meaning ago ("2h")."""
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return parse_when(value)


async def replay(stream: str, *, subjects: str | Iterable[str] = (), deliver: str | None = None,
                 start_seq: int | None = None, since: str | dt.datetime | None = None,
                 until: str | dt.datetime | None = None, end_seq: int | None = None, count: int | None = None,
                 headers_only: bool = False, decode: Any = "auto", flatten: bool = False,
                 timeout: str | float | None = None, where: str | None = None, grep: str | None = None,
                 header: Iterable[str] = (), subject_cols: str | None = None, header_cols: Iterable[str] = (),
                 strict: bool = False, ctx: JSContext | None = None) -> pd.DataFrame:
    """A stream's messages as a DataFrame, like ``%js_consume``; the stream is left unchanged.

    ``deliver`` is ``all`` (default), ``new``, ``last`` or ``last_per_subject``; ``start_seq``
    and ``since`` choose the start as ``--start-seq``/``--since`` do.
    ``where``/``grep``/``header`` (``["K=V"]``) filter while reading (``count`` then counts
    matches); ``subject_cols``/``header_cols`` add columns, as ``%js_consume``'s flags do.

    A short frame is never returned in silence.  The replay raises
    ``IncompleteError`` (its ``.frame`` holds what arrived, with the notes in
    ``.frame.attrs["notes"]``) when it was interrupted, when it stopped on the timeout, and
    when a note says rows are missing (a note starting ``SHORT``: a consumer on a replica
    still catching up).  A complete replay with something to say (it waited for a replica,
    read through nats-py instead of the bulk reader, gave rows back…) returns its frame
    with the notes in ``df.attrs["notes"]`` (``df.attrs["method"]``: how it was read) and
    warns each one as a ``ReadWarning``; ``strict=True`` raises
    ``IncompleteError`` instead, for a script that takes only a plain, complete read.

    Args:
        stream: the stream's name.
        subjects: a subject filter or several (NATS wildcards), as ``-s``.
        deliver: ``all`` (default), ``new``, ``last`` or ``last_per_subject``.
        start_seq: the first sequence, as ``--start-seq``.
        since: a time or a duration ago (``"2h"``), as ``--since``.
        until: stop at this stored time, as ``--until``.
        end_seq: the last sequence, as ``--end-seq``.
        count: at most this many rows (matches, with a filter).
        where: a pandas query kept chunk by chunk, as ``--where``.
        grep: a regex on the raw payload, as ``--grep``.
        header: ``["K=V"]`` header matches, as ``--header``.
        subject_cols: subject tokens as columns (``"orders.{region}.{kind}"``).
        header_cols: header values as columns.
        decode: a ``--decode`` name (``auto``, ``json``, ``msgpack``…) or a function.
        strict: raise ``IncompleteError`` on any note, not only on missing rows.
        ctx: the connection; default: the current one.

    Returns:
        A DataFrame: ``seq``, ``subject``, ``time``, payload columns; notes in ``df.attrs["notes"]``.

    Raises:
        IncompleteError: the replay could not read every row it was asked for.

    Example:
        ```python
        df = await jsmagic.replay("ORDERS", subjects="orders.eu.>", since="2h", where="amount > 100")
        ```
    """
    from .reading.reader import replay as run_replay
    from .reading.selection import Selection

    chosen = [d for d in (deliver, "start_seq" if start_seq is not None else None,
                          "since" if since is not None else None) if d]
    if len(chosen) > 1:
        raise InputError(f"choose one of deliver=, start_seq=, since= (got {', '.join(chosen)})")
    sel = Selection(
        stream=stream, subjects=[subjects] if isinstance(subjects, str) else list(subjects),
        deliver=chosen[0] if chosen else "all", start_seq=start_seq, since=_when(since), until=_when(until),
        end_seq=end_seq, count=count, headers_only=headers_only, decode=decode, flatten=flatten,
        timeout=parse_duration(timeout) if timeout is not None else None, where=where, grep=grep,
        header=list(header), subject_cols=subject_cols, header_cols=list(header_cols),
    )
    return checked(await run_replay(sel, ctx=ctx), strict)


def checked(result: Any, strict: bool = False) -> pd.DataFrame:
    """A finished replay's frame carrying its notes, or ``IncompleteError`` when it is short (see ``replay``)."""
    frame, notes, stream = result.frame, list(result.notes), result.stream
    frame.attrs["notes"], frame.attrs["method"] = notes, result.method
    said = f" ({'; '.join(notes)})" if notes else ""
    if result.interrupted or result.timed_out:
        why = "interrupted" if result.interrupted else "no message arrived within the timeout"
        raise IncompleteError(f"replay of {stream} stopped early ({why}) after {len(frame):,} message(s){said}",
                              frame=frame, hint="raise timeout=, or read again from the last seq")
    short = [n for n in notes if n.startswith(SHORT)]
    if short:
        raise IncompleteError(f"replay of {stream} came back short with {len(frame):,} message(s): {'; '.join(short)}",
                              frame=frame, hint="read it again")
    if strict and notes:
        raise IncompleteError(f"replay of {stream} has notes (strict=True) with {len(frame):,} message(s){said}",
                              frame=frame, hint="the frame is in the error's .frame; strict=False returns it with warnings")
    for note in notes:
        warnings.warn(f"replay of {stream}: {note}", ReadWarning, stacklevel=3)
    return frame


def _payload(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


async def publish(subject: str, payloads: Iterable[Any], *, headers: dict[str, str] | None = None,
                  msg_id: str | None = None, stream: str | None = None,
                  ctx: JSContext | None = None) -> pd.DataFrame:
    """Publish each payload (bytes, str, or anything JSON-serialisable) and return the acks.

    ``msg_id`` is a ``str.format`` template with ``{i}`` (1-based), sent as ``Nats-Msg-Id``
    so a re-run stores no duplicates within the stream's duplicate window (2 minutes by
    default).  A subject no stream captures is refused before anything is sent; refused
    messages raise ``PublishError`` after the rest were sent.

    Args:
        subject: where to publish.
        payloads: the messages: bytes, str, or anything JSON-serialisable.
        headers: headers sent with every message.
        msg_id: a ``Nats-Msg-Id`` template with ``{i}``, the message's 1-based number.
        stream: expect this stream to store them.
        ctx: the connection; default: the current one.

    Returns:
        One row per message: subject, stream, seq, duplicate.

    Raises:
        PublishError: some messages were refused (the rest were sent).

    Example:
        ```python
        acks = await jsmagic.publish("orders.new", [{"id": 1}, {"id": 2}], msg_id="order-{i}")
        ```
    """
    from .publishing.pipeline import publish_prepared

    messages = []
    for i, value in enumerate(payloads, 1):
        h = dict(headers or {})
        if msg_id is not None:
            h["Nats-Msg-Id"] = msg_id.format(i=i)
        messages.append((i, subject, _payload(value), h or None))
    if not messages:
        raise InputError("nothing to publish: payloads is empty")
    result = await publish_prepared(messages, [subject], stream=stream, total=len(messages), ref_name="message",
                                    ctx=ctx)
    result.raise_for_errors()
    return result.frame()


async def streams(ctx: JSContext | None = None) -> pd.DataFrame:
    """One row per stream: configuration essentials and state (``%js_stream ls``).

    A stream the server could not describe (a cluster's stream without a leader) is no
    row: ``df.attrs["missing"]`` names it and the note (``df.attrs["notes"]``) is warned
    as a ``ReadWarning``.
    """
    from .admin.streams import list_streams

    frame = await list_streams(ctx=ctx)
    for note in frame.attrs.get("notes") or []:
        warnings.warn(note, ReadWarning, stacklevel=2)
    return frame


async def kv_put(bucket: str, key: str, value: Any, ctx: JSContext | None = None) -> int:
    """Store a value in a Key-Value bucket.

    Args:
        bucket: the bucket's name.
        key: the key.
        value: bytes as is, str as UTF-8, anything else as JSON.
        ctx: the connection; default: the current one.

    Returns:
        The key's new revision.
    """
    from .admin import kv

    return await kv.put(bucket, key, value, ctx=ctx)


async def kv_get(bucket: str, key: str, revision: int | None = None, ctx: JSContext | None = None) -> Any:
    """A key's entry, its latest value or the one at ``revision``.

    Args:
        bucket: the bucket's name.
        key: the key.
        revision: this revision instead of the latest.
        ctx: the connection; default: the current one.

    Returns:
        The entry: ``.value`` decoded, ``.revision``, ``.time``.
    """
    from .admin import kv

    return await kv.get(bucket, key, revision=revision, ctx=ctx)


async def kv_view(bucket: str, pattern: str = ">", ctx: JSContext | None = None) -> pd.DataFrame:
    """The latest value of every key matching ``pattern``, as a DataFrame.

    Args:
        bucket: the bucket's name.
        pattern: NATS wildcards, matched by the server (``"users.*"``).
        ctx: the connection; default: the current one.

    Returns:
        One row per key: key, value, revision, time, sorted by key.
    """
    from .admin import kv

    return await kv.view(bucket, pattern, ctx=ctx)
