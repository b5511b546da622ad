"""``%js_stream`` topology flags and operations verbs: report, backup, restore, copy, seal.

Kept apart from :mod:`jsmagic.magics.streams` (the everyday verbs): ``add_topology_flags``
gives ``add``/``edit``/``copy`` natscli's topology flags, :func:`register` adds the
operations verbs to the magic's :class:`Verbs` and returns their handlers.
Service: :mod:`jsmagic.services.streams` (``add``, ``edit``, ``copy`` take the flags as keywords).
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from ..core.units import format_duration, format_size, plural
from ..services import streams as services
from ..services.streamconfig import TOPOLOGY
from ..ui.display import noted, result_frame, said
from ..ui.report import shown, stream_brief, stream_report
from ..ui.streamreport import plot_streams
from .base import run, run_noted, with_progress
from .verbs import Verbs

NOT_SETTINGS = ("name", "new", "output", "config", "dry_run", "cell")  # add/edit/copy's other words


def add_topology_flags(p: Any, edit: bool = False) -> None:
    """natscli's stream topology flags (``--first-seq`` etc. are accepted beside natscli's names)."""
    p.add_argument("--source", action="append", metavar="STREAM[:FILTER][@START]",
                   help="take messages from another stream (repeatable); START: a sequence or a time")
    p.add_argument("--mirror", metavar="STREAM[@START]", help="be a read-only copy of another stream")
    if edit:
        p.add_argument("--no-mirror", action="store_true", default=None,
                       help="promote a mirror to a stream of its own that takes publishes (server 2.12+)")
    p.add_argument("--transform-source", metavar="SUBJECT", help="subjects to rewrite as they are stored")
    p.add_argument("--transform-destination", metavar="SUBJECT", help="what they become ({{wildcard(1)}}...)")
    p.add_argument("--republish-source", metavar="SUBJECT", help="stored messages to republish (default >)")
    p.add_argument("--republish-destination", metavar="SUBJECT", help="core subject they are republished to")
    p.add_argument("--republish-headers", action="store_true", default=None, help="republish headers only")
    p.add_argument("--metadata", action="append", metavar="KEY=VALUE", help="a metadata pair (repeatable)")
    p.add_argument("--compression", choices=["s2", "none"], help="store compressed (s2) or not")
    if not edit:
        p.add_argument("--first-sequence", "--first-seq", dest="first_seq", type=int, help="first sequence")
    p.add_argument("--cluster", "--placement-cluster", dest="placement_cluster", help="place in this cluster")
    p.add_argument("--tag", "--placement-tags", dest="placement_tags", action="append",
                   help="place on servers with this tag (repeatable)")
    p.add_argument("--allow-mirror-direct", action="store_true", default=None,
                   help="mirrors answer direct gets too")
    p.add_argument("--config", metavar="FILE.json", help="natscli's JSON stream configuration")
    if edit:
        p.add_argument("--dry-run", action="store_true", help="show old → new, change nothing")


def settings_of(a: Any) -> dict[str, Any]:
    """The stream settings given on the line, as the service's keywords (``--source`` → ``sources``)."""
    given = {k: v for k, v in vars(a).items() if k not in NOT_SETTINGS and v is not None}
    if "source" in given:
        given["sources"] = given.pop("source")
    return given


def uses_topology(a: Any) -> bool:
    """Whether the line wires the stream (topology flags, a config file or a dry run): ``add`` then shows it all."""
    return any(k in TOPOLOGY for k in settings_of(a)) or a.config is not None or bool(getattr(a, "dry_run", False))


def add(a: Any) -> Any:
    """``add``: :func:`jsmagic.services.streams.add`; the full report when wired."""
    details = run(services.add(a.name, config_file=a.config, **settings_of(a)))
    return info_report(details) if uses_topology(a) else stream_brief(details.info, details.num_subjects)


def edit(a: Any) -> pd.DataFrame:
    """``edit``: :func:`jsmagic.services.streams.edit`, old → new per setting."""
    df = run(services.edit(a.name, config_file=a.config, dry_run=a.dry_run, **settings_of(a)))
    for column in ("old", "new"):
        df[column] = [shown(k, v) for k, v in zip(df["setting"], df[column])]
    verb = "would change" if a.dry_run else "changed"
    out = result_frame(df, f"stream {a.name}: {plural(len(df), 'setting')} {verb}" + (" (dry run: nothing sent)" if a.dry_run else ""))
    return out


def info_report(details: Any, raw_sources: pd.DataFrame | None = None) -> Any:
    """``info``'s report, with a Replication section for a mirror's and each source's lag."""
    rep = stream_report(details.info, details.num_subjects)
    cfg = details.info.config
    rep["Configuration"].update(_wiring(cfg))
    if raw_sources is None and (cfg.mirror or cfg.sources):
        raw_sources = run(services.sources(cfg.name))
    if raw_sources is not None and len(raw_sources):
        rep["Replication"] = {
            f"{r.kind} {r.stream}" + (f" ({r.filter})" if r.filter else ""):
                f"lag {r.lag:,}, active {format_duration(r.active) + ' ago' if r.active is not None else 'never'}"
                + (f", error: {r.error}" if r.error else "")
            for r in raw_sources.itertuples()
        }
        rep.sources = raw_sources
    return rep


def _wiring(cfg: Any) -> dict[str, str]:
    """The topology settings a stream has (only those set): transform, republish, metadata, compression, placement."""
    out = {}
    if cfg.subject_transform:
        out["transform"] = f"{cfg.subject_transform.src} → {cfg.subject_transform.dest}"
    if cfg.republish:
        out["republish"] = (f"{cfg.republish.src or '>'} → {cfg.republish.dest}"
                            + (" (headers only)" if cfg.republish.headers_only else ""))
    user_meta = {k: v for k, v in (cfg.metadata or {}).items() if not k.startswith("_nats")}
    if user_meta:
        out["metadata"] = ", ".join(f"{k}={v}" for k, v in sorted(user_meta.items()))
    if cfg.compression and getattr(cfg.compression, "value", cfg.compression) != "none":
        out["compression"] = str(getattr(cfg.compression, "value", cfg.compression))
    if cfg.placement and (cfg.placement.cluster or cfg.placement.tags):
        out["placement"] = " ".join(filter(None, [cfg.placement.cluster, ", ".join(cfg.placement.tags or [])]))
    return out


# ---- operations verbs --------------------------------------------------------------------
def register(verbs: Verbs, copy_flags: Callable[[Any], None]) -> tuple[dict[str, Callable], dict[str, Callable]]:
    """Add report/backup/restore/copy/seal to ``verbs``; returns (handlers, confirming handlers)."""
    p = verbs.add("report", "DataFrame of every stream: messages, bytes, consumers, replicas, leader, lag, sources")
    p.add_argument("--plot", action="store_true", help="also draw messages and replication lag per stream")
    p = verbs.add("backup", "Write the stream (messages, config, durable consumers) to DIR in natscli's format")
    p.add_argument("name", help="stream name")
    p.add_argument("directory", help="directory to write the backup to (new or empty)")
    p.add_argument("--no-consumers", action="store_true", help="leave the consumers out")
    p = verbs.add("restore", "Recreate a stream exactly from a backup DIR (same sequences, gaps, consumers)")
    p.add_argument("directory", help="a backup directory (from backup or nats stream backup)")
    p.add_argument("--name", help="restore under another name")
    p.add_argument("--subjects", nargs="+", help="other subjects (a copy beside the original needs them)")
    p = verbs.add("copy", "A new stream with another's configuration (no data); flags override it")
    p.add_argument("name", help="stream name")
    p.add_argument("new", help="name of the new stream")
    copy_flags(p)
    p = verbs.add("seal", "Seal a stream: nothing can be added, deleted or purged any more (needs --force)")
    p.add_argument("name", help="stream name")
    p.add_argument("--force", action="store_true", help="do it (without --force: says what it would do, changes nothing)")
    return {"report": _report, "backup": _backup, "restore": _restore}, {"seal": _seal}


def _report(a: Any) -> pd.DataFrame:
    df = run_noted(services.report())
    if a.plot:
        plot_streams(df)
    total = int(df["messages"].sum()) if len(df) else 0
    lagging = int((df["lag"] > 0).sum()) if len(df) else 0
    return result_frame(df, noted(df, f"{plural(len(df), 'stream')}, {plural(total, 'message')}, {lagging} with replication lag"))


def _backup(a: Any) -> Any:
    done = with_progress(f"backup of {a.name}", lambda p: services.backup(a.name, a.directory, consumers=not a.no_consumers, progress=p))
    print(f"Backed up stream {done.stream}: {plural(done.messages, 'message')} up to sequence {done.last_seq}, "
          f"{plural(done.consumers, 'consumer')}, {format_size(done.bytes)} to {done.snapshot}")
    return said(done)  # the sentence says it: no Backup(...) under it


def _restore(a: Any) -> Any:
    done = with_progress(f"restore from {a.directory}", lambda p: services.restore(a.directory, name=a.name, progress=p, subjects=a.subjects))
    print(f"Restored stream {done.stream}: {plural(done.messages, 'message')} up to sequence {done.last_seq}, "
          f"{plural(done.consumers, 'consumer')}, from {done.snapshot}")
    return said(done)


def copy(a: Any) -> Any:
    """``copy``: :func:`jsmagic.services.streams.copy`, shown as ``info`` shows a stream."""
    return info_report(run(services.copy(a.name, a.new, **settings_of(a))))


def _seal(a: Any) -> tuple[dict, str]:
    state = run(services.seal(a.name, force=a.force))
    return state, f"Sealed stream {a.name} ({plural(state['messages'], 'message')} kept)."
