"""``%js_check server|meta|jetstream|stream S|consumer S C|message S|kv B|connection``: verdict tables like ``nats server check``.

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


def _verb(verb: str, help: str, positional: tuple[str, ...], flags: dict[str, str],
          switches: dict[str, str] | None = None, texts: dict[str, tuple[str, str]] | None = None) -> None:
    """A verb with threshold ``flags`` (N), on/off ``switches`` and ``texts`` (dest: (metavar, help))."""
    p = VERBS.add(verb, help, positional=positional)
    FLAGS[verb] = [*flags, *(switches or {}), *(texts or {})]
    for dest, text in flags.items():
        p.add_argument("--" + dest.replace("_", "-"), dest=dest, metavar="N", help=text)
    for dest, text in (switches or {}).items():
        p.add_argument("--" + dest.replace("_", "-"), dest=dest, action="store_true", help=text)
    for dest, (metavar, text) in (texts or {}).items():
        p.add_argument("--" + dest.replace("_", "-"), dest=dest, metavar=metavar, help=text)
    p.add_argument("--fail-on", choices=["crit", "warn"], help="fail the cell when a verdict is this bad or worse")


_verb("stream", "A stream: peers, messages, subjects, sources, mirror (thresholds also from io.nats.monitor.* metadata)",
      ("stream",), {k: f"natscli's {v}" for k, v in STREAM_META.items()})
_verb("consumer", "A consumer: ack pending, waiting pulls, unprocessed, redelivered, last delivery/ack",
      ("stream", "consumer"), {k: f"natscli's {v}" for k, v in CONSUMER_META.items()})
_verb("kv", "A KV bucket: exists, --key has a value, number of values", ("bucket",),
      {"key": "this key must have a value", "values_warn": "warning threshold for values",
       "values_critical": "critical threshold for values (below --values-warn: fewer is worse)"})
_verb("server", "A server's /varz through the system account: CPU, memory, connections, subscriptions, uptime", (),
      {"cpu_warn": "warn at this CPU %%", "cpu_critical": "critical at this CPU %%",
       "mem_warn": "warn at this much memory (bytes)", "mem_critical": "critical at this much memory (bytes)",
       "conn_warn": "connections warning (below --conn-critical: fewer is worse)", "conn_critical": "connections critical",
       "subs_warn": "subscriptions warning (below --subs-critical: fewer is worse)", "subs_critical": "subscriptions critical",
       "uptime_warn": "warn when up for less than this (e.g. 10m)", "uptime_critical": "critical when up for less than this"},
      {"auth_required": "critical unless the server requires authentication",
       "tls_required": "critical unless the server requires TLS", "js_required": "critical unless JetStream is enabled"},
      {"name": ("SERVER", "the server to check (default: the one this connection is on)")})
_verb("meta", "The JetStream meta group through the system account: leader, peers offline, not current, lagging, unseen",
      (), {"expect": "critical unless there are this many peers", "lag_critical": "critical when a peer is more than "
           "this many operations behind", "seen_critical": "critical when a peer was last seen longer ago (e.g. 10s)"})
_verb("message", "The last message of a stream on a subject: found, age, body matches a regular expression", ("stream",),
      {"age_warn": "warn when older than this (e.g. 5m)", "age_critical": "critical when older than this"},
      {"body_timestamp": "the body is a Unix timestamp (seconds): the age is from it, not the stored time"},
      {"subject": ("SUBJECT", "the subject of the message (default >: the stream's last message)"),
       "content": ("REGEX", "critical unless the body matches this regular expression")})
_verb("jetstream", "This account's JetStream: memory, storage, streams, consumers (% of the limits)", (),
      {f"{n}_{lvl}": f"{lvl} at this %% of the {n} limit (natscli's defaults: mem/store 75, 90)" for n in ("mem", "store", "streams", "consumers")
       for lvl in ("warn", "critical")})
_verb("connection", "The connection: a new connection, the round trip, a request through the server "
      "(seconds or 50ms; natscli's defaults: warn 500ms, critical 1s)", (),
      {f"{what}_{lvl}": f"{lvl} when {text} takes this long" for what, text in
       (("connect", "a new connection"), ("rtt", "the round trip"), ("req", "a request"))
       for lvl in ("warn", "critical")})


def _flags(verb: str, a: Any) -> dict[str, Any]:
    return {name: getattr(a, name) for name in FLAGS[verb]}


def _given(flags: dict[str, Any]) -> dict[str, Any]:
    """The flags given (a switch left off and a flag not given both keep the service's default)."""
    return {k: v for k, v in flags.items() if v is not None and v is not False}


CALLS = {
    "stream": lambda a: check.stream(a.stream, fail_on=a.fail_on, **_flags("stream", a)),
    "consumer": lambda a: check.consumer(a.stream, a.consumer, fail_on=a.fail_on, **_flags("consumer", a)),
    "kv": lambda a: check.kv(a.bucket, fail_on=a.fail_on, **_flags("kv", a)),
    "server": lambda a: check.server(fail_on=a.fail_on, **_given(_flags("server", a))),
    "meta": lambda a: check.meta(fail_on=a.fail_on, **_flags("meta", a)),
    "message": lambda a: check.message(a.stream, fail_on=a.fail_on, **_given(_flags("message", a))),
    "jetstream": lambda a: check.jetstream(fail_on=a.fail_on, **_given(_flags("jetstream", a))),
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
            %js_check jetstream --store-warn 75 --store-critical 90
            %js_check server --conn-critical 1000 --uptime-warn 10m --js-required   # a system account user
            %js_check meta --expect 3 --lag-critical 100 --seen-critical 10s         # a system account user
            %js_check message ORDERS --subject orders.heartbeat --age-critical 5m --content ok
            %js_check connection --rtt-warn 50ms --req-critical 2s

        Thresholds not given as flags come from the stream's or consumer's metadata, under the
        keys natscli reads (``io.nats.monitor.msgs-critical`` …); a flag wins over metadata.
        """
    )
