"""Per-message TTL and message schedules: the headers a publish adds, and the stream switches they need.

``--ttl 2s`` adds ``Nats-TTL: 2s`` to every message (server 2.11, ADR-43); ``--schedule-after
10s --schedule-dest reminders.due`` makes each message a schedule that the server fires
into the target subject (``Nats-Schedule: @at …``, ``Nats-Schedule-Target``; ADR-51); server
2.14 adds ``--schedule-source`` (fire the last message of a subject: sampling),
``--schedule-rollup`` (each firing replaces the target's previous message) and
``--schedule-time-zone`` (a cron line read in an IANA zone, not UTC).  A
stream refuses these headers unless it allows them, and the refusal would come message by
message: :func:`feature_check` says so once, before anything is sent, naming the
``%js_stream edit`` that fixes it.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pandas as pd

from ..admin.streamconfig import FEATURES
from ..core.errors import InputError
from ..core.units import parse_duration

log = logging.getLogger(__name__)

TTL = "Nats-TTL"
SCHEDULE = "Nats-Schedule"
SCHEDULE_TARGET = "Nats-Schedule-Target"
SCHEDULE_TTL = "Nats-Schedule-TTL"
SCHEDULE_SOURCE = "Nats-Schedule-Source"
SCHEDULE_ROLLUP = "Nats-Schedule-Rollup"
SCHEDULE_TIME_ZONE = "Nats-Schedule-Time-Zone"


def ttl_header(value: Any, flag: str = "--ttl") -> str | None:
    """A TTL as the server reads it: ``2s``, ``90s``, ``never``; None/NaN stays None (no header).

    Human units are accepted (``1h``, ``1d``) and sent as whole seconds (the server's
    resolution); less than a second is refused here, not message by message.
    """
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if str(value).strip().lower() == "never":
        return "never"
    seconds = parse_duration(value)
    if seconds < 1 or seconds != int(seconds):
        raise InputError(f"bad {flag} {value!r}", hint="a TTL is whole seconds, at least 1s (or never)")
    return f"{int(seconds)}s"


def schedule_at(after: Any = None, at: Any = None) -> str:
    """``@at 2026-11-28T20:00:00Z`` from ``--schedule-after 10s`` or ``--schedule-at TIME`` (naive times are UTC)."""
    if after is not None:
        when = datetime.now(timezone.utc) + timedelta(seconds=parse_duration(after))
    else:
        try:
            stamp = pd.Timestamp(at)
        except (ValueError, TypeError):
            raise InputError(f"bad --schedule-at {at!r}", hint="give a time like 2026-12-01T09:00:00Z") from None
        when = (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()
    return "@at " + when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _time_zone(zone: Any) -> str | None:
    """An IANA zone name as the server reads it (``Europe/Amsterdam``, ``UTC``); a typo is refused here, not by the server."""
    if zone is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = str(zone).strip()
    if name == "Local":  # the server's own zone: the server knows it, this machine cannot check it
        return name
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        try:
            ZoneInfo("Europe/Amsterdam")
        except ZoneInfoNotFoundError:  # no tz database here (Windows without tzdata): the server judges
            log.info("no tz database to check --schedule-time-zone %r; the server will", name)
            return name
        raise InputError(f"bad --schedule-time-zone {zone!r}",
                         hint="an IANA name like Europe/Amsterdam or America/New_York (offsets like +02:00 are refused)") from None
    return name


@dataclasses.dataclass
class Features:
    """What a publish asks of the 2.11-2.14 server: TTL, a schedule, an atomic or a fast batch."""

    ttl: str | None = None
    ttl_col: str | None = None
    schedule: str | None = None  # the Nats-Schedule value: "@at …", "@every 1m", a cron line
    schedule_dest: str | None = None
    schedule_ttl: str | None = None
    schedule_source: str | None = None  # 2.14: fire the last message of this subject (sampling)
    schedule_rollup: bool = False  # 2.14: each firing rolls the target subject up (keeps the newest only)
    schedule_time_zone: str | None = None  # 2.14: the IANA zone a cron line is read in
    atomic: bool = False
    split: bool = False
    fast: bool = False

    @classmethod
    def from_flags(cls, *, ttl=None, ttl_col=None, schedule_after=None, schedule_at_=None, schedule_every=None,
                   schedule_cron=None, schedule_dest=None, schedule_ttl=None, schedule_source=None,
                   schedule_rollup=False, schedule_time_zone=None, atomic=False, split=False,
                   fast=False) -> "Features":
        """Flag values (natscli's words) checked and turned into header values; one-line errors."""
        given = [f for f, v in (("--schedule-after", schedule_after), ("--schedule-at", schedule_at_),
                                ("--schedule-every", schedule_every), ("--schedule-cron", schedule_cron)) if v]
        if len(given) > 1:
            raise InputError(f"{' and '.join(given)} exclude each other", hint="give one of them")
        if given and not schedule_dest:
            raise InputError(f"{given[0]} needs --schedule-dest SUBJECT", hint="the subject the schedule fires into")
        if (schedule_dest or schedule_ttl or schedule_source or schedule_rollup or schedule_time_zone) and not given:
            raise InputError("--schedule-dest/-ttl/-source/-rollup/-time-zone go with a schedule",
                             hint="add --schedule-after, --schedule-at, --schedule-every or --schedule-cron")
        if schedule_time_zone is not None and not schedule_cron:
            raise InputError("--schedule-time-zone goes with --schedule-cron (the server refuses it on @at and @every)")
        zone = _time_zone(schedule_time_zone)
        if schedule_source is not None and (any(c in str(schedule_source) for c in "*>") or not str(schedule_source).strip()):
            raise InputError(f"bad --schedule-source {schedule_source!r}", hint="one subject, no wildcards")
        if split and not atomic:
            raise InputError("--split goes with --atomic")
        if fast and atomic:
            raise InputError("--fast and --atomic exclude each other",
                             hint="--atomic: all or nothing (up to 1,000); --fast: any number, in order, not atomic")
        schedule = None
        if schedule_after or schedule_at_:
            schedule = schedule_at(schedule_after, schedule_at_)
        elif schedule_every:
            schedule = f"@every {ttl_header(schedule_every, '--schedule-every')}"
        elif schedule_cron:
            schedule = str(schedule_cron).strip()
        return cls(ttl=ttl_header(ttl), ttl_col=ttl_col, schedule=schedule, schedule_dest=schedule_dest,
                   schedule_ttl=ttl_header(schedule_ttl, "--schedule-ttl"), schedule_source=schedule_source or None,
                   schedule_rollup=bool(schedule_rollup), schedule_time_zone=zone, atomic=atomic, split=split,
                   fast=bool(fast))

    def headers(self) -> dict[str, str]:
        """The headers every message carries."""
        out: dict[str, str] = {}
        if self.ttl:
            out[TTL] = self.ttl
        if self.schedule:
            out[SCHEDULE] = self.schedule
            out[SCHEDULE_TARGET] = self.schedule_dest or ""
            if self.schedule_ttl:
                out[SCHEDULE_TTL] = self.schedule_ttl
            if self.schedule_source:
                out[SCHEDULE_SOURCE] = self.schedule_source
            if self.schedule_rollup:
                out[SCHEDULE_ROLLUP] = "sub"  # the only value ADR-51 allows
            if self.schedule_time_zone:
                out[SCHEDULE_TIME_ZONE] = self.schedule_time_zone
        return out

    def needs(self) -> list[str]:
        """The StreamConfig switches the stream must have on."""
        out = []
        if self.ttl or self.ttl_col or self.schedule_ttl:
            out.append("allow_msg_ttl")
        if self.schedule:
            out.append("allow_msg_schedules")
        if self.atomic:
            out.append("allow_atomic")
        if self.fast:
            out.append("allow_batched")
        return out


def feature_check(index: Any, features: Features | None) -> Callable[[str], None]:
    """A per-subject check: the capturing stream allows what the publish needs (and holds the schedule target)."""
    needs = features.needs() if features else []
    done: set[str] = set()

    def check(subject: str) -> None:
        if not needs or index is None or subject in done:
            return
        for stream in index.capturing(subject):
            cfg = index.configs.get(stream)
            for field in needs:
                if cfg is not None and not getattr(cfg, field, None):
                    flag, what, version = FEATURES[field]
                    raise InputError(f"stream {stream} does not allow {what}",
                                     hint=f"enable it (server {version}+): %js_stream edit {stream} {flag}")
            marker = getattr(cfg, "subject_delete_marker_ttl", None) or 0
            if features and features.ttl not in (None, "never") and int(features.ttl[:-1]) < marker:
                raise InputError(f"--ttl {features.ttl} is shorter than stream {stream}'s delete-marker TTL "
                                 f"({marker:g}s): the server would keep the messages {marker:g}s",
                                 hint=f"use --ttl {marker:g}s or more")
            dest = features.schedule_dest if features else None
            if dest and stream not in index.capturing(dest):
                raise InputError(f"schedule target {dest!r} is not in stream {stream}",
                                 hint="a schedule fires into a subject of its own stream")
            if dest and dest == subject:
                raise InputError("--schedule-dest must differ from the schedule's own subject")
            source = features.schedule_source if features else None
            if source and (stream not in index.capturing(source) or source in (subject, dest)):
                raise InputError(f"--schedule-source {source!r} must be another subject of stream {stream}",
                                 hint="the schedule fires the last message of a subject in its own stream, "
                                      "neither its own subject nor its target")
        done.add(subject)

    return check
