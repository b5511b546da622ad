"""``%js_trace``: a traced message as a summary line, the hops table and a small diagram (natscli's legend).

Renders :class:`jsmagic.corenats.trace.Trace` (the core gathered it); nothing here talks to
the server.  ``TraceView.df`` is the hops table; ``.consumers`` the consumers that would deliver.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from .tablestyle import format_time
from ..core.units import plural

ARROWS = {"client": "--C", "route": "-->", "gateway": "==>", "leaf": "~~>", "jetstream": "--J"}
LEGEND = "Legend: Client --C  Route -->  Gateway ==>  Leafnode ~~>  JetStream --J  Error --X"


def summary(t: Any) -> str:
    """One line: what happened to the message (trace-only said first), and what is missing."""
    parts = []
    if t.trace_only:
        parts.append("TRACE ONLY: nothing was stored or delivered (the servers reported what they would do)")
    servers = t.hops.server.nunique()
    streams = sorted(set(t.hops[t.hops.event == "jetstream"].stream))
    verb = "would be" if t.trace_only else "was"
    parts.append(f"{t.subject}: {plural(servers, 'server')}; {verb} delivered to {plural(t.delivered_to, 'subscription')}"
                 + (f"; {verb} stored in {', '.join(streams)}" if streams else "; no stream"))
    errors = sorted(set(e for e in t.hops.error if e))
    if errors:
        parts.append("errors: " + "; ".join(errors))
    if t.missing:
        parts.append(f"INCOMPLETE: no trace from {'hop' if len(t.missing) == 1 else 'hops'} {', '.join(t.missing)} within the timeout")
    return " — ".join(parts)


def diagram(t: Any) -> str:
    """The path as indented text, one block per server (hop order), as ``nats trace`` draws it."""
    lines = []
    for hop, events in t.hops.groupby("hop", sort=False):
        depth = 0 if hop == "origin" else hop.count(".") + 1
        pad = "    " * depth
        for e in events.itertuples(index=False):
            if e.event == "ingress":
                where = f'server:"{e.server}"' + (f' cluster:"{e.cluster}"' if e.cluster else "") \
                    + (f' domain:"{e.domain}"' if e.domain else "")
                lines.append(f"{pad}{e.kind.capitalize()} {e.connection} {where} account:{e.account} subject:{e.subject}")
            elif e.event == "mapping":
                lines.append(f"{pad}    mapped to {e.subject}")
            elif e.event == "jetstream":
                what = "would store" if t.trace_only else "stored"
                lines.append(f"{pad}    --J JetStream stream {e.stream} subject:{e.subject} ({what})")
            elif e.event == "egress":
                arrow = ARROWS.get(e.kind, "-->")
                sub = f" subscription:{e.subject}" if e.subject else ""
                queue = f" queue:{e.queue}" if e.queue else ""
                lines.append(f"{pad}    {arrow} {e.kind.capitalize()} {e.connection}{sub}{queue}")
            else:
                lines.append(f"{pad}    {e.event} {e.subject}")
            if e.error:
                lines.append(f"{pad}    --X {e.error}")
    return "\n".join(lines + ["", LEGEND])


class TraceView:
    """What ``%js_trace`` returns: ``.df`` (hops), ``.consumers``, ``.trace`` (the core's data), shown as table + diagram."""

    def __init__(self, trace: Any):
        self.trace = trace

    @property
    def df(self) -> pd.DataFrame:
        return self.trace.hops

    @property
    def consumers(self) -> pd.DataFrame:
        return self.trace.consumers

    def _shown(self) -> pd.DataFrame:
        df = self.trace.hops.copy()
        df["time"] = df["time"].map(format_time)
        return df.loc[:, [c for c in df.columns if c == "hop" or (df[c] != "").any()]]

    def __repr__(self) -> str:
        parts = [summary(self.trace), self._shown().to_string(index=False), "", diagram(self.trace)]
        if len(self.consumers):
            parts += ["", "Consumers that would deliver it:", self.consumers.to_string(index=False)]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        out = [f"<div><b>{html.escape(summary(self.trace))}</b></div>", self._shown()._repr_html_(),
               f"<pre>{html.escape(diagram(self.trace))}</pre>"]
        if len(self.consumers):
            out += ["<div><small>Consumers that would deliver it:</small></div>", self.consumers._repr_html_()]
        return "".join(out)
