"""Streams: list, create, edit, inspect, read one message, delete and purge - the ``nats stream`` verbs.

Plain coroutines that return data (``await streams.list_streams()`` works in a cell or a
script; ``ctx=`` picks a named connection, by default the current one).  Tables are plain
DataFrames with numeric columns (bytes, seconds, counts); ``%js_stream`` and
:mod:`jsmagic.ui.report` make them readable.  Every destructive verb refuses unless
``force=True``, saying what it would remove - nothing is lost by a slip of the keyboard -
and returns what it removed as a small dataclass.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import nats.js.errors
import pandas as pd
from nats.js import api

from ..core.context import JSContext
from ..core.decode import decoder
from ..core.errors import ForceRequiredError, InputError, NotFoundError, not_found
from ..core.registry import connected, jetstream
from ..core.units import format_size, plural
from ..jsapi import stored_time
from ..reading.get import direct_get
from . import counting, sourcing
from .offline import with_offline
from .streamconfig import config_params, plain

NANOS = 1_000_000_000  # the API counts durations in nanoseconds
DURATIONS = ("max_age", "duplicate_window", "subject_delete_marker_ttl")
INT64 = (1 << 63) - 1


def checked_config(name: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """``cfg`` for STREAM.CREATE/UPDATE, or a one-line refusal: a name the API cannot route, a number too big."""
    if not name or any(c in name for c in ".*>") or any(c.isspace() for c in name):
        raise InputError(f"invalid stream name {name!r}", hint="names may not contain '.', '*', '>' or whitespace")
    for key, value in cfg.items():
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64:
            raise InputError(f"{key} {value} is out of range", hint="the server takes numbers up to 2^63-1")
    return cfg

LIST_COLUMNS = ["name", "subjects", "retention", "storage", "replicas", "messages", "bytes",
                "first_seq", "first_time", "last_seq", "last_time", "consumers", "offline"]


@dataclasses.dataclass
class StreamDetails:
    """``%js_stream info``'s data: nats-py's StreamInfo plus the subject count nats-py drops."""

    info: api.StreamInfo
    num_subjects: int | None = None


async def stream_names(subject: str | None = None, *, ctx: JSContext | None = None) -> list[str]:
    """Names of the streams (optionally those that capture ``subject``), cheap: no state."""
    ctx = await connected(ctx)
    extra = {"subject": subject} if subject else None
    return sorted(await ctx.api.paged("STREAM.NAMES", "streams", extra))


async def info(name: str, subjects_filter: str | None = None, *, ctx: JSContext | None = None) -> api.StreamInfo:
    """A stream's StreamInfo, or a "did you mean" error naming the streams that exist."""
    js = await jetstream(ctx)
    try:
        return await js.stream_info(name, subjects_filter=subjects_filter)
    except nats.js.errors.NotFoundError:
        raise not_found("stream", name, await stream_names(ctx=ctx)) from None


def timestamp(value: Any) -> Any:
    """Server times (str or datetime) as tz-aware pandas timestamps; the zero time as NaT."""
    if not value or str(value).startswith("0001-01-01"):
        return pd.NaT
    return pd.Timestamp(value).tz_convert("UTC") if pd.Timestamp(value).tzinfo else pd.Timestamp(value, tz="UTC")


# ---- ls / add / edit / info / subjects -----------------------------------------------------
async def list_streams(*, ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_stream ls``: one row per stream with its config essentials and state (bytes as a number).

    A stream the server could not describe is named in ``attrs["missing"]`` (name -> why) and
    ``attrs["notes"]``; an offline one (2.12+) is also a row, with the server's reason in ``offline``.
    """
    ctx = await connected(ctx)
    rows = []
    listing = await ctx.api.listing("STREAM.LIST", "streams")
    for s in listing.items:
        cfg, st = s["config"], s["state"]
        rows.append({
            "name": cfg["name"],
            "subjects": ", ".join(cfg.get("subjects") or []),
            "retention": cfg.get("retention"),
            "storage": cfg.get("storage"),
            "replicas": cfg.get("num_replicas", 1),
            "messages": st["messages"],
            "bytes": st["bytes"],
            "first_seq": st["first_seq"],
            "first_time": timestamp(st.get("first_ts")),
            "last_seq": st["last_seq"],
            "last_time": timestamp(st.get("last_ts")),
            "consumers": st["consumer_count"], "offline": "",
        })
    frame = pd.DataFrame(rows, columns=LIST_COLUMNS).sort_values("name", ignore_index=True)
    counts = ["replicas", "messages", "bytes", "first_seq", "last_seq", "consumers"]
    return listing.mark(with_offline(frame, listing.missing, counts), "stream")


def read_config_file(path: str) -> dict[str, Any]:
    """A natscli ``--config FILE.json``: the server's StreamConfig JSON (durations in nanoseconds)."""
    try:
        cfg = json.loads(Path(path).expanduser().read_text())
    except FileNotFoundError:
        raise InputError(f"no config file {path!r}", hint="give the path of a stream config JSON file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:  # a folder, an unreadable or binary file
        raise InputError(f"cannot read config file {path!r}: {getattr(e, 'strerror', None) or e}",
                         hint="give the path of a stream config JSON file") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path} is not JSON: {e}", hint="natscli writes one with: nats stream add --output FILE") from None
    if not isinstance(cfg, dict):
        raise InputError(f"{path} holds no stream config object")
    return cfg.get("config", cfg) if "config" in cfg and isinstance(cfg["config"], dict) else cfg


def base_config(name: str, params: dict[str, Any], given_only: bool = False) -> dict[str, Any]:
    """The plain settings (``config_params`` output, seconds and enums) as API JSON fields."""
    full = api.StreamConfig(name=name, **params).as_dict()
    out = {k: plain(v) for k, v in full.items() if not given_only or k in params}
    return out


async def add_stream(name: str, *, topology: dict[str, Any] | None = None, config_file: str | None = None,
                     ctx: JSContext | None = None, **opts: Any) -> StreamDetails:
    """``%js_stream add``: create a stream (an existing one with another config is an error, never changed).

    The one create: ``opts`` are the flags in human units (``max_age="1d"``), ``topology``
    the API fields of :func:`jsmagic.admin.topology.topology_config` (sources, mirror,
    transform…), ``config_file`` a natscli config JSON; file, then flags, then topology,
    sent as one STREAM.CREATE through ``ctx.api`` (domains and API prefixes included).
    """
    topology = topology or {}
    ctx = await connected(ctx)
    params = config_params(**opts)
    cfg = read_config_file(config_file) if config_file else {}
    if not cfg and "subjects" not in params and "mirror" not in topology and "sources" not in topology:
        params["subjects"] = [name]
    if "mirror" in topology:
        cfg.pop("subjects", None)
    cfg.update(base_config(name, params, given_only=bool(cfg)))
    cfg.update(topology)
    cfg["name"] = name
    if "mirror" in cfg:
        cfg.pop("subjects", None)  # a mirror captures no subjects of its own
    raw = await ctx.api.request(f"STREAM.CREATE.{name}", checked_config(name, cfg))
    await sourcing.ready(raw["config"], ctx=ctx)  # a WorkQueue/Interest origin's sourcing consumer exists
    return details(raw)


def details(raw: dict[str, Any]) -> StreamDetails:
    """A raw STREAM.INFO/CREATE answer as :class:`StreamDetails` (nats-py's parse changes the dict: count first)."""
    num_subjects = (raw.get("state") or {}).get("num_subjects")
    return StreamDetails(api.StreamInfo.from_response(json.loads(json.dumps(raw))), num_subjects)


async def raw_info(name: str, *, ctx: JSContext | None = None) -> dict[str, Any]:
    """The server's STREAM.INFO answer as a dict (every field, whatever nats-py knows)."""
    ctx = await connected(ctx)
    try:
        return await ctx.api.request(f"STREAM.INFO.{name}")
    except nats.js.errors.NotFoundError:
        raise not_found("stream", name, await stream_names(ctx=ctx)) from None


def _readable(key: str, value: Any) -> Any:
    """API values for the old → new table: nanosecond durations as seconds, nested values as JSON."""
    if key in DURATIONS and isinstance(value, int):
        return value / NANOS
    if isinstance(value, (dict, list)) and key != "subjects":
        return json.dumps(value, sort_keys=True)
    return value


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> pd.DataFrame:
    """Every config field that differs: setting, old, new (absent shows as None)."""
    rows = [{"setting": k, "old": _readable(k, old.get(k)), "new": _readable(k, new.get(k))}
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k) and k != "name"]
    return pd.DataFrame(rows, columns=["setting", "old", "new"])


async def edit_stream(name: str, *, topology: dict[str, Any] | None = None, config_file: str | None = None,
                      dry_run: bool = False, ctx: JSContext | None = None, **opts: Any) -> pd.DataFrame:
    """``%js_stream edit``: the settings given, applied (unless ``dry_run``); returns setting, old, new.

    The one edit, for plain flags, topology and ``config_file`` alike (sent as the whole
    config, as the server wants it); durations in the table are seconds.
    """
    topology = topology or {}
    ctx = await connected(ctx)
    old = (await raw_info(name, ctx=ctx))["config"]
    params = config_params(**opts)
    wanted = dict(old)
    if config_file:
        wanted.update(read_config_file(config_file))
    wanted.update(base_config(name, params, given_only=True))
    wanted.update(topology)
    for key in ("metadata", "consumer_limits"):  # add pairs; the server's own _nats.* keys stay
        if key in topology:
            wanted[key] = {**(old.get(key) or {}), **topology[key]}
    wanted["name"] = name
    if wanted == old:
        raise InputError(f"nothing to change on stream {name!r}", hint="give a setting, e.g. --max-age 7d")
    if dry_run:
        df = config_diff(old, wanted)
        df.attrs["dry_run"] = True
        return df
    new = (await ctx.api.request(f"STREAM.UPDATE.{name}", checked_config(name, wanted)))["config"]
    await sourcing.ready(new, ctx=ctx)
    df = config_diff(old, new)
    df.attrs["dry_run"] = False
    return df


async def stream_info(name: str, *, ctx: JSContext | None = None) -> StreamDetails:
    """``%js_stream info``: the StreamInfo and the number of subjects (one request, from the raw answer)."""
    ctx = await connected(ctx)
    try:
        raw = await ctx.api.request(f"STREAM.INFO.{name}")
    except nats.js.errors.NotFoundError:
        raise not_found("stream", name, await stream_names(ctx=ctx)) from None
    num_subjects = (raw.get("state") or {}).get("num_subjects")
    return StreamDetails(api.StreamInfo.from_response(raw), num_subjects)


async def subjects(name: str, subject_filter: str | None = None, *, ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_stream subjects``: messages per subject (filter with NATS wildcards), most first."""
    ctx = await connected(ctx)
    await info(name, ctx=ctx)
    found: dict[str, int] = {}
    filt = subject_filter or ">"
    while True:  # the server pages subject details too
        resp = await ctx.api.request(f"STREAM.INFO.{name}", {"subjects_filter": filt, "offset": len(found)})
        page = resp.get("state", {}).get("subjects") or {}
        found.update(page)
        if not page or len(found) >= resp.get("total", 0):
            break
    df = pd.DataFrame({"subject": list(found), "messages": list(found.values())}, columns=["subject", "messages"])
    return df.sort_values(["messages", "subject"], ascending=[False, True], ignore_index=True)


# ---- one message -------------------------------------------------------------------------
async def get_message(name: str, seq: int | None = None, last_for: str | None = None, decode: Any = "auto",
                      *, ctx: JSContext | None = None) -> pd.Series:
    """``%js_stream get``: one message by sequence or the last on a subject, creating no consumer.

    Uses direct get when the stream allows it (served by any replica), else STREAM.MSG.GET.
    ``data`` is decoded as ``decode`` says; a ``decode_error`` entry says why it could not be.
    """
    if (seq is None) == (last_for is None):
        raise InputError("give a sequence or --last-for SUBJECT (one of them)")
    dec = decoder(decode)
    si = await info(name, ctx=ctx)
    js = await jetstream(ctx)
    try:
        if si.config.allow_direct:  # by the status rule: a stored message's own "Status: 404" is not "no message"
            api_ = (await connected(ctx)).api
            msg = await direct_get(api_, name, {"seq": seq} if seq is not None else {"last_by_subj": last_for},
                                   api_.timeout)
            if msg is None:
                raise nats.js.errors.NotFoundError
        else:
            msg = await js.get_msg(name, seq=seq, subject=last_for)
    except nats.js.errors.NotFoundError:
        raise _no_message(si, seq, last_for) from None
    headers = {k: v for k, v in (msg.headers or {}).items() if not k.startswith("Nats-") or k == "Nats-Msg-Id"}
    data, error = dec.one(msg.data or b"", msg.headers, msg.seq)
    return pd.Series(
        {
            "stream": name,
            "seq": msg.seq,
            "subject": msg.subject,
            "time": timestamp(stored_time(msg)) if stored_time(msg) else pd.NaT,
            "headers": headers,
            "size": len(msg.data or b""),
            "data": data,
            **({"decode_error": error} if error else {}),
        },
        name=f"{name}#{msg.seq}",
    )


def _no_message(si: api.StreamInfo, seq: int | None, last_for: str | None) -> NotFoundError:
    """"No message at ..." with the sequences the stream does hold (or that it is empty)."""
    s = si.state
    where = f"sequence {seq}" if seq is not None else f"subject {last_for!r}"
    held = (f"the stream holds sequences {s.first_seq}..{s.last_seq}" if s.messages
            else f"the stream is empty (its next message gets sequence {s.last_seq + 1})")
    return NotFoundError(f"no message at {where} in stream {si.config.name}", hint=held)


# ---- destructive verbs -------------------------------------------------------------------
@dataclasses.dataclass
class MessageRemoval:
    """What ``rmm`` deleted: one message of a stream."""

    stream: str
    seq: int
    subject: str
    size: int

    @property
    def what(self) -> str:
        """The phrase the refusal and the confirmation share."""
        return f"message {self.seq} ({self.subject}, {format_size(self.size)}) from stream {self.stream}"


@dataclasses.dataclass
class Purge:
    """What ``purge`` removes: ``selected`` of the ``held`` messages (by its scope); ``purged`` once done."""

    stream: str
    subject: str | None
    seq: int | None
    keep: int | None
    selected: int | None  # None: not countable without a consumer (WorkQueue/Interest without direct get)
    held: int
    purged: int | None = None

    @property
    def scope(self) -> str:
        """`` on S below sequence N except the last K`` (the parts that were given)."""
        return ((f" on {self.subject}" if self.subject else "")
                + (f" below sequence {self.seq}" if self.seq is not None else "")
                + (f" except the last {self.keep}" if self.keep is not None else ""))


@dataclasses.dataclass
class StreamRemoval:
    """What ``rm`` deleted: a stream with its messages and consumers."""

    stream: str
    messages: int
    bytes: int
    consumers: int

    @property
    def what(self) -> str:
        """The phrase the refusal and the confirmation share."""
        return (f"stream {self.stream} with {plural(self.messages, 'message')} ({format_size(self.bytes)}) "
                f"and {plural(self.consumers, 'consumer')}")


async def remove_message(name: str, seq: int, force: bool = False, *, ctx: JSContext | None = None) -> MessageRemoval:
    """``%js_stream rmm``: delete one message (refuses without force, saying which)."""
    msg = await get_message(name, seq=seq, decode="bytes", ctx=ctx)
    removal = MessageRemoval(name, seq, msg["subject"], msg["size"])
    if not force:
        raise ForceRequiredError(f"would delete {removal.what}")
    js = await jetstream(ctx)
    await js.delete_msg(name, seq)
    return removal


async def purge(name: str, subject: str | None = None, seq: int | None = None, keep: int | None = None,
                force: bool = False, *, ctx: JSContext | None = None) -> Purge:
    """``%js_stream purge``: remove all messages, or those on ``subject``, below ``seq``, or all but ``keep``."""
    if seq is not None and keep is not None:
        raise InputError("--seq and --keep cannot be combined", hint="use one of them")
    si = await info(name, ctx=ctx)
    selected: int | None = await counting.count(name, si, subject, ctx=ctx)  # no consumer: safe on a WorkQueue
    if seq is not None:
        above = await counting.count(name, si, subject, seq, ctx=ctx)
        selected = None if above is None else selected - above
    elif keep is not None:
        selected = max(0, selected - keep)
    plan = Purge(name, subject, seq, keep, selected, si.state.messages)
    if not force:
        how_many = plural(plan.selected, "message") if plan.selected is not None else "the messages"
        unknown = "" if plan.selected is not None else (
            "; not counted: without direct get only a consumer could, and it would take part in the stream's retention")
        raise ForceRequiredError(f"would purge {how_many}{plan.scope} from stream {name} ({plan.held:,} held{unknown})")
    req = {k: v for k, v in {"filter": subject or None, "seq": seq, "keep": keep}.items() if v is not None}
    ctx = await connected(ctx)
    resp = await ctx.api.request(f"STREAM.PURGE.{name}", req)
    return dataclasses.replace(plan, purged=resp.get("purged", 0))


async def remove_stream(name: str, force: bool = False, *, ctx: JSContext | None = None) -> StreamRemoval:
    """``%js_stream rm``: delete a stream with its messages and consumers (refuses without force)."""
    s = (await info(name, ctx=ctx)).state
    removal = StreamRemoval(name, s.messages, s.bytes, s.consumer_count)
    if not force:
        raise ForceRequiredError(f"would delete {removal.what}")
    js = await jetstream(ctx)
    await js.delete_stream(name)
    return removal

