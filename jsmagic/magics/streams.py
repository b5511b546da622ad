"""``%js_stream VERB ...``: the ``nats stream`` verbs in a cell (service: :mod:`jsmagic.services.streams`).

The service returns data; here it is made readable: a ``size`` column and a summary line
under tables, ``info`` as :mod:`jsmagic.ui.report` sections, a sentence for what a
destructive verb removed (its data goes to ``-o NAME``), and the rate plot.
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd
from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand

from ..core.decode import HELP
from ..core.errors import IncompleteError
from ..core.units import format_size, plural
from ..services import streams
from ..ui.display import noted, result_frame
from ..ui.plots import plot_rate, require_matplotlib

from .base import friendly, run, run_noted, with_progress
from . import explore, finding, streamcluster, streamops, timetravel
from .modern import add_feature_flags, add_schedules_verb, schedules_verb
from .verbs import Verbs, confirming, dispatch

VERBS = Verbs("js_stream")
VERBS.add("ls", "DataFrame of streams: subjects, retention, storage, replicas, messages, bytes, first/last, consumers")
p = VERBS.add("add", "Create a stream (sizes like 10MB, ages like 1d3h)")
p.add_argument("name", help="stream name")
p.add_argument("--subjects", nargs="+", help="subjects it captures (default: the stream name)")
p.add_argument("--retention", help="limits|interest|workqueue")
p.add_argument("--storage", help="file|memory")
p.add_argument("--max-msgs", help="most messages kept")
p.add_argument("--max-bytes", help="most bytes kept (10MB, 1GiB)")
p.add_argument("--max-age", help="oldest message kept (1d, 12h)")
p.add_argument("--max-msgs-per-subject", help="most messages per subject")
p.add_argument("--max-msg-size", help="largest message accepted")
p.add_argument("--discard", help="old|new: what to do when full")
p.add_argument("--dupe-window", help="duplicate detection window (2m)")
p.add_argument("--replicas", help="number of replicas")
p.add_argument("--description", help="a description of the stream")
p.add_argument("--allow-direct", action="store_true", default=None, help="allow direct get (any replica answers)")
p.add_argument("--allow-rollup", action="store_true", default=None, help="allow Nats-Rollup headers")
add_feature_flags(p)
streamcluster.add_limit_flags(p)  # --max-consumers, --limit-consumer-*
p = VERBS.add("edit", "Change a stream's settings; returns what changed")
for action in VERBS.parsers["add"]._actions:
    if action.dest not in ("name", "output", "retention", "storage"):
        p._add_action(action)
p.add_argument("name", help="stream name")
streamops.add_topology_flags(VERBS.parsers["add"])  # topology: sources, mirror, transform, republish...
streamops.add_topology_flags(p, edit=True)
p = VERBS.add("info", "Configuration and state, readable")
p.add_argument("name", help="stream name")
p = VERBS.add("subjects", "DataFrame of subjects and their message counts (most first)")
p.add_argument("name", help="stream name")
p.add_argument("filter", nargs="?", help="a subject filter with wildcards (orders.*)")
p = VERBS.add("get", "One message by sequence, or the last on a subject (creates no consumer)")
p.add_argument("name", help="stream name")
p.add_argument("seq", nargs="?", type=int, help="the message's stream sequence (or --last-for)")
p.add_argument("--last-for", metavar="SUBJECT", help="the last message on SUBJECT")
p.add_argument("--decode", default="auto", help=HELP)
p = VERBS.add("rmm", "Delete one message (needs --force)")
p.add_argument("name", help="stream name")
p.add_argument("seq", type=int, help="stream sequence of the message to delete")
p.add_argument("--force", action="store_true", help="do it (without --force: says what it would remove, changes nothing)")
p = VERBS.add("purge", "Remove messages: all, --subject S, below --seq N, all but --keep N (needs --force)")
p.add_argument("name", help="stream name")
p.add_argument("--subject", help="only messages on this subject (wildcards allowed)")
p.add_argument("--seq", type=int, help="purge messages below this sequence")
p.add_argument("--keep", type=int, help="keep the newest N (per --subject if given)")
p.add_argument("--force", action="store_true", help="do it (without --force: says what it would remove, changes nothing)")
p = VERBS.add("rm", "Delete a stream with its messages and consumers (needs --force)")
p.add_argument("name", help="stream name")
p.add_argument("--force", action="store_true", help="do it (without --force: says what it would remove, changes nothing)")
p = VERBS.add("plot", "Message rate over time (per subject with --by subject); returns the rate frame")
p.add_argument("name", help="stream name")
p.add_argument("--by", choices=["subject"], help="one line per subject")
p.add_argument("--every", help="interval (10s, 1m, 1h); default: chosen from the time span, about 80-200 bars")
p.add_argument("--subject", help="only messages on this subject filter")
add_schedules_verb(VERBS)
timetravel.add_stream_verbs(VERBS)
finding.add_find_verb(VERBS)
EXPLORE_HANDLERS = explore.register(VERBS)  # schema, browse (jsmagic.magics.explore)
del p


def _copy_flags(parser) -> None:
    """``copy`` takes add's settings (not its name) and the topology flags."""
    for action in VERBS.parsers["add"]._actions:
        if action.dest not in ("name", "output", "config"):
            parser._add_action(action)


OPS_HANDLERS, OPS_CONFIRMED = streamops.register(VERBS, _copy_flags)
CLUSTER_HANDLERS, CLUSTER_CONFIRMED = streamcluster.register(VERBS)  # peers, peer-remove/-evacuate, cancel-move, sourcing


# ---- tables: the core's data, a size column and a summary line ---------------------------
def _ls(a: Any) -> pd.DataFrame:
    df = run_noted(streams.ls())
    total, size = int(df["messages"].sum()), format_size(int(df["bytes"].sum()))
    return result_frame(df, noted(df, f"{plural(len(df), 'stream')}, {plural(total, 'message')}, {size}"), formats={"bytes": format_size})


def _subjects(a: Any) -> pd.DataFrame:
    df = run(streams.subjects(a.name, a.filter))
    return result_frame(df, f"{plural(len(df), 'subject')}, {plural(int(df['messages'].sum()), 'message')} in {a.name}")


def _plot(a: Any) -> pd.DataFrame:
    """Read timestamps (with progress), bin them, draw; the rate frame is returned (what arrived, if interrupted)."""
    require_matplotlib()  # fail before reading anything

    async def rates(progress: Any) -> pd.DataFrame:
        try:
            return await streams.rates(a.name, every=a.every, by=a.by, subject=a.subject, progress=progress)
        except IncompleteError as e:  # interrupted: draw and keep what arrived; the cell then fails
            e.frame.attrs["interrupted"] = True
            return e.frame

    binned = with_progress(f"reading {a.name}", rates, unit="messages")
    every = binned.attrs["every"]
    plot_rate(binned, f"{a.name}: messages per {every}")
    out = result_frame(binned, f"{plural(binned.attrs['messages'], 'message')} of {a.name} in "
                               f"{plural(len(binned), 'interval')} of {every}")
    out.attrs["interrupted"] = binned.attrs.get("interrupted", False)
    return out


HANDLERS: dict[str, Callable[[Any], Any]] = {
    "ls": _ls,
    "add": streamops.add,
    "edit": streamops.edit,
    "info": lambda a: streamops.info_report(run(streams.info(a.name))),
    "subjects": _subjects,
    "get": lambda a: run(streams.get(a.name, a.seq, last_for=a.last_for, decode=a.decode)),
    "plot": _plot,
    "copy": streamops.copy,
    **OPS_HANDLERS,
    **CLUSTER_HANDLERS,
    "schedules": schedules_verb,
    **timetravel.stream_handlers(),
    **finding.find_handlers(),
    **EXPLORE_HANDLERS,
}


# ---- destructive verbs: a sentence for the user, the data for -o NAME ---------------------
def _rmm(a: Any) -> tuple[Any, str]:
    removed = run(streams.rmm(a.name, a.seq, force=a.force))
    return removed, f"Deleted {removed.what}."


def _purge(a: Any) -> tuple[Any, str]:
    p = run(streams.purge(a.name, subject=a.subject, seq=a.seq, keep=a.keep, force=a.force))
    return p, f"Purged {plural(p.purged, 'message')}{p.scope} from stream {p.stream}."


def _rm(a: Any) -> tuple[Any, str]:
    removed = run(streams.rm(a.name, force=a.force))
    return removed, f"Deleted {removed.what}."


CONFIRMED = {"rmm": _rmm, "purge": _purge, "rm": _rm, **OPS_CONFIRMED, **CLUSTER_CONFIRMED}


@magics_class
class StreamMagics(Magics):
    """``%js_stream``: manage and inspect JetStream streams."""

    verbs = VERBS  # Tab completion offers these (registered by load_ipython_extension)

    @no_var_expand
    @line_magic
    @friendly("stream")
    def js_stream(self, line: str = ""):
        return dispatch(self, VERBS, line, {**HANDLERS, **confirming(self, CONFIRMED)})

    js_stream.__doc__ = VERBS.doc(
        """Manage streams like ``nats stream``: ``%js_stream VERB NAME [flags]``.

        Examples::

            %js_stream ls
            %js_stream add ORDERS --subjects 'orders.>' --max-age 1d --storage memory
            %js_stream edit ORDERS --max-age 7d
            %js_stream subjects ORDERS 'orders.*'
            %js_publish orders.eu.new '{"id": 1}'
            %js_stream get ORDERS 1
            %js_stream find 'orders.eu.>'           # every stream that captures it, with its count there
            %js_stream diff ORDERS 1d -s 'orders.*'  # per subject: its last message a day ago and now
            %js_stream purge ORDERS --subject orders.eu --force
            %js_stream plot ORDERS --by subject --every 1m
            %js_stream add ALL --source EU --source 'US:us.orders.>' --republish-destination 'live.>'
            %js_stream add READ --mirror ORDERS --allow-mirror-direct
            %js_stream edit ORDERS --metadata owner=ops --dry-run
            %js_stream report --plot
            %js_stream edit READ --no-mirror            # promote the mirror: now it takes publishes (2.12+)
            %js_stream peers ORDERS                     # leader and followers; peer-evacuate/cancel-move on a cluster
            %js_stream backup ORDERS ./orders-backup
            %js_stream rm ORDERS --force
            %js_stream restore ./orders-backup                      # ORDERS again, as it was backed up
            %js_stream schema ORDERS --by-subject --plot
            %js_stream browse ORDERS -s 'orders.eu.>' --at 2h
        """
    )
