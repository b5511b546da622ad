"""``%js_stream find SUBJECT``, ``%js_consume … --dry-run`` and ``%js_consumer reset … --since/--dry-run``.

Registered on the existing magics (``add_find_verb``, ``add_reset_flags``); services:
:func:`jsmagic.services.finding.find`, :func:`jsmagic.services.consumerreset.reset` and
:func:`jsmagic.services.reading.dry_run`.
"""

from __future__ import annotations

from typing import Any, Callable

from ..core.units import parse_when, plural
from ..services import consumerreset, finding, reading
from ..ui.display import noted, result_frame
from .base import run, run_noted, store_output
from .verbs import Verbs


def add_find_verb(verbs: Verbs) -> None:
    p = verbs.add("find", "Every stream that captures SUBJECT (subjects, sources with filters/transforms, mirrors) "
                          "with its message count for it")
    p.add_argument("subject", help="a subject or wildcard: orders.eu.>")
    p.add_argument("--all", action="store_true", help="also Key-Value (KV_) and object-store (OBJ_) streams")


def find_handlers() -> dict[str, Callable[[Any], Any]]:
    def handler(a: Any) -> Any:
        df = run_noted(finding.find(a.subject, all=a.all))  # its notes are said on the summary line
        total = int(df["messages"].sum()) if len(df) else 0
        return result_frame(df, noted(df, f"{plural(len(df), 'stream')} capture {a.subject}: {plural(total, 'message')} there"))

    return {"find": handler}


def add_reset_flags(verbs: Verbs) -> None:
    p = verbs.parsers["reset"]
    p.add_argument("--since", metavar="TIME", help="from the first message stored at or after TIME (2h, ISO time)")
    p.add_argument("--dry-run", action="store_true", help="say what would be delivered again; change nothing")


def reset_handlers(handlers: dict[str, Callable[[Any], Any]]) -> dict[str, Callable[[Any], Any]]:
    """``reset`` with ``--since`` and ``--dry-run``; plain resets stay ``handlers``' own."""
    plain = handlers["reset"]

    def reset(a: Any) -> Any:
        since = parse_when(a.since) if a.since else None
        if a.dry_run:
            return run(consumerreset.reset(a.stream, a.name, a.seq, since=since, dry_run=True))  # shown as its sentence
        if since is None:
            return plain(a)
        answer = run(consumerreset.reset(a.stream, a.name, a.seq, since=since))
        nxt = (answer.get("delivered") or {}).get("stream_seq", 0) + 1
        return (f"Reset consumer {a.stream} > {a.name}: next delivery from stream sequence {nxt}, "
                f"{answer.get('num_pending', 0):,} pending.")

    return {"reset": reset}


def consume_dry_run(magics: Any, args: Any, sel: Any) -> Any:
    """The :class:`~jsmagic.reading.dryrun.DryRun` (shown as its sentence; ``-o NAME`` keeps it)."""
    at = parse_when(args.at) if args.at else None
    d = run(reading.dry_run(sel, at=at, up_to_seq=args.up_to_seq))
    if args.to:
        d.notes.append(f"would write {args.to} (nothing written)")
    store_output(magics, args, d)
    return d
