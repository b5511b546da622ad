"""``%js_consumer`` operations: more ``add`` flags, edit, copy, reset, report, dead letters, the live watch.

Kept apart from :mod:`jsmagic.magics.consumers` (the everyday verbs).  Service:
:mod:`jsmagic.services.consumers` (``edit``, ``copy``, ``reset``, ``report``, ``dead``); the
watch is the widget :mod:`jsmagic.ui.consumerwatch`, which shows the core's watcher.
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from ..core.decode import HELP
from ..core.units import plural
from ..services import consumers
from ..ui.consumerwatch import ConsumerWatch
from ..ui.display import noted, result_frame
from ..ui.report import consumer_report, shown
from . import finding
from .base import run, run_noted
from .verbs import Verbs


def add_flags(p: Any) -> None:
    """natscli's further ``consumer add`` flags (``--filter`` itself is made repeatable by the caller)."""
    p.add_argument("--deliver-group", metavar="GROUP", help="queue group sharing a push consumer")
    p.add_argument("--backoff", metavar="DURATIONS", help="redelivery delays, e.g. 1s,5s,30s (overrides --ack-wait)")
    p.add_argument("--inactive-threshold", metavar="DURATION", help="delete the consumer after this long unused")
    p.add_argument("--replay", choices=["instant", "original"], help="deliver as fast as possible or at the original pace")
    p.add_argument("--headers-only", action="store_true", default=None, help="deliver headers (and size), no bodies")


def further_options(a: Any) -> dict[str, Any]:
    """The further add flags, as :func:`jsmagic.services.consumers.add`'s keywords."""
    return {"deliver_group": a.deliver_group, "backoff": a.backoff, "inactive_threshold": a.inactive_threshold,
            "replay": a.replay, "headers_only": a.headers_only}


def register(verbs: Verbs) -> dict[str, Callable[[Any], Any]]:
    """Add edit/copy/reset/report/dead/watch to ``verbs``; returns their handlers."""
    p = verbs.add("edit", "Change a consumer's settings (what the server allows); returns old → new",
                  positional=("stream", "name"))
    p.add_argument("--description", help="a description of the consumer")
    p.add_argument("--max-deliver", type=int, help="most deliveries of one message")
    p.add_argument("--ack-wait", help="time to ack before redelivery (30s)")
    p.add_argument("--max-ack-pending", type=int, help="most un-acked messages outstanding")
    p.add_argument("--max-waiting", type=int, help="most waiting pull requests")
    p.add_argument("--filter", action="append", metavar="SUBJECT", help="subject filter (repeatable)")
    p.add_argument("--backoff", metavar="DURATIONS", help="redelivery delays, e.g. 1s,5s,30s")
    p.add_argument("--inactive-threshold", metavar="DURATION", help="delete the consumer after this long unused")
    p.add_argument("--headers-only", action="store_true", default=None, help="deliver headers (and size), no bodies")
    p.add_argument("--dry-run", action="store_true", help="show old → new, change nothing")
    p = verbs.add("copy", "A new durable consumer with another's configuration", positional=("stream", "name"))
    p.add_argument("new", help="name of the new consumer")
    p = verbs.add("reset", "Deliver again from stream sequence SEQ (default: from the ack floor); nats-server 2.14+",
                  positional=("stream", "name"))
    p.add_argument("seq", nargs="?", type=int, help="stream sequence to deliver from (default: the ack floor)")
    finding.add_reset_flags(verbs)  # --since, --dry-run
    p = verbs.add("report", "DataFrame of a stream's consumers: pending, ack pending, redelivered, waiting, activity")
    p.add_argument("stream", help="stream name")
    p = verbs.add("dead", "Dead letters (max deliveries, terminated) joined with their messages; --capture starts",
                  positional=("stream", "name"))
    what = p.add_mutually_exclusive_group()
    what.add_argument("--capture", action="store_true", help="start keeping this consumer's dead letters")
    what.add_argument("--republish", metavar="SUBJECT", help="publish the dead letters to SUBJECT again (needs --force)")
    p.add_argument("--force", action="store_true", help="with --republish: do it (without: says what it would send)")
    p.add_argument("--decode", default="auto", help=HELP)
    p = verbs.add("watch", "A live widget of the consumer's counters with a chart (w.df, w.stop())",
                  positional=("stream", "name"))
    p.add_argument("--every", type=float, default=1.0, help="seconds between samples (default 1)")
    handlers = {"edit": _edit, "copy": _copy, "reset": _reset, "report": _report, "dead": _dead, "watch": _watch}
    return {**handlers, **finding.reset_handlers(handlers)}


def _edit(a: Any) -> pd.DataFrame:
    df = run(consumers.edit(a.stream, a.name, dry_run=a.dry_run, description=a.description, max_deliver=a.max_deliver,
                            ack_wait=a.ack_wait, max_ack_pending=a.max_ack_pending, max_waiting=a.max_waiting,
                            filter=a.filter, backoff=a.backoff, inactive_threshold=a.inactive_threshold,
                            headers_only=a.headers_only))
    for column in ("old", "new"):
        df[column] = [shown(k, v) for k, v in zip(df["setting"], df[column])]
    verb = "would change" if a.dry_run else "changed"
    return result_frame(df, f"consumer {a.stream} > {a.name}: {plural(len(df), 'setting')} {verb}")


def _copy(a: Any) -> Any:
    return consumer_report(run(consumers.copy(a.stream, a.name, a.new)))


def _reset(a: Any) -> str:
    answer = run(consumers.reset(a.stream, a.name, a.seq))
    nxt = (answer.get("delivered") or {}).get("stream_seq", 0) + 1
    return (f"Reset consumer {a.stream} > {a.name}: next delivery from stream sequence {nxt}, "
            f"{answer.get('num_pending', 0):,} pending.")


def _report(a: Any) -> pd.DataFrame:
    df = run_noted(consumers.report(a.stream))
    behind = int(df["pending"].sum() + df["ack_pending"].sum()) if len(df) else 0
    return result_frame(df, noted(df, f"{plural(len(df), 'consumer')} on {a.stream}, {plural(behind, 'message')} "
                                      "pending or awaiting ack"))


def _dead(a: Any) -> Any:
    df = run(consumers.dead(a.stream, a.name, capture=a.capture, republish=a.republish, force=a.force,
                            decode=a.decode))  # the stream's name with --capture, a count with --republish
    if a.capture:
        return f"Capturing dead letters of {a.stream} > {a.name} in stream {df}."
    if a.republish:
        return f"Republished {plural(df, 'dead letter')} of {a.stream} > {a.name} to {a.republish}."
    missing = df.attrs.get("missing", 0)
    note = f"; {plural(missing, 'original')} no longer in {a.stream}" if missing else ""
    return result_frame(df, f"{plural(len(df), 'dead letter')} of {a.stream} > {a.name} (kept in {df.attrs['stream']}){note}")


def _watch(a: Any) -> ConsumerWatch:
    watch = ConsumerWatch(a.stream, a.name, a.every)
    run(watch.watcher.start())  # the core starts it; the view only shows it
    watch.attach()
    watch.display()
    return watch
