"""Readable ``info`` answers: a stream's or consumer's configuration and state as ``field: value`` sections.

The core hands over nats-py's StreamInfo/ConsumerInfo (and numbers nats-py drops, such
as a stream's subject count); this module turns them into what ``%js_stream info`` and
``%js_consumer info`` show: sizes and ages in human units, enum words, "unlimited" for -1.
"""

from __future__ import annotations

import pandas as pd

from enum import Enum
from typing import Any, NamedTuple

from nats.js import api

from ..admin.consumers import consumer_row
from ..admin.streamconfig import FEATURES, plain
from ..core.units import format_duration, format_size


class Sequences(NamedTuple):
    """A consumer position as natscli shows it: the consumer's own sequence (it counts redeliveries) and the stream's."""

    consumer_seq: int
    stream_seq: int

    @classmethod
    def of(cls, seqs: Any) -> "Sequences":
        return cls(int(getattr(seqs, "consumer_seq", 0) or 0), int(getattr(seqs, "stream_seq", 0) or 0))

    def __repr__(self) -> str:
        return f"consumer seq {self.consumer_seq:,}, stream seq {self.stream_seq:,}"

    __str__ = __repr__


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
            lines.extend(f"  {k.rjust(width)}: {_readable(v)}" for k, v in fields.items())
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))


def _readable(value: Any) -> Any:
    """Counts with thousands separators (``1,200``); everything else as it is."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value


def shown(key: str, value: Any) -> str:
    """One config value the way a person reads it (units, enum words, lists)."""
    if isinstance(value, Enum):
        value = value.value
    if key in ("max_bytes", "max_msg_size") and isinstance(value, int):
        return format_size(value)
    if key in ("max_age", "duplicate_window", "ack_wait", "inactive_threshold", "subject_delete_marker_ttl"):
        return format_duration(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "-" if value is None else str(value)


def _limit(value: int | None) -> str:
    """A count limit: ``unlimited`` for -1/None, else the number with thousands separators."""
    return "unlimited" if (value or -1) < 0 else f"{value:,}"


def stream_report(si: api.StreamInfo, num_subjects: int | None = None) -> Report:
    """A StreamInfo as readable sections (configuration, state); ``.raw`` is the StreamInfo.

    ``num_subjects`` comes from the raw API answer (nats-py's StreamState drops it); None shows "-".
    """
    c, s = si.config, si.state
    config = {
        "subjects": shown("subjects", c.subjects or []) or "-",  # a mirror or a sourced stream may have none
        "description": c.description or "-",
        "retention": shown("", c.retention),
        "storage": shown("", c.storage),
        "replicas": c.num_replicas or 1,
        "discard": shown("", c.discard),
        "max messages": _limit(c.max_msgs),
        "max per subject": _limit(c.max_msgs_per_subject),
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
    sections = {"Configuration": config, **_features(c), "State": state}
    return Report(f"Stream {c.name}", sections, raw=si)


def _features(c: api.StreamConfig) -> dict[str, dict[str, Any]]:
    """The server 2.11-2.14 switches (TTL, counter, batches, schedules, delete markers, persist mode), when any is on."""
    on = {what: f"yes (server {version}+)" for field, (flag, what, version) in FEATURES.items() if getattr(c, field, None)}
    if getattr(c, "subject_delete_marker_ttl", None):
        on["delete markers live"] = format_duration(c.subject_delete_marker_ttl)
    mode = plain(getattr(c, "persist_mode", None))
    if mode not in (None, "default"):
        on["persist mode"] = f"{mode} (server 2.12+: acked before the disk write)"
    return {"Features": on} if on else {}


def consumer_report(ci: api.ConsumerInfo) -> Report:
    """A ConsumerInfo as readable sections (configuration, state); ``.raw`` is the ConsumerInfo."""
    c = ci.config
    config = {
        "durable": c.durable_name or "(ephemeral)",
        "kind": "pull" if not c.deliver_subject else f"push to {c.deliver_subject}",
        "deliver policy": shown("", c.deliver_policy)
        + (f" from {c.opt_start_seq}" if c.opt_start_seq else "")
        + (f" from {c.opt_start_time}" if c.opt_start_time else ""),
        "ack policy": shown("", c.ack_policy),
        "ack wait": format_duration(c.ack_wait),
        "max deliver": "unlimited" if (c.max_deliver or -1) < 0 else c.max_deliver,
        "max ack pending": c.max_ack_pending,
        "filter": ", ".join(c.filter_subjects or ([c.filter_subject] if c.filter_subject else [])) or "-",
        "replay": shown("", c.replay_policy),
    }
    row = consumer_row(ci)
    state = {  # numbers stay numbers, for code that checks them; the report prints them readably
        "pending": row["pending"],
        "ack pending": row["ack_pending"],
        "redelivered": row["redelivered"],
        "waiting pulls": row["waiting"],
        "last delivered": Sequences.of(ci.delivered),
        "ack floor": Sequences.of(ci.ack_floor),
        "last active": row["last_active"] if pd.notna(row["last_active"]) else "never",  # not "NaT"
    }
    return Report(f"Consumer {ci.stream_name} > {ci.name}", {"Configuration": config, "State": state}, raw=ci)


class Brief(Report):
    """A report shown as one line (``%js_stream add``); the sections stay in the dict, ``info`` shows them."""

    def __init__(self, line: str, report: Report):
        super().__init__(report.title, dict(report), raw=report.raw)
        self.line = line

    def __repr__(self) -> str:
        return self.line


def stream_brief(si: api.StreamInfo, num_subjects: int | None = None) -> Brief:
    """``Stream ORDERS: subjects orders.>; limits retention, file storage, 1 replica; max age 7d``."""
    report = stream_report(si, num_subjects)
    config = report["Configuration"]
    limits = [f"{k} {v}" for k, v in config.items()
              if k in ("max messages", "max per subject", "max bytes", "max age", "max message size")
              and v not in ("unlimited", "-", "0s", "unlimited age")]
    replicas = config["replicas"]
    line = (f"Stream {si.config.name}: subjects {config['subjects'] or '-'}; {config['retention']} retention, "
            f"{config['storage']} storage, {replicas} replica{'s' if replicas != 1 else ''}"
            + (f"; {', '.join(limits)}" if limits else "") + f" — %js_stream info {si.config.name} for the rest")
    return Brief(line, report)
