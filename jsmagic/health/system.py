"""The checks that read the server itself (``nats server check server|meta``) through the system account.

Both ask ``$SYS.REQ.SERVER.PING.*`` as natscli does: ``VARZ`` filtered to one server by
name for :func:`check_server`, ``JSZ`` with ``leader_only`` for :func:`check_meta` (the
meta leader's view of its peers).  Only a user of the system account gets an answer; any
other connection gets a ``CRIT`` row that says so.  The rules are natscli's (jsm.go
``monitor`` package): CPU and memory are maxima; connections and subscriptions go either
way (a warning above the critical means fewer is worse); uptime is a minimum; a meta peer
that is not current, offline, unseen for ``seen_critical`` or more than ``lag_critical``
operations behind is critical.
"""

from __future__ import annotations

from typing import Any

import nats.errors
import orjson
import pandas as pd

from ..core.registry import current
from ..core.units import format_duration
from .verdicts import CRIT, OK, Verdict, at_least, at_most, either_way, table, thresholds

SERVER_FLAGS = ("cpu_warn", "cpu_critical", "mem_warn", "mem_critical", "conn_warn", "conn_critical",
                "subs_warn", "subs_critical", "uptime_warn", "uptime_critical")
SYSTEM_HINT = "connect as a user of the system account (system_account in the server config) to read it"


async def _ping(ctx: Any, what: str, request: dict) -> dict:
    """The first answer to ``$SYS.REQ.SERVER.PING.<what>``; raises a one-line ``LookupError`` without one."""
    subject = f"$SYS.REQ.SERVER.PING.{what}"
    timeout = ctx.api.timeout if ctx.api else 5.0
    try:
        msg = await ctx.nc.request(subject, orjson.dumps(request), timeout=timeout)
    except (nats.errors.NoRespondersError, nats.errors.TimeoutError) as e:
        raise LookupError(f"no answer on {subject} ({type(e).__name__}): {SYSTEM_HINT}") from None
    answer = orjson.loads(msg.data)
    if answer.get("error"):
        raise LookupError(f"{subject}: {answer['error'].get('description', answer['error'])}")
    if not answer.get("data"):
        raise LookupError(f"{subject}: no data in the answer")
    return answer


def _required(out: list[Verdict], label: str, wanted: bool, have: bool) -> None:
    if wanted:
        out.append(Verdict(label, OK if have else CRIT, have, "required", "flag"))


async def check_server(*, name: str | None = None, auth_required: bool = False, tls_required: bool = False,
                       js_required: bool = False, ctx: Any = None, **flags: Any) -> pd.DataFrame:
    """natscli's ``check server``: CPU %, memory (bytes), connections, subscriptions, uptime, and what is required.

    ``name`` is the server to check (natscli's ``--name``); without it, the server this
    connection is on.  The measured values are those of the server's ``/varz``.
    """
    ctx = current(ctx)
    await ctx.ensure()
    name = name or ctx.info.get("server_name", "")
    what = f"server {name}"
    try:
        vz = (await _ping(ctx, "VARZ", {"server_name": name, "exact_match": True}))["data"]
    except LookupError as e:
        return table([Verdict("varz", CRIT, detail=str(e))], what)
    if vz.get("server_name") != name:
        return table([Verdict("server", CRIT, vz.get("server_name"), detail=f"result from wrong server {vz.get('server_name')!r}")], what)
    out = [Verdict("server", OK, name, detail=f"nats-server {vz.get('version', '?')}")]
    _required(out, "JetStream enabled", js_required, bool((vz.get("jetstream") or {}).get("config")))
    _required(out, "TLS required", tls_required, bool(vz.get("tls_required")))
    _required(out, "authentication required", auth_required, bool(vz.get("auth_required")))
    t = thresholds(flags, None, dict.fromkeys(SERVER_FLAGS, ""))
    up = (pd.Timestamp(vz["now"]) - pd.Timestamp(vz["start"])).total_seconds()
    if "uptime_warn" in t or "uptime_critical" in t:
        out.append(_ordered("uptime (s)", round(up, 3), t, "uptime", at_least, detail=format_duration(up)))
    if "cpu_warn" in t or "cpu_critical" in t:
        out.append(_ordered("cpu (%)", vz.get("cpu", 0.0), t, "cpu", at_most))
    if "mem_warn" in t or "mem_critical" in t:
        out.append(_ordered("memory (bytes)", vz.get("mem", 0), t, "mem", at_most))
    for label, field, flag in (("connections", "connections", "conn"), ("subscriptions", "subscriptions", "subs")):
        if f"{flag}_warn" in t or f"{flag}_critical" in t:
            out.append(either_way(label, vz.get(field, 0), t.get(f"{flag}_critical"), t.get(f"{flag}_warn")))
    return table(out, what)


def _ordered(check: str, value: float, t: dict, flag: str, rule: Any, detail: str = "") -> Verdict:
    """A one-way threshold pair; natscli's "invalid thresholds" when the warning is past the critical."""
    crit, warn = t.get(f"{flag}_critical"), t.get(f"{flag}_warn")
    if crit is not None and warn is not None and (crit[0] < warn[0] if rule is at_most else crit[0] > warn[0]):
        return Verdict(check, CRIT, value, "", crit[1], f"invalid thresholds: {flag}-warn is past {flag}-critical")
    return rule(check, value, crit, warn, detail=detail)


async def check_meta(*, expect: Any = None, lag_critical: Any = None, seen_critical: Any = None,
                     ctx: Any = None) -> pd.DataFrame:
    """natscli's ``check meta``: the JetStream meta group's leader, peers, and peers offline, not current, lagging, unseen."""
    ctx = current(ctx)
    await ctx.ensure()
    what = "JetStream meta cluster"
    try:
        jsz = await _ping(ctx, "JSZ", {"leader_only": True})
    except LookupError as e:
        return table([Verdict("jsz", CRIT, detail=str(e))], what)
    meta = jsz["data"].get("meta_cluster")
    if not meta:
        return table([Verdict("meta cluster", CRIT, detail="no cluster information (a single server has none)")], what)
    if not meta.get("leader"):
        return table([Verdict("leader", CRIT, detail="no leader")], what)
    t = thresholds({"expect": expect, "lag_critical": lag_critical, "seen_critical": seen_critical}, None,
                   {"expect": "", "lag_critical": "", "seen_critical": ""})
    replicas = meta.get("replicas") or []
    out = [Verdict("leader", OK, meta["leader"], detail=f"answered by {jsz.get('server', {}).get('name', '?')}")]
    peers = len(replicas) + 1
    if "expect" in t:
        out.append(Verdict("peers", OK if peers == t["expect"][0] else CRIT, peers, f"== {t['expect'][0]:g}", "flag"))
    else:
        out.append(Verdict("peers", OK, peers))

    def names(rule: Any) -> list[str]:
        return [r.get("name", "?") for r in replicas if rule(r)]
    groups = [("peers not current", names(lambda r: not r.get("current")), "== 0", ""),
              ("peers offline", names(lambda r: r.get("offline")), "== 0", "")]
    if "seen_critical" in t:
        limit = t["seen_critical"][0]
        groups.append(("peers unseen", names(lambda r: (r.get("active") or 0) / 1e9 > limit), f"seen within {format_duration(limit)}", "flag"))
    if "lag_critical" in t:
        limit = t["lag_critical"][0]
        groups.append(("peers lagging", names(lambda r: (r.get("lag") or 0) > limit), f"lag <= {limit:g}", "flag"))
    for check, bad, threshold, source in groups:
        out.append(Verdict(check, CRIT if bad else OK, len(bad), threshold, source, ", ".join(bad)))
    return table(out, what)
