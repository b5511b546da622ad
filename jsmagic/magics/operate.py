"""Operating a live system: ``%js_trace`` (message tracing), ``%js_events`` (the advisories tail).

Thin: parse, call one service of :mod:`jsmagic.services.operate` (``jsmagic.trace``; the live
view's watcher started as ``jsmagic.events`` starts its own), render (:mod:`jsmagic.ui.trace`,
:mod:`jsmagic.ui.eventsview`).
"""

from __future__ import annotations

from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from ..services import operate
from ..ui.eventsview import EventsView
from ..ui.trace import TraceView
from .base import friendly, parse_line, run, run_noted, store_output
from .corenats import body, headers


@magics_class
class OperateMagics(Magics):
    """Tracing a message through the servers; the advisories as they happen."""

    @no_var_expand
    @magic_arguments()
    @argument("subject", help="the subject to send the traced message to")
    @argument("payload", nargs="?", help="the message body (or the cell body with %%js_trace)")
    @argument("--trace-only", action="store_true", help="report the path without storing or delivering the message")
    @argument("-H", "--header", action="append", default=[], metavar="KEY:VALUE", help="a header (repeatable)")
    @argument("--timeout", help="how long to wait for every server's trace (default JSMagic.timeout)")
    @argument("--raw", action="store_true", help="the body exactly as written: no {=vars}")
    @argument("-o", "--output", metavar="NAME", help="store the trace (.df hops, .consumers) in NAME")
    @line_cell_magic
    @friendly("trace")
    def js_trace(self, line: str = "", cell: str | None = None):
        """Trace a message through the servers (nats-server 2.11+, like ``nats trace``).

        Examples::

            %js_trace orders.new '{"id": 1}'
            %js_trace orders.new '{"id": 1}' --trace-only     # stores and delivers nothing
            t = %js_trace orders.eu.new x -H trace:abc
            t.df, t.consumers

        One row per event on every server: ingress, subject mapping, the stream that stored
        it, every egress (client, route, gateway, leaf), errors; then a diagram, and the
        consumers of the stream whose filter takes the message.  A trace that misses a
        server's report says so on its first line.
        """
        args = parse_line(self.js_trace, line)
        result = run_noted(operate.trace(args.subject, body(self, args, cell), headers=headers(args.header),
                                         trace_only=args.trace_only, timeout=args.timeout))  # notes: first line
        view = TraceView(result)
        store_output(self, args, view)
        return view

    @no_var_expand
    @magic_arguments()
    @argument("--kinds", metavar="K1,K2", help="only these kinds: consumer, stream, api, consumer.max_deliveries, "
              "stream.leader_elected… (a prefix takes its sub-kinds)")
    @argument("-s", "--stream", help="only the advisories of this stream")
    @argument("--capture", metavar="STREAM", help="also keep every advisory in this stream (created if absent)")
    @argument("-o", "--output", metavar="NAME", help="store the live view (.df, .stop()) in NAME")
    @line_magic
    @friendly("events")
    def js_events(self, line: str = ""):
        """A live table of JetStream advisories (``$JS.EVENT.ADVISORY.>``, like ``nats events``), newest first.

        Examples::

            ev = %js_events                                   # every advisory; ev.df, ev.stop()
            %js_events --kinds consumer.max_deliveries,consumer.msg_terminated -s ORDERS
            %js_events --capture ADVISORIES                   # the server keeps them in a stream too

        Kinds: consumer.created/deleted/max_deliveries/msg_terminated/msg_naked/leader_elected,
        stream.created/updated/deleted/leader_elected, api (the API audit) and more, as the server
        sends them.  A stopped table stays in the saved notebook as a static table.
        """
        args = parse_line(self.js_events, line)
        kinds = [k for k in (args.kinds or "").split(",") if k.strip()]
        view = EventsView(kinds=kinds, stream=args.stream, capture=args.capture)
        run(operate.start_watcher(view.watcher))  # the service starts it; the view only shows it
        view.attach()
        view.table.display()
        store_output(self, args, view)
        return view
