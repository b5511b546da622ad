"""Core NATS in a cell, with natscli's words: ``%js_pub``, ``%js_sub``, ``%js_req``, ``%js_svc``.

No JetStream involved: ``nats pub``, ``nats sub [--queue]``, ``nats request [--replies]`` and
``nats micro ls|info|stats|ping``.  Each calls one service of :mod:`jsmagic.services.corenats`
(``jsmagic.nats.*``) or :mod:`jsmagic.services.micro` (``jsmagic.micro.*``).
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from ..core.decode import HELP, named
from ..core.units import plural
from ..services import corenats, micro
from ..services.publishing import expand_variables  # the {=var} step, as %%js_publish expands it
from ..ui.display import noted, result_frame
from ..ui.subview import SubscriptionView
from .base import friendly, parse_line, run, run_noted, store_output, user_namespace
from .verbs import Verbs, dispatch


def headers(items: list[str]) -> dict[str, str]:
    """``-H Key:Value`` (repeatable) as a dict; a malformed one is a usage error."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition(":")
        if not sep or not key.strip():
            raise UsageError(f"bad header {item!r}: use -H Key:Value")
        out[key.strip()] = value.strip()
    return out


def body(magics: Any, args: Any, cell: str | None) -> str:
    """The payload: the line's PAYLOAD or the cell body (not both), ``{=var}`` expanded unless ``--raw``."""
    if cell is not None and args.payload:
        raise UsageError(f"unexpected argument {args.payload!r}: in a cell magic the cell is the payload")
    text = cell.rstrip("\n") if cell is not None else (args.payload or "")
    return text if args.raw else expand_variables(text, user_namespace(magics), "the payload")


def framed(df: Any, summary: str) -> Any:
    """A result frame whose first note is what it could not return (``attrs["notes"]``)."""
    return result_frame(df, noted(df, summary))


def _svc(verb: str):
    def handler(a: Any) -> Any:
        if verb in ("info", "stats") and not a.name:
            raise UsageError(f"%js_svc {verb} needs a service NAME (%js_svc ls lists them)")
        df = run(getattr(micro, verb)(a.name, timeout=a.timeout))
        return framed(df, f"{plural(len(df), 'row')} from $SRV.{verb.upper()}" + (f".{a.name}" if a.name else ""))
    return handler


SVC = Verbs("js_svc")
for _verb, _help in (("ls", "The services that answer: name, id, version, description, endpoints"),
                     ("info", "A service's endpoints: subject, queue group, metadata (every instance)"),
                     ("stats", "A service's endpoint statistics: requests, errors, processing times"),
                     ("ping", "Ping services (or one): each instance's round-trip time")):
    _p = SVC.add(_verb, _help)
    _p.add_argument("name", nargs="?", help="service name")
    _p.add_argument("--timeout", default="1s", help="how long to gather answers (default 1s)")
SVC_HANDLERS = {verb: _svc(verb) for verb in SVC.parsers}


@magics_class
class CoreNatsMagics(Magics):
    """Core NATS: publish, subscribe, request, and NATS micro services."""

    verbs = SVC

    @no_var_expand
    @magic_arguments()
    @argument("subject", help="the subject to publish to")
    @argument("payload", nargs="?", help="the message body (or the cell body with %%js_pub)")
    @argument("-H", "--header", action="append", default=[], metavar="KEY:VALUE", help="a header (repeatable)")
    @argument("--count", type=int, default=1, help="publish N messages ({{Count}} in the body advances)")
    @argument("--reply", help="the reply subject to send with the message")
    @argument("--raw", action="store_true", help="the body exactly as written: no {{templates}}, no {=vars}")
    @line_cell_magic
    @friendly("publish")
    def js_pub(self, line: str = "", cell: str | None = None):
        """Publish core NATS messages (no JetStream ack) like ``nats pub``.

        Examples::

            %js_pub greet.joe hello
            %js_pub sensors.t1 '{"n": {{Count}}}' --count 10 -H source:lab

            %%js_pub orders.new
            {"id": 1, "item": "book"}

        A stream that captures the subject stores the message too, but nothing confirms it:
        use ``%js_publish`` for acknowledged JetStream publishing.
        """
        args = parse_line(self.js_pub, line)
        n = run(corenats.publish(args.subject, body(self, args, cell), headers=headers(args.header),
                                 count=args.count, reply=args.reply, raw=args.raw))
        print(f"Published {plural(n, 'message')} to {args.subject} (core NATS, not acknowledged)")

    @no_var_expand
    @magic_arguments()
    @argument("subject", help="subject or wildcard: orders.*, orders.>")
    @argument("--queue", metavar="Q", help="join queue group Q (each message goes to one member)")
    @argument("-n", "--count", dest="count", type=int, help="collect N messages into a DataFrame, then stop")
    @argument("--timeout", help="with -n: stop waiting after this long (default JSMagic.timeout)")
    @argument("--decode", default="auto", help=HELP)
    @argument("-o", "--output", metavar="NAME", help="store the result (frame or live view) in NAME")
    @line_magic
    @friendly("subscribe")
    def js_sub(self, line: str = ""):
        """Subscribe like ``nats sub``: a live table (newest first), or ``-n N`` messages as a DataFrame.

        Examples::

            s = %js_sub 'orders.>'             # live; s.df, s.stop(), or the Stop button
            %js_sub work.jobs --queue workers  # one member of the queue group
            df = %js_sub 'sensors.*' -n 5 --timeout 10s

        A frame with fewer than N messages says so on its first line.  A stopped live table
        stays in the saved notebook as a static table.
        """
        args = parse_line(self.js_sub, line)
        decode = named(args.decode, user_namespace(self))
        if args.count is None:
            if args.timeout:
                raise UsageError("--timeout goes with -n N (a live subscription runs until stopped)")
            view = SubscriptionView(args.subject, queue=args.queue, decode=decode)
            run(corenats.start_subscriber(view.watcher))  # the service starts it; the view only shows it
            view.attach()
            view.table.display()
            store_output(self, args, view)
            return view
        df = run_noted(corenats.collect(args.subject, args.count, queue=args.queue, timeout=args.timeout,
                                        decode=decode))  # its notes: on the summary line
        out = framed(df, f"{plural(len(df), 'message')} on {args.subject}")
        store_output(self, args, out)
        return out

    @no_var_expand
    @magic_arguments()
    @argument("subject", help="the subject to send the request to")
    @argument("payload", nargs="?", help="the request body (or the cell body with %%js_req)")
    @argument("-H", "--header", action="append", default=[], metavar="KEY:VALUE", help="a header (repeatable)")
    @argument("--replies", type=int, default=1, help="wait for N replies (scatter-gather); 0: all within --timeout")
    @argument("--timeout", help="how long to wait for replies (default JSMagic.timeout)")
    @argument("--decode", default="auto", help=HELP)
    @argument("--raw", action="store_true", help="the body exactly as written: no {=vars}")
    @argument("-o", "--output", metavar="NAME", help="store the replies in NAME")
    @line_cell_magic
    @friendly("request")
    def js_req(self, line: str = "", cell: str | None = None):
        """Send a request like ``nats request`` and return the replies with their latency.

        Examples::

            %js_req time.now
            %js_req calc.add '{"a": 1, "b": 2}' -H trace:abc
            %js_req census.who --replies 0 --timeout 1s   # everyone who answers within 1s

        No reply is an error (no responders, or a timeout); fewer than ``--replies N`` is said
        on the frame's first line.
        """
        args = parse_line(self.js_req, line)
        df = run_noted(corenats.request(args.subject, body(self, args, cell), headers=headers(args.header),
                                        replies=args.replies, timeout=args.timeout,
                                        decode=named(args.decode, user_namespace(self))))  # notes: summary line
        out = framed(df, f"{len(df):,} repl{'y' if len(df) == 1 else 'ies'} from {args.subject}")
        store_output(self, args, out)
        return out

    @no_var_expand
    @line_magic
    @friendly("service")
    def js_svc(self, line: str = ""):
        return dispatch(self, SVC, line, SVC_HANDLERS)

    js_svc.__doc__ = SVC.doc(
        """NATS micro services like ``nats micro``: ``%js_svc ls|info|stats|ping [NAME]``.

        Examples::

            %js_svc ls
            %js_svc info orders
            %js_svc stats orders
            %js_svc ping
        """
    )
