"""``%js_stream VERB ...``: the ``nats stream`` verbs in a cell (core: :mod:`jsmagic.admin.streams`)."""

from __future__ import annotations

from typing import Any, Callable

from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand

from ..ui import completion
from ..admin import streams
from .base import friendly, run
from .verbs import Verbs, dispatch


VERBS = Verbs("js_stream")
VERBS.add("ls", "DataFrame of streams: subjects, retention, storage, replicas, messages, bytes, first/last, consumers")
p = VERBS.add("add", "Create a stream (sizes like 10MB, ages like 1d3h)")
p.add_argument("name")
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
p.add_argument("--description")
p.add_argument("--allow-direct", action="store_true", default=None, help="allow direct get (any replica answers)")
p.add_argument("--allow-rollup", action="store_true", default=None, help="allow Nats-Rollup headers")
p = VERBS.add("edit", "Change a stream's settings; returns what changed")
for action in VERBS.parsers["add"]._actions:
    if action.dest not in ("name", "output", "retention", "storage"):
        p._add_action(action)
p.add_argument("name")
p = VERBS.add("info", "Configuration and state, readable")
p.add_argument("name")
p = VERBS.add("subjects", "DataFrame of subjects and their message counts (most first)")
p.add_argument("name")
p.add_argument("filter", nargs="?", help="a subject filter with wildcards (orders.*)")
p = VERBS.add("get", "One message by sequence, or the last on a subject (creates no consumer)")
p.add_argument("name")
p.add_argument("seq", nargs="?", type=int)
p.add_argument("--last-for", metavar="SUBJECT", help="the last message on SUBJECT")
p.add_argument("--decode", default="auto", help="auto|json|text|bytes")
p = VERBS.add("rmm", "Delete one message (needs --force)", output=False)
p.add_argument("name")
p.add_argument("seq", type=int)
p.add_argument("--force", action="store_true")
p = VERBS.add("purge", "Remove messages: all, --subject S, below --seq N, all but --keep N (needs --force)", output=False)
p.add_argument("name")
p.add_argument("--subject")
p.add_argument("--seq", type=int, help="purge messages below this sequence")
p.add_argument("--keep", type=int, help="keep the newest N (per --subject if given)")
p.add_argument("--force", action="store_true")
p = VERBS.add("rm", "Delete a stream with its messages and consumers (needs --force)", output=False)
p.add_argument("name")
p.add_argument("--force", action="store_true")
p = VERBS.add("plot", "Message rate over time (per subject with --by subject); returns the rate frame")
p.add_argument("name")
p.add_argument("--by", choices=["subject"], help="one line per subject")
p.add_argument("--every", default="1m", help="interval (10s, 1m, 1h)")
p.add_argument("--subject", help="only messages on this subject filter")
del p
completion.register_verbs("js_stream", list(VERBS.parsers))


def _config_flags(args: Any) -> dict[str, Any]:
    """Flag values under nats-py's StreamConfig names."""
    names = {"max_msgs": "max_msgs", "max_bytes": "max_bytes", "max_age": "max_age", "discard": "discard",
             "max_msgs_per_subject": "max_msgs_per_subject", "max_msg_size": "max_msg_size",
             "dupe_window": "duplicate_window", "replicas": "num_replicas", "description": "description",
             "allow_direct": "allow_direct", "allow_rollup": "allow_rollup_hdrs", "subjects": "subjects",
             "retention": "retention", "storage": "storage"}
    return {cfg: getattr(args, flag) for flag, cfg in names.items() if hasattr(args, flag)}


def _plot(args: Any) -> Any:
    """Read timestamps (with progress), bin them, draw; the rate frame is returned."""
    from ..ui.display import result_frame
    from ..ui.progress import Progress

    streams.require_matplotlib()  # fail before reading anything
    progress = Progress(f"reading {args.name}", unit="msgs")
    times = run(streams.message_times(args.name, args.subject, progress=progress))
    progress.close()
    rates = streams.rate_frame(times, args.every, args.by)
    streams.plot_rate(rates, f"{args.name}: messages per {args.every}")
    out = result_frame(rates, f"{len(times):,} message(s) of {args.name} in {len(rates)} interval(s) of {args.every}")
    out.attrs["interrupted"] = times.attrs.get("interrupted", False)
    return out


HANDLERS: dict[str, Callable[[Any], Any]] = {
    "ls": lambda a: run(streams.list_streams()),
    "add": lambda a: run(streams.add_stream(a.name, **_config_flags(a))),
    "edit": lambda a: run(streams.edit_stream(a.name, **_config_flags(a))),
    "info": lambda a: run(streams.stream_info(a.name)),
    "subjects": lambda a: run(streams.subjects(a.name, a.filter)),
    "get": lambda a: run(streams.get_message(a.name, a.seq, a.last_for, a.decode)),
    "rmm": lambda a: run(streams.remove_message(a.name, a.seq, a.force)),
    "purge": lambda a: run(streams.purge(a.name, a.subject, a.seq, a.keep, a.force)),
    "rm": lambda a: run(streams.remove_stream(a.name, a.force)),
    "plot": _plot,
}


@magics_class
class StreamMagics(Magics):
    """``%js_stream``: manage and inspect JetStream streams."""


    @no_var_expand
    @line_magic
    @friendly("stream")
    def js_stream(self, line: str = ""):
        return dispatch(self, VERBS, line, HANDLERS)

    js_stream.__doc__ = VERBS.doc(
        """Manage streams like ``nats stream``: ``%js_stream VERB NAME [flags]``.

        Examples::

            %js_stream ls
            %js_stream add ORDERS --subjects 'orders.>' --max-age 1d --storage memory
            %js_stream edit ORDERS --max-age 7d
            %js_stream subjects ORDERS 'orders.*'
            %js_stream get ORDERS 42
            %js_stream purge ORDERS --subject orders.eu --force
            %js_stream plot ORDERS --by subject --every 1m
        """
    )
