"""Verdicts: one row per check, ``OK``/``WARN``/``CRIT``, with the measured value and the threshold it met.

Thresholds come from flags (natscli's names) or from the object's metadata, read as natscli
reads it (``io.nats.monitor.msgs-warn`` …); an explicit flag wins over metadata, and the
``source`` column says which one set the threshold.  The rules are natscli's: a stream's
message thresholds are minimums (``CRIT`` at or below), a consumer's criticals are maximums
(``CRIT`` at or above), and subject/value thresholds go either way: a warning below the
critical means "more is worse", above it "fewer is worse".
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import pandas as pd

from ..core.errors import InputError, JSMagicError
from ..core.units import parse_duration, plural

OK, WARN, CRIT = "OK", "WARN", "CRIT"
RANK = {OK: 0, WARN: 1, CRIT: 2}
COLUMNS = ["check", "status", "value", "threshold", "source", "detail"]
META = "io.nats.monitor."

# flag (dest) -> (metadata key, parser); natscli's names (jsm.go monitor package)
STREAM_META = {
    "msgs_warn": "msgs-warn", "msgs_critical": "msgs-critical", "subjects_warn": "subjects-warn",
    "subjects_critical": "subjects-critical", "min_sources": "min-sources", "max_sources": "max-sources",
    "peer_expect": "peer-expect", "peer_lag_critical": "peer-lag-critical", "peer_seen_critical": "peer-seen-critical",
    "lag_critical": "lag-critical", "seen_critical": "seen-critical",
}
CONSUMER_META = {
    "outstanding_ack_critical": "outstanding-ack-critical", "waiting_critical": "waiting-critical",
    "unprocessed_critical": "unprocessed-critical", "last_delivery_critical": "last-delivery-critical",
    "last_ack_critical": "last-ack-critical", "redelivery_critical": "redelivery-critical",
}
DURATIONS = {"peer_seen_critical", "seen_critical", "last_delivery_critical", "last_ack_critical", "rtt_warn",
             "rtt_critical", "req_warn", "req_critical", "connect_warn", "connect_critical", "uptime_warn",
             "uptime_critical", "age_warn", "age_critical"}


@dataclasses.dataclass
class Verdict:
    check: str
    status: str
    value: Any = None
    threshold: str = ""
    source: str = ""
    detail: str = ""


def number(name: str, text: Any) -> float:
    """A threshold as a number (durations in seconds: ``30s``, ``5m``)."""
    if name in DURATIONS:
        return parse_duration(text)
    try:
        return float(text)
    except (TypeError, ValueError):
        raise InputError(f"threshold {name.replace('_', '-')}={text!r} is not a number",
                         hint="use a whole number, or a duration like 30s for the *-seen / last-* thresholds") from None


def thresholds(flags: dict[str, Any], metadata: dict[str, str] | None, names: dict[str, str]) -> dict[str, tuple[float, str]]:
    """``{name: (value, source)}``: the flags given, else the ``io.nats.monitor.*`` metadata (natscli's keys)."""
    out: dict[str, tuple[float, str]] = {}
    meta = metadata or {}
    for name, key in names.items():
        if flags.get(name) is not None:
            out[name] = (number(name, flags[name]), "flag")
        elif META + key in meta:
            out[name] = (number(name, meta[META + key]), f"metadata {META}{key}")
    return out


def _g(value: Any) -> Any:
    """A threshold or value as people write it: ``5``, not ``5.0``."""
    return f"{value:g}" if isinstance(value, float) else value


def at_most(check: str, value: float, crit: tuple | None = None, warn: tuple | None = None,
            show: Callable[[float], Any] = lambda v: v, detail: str = "") -> Verdict:
    """More is worse: CRIT at or above the critical threshold, WARN at or above the warning."""
    for level, limit in ((CRIT, crit), (WARN, warn)):
        if limit is not None and value >= limit[0]:
            return Verdict(check, level, show(value), f">= {_g(show(limit[0]))}", limit[1], detail)
    shown = [f"< {_g(show(t[0]))}" for t in (warn, crit) if t is not None]
    src = (crit or warn or (None, ""))[1]
    return Verdict(check, OK, show(value), shown[0] if shown else "", src, detail)


def at_least(check: str, value: float, crit: tuple | None = None, warn: tuple | None = None,
             show: Callable[[float], Any] = lambda v: v, detail: str = "") -> Verdict:
    """Fewer is worse: CRIT at or below the critical threshold, WARN at or below the warning."""
    for level, limit in ((CRIT, crit), (WARN, warn)):
        if limit is not None and value <= limit[0]:
            return Verdict(check, level, show(value), f"<= {_g(show(limit[0]))}", limit[1], detail)
    shown = [f"> {_g(show(t[0]))}" for t in (warn, crit) if t is not None]
    src = (crit or warn or (None, ""))[1]
    return Verdict(check, OK, show(value), shown[0] if shown else "", src, detail)


def either_way(check: str, value: float, crit: tuple | None, warn: tuple | None, **kw: Any) -> Verdict:
    """natscli's subjects/values rule: warn below crit means more is worse, otherwise fewer is worse."""
    if crit is not None and warn is not None and warn[0] > crit[0]:
        return at_least(check, value, crit, warn, **kw)
    return at_most(check, value, crit, warn, **kw)


def table(verdicts: list[Verdict], what: str) -> pd.DataFrame:
    """The verdict table; ``attrs["status"]`` is the worst verdict, ``attrs["summary"]`` one line."""
    df = pd.DataFrame([dataclasses.asdict(v) for v in verdicts], columns=COLUMNS)
    worst = max((v.status for v in verdicts), key=RANK.__getitem__, default=OK)
    counts = {s: sum(v.status == s for v in verdicts) for s in (CRIT, WARN, OK)}
    df.attrs["status"] = worst
    df.attrs["summary"] = (f"{worst}: {what} — {counts[CRIT]} critical, {counts[WARN]} warning, "
                           f"{counts[OK]} ok of {plural(len(verdicts), 'check')}")
    return df


class CheckFailed(JSMagicError):
    """``%js_check --fail-on``: a verdict at or above the level; the table is in ``.result``."""

    def __init__(self, message: str, result: Any = None):
        super().__init__(message)
        self.result = result


def failed(df: pd.DataFrame, fail_on: str | None) -> CheckFailed | None:
    """The error to raise when the worst verdict reaches ``fail_on`` (``crit`` or ``warn``), else None."""
    if not fail_on:
        return None
    level = {"crit": CRIT, "warn": WARN}[fail_on]
    if RANK[df.attrs["status"]] < RANK[level]:
        return None
    bad = df[df.status.map(RANK) >= RANK[level]]
    what = "; ".join(f"{r.check} {r.status} ({r.value if r.detail == '' else r.detail})" for r in bad.itertuples())
    return CheckFailed(f"{df.attrs['summary']}: {what}", result=df)
