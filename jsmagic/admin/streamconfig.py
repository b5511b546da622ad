"""Stream settings from flag values: ``--max-age 1d --max-bytes 10MB --retention workqueue`` as StreamConfig fields.

Flags speak human units and enum words; nats-py's ``StreamConfig`` wants seconds, bytes
and enums.  A value that cannot be read is a one-line :class:`InputError` naming the
flag, never a ``ValueError`` from deep inside nats-py.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from nats.js import api

from ..core.errors import InputError
from ..core.units import parse_duration, parse_size

ENUMS = {
    "retention": api.RetentionPolicy,
    "storage": api.StorageType,
    "discard": api.DiscardPolicy,
}

EDITABLE = ("subjects", "description", "max_msgs", "max_bytes", "max_age", "max_msgs_per_subject",
            "max_msg_size", "discard", "duplicate_window", "num_replicas", "allow_direct",
            "allow_rollup_hdrs", "deny_delete", "deny_purge", "max_consumers", "retention", "storage")
"""The StreamConfig fields ``%js_stream edit`` compares before and after."""


def config_params(**opts: Any) -> dict[str, Any]:
    """StreamConfig fields from flag values in human units (None means "not given")."""
    out: dict[str, Any] = {}
    for key, value in opts.items():
        if value is None:
            continue
        if key == "subjects":
            out[key] = [s for part in value for s in str(part).replace(",", " ").split()]
        elif key in ENUMS:
            out[key] = _enum(key, value)
        elif key in ("max_bytes", "max_msg_size"):
            out[key] = parse_size(value)
        elif key in ("max_age", "duplicate_window"):
            out[key] = parse_duration(value)
        elif key in ("max_msgs", "max_msgs_per_subject", "num_replicas", "max_consumers"):
            out[key] = whole_number(key, value)
        else:
            out[key] = value
    return out


def _enum(key: str, value: Any) -> Enum:
    """``--retention workqueue`` as ``RetentionPolicy.WORK_QUEUE``; a typo names the choices."""
    try:
        return ENUMS[key](str(value).lower())
    except ValueError:
        choices = ", ".join(e.value for e in ENUMS[key])
        raise InputError(f"bad --{key} {value!r}", hint=f"use one of {choices}") from None


def whole_number(key: str, value: Any) -> int:
    """An integer flag value; a typo (``--max-msgs 1k``) is a one-line InputError, not a ValueError."""
    try:
        return int(value)
    except (TypeError, ValueError):
        flag = {"num_replicas": "replicas"}.get(key, key).replace("_", "-")
        raise InputError(f"bad --{flag} {value!r}", hint="give a whole number (-1 for unlimited)") from None


def plain(value: Any) -> Any:
    """A config value as plain data: enums as their word (``"workqueue"``), everything else as is."""
    return value.value if isinstance(value, Enum) else value


def changes(old: api.StreamConfig, new: api.StreamConfig) -> list[dict[str, Any]]:
    """The editable settings that differ: ``{"setting", "old", "new"}`` with plain values (seconds, bytes)."""
    return [
        {"setting": k, "old": plain(getattr(old, k)), "new": plain(getattr(new, k))}
        for k in EDITABLE
        if getattr(old, k) != getattr(new, k)
    ]


# ---- per-message TTL, counters, batches, schedules, persist mode (server 2.11-2.14; issues 14, 25) ----
FEATURES = {
    "allow_msg_ttl": ("--allow-msg-ttl", "per-message TTL (Nats-TTL)", "2.11"),
    "allow_msg_counter": ("--allow-counter", "counters (Nats-Incr)", "2.12"),
    "allow_atomic": ("--allow-batch", "atomic batch publish", "2.12"),
    "allow_batched": ("--allow-fast", "fast batch publish", "2.14"),
    "allow_msg_schedules": ("--allow-schedules", "message schedules (Nats-Schedule)", "2.12"),
}
"""StreamConfig switch → (natscli flag, what it allows, first server version)."""

FEATURE_FIELDS = (*FEATURES, "subject_delete_marker_ttl", "persist_mode")
"""The settings ``%js_stream edit`` also compares (beside :data:`EDITABLE`)."""

PERSIST_MODES = ("default", "async")
"""``--persist-mode``: ``async`` acks before the disk write (server 2.12, ADR-56; R1 file streams, set at creation)."""


def feature_params(*, allow_msg_ttl: Any = None, allow_counter: Any = None, allow_batch: Any = None,
                   allow_fast: Any = None, allow_schedules: Any = None, subject_del_markers_ttl: Any = None,
                   persist_mode: Any = None) -> dict[str, Any]:
    """StreamConfig fields from natscli's flags for the 2.11-2.14 features (None: not given).

    A delete-marker TTL needs per-message TTL, so it turns that on too, as natscli does.
    ``persist_mode`` (natscli's ``--persist-mode default|async``) is sent as given: the
    server sets it at creation and refuses to change it later, in its own words.
    """
    out: dict[str, Any] = {}
    for field, value in (("allow_msg_ttl", allow_msg_ttl), ("allow_msg_counter", allow_counter),
                         ("allow_atomic", allow_batch), ("allow_batched", allow_fast),
                         ("allow_msg_schedules", allow_schedules)):
        if value:
            out[field] = True
    if persist_mode is not None:
        mode = str(getattr(persist_mode, "value", persist_mode)).strip().lower()
        if mode not in PERSIST_MODES:
            raise InputError(f"bad --persist-mode {persist_mode!r}", hint="use default or async")
        out["persist_mode"] = api.PersistMode(mode)
    if subject_del_markers_ttl is not None:
        seconds = parse_duration(subject_del_markers_ttl)
        if seconds < 1:
            raise InputError(f"bad --subject-del-markers-ttl {subject_del_markers_ttl!r}", hint="give at least 1s")
        out["subject_delete_marker_ttl"] = seconds
        out["allow_msg_ttl"] = True
    missing = [f for f in out if f not in api.StreamConfig.__dataclass_fields__]
    if missing:  # an older nats-py (2.13 lacks the counter and marker fields) would fail with a TypeError
        raise InputError(f"this nats-py has no StreamConfig.{missing[0]}", hint="pip install -U nats-py (2.16 has them all)")
    return out


def feature_changes(old: api.StreamConfig, new: api.StreamConfig) -> list[dict[str, Any]]:
    """Like :func:`changes`, for the 2.11-2.14 feature settings."""
    return [{"setting": k, "old": plain(getattr(old, k, None)), "new": plain(getattr(new, k, None))}
            for k in FEATURE_FIELDS if getattr(old, k, None) != getattr(new, k, None)]
