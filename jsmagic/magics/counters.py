"""``%js_counter VERB ...``: ``nats counter`` in a cell (service: :mod:`jsmagic.services.counters`, server 2.12+)."""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd
from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand

from ..core.units import plural
from ..services import counters
from ..ui.display import result_frame
from ..ui.report import Report
from .base import friendly, run
from .verbs import Verbs, dispatch

VERBS = Verbs("js_counter")
for verb, what in (("incr", "Add VALUE (default 1) to the counter on SUBJECT; returns the new value"),
                   ("decr", "Subtract VALUE (default 1) from the counter on SUBJECT; returns the new value")):
    p = VERBS.add(verb, what)
    p.add_argument("subject", help="the counter's subject")
    p.add_argument("value", nargs="?", default="1", help="a whole number of any size")
p = VERBS.add("get", "The counter's value (a Python int, exact however large)")
p.add_argument("subject", help="the counter's subject")
p = VERBS.add("ls", "DataFrame of a counter stream's subjects and values")
p.add_argument("stream", help="a counter stream (--allow-counter)")
p.add_argument("filter", nargs="?", help="only subjects matching this filter")
p = VERBS.add("view", "One counter in detail: value, last increment, sequence, time, sources")
p.add_argument("subject", help="the counter's subject")
del p


def _ls(a: Any) -> pd.DataFrame:
    df = run(counters.ls(a.stream, a.filter))
    return result_frame(df, f"{plural(len(df), 'counter')} in {a.stream}")


def _view(a: Any) -> Report:
    e = run(counters.view(a.subject))
    fields = {"value": f"{e['value']:,}", "last increment": e["last_increment"] or "-",
              "stream": e["stream"], "sequence": e["seq"], "time": e["time"]}
    sources = {f"{src} {subj}": f"{v:,}" for src, per in e["sources"].items() for subj, v in per.items()}
    return Report(f"Counter {a.subject}", {"Counter": fields, **({"Sources": sources} if sources else {})}, raw=e)


HANDLERS: dict[str, Callable[[Any], Any]] = {
    "incr": lambda a: run(counters.incr(a.subject, a.value)),
    "decr": lambda a: run(counters.decr(a.subject, a.value)),
    "get": lambda a: run(counters.get(a.subject)),
    "ls": _ls,
    "view": _view,
}


@magics_class
class CounterMagics(Magics):
    """``%js_counter``: distributed counters (streams with --allow-counter, server 2.12+)."""

    verbs = VERBS  # Tab completion offers these (registered by load_ipython_extension)

    @no_var_expand
    @line_magic
    @friendly("counter")
    def js_counter(self, line: str = ""):
        return dispatch(self, VERBS, line, HANDLERS)

    js_counter.__doc__ = VERBS.doc(
        """Distributed counters like ``nats counter``: ``%js_counter VERB SUBJECT|STREAM [VALUE]``.

        Examples::

            %js_stream add COUNTERS --subjects 'views.>' --allow-counter
            %js_counter incr views.home          # 1
            %js_counter incr views.home 41       # 42
            %js_counter decr views.home          # 41
            %js_counter get views.home
            %js_counter ls COUNTERS
            %js_counter view views.home
        """
    )
