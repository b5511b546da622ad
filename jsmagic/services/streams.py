"""Streams, as `nats stream` has them: `add`, `edit`, `info`, `ls`, `subjects`, `get`, `rmm`,
`purge`, `rm`, `report`, `sources`, `backup`, `restore`, `copy`, `seal`, `schedules`, `rates`, and for
clusters, limits and sourcing `peers`, `peer_remove`, `peer_evacuate`, `cancel_move`, `consumer_room`,
`sourcing`.

Settings use `%js_stream add`'s flag names as keywords (`max_age="1d"`, `max_bytes="10MB"`,
`dupe_window="2m"`, `replicas=3`, `allow_counter=True`, `sources=["EU", "US:us.>"]`,
`mirror="ORDERS"`…) and the same human units.  Destructive verbs need `force=True`.
`jsmagic.streams()` is `ls`.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import pandas as pd

from ..admin import streams as _streams
from ..core.context import JSContext
from .common import warn_notes
from .streamconfig import split_settings
from .streamops import backup, copy, rates, report, restore, schedules, seal, sources
from .streamcluster import cancel_move, consumer_room, peer_evacuate, peer_remove, peers, sourcing

__all__ = ["ls", "names", "add", "edit", "info", "subjects", "get", "rmm", "purge", "rm", "report", "sources",
           "backup", "restore", "copy", "seal", "schedules", "rates", "peers", "peer_remove", "peer_evacuate",
           "cancel_move", "consumer_room", "sourcing"]

Ctx = JSContext | str | None

async def ls(*, ctx: Ctx = None) -> pd.DataFrame:
    """Every stream with its settings and state (`%js_stream ls`).

    Parameters
    ----------
    ctx : JSContext or str, optional
        A context or alias; the current connection when omitted.

    Returns
    -------
    pandas.DataFrame
        One row per stream (name, subjects, retention, storage, replicas, messages, bytes,
        first/last sequence and time, consumers).  A stream the server could not describe
        (a cluster's stream without a leader) is no row: `df.attrs["missing"]` names it
        and its note (`df.attrs["notes"]`) is warned as a `ReadWarning`.

    Examples
    --------
    >>> df = await jsmagic.streams.ls()   # doctest: +SKIP
    >>> df[["name", "messages"]]
    """
    return warn_notes(await _streams.list_streams(ctx=ctx))


async def names(subject: str | None = None, *, ctx: Ctx = None) -> list[str]:
    """The names of every stream, or of those that capture `subject`.

    Parameters
    ----------
    subject : str, optional
        A subject (wildcards allowed); only streams capturing it are named.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    list of str

    Examples
    --------
    >>> await jsmagic.streams.names("orders.eu")   # doctest: +SKIP
    ['ORDERS']
    """
    return await _streams.stream_names(subject, ctx=ctx)


async def add(name: str, *, config_file: str | None = None, ctx: Ctx = None, **settings: Any) -> _streams.StreamDetails:
    """Create a stream (`%js_stream add`); an existing one with another configuration is an error.

    Parameters
    ----------
    name : str
        The stream's name.
    config_file : str, optional
        natscli's JSON stream configuration (`--config`); keywords override it.
    ctx : JSContext or str, optional
        A context or alias.
    **settings
        `%js_stream add`'s flags: `subjects` (default: the name), `retention`
        (limits/interest/workqueue), `storage` (file/memory), `max_msgs`, `max_bytes`
        ("10MB"), `max_age` ("1d"), `max_msgs_per_subject`, `max_msg_size`, `discard`,
        `dupe_window` ("2m"), `replicas`, `description`, `allow_direct`, `allow_rollup`;
        server 2.11-2.14 features `allow_msg_ttl`, `allow_counter`, `allow_batch`, `allow_fast`,
        `allow_schedules`, `subject_del_markers_ttl`, `persist_mode` ("async"); topology `sources`
        (`"STREAM[:FILTER][@START]"`), `mirror`, `transform_source`/`transform_destination`,
        `republish_source`/`republish_destination`, `metadata` (`"k=v"`), `compression`…;
        consumer limits `max_consumers`, `limit_consumer_inactive` ("1h"),
        `limit_consumer_max_pending`.

    Returns
    -------
    StreamDetails
        `.info` (nats-py's `StreamInfo`) and `.num_subjects`.

    Examples
    --------
    >>> await jsmagic.streams.add("ORDERS", subjects="orders.>", max_age="7d", storage="memory")   # doctest: +SKIP
    """
    flags, topo = split_settings(settings)
    return await _streams.add_stream(name, topology=topo, config_file=config_file, ctx=ctx, **flags)


async def edit(name: str, *, config_file: str | None = None, dry_run: bool = False, ctx: Ctx = None,
               **settings: Any) -> pd.DataFrame:
    """Change a stream's settings (`%js_stream edit`); returns what changed.

    Parameters
    ----------
    name : str
        The stream.
    config_file : str, optional
        natscli's JSON configuration to apply.
    dry_run : bool
        Compare only; change nothing.
    ctx : JSContext or str, optional
        A context or alias.
    **settings
        The settings of `add` to change (`max_age="30d"`…); `no_mirror=True` promotes a
        mirror to a stream that takes publishes (server 2.12+).

    Returns
    -------
    pandas.DataFrame
        One row per changed setting: `setting`, `old`, `new`.

    Examples
    --------
    >>> await jsmagic.streams.edit("ORDERS", max_age="30d")   # doctest: +SKIP
    """
    flags, topo = split_settings(settings)
    if flags.get("persist_mode") is not None:
        await _same_persist_mode(name, flags["persist_mode"], ctx=ctx)
    return await _streams.edit_stream(name, topology=topo, config_file=config_file, dry_run=dry_run, ctx=ctx, **flags)


async def _same_persist_mode(name: str, wanted: Any, *, ctx: Ctx = None) -> None:
    """The persist mode is set at creation (the server refuses a change: error 10052): say what to do, send nothing."""
    from ..admin.streamconfig import plain
    from ..core.errors import InputError

    now = plain((await _streams.info(name, ctx=ctx)).config.persist_mode) or "default"  # "did you mean" for a typo
    mode = plain(wanted)
    if mode != now:
        raise InputError(f"stream {name} keeps its persist mode ({now}): the mode is set when a stream is created",
                         hint=f"create a new stream with --persist-mode {mode} and copy the messages into it, e.g. "
                              f"%js_stream copy {name} NEW --persist-mode {mode} --subjects 'new.>' --source {name}; "
                              f"{name} is unchanged")


async def info(name: str, *, ctx: Ctx = None) -> _streams.StreamDetails:
    """A stream's configuration and state (`%js_stream info`).

    Parameters
    ----------
    name : str
        The stream ("did you mean" for a typo).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    StreamDetails
        `.info.config`, `.info.state` (messages, bytes, first/last seq…), `.num_subjects`.

    Examples
    --------
    >>> (await jsmagic.streams.info("ORDERS")).info.state.messages   # doctest: +SKIP
    1000
    """
    return await _streams.stream_info(name, ctx=ctx)


async def subjects(name: str, filter: str | None = None, *, ctx: Ctx = None) -> pd.DataFrame:  # noqa: A002
    """The subjects of a stream with their message counts, most first (`%js_stream subjects`).

    Parameters
    ----------
    name : str
        The stream.
    filter : str, optional
        A subject filter with wildcards (`"orders.*"`).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `subject`, `messages`.

    Examples
    --------
    >>> await jsmagic.streams.subjects("ORDERS", "orders.*")   # doctest: +SKIP
    """
    return await _streams.subjects(name, filter, ctx=ctx)


async def get(name: str, seq: int | None = None, *, last_for: str | None = None, decode: Any = "auto",
              ctx: Ctx = None) -> pd.Series:
    """One message by sequence, or the last on a subject; creates no consumer (`%js_stream get`).

    Parameters
    ----------
    name : str
        The stream.
    seq : int, optional
        The stream sequence.
    last_for : str, optional
        Instead of `seq`: the last message on this subject.
    decode : str or callable
        How to decode the payload (`auto`, `json`, `text`, `bytes`… or a function).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.Series
        `stream`, `seq`, `subject`, `time`, `headers`, `size`, `data`.

    Examples
    --------
    >>> (await jsmagic.streams.get("ORDERS", 42))["data"]   # doctest: +SKIP
    {'id': 42}
    """
    return await _streams.get_message(name, seq, last_for, decode, ctx=ctx)


async def rmm(name: str, seq: int, *, force: bool = False, ctx: Ctx = None) -> _streams.MessageRemoval:
    """Delete one message (`%js_stream rmm`; needs `force=True`).

    Parameters
    ----------
    name : str
        The stream.
    seq : int
        The message's sequence.
    force : bool
        Required: without it nothing is deleted and the error says what would be.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    MessageRemoval
        `stream`, `seq`, `subject`, `size` of the deleted message.

    Examples
    --------
    >>> await jsmagic.streams.rmm("ORDERS", 42, force=True)   # doctest: +SKIP
    """
    return await _streams.remove_message(name, seq, force, ctx=ctx)


async def purge(name: str, *, subject: str | None = None, seq: int | None = None, keep: int | None = None,
                force: bool = False, ctx: Ctx = None) -> _streams.Purge:
    """Remove messages: all, on `subject`, below `seq`, or all but the newest `keep` (`%js_stream purge`).

    Parameters
    ----------
    name : str
        The stream.
    subject : str, optional
        Only messages on this subject filter.
    seq : int, optional
        Only messages below this sequence.
    keep : int, optional
        Keep the newest N (per `subject` if given).
    force : bool
        Required: without it nothing is removed and the error says how many would be.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    Purge
        `selected` (counted first), `held`, `purged` (the server's own count).

    Examples
    --------
    >>> (await jsmagic.streams.purge("ORDERS", subject="orders.test", force=True)).purged   # doctest: +SKIP
    12
    """
    return await _streams.purge(name, subject, seq, keep, force, ctx=ctx)


async def rm(name: str, *, force: bool = False, ctx: Ctx = None) -> _streams.StreamRemoval:
    """Delete a stream with its messages and consumers (`%js_stream rm`; needs `force=True`).

    Parameters
    ----------
    name : str
        The stream.
    force : bool
        Required: without it nothing is deleted and the error says what would be lost.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    StreamRemoval
        `stream`, `messages`, `bytes`, `consumers` it held.

    Examples
    --------
    >>> await jsmagic.streams.rm("SCRATCH", force=True)   # doctest: +SKIP
    """
    return await _streams.remove_stream(name, force, ctx=ctx)


class _Module(types.ModuleType):
    """`jsmagic.streams()` lists the streams (what it did before the verbs were grouped)."""

    def __call__(self, *, ctx: Ctx = None):
        return ls(ctx=ctx)


sys.modules[__name__].__class__ = _Module
