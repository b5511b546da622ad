"""Stream settings as keywords: `%js_stream add`'s flag names → StreamConfig fields and topology fields."""

from __future__ import annotations

from typing import Any

from ..admin import topology
from ..admin.streamconfig import feature_params
from ..core.errors import InputError, did_you_mean

#: ``%js_stream add`` flag (as a keyword) → StreamConfig field
SETTINGS = {"subjects": "subjects", "retention": "retention", "storage": "storage", "max_msgs": "max_msgs",
            "max_bytes": "max_bytes", "max_age": "max_age", "max_msgs_per_subject": "max_msgs_per_subject",
            "max_msg_size": "max_msg_size", "discard": "discard", "dupe_window": "duplicate_window",
            "replicas": "num_replicas", "description": "description", "allow_direct": "allow_direct",
            "allow_rollup": "allow_rollup_hdrs"}
FEATURES = ("allow_msg_ttl", "allow_counter", "allow_batch", "allow_fast", "allow_schedules", "subject_del_markers_ttl",
            "persist_mode")
TOPOLOGY = ("sources", "mirror", "transform_source", "transform_destination", "republish_source",
            "republish_destination", "republish_headers", "metadata", "compression", "first_seq",
            "placement_cluster", "placement_tags", "allow_mirror_direct")


def split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keyword settings → (StreamConfig fields in flag units, topology fields); an unknown name is a one-line error."""
    known = (*SETTINGS, *FEATURES, *TOPOLOGY)
    for key in settings:
        if key not in known:
            raise InputError(f"unknown stream setting {key!r}", hint=did_you_mean(key, list(known)) or
                             f"use one of {', '.join(known)}")
    flags = {SETTINGS[k]: v for k, v in settings.items() if k in SETTINGS and v is not None}
    if isinstance(flags.get("subjects"), str):
        flags["subjects"] = [flags["subjects"]]
    flags.update(feature_params(**{k: settings[k] for k in FEATURES if k in settings}))
    given = {k: settings[k] for k in TOPOLOGY if settings.get(k) is not None}
    for key in ("sources", "metadata", "placement_tags"):
        if isinstance(given.get(key), str):
            given[key] = [given[key]]
    return flags, (topology.topology_config(**given) if given else {})
