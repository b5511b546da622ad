"""How streams are wired: sources, a mirror, a subject transform, republish, placement - as API config.

``%js_stream add/edit`` flags in natscli's words (``--source``, ``--mirror``,
``--transform-source``, ``--republish-source``, ``--metadata K=V``, ``--compression``,
``--first-sequence``, ``--cluster``/``--tag``, ``--allow-mirror-direct``) and
``--config FILE.json`` (natscli's format: the server's StreamConfig JSON, durations in
nanoseconds) become the JSON fields of the JetStream API.  These configs are sent as
plain dicts through ``ctx.api`` (prefix-aware), so nothing depends on which fields a
nats-py release knows.

A source is ``NAME``, ``NAME:FILTER``, ``NAME@START`` or ``NAME:FILTER@START`` where
START is a stream sequence or a time (``2026-01-01T10:00``, or a duration ago, ``1h``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nats.js.errors
import pandas as pd
from nats.js import api

from ..core.context import JSContext
from ..core.errors import ForceRequiredError, InputError, not_found
from ..core.registry import connected
from ..core.units import parse_when, rfc3339
from .streamconfig import config_params, plain
from .streams import StreamDetails, stream_names

SOURCE_COLUMNS = ["kind", "stream", "filter", "lag", "active", "error"]
NANOS = 1_000_000_000


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
                    allow_mirror_direct: bool | None = None) -> dict[str, Any]:
    """The API StreamConfig fields the topology flags set (None/empty means "not given")."""
    cfg: dict[str, Any] = {}
    if sources:
        cfg["sources"] = [source_spec(s) for s in sources]
    if mirror:
        if sources:
            raise InputError("a stream is either a mirror or has sources", hint="use --mirror or --source, not both")
        cfg["mirror"] = source_spec(mirror)
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


async def create(name: str, opts: dict[str, Any], topology: dict[str, Any], config_file: str | None = None,
                 *, ctx: JSContext | None = None) -> StreamDetails:
    """``%js_stream add`` with topology: file config, then flags, sent as one STREAM.CREATE."""
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
    raw = await ctx.api.request(f"STREAM.CREATE.{name}", cfg)
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
    if key in ("max_age", "duplicate_window") and isinstance(value, int):
        return value / NANOS
    if isinstance(value, (dict, list)) and key != "subjects":
        return json.dumps(value, sort_keys=True)
    return value


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> pd.DataFrame:
    """Every config field that differs: setting, old, new (absent shows as None)."""
    rows = [{"setting": k, "old": _readable(k, old.get(k)), "new": _readable(k, new.get(k))}
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k) and k != "name"]
    return pd.DataFrame(rows, columns=["setting", "old", "new"])


async def edit(name: str, opts: dict[str, Any], topology: dict[str, Any], config_file: str | None = None,
               dry_run: bool = False, *, ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_stream edit`` with topology or ``--dry-run``: old → new per setting; applied unless dry_run."""
    ctx = await connected(ctx)
    old = (await raw_info(name, ctx=ctx))["config"]
    params = config_params(**opts)
    wanted = dict(old)
    if config_file:
        wanted.update(read_config_file(config_file))
    wanted.update(base_config(name, params, given_only=True))
    wanted.update(topology)
    if "metadata" in topology:  # add pairs; the server's own _nats.* keys stay
        wanted["metadata"] = {**(old.get("metadata") or {}), **topology["metadata"]}
    wanted["name"] = name
    if wanted == old:
        raise InputError(f"nothing to change on stream {name!r}", hint="give a setting, e.g. --max-age 7d")
    if dry_run:
        df = config_diff(old, wanted)
        df.attrs["dry_run"] = True
        return df
    new = (await ctx.api.request(f"STREAM.UPDATE.{name}", wanted))["config"]
    df = config_diff(old, new)
    df.attrs["dry_run"] = False
    return df


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
        raise ForceRequiredError(f"would seal stream {name} for ever ({info['state']['messages']:,} message(s) "
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
    raw = await ctx.api.request(f"STREAM.CREATE.{new_name}", cfg)
    return details(raw)
