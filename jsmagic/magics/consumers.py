"""``%js_consumer VERB ...``: the ``nats consumer`` verbs in a cell (service: :mod:`jsmagic.services.consumers`).

The service returns data; here it is made readable: summary lines under tables, ``info``
as :mod:`jsmagic.ui.report` sections, a sentence for what ``rm`` removed (its data goes
to ``-o NAME``).
"""

from __future__ import annotations

from typing import Any, Callable

from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand

import pandas as pd

from ..core.decode import HELP
from ..core.units import plural
from ..services import consumers
from ..ui.display import noted, result_frame
from ..ui.tablestyle import format_time
from ..ui.report import consumer_report
from .base import friendly, run, run_noted
from . import consumerops
from .priority import HANDLERS as PRIORITY_HANDLERS, add_consumer_flags, add_options, group_note
from .verbs import Verbs, confirming, dispatch

VERBS = Verbs("js_consumer")
p = VERBS.add("ls", "DataFrame of a stream's consumers: policies, filter, pending, ack pending, redelivered, last active")
p.add_argument("stream", help="stream name")
p = VERBS.add("add", "Create a durable consumer (pull unless --push --target SUBJECT)", positional=("stream", "name"))
kind = p.add_mutually_exclusive_group()
kind.add_argument("--pull", action="store_true", default=True, help="a pull consumer (the default)")
kind.add_argument("--push", action="store_true", help="a push consumer delivering to --target")
p.add_argument("--target", metavar="SUBJECT", help="delivery subject of a push consumer")
p.add_argument("--deliver", help="all|new|last|last_per_subject|<sequence>|<time or duration ago>")
p.add_argument("--ack", default="explicit", help="explicit|none|all")
p.add_argument("--filter", action="append", metavar="SUBJECT", help="only messages on this subject filter (repeatable)")
p.add_argument("--max-deliver", type=int, help="most deliveries of one message")
p.add_argument("--ack-wait", help="time to ack before redelivery (30s)")
p.add_argument("--max-ack-pending", type=int, help="most un-acked messages outstanding")
p.add_argument("--description", help="a description of the consumer")
consumerops.add_flags(p)  # --deliver-group, --backoff, --inactive-threshold, --replay, --headers-only
p = VERBS.add("info", "Configuration and state, readable", positional=("stream", "name"))
p = VERBS.add("next", "Pull the next messages as a DataFrame, then ack (default), nak, term or leave them",
              positional=("stream", "name"))
p.add_argument("--count", type=int, default=1, help="how many messages (default 1)")
act = p.add_mutually_exclusive_group()
act.add_argument("--ack", dest="action", action="store_const", const="ack", help="acknowledge them (default)")
act.add_argument("--nak", dest="action", action="store_const", const="nak", help="ask for redelivery")
act.add_argument("--term", dest="action", action="store_const", const="term", help="never redeliver them")
act.add_argument("--no-ack", dest="action", action="store_const", const="none", help="leave them pending")
p.add_argument("--decode", default="auto", help=HELP)
p.add_argument("--timeout", type=float, help="seconds to wait for messages (default JSMagic.timeout)")
p = VERBS.add("rm", "Delete a consumer (needs --force)", positional=("stream", "name"))
p.add_argument("--force", action="store_true", help="do it (without --force: says what it would remove, changes nothing)")
add_consumer_flags(VERBS)
del p, kind, act
OPS_HANDLERS = consumerops.register(VERBS)  # edit, copy, reset, report, dead, watch


def _add(a: Any) -> Any:
    return consumer_report(run(consumers.add(
        a.stream, a.name, pull=not a.push, target=a.target, deliver=a.deliver, ack=a.ack, filter=a.filter,
        max_deliver=a.max_deliver, ack_wait=a.ack_wait, max_ack_pending=a.max_ack_pending, description=a.description,
        **consumerops.further_options(a), **add_options(a),
    )))


def _ls(a: Any) -> pd.DataFrame:
    df = run_noted(consumers.ls(a.stream))
    return result_frame(df, noted(df, f"{plural(len(df), 'consumer')} on {a.stream}"),
                        formats={"last_active": lambda t: format_time(t) if pd.notna(t) else "never"})


SETTLED = {"ack": "acked", "nak": "nak'd (to be redelivered)", "term": "terminated", "none": "left un-acked"}


def _next(a: Any) -> pd.DataFrame:
    action = a.action or "ack"
    df = run(consumers.next(a.stream, a.name, a.count, action=action, decode=a.decode, timeout=a.timeout,
                            group=a.group, min_pending=a.min_pending))
    acking = df.attrs["ack_policy"] != "none"
    summary = f"{plural(len(df), 'message')} from {a.stream} > {a.name}, {SETTLED[action] if acking else 'no acks needed'}"
    summary += group_note(df.attrs)
    if "held" in df.attrs:
        left, window = df.attrs["held"]
        summary += (f"; {left:,} more wait: rows left un-acked hold {a.name} at its max_ack_pending ({window:,}); "
                    "ack, nak or term them to go on")
    interrupted = df.attrs["interrupted"]
    out = result_frame(df, summary + (" — interrupted" if interrupted else ""))
    out.attrs["interrupted"] = interrupted
    out.attrs.update({k: df.attrs[k] for k in ("group", "pin_id", "why") if k in df.attrs})
    return out


def _rm(a: Any) -> tuple[Any, str]:
    removed = run(consumers.rm(a.stream, a.name, force=a.force))
    return removed, f"Deleted {removed.what}."


HANDLERS: dict[str, Callable[[Any], Any]] = {
    "ls": _ls,
    "add": _add,
    "next": _next,
    **OPS_HANDLERS,
    **PRIORITY_HANDLERS,
}


@magics_class
class ConsumerMagics(Magics):
    """``%js_consumer``: manage consumers and pull messages through them."""

    verbs = VERBS  # Tab completion offers these (registered by load_ipython_extension)

    @no_var_expand
    @line_magic
    @friendly("consumer")
    def js_consumer(self, line: str = ""):
        return dispatch(self, VERBS, line, {**HANDLERS, **confirming(self, {"rm": _rm})})

    js_consumer.__doc__ = VERBS.doc(
        """Manage consumers like ``nats consumer``: ``%js_consumer VERB STREAM [NAME] [flags]``.

        Examples::

            %js_consumer ls ORDERS
            %js_consumer add ORDERS worker --deliver all --ack explicit --ack-wait 30s --filter 'orders.eu.>'
            df = %js_consumer next ORDERS worker --count 10 --nak
            %js_consumer add ORDERS team --push --target deliver.team --deliver-group workers
            %js_consumer edit ORDERS worker --max-deliver 5 --backoff 1s,5s
            %js_consumer report ORDERS
            %js_consumer dead ORDERS worker --capture
            w = %js_consumer watch ORDERS worker
            %js_consumer rm ORDERS worker --force
        """
    )
