"""``%js_check server|stream S|consumer S C|kv B|connection``: verdict tables like ``nats server check``.

Thin: parse (natscli's flag names), call one service of :mod:`jsmagic.services.check` (what
``jsmagic.check.stream`` … are), show the table with its summary; ``--fail-on crit|warn`` then
fails the cell (the table stays shown and in ``-o NAME``).
"""

from __future__ import annotations

import functools
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand

from ..core.lastresult import keep
from ..services import check
from ..services.check import CONSUMER_META, STREAM_META, CheckFailed
from ..ui.display import result_frame
from .base import friendly, run, store_output
from .verbs import Verbs, dispatch

VERBS = Verbs("js_check")
FLAGS: dict[str, list[str]] = {}  # each verb's threshold flags (dest names), passed to its check


def _verb(verb: str, help: str, positional: tuple[str, ...], flags: dict[str, str]) -> None:
    p = VERBS.add(verb, help, positional=positional)
    FLAGS[verb] = list(flags)
    for dest, text in flags.items():
        p.add_argument("--" + dest.replace("_", "-"), dest=dest, metavar="N", help=text)
    p.add_argument("--fail-on", choices=["crit", "warn"], help="fail the cell when a verdict is this bad or worse")


_verb("stream", "A stream: peers, messages, subjects, sources, mirror (thresholds also from io.nats.monitor.* metadata)",
      ("stream",), {k: f"natscli's {v}" for k, v in STREAM_META.items()})
_verb("consumer", "A consumer: ack pending, waiting pulls, unprocessed, redelivered, last delivery/ack",
      ("stream", "consumer"), {k: f"natscli's {v}" for k, v in CONSUMER_META.items()})
_verb("kv", "A KV bucket: exists, --key has a value, number of values", ("bucket",),
      {"key": "this key must have a value", "values_warn": "warning threshold for values",
       "values_critical": "critical threshold for values (below --values-warn: fewer is worse)"})
_verb("server", "This account's JetStream on the server: memory, storage, streams, consumers (% of the limits)", (),
      {f"{n}_{lvl}": f"{lvl} at this %% of the {n} limit (natscli's defaults: mem/store 75, 90)" for n in ("mem", "store", "streams", "consumers")
       for lvl in ("warn", "critical")})
_verb("connection", "The connection: a new connection, the round trip, a request through the server "
      "(seconds or 50ms; natscli's defaults: warn 500ms, critical 1s)", (),
      {f"{what}_{lvl}": f"{lvl} when {text} takes this long" for what, text in
       (("connect", "a new connection"), ("rtt", "the round trip"), ("req", "a request"))
       for lvl in ("warn", "critical")})


def _flags(verb: str, a: Any) -> dict[str, Any]:
    return {name: getattr(a, name) for name in FLAGS[verb]}


CALLS = {
    "stream": lambda a: check.stream(a.stream, fail_on=a.fail_on, **_flags("stream", a)),
    "consumer": lambda a: check.consumer(a.stream, a.consumer, fail_on=a.fail_on, **_flags("consumer", a)),
    "kv": lambda a: check.kv(a.bucket, fail_on=a.fail_on, **_flags("kv", a)),
    "server": lambda a: check.server(fail_on=a.fail_on, **_flags("server", a)),
    "connection": lambda a: check.connection(fail_on=a.fail_on, **_flags("connection", a)),
}


@magics_class
class HealthMagics(Magics):
    """Health checks with verdicts."""

    verbs = VERBS

    @no_var_expand
    @line_magic
    @friendly("check")
    def js_check(self, line: str = ""):
        return dispatch(self, VERBS, line, {verb: functools.partial(self._check, verb) for verb in VERBS.parsers})

    def _check(self, verb: str, a: Any) -> Any:
        """Run one check; with ``--fail-on`` a bad verdict shows the table, keeps it, then fails the cell."""
        try:
            df = run(CALLS[verb](a))
        except CheckFailed as error:
            from IPython.display import display

            out = result_frame(error.result, error.result.attrs["summary"])
            keep(out)
            store_output(self, a, out)
            display(out)
            raise
        return result_frame(df, df.attrs["summary"])

    js_check.__doc__ = VERBS.doc(
        """Health checks like ``nats server check``: a table of OK / WARN / CRIT with the value and threshold.

        Examples::

            %js_check stream ORDERS --msgs-critical 0 --peer-expect 3
            %js_check consumer ORDERS billing --unprocessed-critical 1000 --last-ack-critical 5m --fail-on crit
            %js_check kv config --key db.host
            %js_check server --store-warn 75 --store-critical 90
            %js_check connection --rtt-warn 50ms --req-critical 2s

        Thresholds not given as flags come from the stream's or consumer's metadata, under the
        keys natscli reads (``io.nats.monitor.msgs-critical`` …); a flag wins over metadata.
        """
    )
