"""Operating a live system: ``%js_trace`` (message tracing), and more to come in this module.

Thin: parse, call the core (:mod:`jsmagic.corenats.trace`), render (:mod:`jsmagic.ui.trace`).
"""

from __future__ import annotations

from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from ..corenats import trace as tracing
from ..ui.trace import TraceView
from .base import friendly, parse_line, run, store_output
from .corenats import body, headers, timeout


@magics_class
class OperateMagics(Magics):
    """Tracing a message through the servers."""

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
        result = run(tracing.trace(args.subject, body(self, args, cell), headers=headers(args.header),
                                   trace_only=args.trace_only, timeout=timeout(args.timeout)))
        view = TraceView(result)
        store_output(self, args, view)
        return view
