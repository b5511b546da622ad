"""Streams: list, create, edit, inspect, read one message, delete and purge - the ``nats stream`` verbs.

Plain coroutines on the kernel-wide context (``await streams.list_streams()`` works in a
cell or a script).  Tables come back as :func:`jsmagic.ui.display.result_frame` frames,
sizes and ages accept and show human units, and every destructive verb refuses unless
``force=True``, saying what it would remove - nothing is lost by a slip of the keyboard.
For ``plot``, :func:`message_times` reads only timestamps and subjects (headers-only, no
acks, consumer deleted after) and :func:`rate_frame` bins them; matplotlib draws.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import nats.js.errors
import pandas as pd
from nats.js import api

from ..core.registry import current, jetstream
from .reading import count_matching
from ..core.context import JSContext
from ..core.decode import decode_value
from ..ui.display import result_frame
from ..core.errors import ConfigError, ForceRequiredError, InputError, NotFoundError, not_found
from ..core.units import format_duration, format_size, parse_duration, parse_size

ENUMS = {
    "retention": api.RetentionPolicy,
    "storage": api.StorageType,
    "discard": api.DiscardPolicy,
}


class Report(dict):
    """A readable ``info`` answer: sections of ``field: value`` lines, still a plain dict to code."""

    def __init__(self, title: str, sections: dict[str, dict[str, Any]], raw: Any = None):
        super().__init__(sections)
        self.title = title
        self.raw = raw  # the nats-py object (StreamInfo, ConsumerInfo...) for code that wants it

    def __repr__(self) -> str:
        lines = [self.title]
        for section, fields in self.items():
            lines.append(f"\n{section}:")
            width = max((len(k) for k in fields), default=0)
            lines.extend(f"  {k.rjust(width)}: {v}" for k, v in fields.items())
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))


# ---- the JetStream API beneath nats-py (paging, counts nats-py drops) ------------------
async def api_request(suffix: str, payload: dict | None = None, ctx: JSContext | None = None) -> dict:
    """A JetStream API call on the shared connection, honouring domain/prefix (raises nats-py errors)."""
    ctx = current(ctx)
    await ctx.jetstream()
    return await ctx.api.request(suffix, payload)


async def paged(suffix: str, key: str, extra: dict | None = None) -> list:
    """Every item of a paged JetStream list (the server answers 256 at a time)."""
    items: list = []
    while True:
        resp = await api_request(suffix, {**(extra or {}), "offset": len(items)})
        page = resp.get(key) or []
        items.extend(page)
        if not page or len(items) >= resp.get("total", 0):
            return items


async def stream_names(subject: str | None = None) -> list[str]:
    """Names of the streams (optionally those that capture ``subject``), cheap: no state."""
    extra = {"subject": subject} if subject else None
    return sorted(await paged("STREAM.NAMES", "streams", extra))


async def info(name: str, subjects_filter: str | None = None) -> api.StreamInfo:
    """A stream's StreamInfo, or a "did you mean" error naming the streams that exist."""
    js = await jetstream()
    try:
        return await js.stream_info(name, subjects_filter=subjects_filter)
    except nats.js.errors.NotFoundError:
        raise not_found("stream", name, await stream_names()) from None


# ---- ls / add / edit / info ------------------------------------------------------------
def timestamp(value: Any) -> Any:
    """Server times (str or datetime) as tz-aware pandas timestamps; the zero time as NaT."""
    if not value or str(value).startswith("0001-01-01"):
        return pd.NaT
    return pd.Timestamp(value).tz_convert("UTC") if pd.Timestamp(value).tzinfo else pd.Timestamp(value, tz="UTC")


async def list_streams() -> pd.DataFrame:
    """``%js_stream ls``: one row per stream with its config essentials and state."""
    rows = []
    for s in await paged("STREAM.LIST", "streams"):
        cfg, st = s["config"], s["state"]
        rows.append(
            {
                "name": cfg["name"],
                "subjects": ", ".join(cfg.get("subjects") or []),
                "retention": cfg.get("retention"),
                "storage": cfg.get("storage"),
                "replicas": cfg.get("num_replicas", 1),
                "messages": st["messages"],
                "bytes": st["bytes"],
                "size": format_size(st["bytes"]),
                "first_seq": st["first_seq"],
                "first_time": timestamp(st.get("first_ts")),
                "last_seq": st["last_seq"],
                "last_time": timestamp(st.get("last_ts")),
                "consumers": st["consumer_count"],
            }
        )
    columns = ["name", "subjects", "retention", "storage", "replicas", "messages", "bytes", "size",
               "first_seq", "first_time", "last_seq", "last_time", "consumers"]
    df = pd.DataFrame(rows, columns=columns).sort_values("name", ignore_index=True)
    total = int(df["messages"].sum()) if len(df) else 0
    return result_frame(df, f"{len(df)} stream(s), {total:,} message(s), {format_size(int(df['bytes'].sum()) if len(df) else 0)}")


def config_params(**opts: Any) -> dict[str, Any]:
    """StreamConfig fields from flag values in human units (None means "not given")."""
    out: dict[str, Any] = {}
    for key, value in opts.items():
        if value is None:
            continue
        if key == "subjects":
            out[key] = [s for part in value for s in str(part).replace(",", " ").split()]
        elif key in ENUMS:
            try:
                out[key] = ENUMS[key](str(value).lower())
            except ValueError:
                choices = ", ".join(e.value for e in ENUMS[key])
                raise InputError(f"bad --{key} {value!r}", hint=f"use one of {choices}") from None
        elif key in ("max_bytes", "max_msg_size"):
            out[key] = parse_size(value)
        elif key in ("max_age", "duplicate_window"):
            out[key] = parse_duration(value)
        elif key in ("max_msgs", "max_msgs_per_subject", "num_replicas", "max_consumers"):
            out[key] = _whole_number(key, value)
        else:
            out[key] = value
    return out


def _whole_number(key: str, value: Any) -> int:
    """An integer flag value; a typo (``--max-msgs 1k``) is a one-line InputError, not a ValueError."""
    try:
        return int(value)
    except (TypeError, ValueError):
        flag = {"num_replicas": "replicas"}.get(key, key).replace("_", "-")
        raise InputError(f"bad --{flag} {value!r}", hint="give a whole number (-1 for unlimited)") from None


async def add_stream(name: str, **opts: Any) -> Report:
    """``%js_stream add``: create a stream (an existing one with another config is an error, never changed)."""
    js = await jetstream()
    params = config_params(**opts)
    params.setdefault("subjects", [name])
    si = await js.add_stream(api.StreamConfig(name=name, **params))
    return describe(si)


_EDITABLE = ("subjects", "description", "max_msgs", "max_bytes", "max_age", "max_msgs_per_subject",
             "max_msg_size", "discard", "duplicate_window", "num_replicas", "allow_direct",
             "allow_rollup_hdrs", "deny_delete", "deny_purge", "max_consumers", "retention", "storage")


def shown(key: str, value: Any) -> str:
    """One config value the way a person reads it (units, enum words, lists)."""
    if isinstance(value, Enum):
        value = value.value
    if key in ("max_bytes", "max_msg_size") and isinstance(value, int):
        return format_size(value)
    if key in ("max_age", "duplicate_window", "ack_wait", "inactive_threshold"):
        return format_duration(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "-" if value is None else str(value)


async def edit_stream(name: str, **opts: Any) -> pd.DataFrame:
    """``%js_stream edit``: apply the given settings; returns a frame of what changed (setting, old, new)."""
    js = await jetstream()
    params = config_params(**opts)
    if not params:
        raise InputError(f"nothing to change on stream {name!r}", hint="give a setting, e.g. --max-age 7d")
    old = (await info(name)).config
    new = await js.update_stream(old.evolve(**params))
    rows = [
        {"setting": k, "old": shown(k, getattr(old, k)), "new": shown(k, getattr(new.config, k))}
        for k in _EDITABLE
        if getattr(old, k) != getattr(new.config, k)
    ]
    df = pd.DataFrame(rows, columns=["setting", "old", "new"])
    return result_frame(df, f"stream {name}: {len(df)} setting(s) changed" if len(df) else f"stream {name}: nothing changed")


def describe(si: api.StreamInfo, num_subjects: int | None = None) -> Report:
    """A StreamInfo as readable sections (configuration, state).

    ``num_subjects`` comes from the raw API answer: nats-py's StreamState drops it.
    """
    c, s = si.config, si.state
    config = {
        "subjects": shown("subjects", c.subjects or []),
        "description": c.description or "-",
        "retention": shown("", c.retention),
        "storage": shown("", c.storage),
        "replicas": c.num_replicas or 1,
        "discard": shown("", c.discard),
        "max messages": "unlimited" if (c.max_msgs or -1) < 0 else f"{c.max_msgs:,}",
        "max per subject": "unlimited" if (c.max_msgs_per_subject or -1) < 0 else f"{c.max_msgs_per_subject:,}",
        "max bytes": shown("max_bytes", c.max_bytes if c.max_bytes is not None else -1),
        "max age": format_duration(c.max_age),
        "max message size": shown("max_msg_size", c.max_msg_size if c.max_msg_size is not None else -1),
        "duplicate window": format_duration(c.duplicate_window),
        "allow direct": bool(c.allow_direct),
        "allow rollup": bool(c.allow_rollup_hdrs),
        "deny delete/purge": f"{bool(c.deny_delete)}/{bool(c.deny_purge)}",
        "sealed": bool(c.sealed),
    }
    state = {
        "messages": f"{s.messages:,}",
        "bytes": format_size(s.bytes),
        "first sequence": s.first_seq,
        "last sequence": s.last_seq,
        "deleted": s.num_deleted or 0,
        "subjects": f"{num_subjects:,}" if num_subjects is not None else "-",
        "consumers": s.consumer_count,
    }
    return Report(f"Stream {c.name}", {"Configuration": config, "State": state}, raw=si)


async def stream_info(name: str) -> Report:
    """``%js_stream info``: configuration and state, readable; ``.raw`` is the StreamInfo."""
    si = await info(name)
    raw = await api_request(f"STREAM.INFO.{name}")
    return describe(si, raw.get("state", {}).get("num_subjects"))


async def subjects(name: str, subject_filter: str | None = None) -> pd.DataFrame:
    """``%js_stream subjects``: messages per subject (filter with NATS wildcards), most first."""
    await info(name)
    found: dict[str, int] = {}
    filt = subject_filter or ">"
    while True:  # the server pages subject details too
        resp = await api_request(f"STREAM.INFO.{name}", {"subjects_filter": filt, "offset": len(found)})
        page = resp.get("state", {}).get("subjects") or {}
        found.update(page)
        if not page or len(found) >= resp.get("total", 0):
            break
    df = pd.DataFrame({"subject": list(found), "messages": list(found.values())}, columns=["subject", "messages"])
    df = df.sort_values(["messages", "subject"], ascending=[False, True], ignore_index=True)
    return result_frame(df, f"{len(df):,} subject(s), {int(df['messages'].sum()):,} message(s) in {name}")


# ---- one message -------------------------------------------------------------------------
async def get_message(name: str, seq: int | None = None, last_for: str | None = None, decode: str = "auto") -> pd.Series:
    """``%js_stream get``: one message by sequence or the last on a subject, creating no consumer.

    Uses direct get when the stream allows it (served by any replica), else STREAM.MSG.GET.
    """
    if (seq is None) == (last_for is None):
        raise InputError("give a sequence or --last-for SUBJECT (one of them)")
    si = await info(name)
    js = await jetstream()
    try:
        if si.config.allow_direct:
            msg = await js.get_msg(name, seq=seq, subject=last_for, direct=True)
        else:
            msg = await js.get_msg(name, seq=seq, subject=last_for)
    except nats.js.errors.NotFoundError:
        where = f"sequence {seq}" if seq is not None else f"subject {last_for!r}"
        raise NotFoundError(
            f"no message at {where} in stream {name}",
            hint=(
                f"the stream holds sequences {si.state.first_seq}..{si.state.last_seq}"
                if si.state.messages
                else f"the stream is empty (its next message gets sequence {si.state.last_seq + 1})"
            ),
        ) from None
    headers = {k: v for k, v in (msg.headers or {}).items() if not k.startswith("Nats-") or k == "Nats-Msg-Id"}
    return pd.Series(
        {
            "stream": name,
            "seq": msg.seq,
            "subject": msg.subject,
            "time": timestamp(msg.time) if msg.time else pd.NaT,
            "headers": headers,
            "size": len(msg.data or b""),
            "data": decode_value(msg.data or b"", decode),
        },
        name=f"{name}#{msg.seq}",
    )


# ---- destructive verbs -------------------------------------------------------------------
async def remove_message(name: str, seq: int, force: bool = False) -> str:
    """``%js_stream rmm``: delete one message (refuses without force, saying which)."""
    msg = await get_message(name, seq=seq, decode="bytes")
    what = f"message {seq} ({msg['subject']}, {format_size(msg['size'])}) from stream {name}"
    if not force:
        raise ForceRequiredError(f"would delete {what}")
    js = await jetstream()
    await js.delete_msg(name, seq)
    return f"Deleted {what}."


async def purge(name: str, subject: str | None = None, seq: int | None = None, keep: int | None = None,
                force: bool = False) -> str:
    """``%js_stream purge``: remove all messages, or those on ``subject``, below ``seq``, or all but ``keep``."""
    if seq is not None and keep is not None:
        raise InputError("--seq and --keep cannot be combined", hint="use one of them")
    si = await info(name)
    matching = si.state.messages if not subject else await count_matching(name, subject)
    if seq is not None:
        would = matching - await count_matching(name, subject, seq)
    elif keep is not None:
        would = max(0, matching - keep)
    else:
        would = matching
    scope = f" on {subject}" if subject else ""
    scope += f" below sequence {seq}" if seq is not None else ""
    scope += f" except the last {keep}" if keep is not None else ""
    if not force:
        raise ForceRequiredError(f"would purge {would:,} message(s){scope} from stream {name} ({si.state.messages:,} held)")
    req: dict[str, Any] = {}
    if subject:
        req["filter"] = subject
    if seq is not None:
        req["seq"] = seq
    if keep is not None:
        req["keep"] = keep
    resp = await api_request(f"STREAM.PURGE.{name}", req)
    return f"Purged {resp.get('purged', 0):,} message(s){scope} from stream {name}."


async def remove_stream(name: str, force: bool = False) -> str:
    """``%js_stream rm``: delete a stream with its messages and consumers (refuses without force)."""
    si = await info(name)
    s = si.state
    what = f"stream {name} with {s.messages:,} message(s) ({format_size(s.bytes)}) and {s.consumer_count} consumer(s)"
    if not force:
        raise ForceRequiredError(f"would delete {what}")
    js = await jetstream()
    await js.delete_stream(name)
    return f"Deleted {what}."



# ---- plot: message rate over time ---------------------------------------------------------
async def message_times(name: str, subject: str | None = None, progress: Any = None) -> pd.DataFrame:
    """Time and subject of every message, read headers-only without changing anything.

    The same reader as ``%js_consume``: an ephemeral consumer that acks nothing on Limits
    streams, gets without any consumer on WorkQueue/Interest streams (where a consumer
    could remove messages).  On interrupt, what arrived is kept (``df.attrs["interrupted"]``).
    """
    from ..replay.reader import Selection, replay

    await info(name)
    sel = Selection(name, subjects=[subject] if subject else [], headers_only=True, decode="bytes")
    result = await replay(sel, progress)
    df = result.frame[["time", "subject"]].reset_index(drop=True)
    df.attrs["interrupted"] = result.interrupted
    return df


def rate_frame(times: pd.DataFrame, every: str = "1m", by: str | None = None) -> pd.DataFrame:
    """Messages per ``every`` interval (one column, or one per subject with ``by="subject"``)."""
    seconds = parse_duration(every)
    if seconds <= 0:
        raise InputError(f"bad --every {every!r}", hint="use a positive duration like 10s, 1m, 1h")
    if by not in (None, "subject"):
        raise InputError(f"cannot plot by {by!r}", hint="use --by subject")
    freq = pd.Timedelta(seconds=seconds)
    if times.empty:
        return pd.DataFrame(columns=["messages"], index=pd.DatetimeIndex([], tz="UTC", name="time"))
    bins = times["time"].dt.floor(freq)
    if by:
        out = times.groupby([bins, times["subject"]]).size().unstack(fill_value=0)
    else:
        out = bins.value_counts().sort_index().to_frame("messages")
    full = pd.date_range(out.index.min(), out.index.max(), freq=freq, tz="UTC", name="time")
    out = out.reindex(full, fill_value=0)
    out.attrs["every_seconds"] = seconds  # the interval, for the plot's x range
    return out


def require_matplotlib() -> None:
    """A clear one-line error, before any work, when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigError("plotting needs matplotlib, which is not installed",
                          hint="pip install matplotlib (streams.rate_frame gives the numbers without it)") from None


def plot_rate(rates: pd.DataFrame, title: str) -> Any:
    """Draw a rate frame as bars (subjects stacked) with matplotlib; returns the Axes (None: nothing to draw).

    Drawn with matplotlib directly, not ``DataFrame.plot``: pandas' time axis lays out a
    tick per interval over the padded range (one bin at ``--every 0.2`` asked for ~900M
    ticks) and a single bin gives singular limits.  Here the x range always spans at least
    one interval either side and matplotlib's date locator keeps the ticks few.
    """
    require_matplotlib()
    if rates.empty:  # the summary already says 0 message(s)
        return None
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    times = rates.index.tz_convert("UTC").tz_localize(None).to_pydatetime()
    step = pd.Timedelta(seconds=rates.attrs.get("every_seconds", 60)).to_pytimedelta()
    bottom = None
    for column in rates.columns:  # one bar per interval, subjects stacked
        values = rates[column].to_numpy()
        ax.bar(times, values, width=step, align="edge", bottom=bottom, label=str(column))
        bottom = values if bottom is None else bottom + values
    ax.set_xlim(times[0] - step, times[-1] + 2 * step)
    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_title(title)
    ax.set_ylabel("messages per interval")
    ax.set_xlabel("time (UTC)")
    if len(rates.columns) > 1 or rates.columns[0] != "messages":
        ax.legend(title=rates.columns.name)
    return ax
