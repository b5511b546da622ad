"""The checks of ``%js_check``: measure, compare with thresholds, return the verdict table.

Each function returns a DataFrame (:func:`jsmagic.health.verdicts.table`): one row per
check with ``status`` OK/WARN/CRIT, the measured ``value``, the ``threshold`` it met and its
``source`` (a flag, or the ``io.nats.monitor.*`` metadata).  Something that cannot be read
(a missing stream, an unreachable server) is a ``CRIT`` row, as natscli reports it, never an
exception: a check cell must say what is wrong.
"""

from __future__ import annotations

import time
from typing import Any

import nats.js.errors
import pandas as pd

from ..admin import kv
from ..core.errors import InputError, JSMagicError
from ..core.registry import current
from ..core.units import format_duration
from ..jsapi import kv_stream
from .verdicts import (CONSUMER_META, CRIT, OK, STREAM_META, WARN, Verdict, at_least, at_most, either_way, table,
                       thresholds)


def _ago(stamp: str | None) -> float | None:
    """Seconds since an RFC 3339 time the server sent (None: never)."""
    if not stamp:
        return None
    return (pd.Timestamp.now(tz="UTC") - pd.Timestamp(stamp)).total_seconds()


def _ns_seconds(ns: int | None) -> float:
    return (ns or 0) / 1e9


async def _api(ctx: Any, suffix: str) -> dict:
    ctx = current(ctx)
    await ctx.jetstream()
    return await ctx.api.request(suffix)


async def check_stream(name: str, *, ctx: Any = None, **flags: Any) -> pd.DataFrame:
    """natscli's ``check stream``: cluster peers, messages, subjects, sources and mirror."""
    try:
        info = await _api(ctx, f"STREAM.INFO.{name}")
    except nats.js.errors.NotFoundError:
        return table([Verdict("stream", CRIT, detail=f"stream {name} not found")], f"stream {name}")
    cfg, state = info.get("config") or {}, info.get("state") or {}
    t = thresholds(flags, cfg.get("metadata"), STREAM_META)
    out = [Verdict("stream", OK, name, detail="found")]
    cluster = info.get("cluster")
    if "peer_expect" in t or (cluster and cluster.get("replicas") is not None):
        out += _cluster(cluster, t)
    if "msgs_critical" in t or "msgs_warn" in t:
        out.append(at_least("messages", state.get("messages", 0), t.get("msgs_critical"), t.get("msgs_warn")))
    if "subjects_critical" in t or "subjects_warn" in t:
        out.append(either_way("subjects", state.get("num_subjects", 0), t.get("subjects_critical"),
                              t.get("subjects_warn")))
    sources = info.get("sources") or []
    if "min_sources" in t:
        out.append(at_least("sources (min)", len(sources), (t["min_sources"][0] - 1, t["min_sources"][1])))
    if "max_sources" in t:
        out.append(at_most("sources (max)", len(sources), (t["max_sources"][0] + 1, t["max_sources"][1])))
    upstreams = [("source " + s.get("name", "?"), s) for s in sources]
    if info.get("mirror"):
        upstreams.append(("mirror " + info["mirror"].get("name", "?"), info["mirror"]))
    for label, s in upstreams:
        if "lag_critical" in t:
            out.append(at_most(f"{label} lag", s.get("lag", 0), t["lag_critical"]))
        if "seen_critical" in t:
            out.append(at_most(f"{label} last seen (s)", round(_ns_seconds(s.get("active")), 3), t["seen_critical"]))
    return table(out, f"stream {name}")


def _cluster(cluster: dict | None, t: dict) -> list[Verdict]:
    if not cluster:
        return [Verdict("cluster", CRIT, detail="stream is not clustered")]
    if not cluster.get("leader"):
        return [Verdict("leader", CRIT, detail="no leader")]
    replicas = cluster.get("replicas") or []
    out = [Verdict("leader", OK, cluster["leader"])]
    if "peer_expect" in t:
        want, src = t["peer_expect"]
        peers = len(replicas) + 1
        out.append(Verdict("peers", OK if peers == want else CRIT, peers, f"== {want:g}", src))
    offline = [r["name"] for r in replicas if r.get("offline")]
    out.append(Verdict("replicas offline", CRIT if offline else OK, len(offline), "== 0", "", ", ".join(offline)))
    if "peer_lag_critical" in t:
        worst = max((r.get("lag", 0) for r in replicas), default=0)
        out.append(at_most("replica lag (max)", worst, (t["peer_lag_critical"][0] + 1, t["peer_lag_critical"][1])))
    if "peer_seen_critical" in t:
        worst = max((_ns_seconds(r.get("active")) for r in replicas), default=0.0)
        out.append(at_most("replica last seen (s)", round(worst, 3), t["peer_seen_critical"]))
    return out


async def check_consumer(stream: str, consumer: str, *, ctx: Any = None, **flags: Any) -> pd.DataFrame:
    """natscli's ``check consumer``: ack pending, waiting pulls, unprocessed, redelivered, last delivery and ack."""
    what = f"consumer {stream} > {consumer}"
    try:
        info = await _api(ctx, f"CONSUMER.INFO.{stream}.{consumer}")
    except nats.js.errors.NotFoundError:
        return table([Verdict("consumer", CRIT, detail=f"{what} not found")], what)
    t = thresholds(flags, (info.get("config") or {}).get("metadata"), CONSUMER_META)
    out = [Verdict("consumer", OK, consumer, detail="found")]
    for check, field, name in (("ack pending", "num_ack_pending", "outstanding_ack_critical"),
                               ("waiting pulls", "num_waiting", "waiting_critical"),
                               ("unprocessed", "num_pending", "unprocessed_critical"),
                               ("redelivered", "num_redelivered", "redelivery_critical")):
        if name in t:
            out.append(at_most(check, info.get(field, 0), t[name]))
    for check, block, name in (("last delivery (s ago)", "delivered", "last_delivery_critical"),
                               ("last ack (s ago)", "ack_floor", "last_ack_critical")):
        if name in t:
            ago = _ago((info.get(block) or {}).get("last_active"))
            out.append(Verdict(check, CRIT, None, f"< {t[name][0]:g}", t[name][1], "never") if ago is None
                       else at_most(check, round(ago, 3), t[name]))
    return table(out, what)


async def check_kv(bucket: str, *, key: str | None = None, values_warn: Any = None, values_critical: Any = None,
                   ctx: Any = None) -> pd.DataFrame:
    """natscli's ``check kv``: the bucket exists, a key has a value, the number of values."""
    what = f"KV bucket {bucket}"
    try:
        info = await _api(ctx, f"STREAM.INFO.{kv_stream(bucket)}")
    except nats.js.errors.NotFoundError:
        return table([Verdict("bucket", CRIT, detail=f"bucket {bucket} not found")], what)
    out = [Verdict("bucket", OK, bucket, detail="found")]
    if key:
        try:
            await kv.get(bucket, key, ctx=ctx)
            out.append(Verdict(f"key {key}", OK, detail="has a value"))
        except JSMagicError as e:
            out.append(Verdict(f"key {key}", CRIT, detail=str(e).split(" — ")[0]))
    t = thresholds({"values_warn": values_warn, "values_critical": values_critical}, None,
                   {"values_warn": "", "values_critical": ""})
    if t:
        values = (info.get("state") or {}).get("messages", 0)
        crit, warn = t.get("values_critical"), t.get("values_warn")
        if crit is not None and warn is not None and crit[0] < warn[0]:
            out.append(at_least("values", values, crit, warn))
        else:
            out.append(at_most("values", values, crit, warn))
    return table(out, what)


ACCOUNT_DEFAULTS = {"mem_warn": 75, "mem_critical": 90, "store_warn": 75, "store_critical": 90}  # natscli's (%)


def _threshold(flags: dict, name: str) -> tuple[float, str] | None:
    """A percentage threshold: the flag, else natscli's default (memory and storage), else none."""
    if flags.get(name) is not None:
        return float(flags[name]), "flag"
    return (float(ACCOUNT_DEFAULTS[name]), "natscli default") if name in ACCOUNT_DEFAULTS else None


async def check_jetstream(*, ctx: Any = None, **flags: Any) -> pd.DataFrame:
    """natscli's ``check jetstream`` for this account: memory, storage, streams and consumers against the limits (%)."""
    ctx = current(ctx)
    await ctx.ensure()
    version = ctx.info.get("version", "?")
    out = [Verdict("server", OK, ctx.info.get("server_name", ""), detail=f"nats-server {version}")]
    try:
        info = await _api(ctx, "INFO")
    except JSMagicError as e:
        return table(out + [Verdict("jetstream", CRIT, detail=str(e))], "JetStream account")
    limits = info.get("limits") or {}
    for check, used, limit, name in (("memory", info.get("memory", 0), limits.get("max_memory"), "mem"),
                                     ("storage", info.get("storage", 0), limits.get("max_storage"), "store"),
                                     ("streams", info.get("streams", 0), limits.get("max_streams"), "streams"),
                                     ("consumers", info.get("consumers", 0), limits.get("max_consumers"), "consumers")):
        warn, crit = (_threshold(flags, f"{name}_{level}") for level in ("warn", "critical"))
        if not limit or limit < 0:
            out.append(Verdict(f"{check} used", OK, used, "", "", "no account limit"))
            continue
        pct = round(used / limit * 100, 1)
        out.append(at_most(f"{check} used (%)", pct, crit, warn, detail=f"{used:,} of {limit:,}"))
    return table(out, "JetStream account")


async def check_message(stream: str, *, subject: str = ">", age_warn: Any = None, age_critical: Any = None,
                        content: str | None = None, body_timestamp: bool = False, ctx: Any = None) -> pd.DataFrame:
    """natscli's ``check message``: the last message on ``subject`` exists, is young enough, its body matches ``content``.

    The age is from the stored time, or from the body read as a Unix timestamp in seconds
    (``body_timestamp``); ``content`` is a regular expression searched in the body.
    """
    import re

    from ..reading.get import get_one

    what = f"message {stream} > {subject}"
    t = thresholds({"age_warn": age_warn, "age_critical": age_critical}, None, {"age_warn": "", "age_critical": ""})
    try:
        pattern = re.compile(content.encode()) if content else None
    except re.error as e:
        raise InputError(f"--content {content!r} is not a regular expression ({e})", hint="e.g. --content 'ok|ready'") from None
    ctx = current(ctx)
    await ctx.jetstream()
    try:
        msg = await get_one(ctx.api, stream, {"last_by_subj": subject}, ctx.api.timeout)
    except (nats.js.errors.APIError, JSMagicError) as e:
        return table([Verdict("message", CRIT, detail=f"msg load failed: {e}")], what)
    if msg is None:
        return table([Verdict("message", CRIT, detail="no message found")], what)
    seq, when_ns, _subject, _headers, data = msg
    out = [Verdict("message", OK, seq, detail=f"last on {_subject}, {len(data):,} bytes")]
    if body_timestamp:
        try:
            when_ns = int(data.strip()) * 1_000_000_000
        except ValueError:
            return table(out + [Verdict("age (s)", CRIT, detail=f"invalid timestamp body {data[:40]!r}")], what)
    age = round(time.time() - when_ns / 1e9, 3)
    if t:  # natscli: older than the threshold, not at it
        crit, warn = t.get("age_critical"), t.get("age_warn")
        level = CRIT if crit and age > crit[0] else WARN if warn and age > warn[0] else OK
        limit = crit if level == CRIT or not warn else warn
        out.append(Verdict("age (s)", level, age, f"{'>' if level != OK else '<='} {limit[0]:g}", limit[1], format_duration(age)))
    if pattern is not None:
        found = pattern.search(data) is not None
        out.append(Verdict("content", OK if found else CRIT, found, f"matches {content}", "flag"))
    return table(out, what)


CONNECTION_DEFAULTS = {"connect_warn": 0.5, "connect_critical": 1.0, "rtt_warn": 0.5, "rtt_critical": 1.0,
                       "req_warn": 0.5, "req_critical": 1.0}  # natscli's defaults (seconds)


async def _connect_time(ctx: Any) -> float:
    """Seconds to open (and close) a new connection with the context's own options (credentials included)."""
    from ..connecting.connection import open_connection

    def ignore(*_a: Any) -> None:
        return None

    start = time.monotonic()
    probe = await open_connection(ctx.options, ctx.api.timeout if ctx.api else 5.0, ignore, ignore, ignore, ignore)
    took = time.monotonic() - start
    await probe.close()
    return took


async def check_connection(*, ctx: Any = None, **flags: Any) -> pd.DataFrame:
    """natscli's ``check connection``: a new connection, the round trip to the server, a request through it (seconds).

    Thresholds not given are natscli's defaults: warn at 500 ms, critical at 1 s.
    """
    ctx = current(ctx)
    await ctx.ensure()
    nc = ctx.nc
    t = thresholds(flags, None, dict.fromkeys(CONNECTION_DEFAULTS, ""))
    for name, value in CONNECTION_DEFAULTS.items():
        t.setdefault(name, (value, "natscli default"))
    shown = lambda v: round(v, 6)  # noqa: E731
    out = [Verdict("connected", OK, f"{nc.connected_url.hostname}:{nc.connected_url.port}" if nc.connected_url else "",
                   detail=ctx.connection_line())]  # never the URL's user:password
    if ctx.options is not None:
        try:
            took = await _connect_time(ctx)
            out.append(at_most("connect (s)", took, t["connect_critical"], t["connect_warn"], show=shown))
        except JSMagicError as e:
            out.append(Verdict("connect (s)", CRIT, detail=str(e)))
    start = time.monotonic()
    await nc.flush()
    out.append(at_most("rtt (s)", time.monotonic() - start, t["rtt_critical"], t["rtt_warn"], show=shown))
    inbox = nc.new_inbox()

    async def echo(msg: Any) -> None:
        await msg.respond(msg.data)

    sub = await nc.subscribe(inbox, cb=echo)
    try:
        start = time.monotonic()
        await nc.request(inbox, b"ping", timeout=5)
        out.append(at_most("request (s)", time.monotonic() - start, t["req_critical"], t["req_warn"], show=shown))
    finally:
        await sub.unsubscribe()
    return table(out, "connection")
