"""``%js_stream schema`` and ``%js_stream browse``: explore a stream's payloads and page through it.

:func:`register` adds both verbs to ``%js_stream``'s :class:`~jsmagic.magics.verbs.Verbs` and
returns their handlers.  Each calls one service of :mod:`jsmagic.services.explore` (what
``jsmagic.streams.schema`` and ``jsmagic.streams.browse`` are); what the user sees:
:mod:`jsmagic.ui.schema` and :mod:`jsmagic.ui.browser`.
"""

from __future__ import annotations

from typing import Any, Callable

from IPython.core.error import UsageError

from ..core.decode import HELP
from ..core.errors import IncompleteError, InterruptedWithResult
from ..core.lastresult import keep
from ..core.units import plural
from ..services import explore
from ..services.explore import PAGE
from ..ui.browser import BrowserView
from ..ui.plots import require_matplotlib
from ..ui.schema import SchemaReport, plot_schema
from .base import run, with_progress
from .verbs import Verbs


def register(verbs: Verbs) -> dict[str, Callable[[Any], Any]]:
    """Add ``schema`` and ``browse`` to ``verbs``; returns their handlers."""
    p = verbs.add("schema", "Fields of the payloads: types with counts, nulls, examples, first/last seq; drift points")
    p.add_argument("name", help="stream name")
    p.add_argument("-s", "--subject", help="only messages on this subject filter (orders.*)")
    p.add_argument("--since", help="from this time: ISO/RFC 3339, or a duration meaning ago (2h)")
    p.add_argument("--sample", type=int, metavar="N", help="read N messages spread evenly over the stream (by get)")
    p.add_argument("--by-subject", action="store_true", help="fields and drift per subject")
    p.add_argument("--check", metavar="FILE", help="validate payloads against a JSON Schema or an AsyncAPI document")
    p.add_argument("--plot", action="store_true", help="draw the fields over time (presence and type)")
    p.add_argument("--decode", default="auto", help=HELP)
    p.add_argument("--timeout", help="seconds to wait for the server (5s)")
    p = verbs.add("browse", "Page through a stream in a widget, by direct get (no consumer); stop: .stop()")
    p.add_argument("name", help="stream name")
    p.add_argument("-s", "--subject", help="only messages on this subject filter")
    p.add_argument("--at", metavar="TIME", help="open at the first message at or after TIME (ISO, or 2h ago)")
    p.add_argument("--seq", type=int, help="open at this sequence (or the next one on the filter)")
    p.add_argument("-n", "--page-size", type=int, default=PAGE, help=f"messages per page (default {PAGE})")
    p.add_argument("--decode", default="auto", help=HELP)
    return {"schema": _schema, "browse": _browse}


def _schema(a: Any) -> SchemaReport:
    if a.plot:
        require_matplotlib()  # before reading anything

    async def read(progress: Any) -> Any:
        try:
            return await explore.schema(a.name, subject=a.subject, since=a.since, sample=a.sample,
                                        by_subject=a.by_subject, decode=a.decode, check=a.check, timeout=a.timeout,
                                        progress=progress)
        except IncompleteError as e:  # short or interrupted: the report says so on its first line
            if not isinstance(e.frame, explore.Schema):
                raise
            return e.frame

    schema = with_progress(f"schema of {a.name}", read, unit="messages", count=lambda s: s.messages, noted=True)
    report = keep(SchemaReport(schema))
    if schema.interrupted:  # the cell fails (Run All stops); what was read is kept
        raise InterruptedWithResult(f"the schema of the {plural(schema.messages, 'message')} read is kept in "
                                    "jsmagic.last_result(); nothing is left on the server", result=report)
    if a.plot:
        plot_schema(schema.timeline, f"{a.name}: fields over time")
    return report


def _browse(a: Any) -> BrowserView:
    if a.at and a.seq is not None:
        raise UsageError("%js_stream browse: choose one of --at TIME and --seq N")
    if a.page_size < 1:
        raise UsageError("%js_stream browse: -n/--page-size must be >= 1")
    browser = run(explore.browse(a.name, subject=a.subject, at=a.at, seq=a.seq, page_size=a.page_size,
                                 decode=a.decode))
    return BrowserView(browser).display()
