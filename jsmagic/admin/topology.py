"""How streams are wired: sources, a mirror, a subject transform, republish, placement - as API config.

``%js_stream add/edit`` flags in natscli's words (``--source``, ``--mirror``,
``--transform-source``, ``--republish-source``, ``--metadata K=V``, ``--compression``,
``--first-sequence``, ``--cluster``/``--tag``, ``--allow-mirror-direct``) and
``--config FILE.json`` (natscli's format: the server's StreamConfig JSON, durations in
nanoseconds) become the JSON fields of the JetStream API.  These configs are sent as
plain dicts through ``ctx.api`` (prefix-aware), so nothing depends on which fields a
nats-py release knows.  Creating and editing a stream is one implementation,
:func:`jsmagic.admin.streams.add_stream` / :func:`~jsmagic.admin.streams.edit_stream`,
which takes these fields as ``topology=``.

A source is ``NAME``, ``NAME:FILTER``, ``NAME@START`` or ``NAME:FILTER@START`` where
START is a stream sequence or a time (``2026-01-01T10:00``, or a duration ago, ``1h``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.context import JSContext
from ..core.errors import ForceRequiredError, InputError
from ..core.registry import connected
from ..core.units import parse_when, plural, rfc3339
from .consumerlimits import limits_config
from .streamconfig import config_params
from .streams import StreamDetails, base_config, checked_config, details, raw_info

SOURCE_COLUMNS = ["kind", "stream", "filter", "lag", "active", "error"]
NANOS = 1_000_000_000  # the API counts durations in nanoseconds


def source_spec(spec: str) -> dict[str, Any]:
    """``EU:orders.>@100`` as a StreamSource dict (name, filter_subject, opt_start_seq/time)."""
    text, start = (spec.rsplit("@", 1) + [None])[:2] if "@" in spec else (spec, None)
    name, _, filt = str(text).partition(":")
    if not name:
        raise InputError(f"bad --source {spec!r}", hint="give NAME, NAME:FILTER, NAME@SEQ or NAME:FILTER@TIME")
    out: dict[str, Any] = {"name": name}
    if filt:
        out["filter_subject"] = filt
    if start:
        if start.isdigit():
            out["opt_start_seq"] = int(start)
        else:
            out["opt_start_time"] = rfc3339(parse_when(start))
    return out


def _metadata(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise InputError(f"bad --metadata {pair!r}", hint="give KEY=VALUE, e.g. --metadata owner=team-a")
        out[key] = value
    return out


def topology_config(*, sources: list[str] | None = None, mirror: str | None = None,
                    transform_source: str | None = None, transform_destination: str | None = None,
                    republish_source: str | None = None, republish_destination: str | None = None,
                    republish_headers: bool | None = None, metadata: list[str] | None = None,
                    compression: str | None = None, first_seq: int | None = None,
                    placement_cluster: str | None = None, placement_tags: list[str] | None = None,
                    allow_mirror_direct: bool | None = None, no_mirror: bool | None = None,
                    **limits: Any) -> dict[str, Any]:
    """The API StreamConfig fields the topology flags set (None/empty means "not given").

    ``no_mirror`` (natscli's ``edit --no-mirror``) promotes a mirror to a stream of its own;
    ``limits``: :func:`jsmagic.admin.consumerlimits.limits_config`'s flags (``max_consumers``…).
    """
    cfg: dict[str, Any] = limits_config(**limits)
    if sources:
        cfg["sources"] = [source_spec(s) for s in sources]
    if mirror:
        if sources:
            raise InputError("a stream is either a mirror or has sources", hint="use --mirror or --source, not both")
        if no_mirror:
            raise InputError("--mirror and --no-mirror contradict each other", hint="give one of them")
        cfg["mirror"] = source_spec(mirror)
    if no_mirror:
        cfg["mirror"] = None  # the server then takes publishes on the stream's own subjects (ADR-59)
    if (transform_source is None) != (transform_destination is None):
        raise InputError("a subject transform needs both --transform-source and --transform-destination")
    if transform_source is not None:
        cfg["subject_transform"] = {"src": transform_source, "dest": transform_destination}
    if republish_destination:
        cfg["republish"] = {"src": republish_source or ">", "dest": republish_destination,
                            "headers_only": bool(republish_headers)}
    elif republish_source or republish_headers:
        raise InputError("republish needs --republish-destination SUBJECT")
    if metadata:
        cfg["metadata"] = _metadata(metadata)
    if compression is not None:
        if compression not in ("s2", "none"):
            raise InputError(f"bad --compression {compression!r}", hint="use s2 or none")
        cfg["compression"] = compression
    if first_seq is not None:
        cfg["first_seq"] = int(first_seq)
    if placement_cluster or placement_tags:
        cfg["placement"] = {k: v for k, v in {"cluster": placement_cluster, "tags": placement_tags}.items() if v}
    if allow_mirror_direct is not None:
        cfg["mirror_direct"] = bool(allow_mirror_direct)
        if allow_mirror_direct:
            cfg["allow_direct"] = True  # the server serves a mirror's direct gets only with both (natscli's default)
    return cfg


def source_frame(raw: dict[str, Any]) -> pd.DataFrame:
    """A stream's mirror and sources as the server reports them: lag, seconds since active, error."""
    rows = []
    entries = ([("mirror", raw["mirror"])] if raw.get("mirror") else []) + [("source", s) for s in raw.get("sources") or []]
    for kind, s in entries:
        active = s.get("active")
        rows.append({
            "kind": kind,
            "stream": s.get("name"),
            "filter": s.get("filter_subject") or ", ".join(t.get("src", "") for t in s.get("subject_transforms") or []),
            "lag": s.get("lag", 0),
            "active": active / NANOS if isinstance(active, int) and active >= 0 else None,
            "error": (s.get("error") or {}).get("description"),
        })
    return pd.DataFrame(rows, columns=SOURCE_COLUMNS)


async def sources(name: str, *, ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_stream info``'s replication part: one row per source and for the mirror."""
    return source_frame(await raw_info(name, ctx=ctx))


async def seal(name: str, force: bool = False, *, ctx: JSContext | None = None) -> dict[str, Any]:
    """``%js_stream seal``: no more messages, deletes or purges - for ever (refuses without force)."""
    info = await raw_info(name, ctx=ctx)
    if not force:
        raise ForceRequiredError(f"would seal stream {name} for ever ({plural(info['state']['messages'], 'message')} "
                                 "kept, nothing can be added, deleted or purged)")
    ctx = await connected(ctx)
    new = await ctx.api.request(f"STREAM.UPDATE.{name}", {**info["config"], "sealed": True})
    return new["state"]


async def copy(name: str, new_name: str, opts: dict[str, Any], topology: dict[str, Any],
               *, ctx: JSContext | None = None) -> StreamDetails:
    """``%js_stream copy``: a new stream with ``name``'s configuration (no data), flags override it."""
    old = (await raw_info(name, ctx=ctx))["config"]
    params = config_params(**opts)
    if "subjects" not in params and old.get("subjects") and "mirror" not in topology:
        raise InputError(f"stream {name} captures {', '.join(old['subjects'])}: the copy needs its own subjects",
                         hint=f"add --subjects, e.g. --subjects '{new_name.lower()}.>'")
    cfg = {k: v for k, v in old.items() if k not in ("sealed",)}
    cfg.update(base_config(new_name, params, given_only=True))
    cfg.update(topology)
    cfg["name"] = new_name
    ctx = await connected(ctx)
    raw = await ctx.api.request(f"STREAM.CREATE.{new_name}", checked_config(new_name, cfg))
    return details(raw)
