"""Message tracing (server 2.11+, ADR-41): where one message goes, hop by hop, as data.

A message published with a ``Nats-Trace-Dest`` header makes every server it passes send one
trace document to that subject: its ingress, subject mappings, exports and imports, the
JetStream stream that took it, and every egress (clients, routes, gateways, leafnodes).
With ``Nats-Trace-Only`` the servers report all this without storing or delivering
anything.  :func:`trace` publishes such a message, gathers the documents until every hop a
server announced has reported (or the timeout passed: ``Trace.missing`` says which), and
adds what the trace does not say: the consumers of each stream that would deliver it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any, Mapping

import pandas as pd

from ..core.decode import decoder
from ..core.errors import InputError, TimeoutError
from ..core.registry import current
from ..jsapi import JSApi
from ..publishing.capture import subject_matches
from .messages import check_subject

TRACE_DEST, TRACE_ONLY, TRACE_HOP = "Nats-Trace-Dest", "Nats-Trace-Only", "Nats-Trace-Hop"
KINDS = {0: "client", 1: "route", 2: "gateway", 3: "system", 4: "leaf", 5: "jetstream", 6: "account"}
EVENTS = {"in": "ingress", "sm": "mapping", "se": "stream export", "si": "service import", "js": "jetstream",
          "eg": "egress"}
COLUMNS = ["hop", "server", "cluster", "domain", "event", "kind", "connection", "account", "subject", "stream",
           "queue", "error", "time"]


@dataclasses.dataclass
class Trace:
    """One traced message: ``hops`` (a row per event, hop order), ``consumers``, what is ``missing``."""

    subject: str
    trace_only: bool
    hops: pd.DataFrame
    consumers: pd.DataFrame
    documents: list[dict]
    missing: list[str]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def stored_in(self) -> list[str]:
        """The streams that stored the message (none with ``trace_only``: they only said they would)."""
        js = self.hops[(self.hops.event == "jetstream") & (self.hops.error == "")]
        return [] if self.trace_only else sorted(set(js.stream))

    @property
    def delivered_to(self) -> int:
        """How many client subscriptions got it (would have, with ``trace_only``)."""
        return int(((self.hops.event == "egress") & (self.hops.kind == "client")).sum())


def hop_of(doc: dict) -> str:
    """The document's place in the tree: ``""`` for the origin server, ``1``, ``1.2``… for the servers after it."""
    values = (doc.get("request") or {}).get("header", {}).get(TRACE_HOP) or [""]
    return values[0]


def missing_hops(docs: list[dict]) -> list[str]:
    """Hops a server announced (``hops: N``) that have sent no document yet; ``["origin"]`` before the first one."""
    have = {hop_of(d) for d in docs}
    if "" not in have:
        return ["origin"]
    want = {f"{hop}.{i}" if hop else str(i) for d in docs for hop in [hop_of(d)] for i in range(1, (d.get("hops") or 0) + 1)}
    return sorted(want - have, key=_hop_key)


def _hop_key(hop: str) -> tuple:
    return tuple(int(p) for p in hop.split(".")) if hop and hop != "origin" else ()


def _connection(ev: dict) -> str:
    ids = {0: "cid", 1: "rid", 2: "gid", 4: "lid"}
    ident = f"{ids.get(ev.get('kind'), 'cid')}:{ev['cid']}" if ev.get("cid") is not None else ""
    return " ".join(p for p in (f'"{ev["name"]}"' if ev.get("name") else "", ident) if p)


def rows(docs: list[dict]) -> pd.DataFrame:
    """Every event of every document, origin first then hop order, events in the server's order."""
    out = []
    for doc in sorted(docs, key=lambda d: _hop_key(hop_of(d))):
        server = doc.get("server") or {}
        for ev in doc.get("events") or []:
            kind = ev.get("type")
            subject = {"in": ev.get("subj"), "sm": ev.get("to"), "js": ev.get("subject"), "eg": ev.get("sub"),
                       "se": ev.get("to"), "si": ev.get("to")}.get(kind) or ""
            error = ev.get("error") or ("no interest: the Interest stream kept nothing" if ev.get("nointerest") else "")
            out.append({
                "hop": hop_of(doc) or "origin", "server": server.get("name", ""), "cluster": server.get("cluster", ""),
                "domain": server.get("domain", ""), "event": EVENTS.get(kind, kind or ""),
                "kind": KINDS.get(ev.get("kind"), "") if "kind" in ev else ("jetstream" if kind == "js" else ""),
                "connection": _connection(ev), "account": ev.get("acc", "") or "", "subject": subject,
                "stream": ev.get("stream", "") or "", "queue": ev.get("queue", "") or "", "error": error,
                "time": pd.Timestamp(ev["ts"]) if ev.get("ts") else pd.NaT,
            })
    return pd.DataFrame(out, columns=COLUMNS)


SCOUTS = 3  # trace-only scouts sent at most before the traced message (each stores and delivers nothing)


async def gather(nc: Any, subject: str, body: bytes, headers: dict[str, str], trace_only: bool,
                 timeout: float) -> tuple[list[dict], list[str]]:
    """Publish the traced message; every trace document until no announced hop is missing (or ``timeout``).

    Across a gateway, interest travels as its own protocol message on another connection
    than the traced message (and servers run every account in interest-only mode since
    2.9): a server beyond a gateway could emit its document before it knew of the fresh
    destination, and drop it.  So a trace-only *scout* of the same message goes first, on
    the same subscription, until all its hops report (at most :data:`SCOUTS` of them, each
    storing and delivering nothing, within half of ``timeout``); the traced message follows
    on a path that knows the destination, and has the whole ``timeout``.
    """
    base = nc.new_inbox()
    docs: dict[str, list[dict]] = {"scout": [], "trace": []}
    arrived = asyncio.Event()
    as_json = decoder("json")

    async def on_doc(msg: Any) -> None:
        doc, error = as_json.one(msg.data, msg.headers)
        if error is None and isinstance(doc, dict):
            docs[msg.subject.rsplit(".", 1)[-1]].append(doc)
            arrived.set()

    async def send(kind: str, only: bool, until: float) -> list[str]:
        docs[kind].clear()
        sent = {**headers, TRACE_DEST: f"{base}.{kind}", **({TRACE_ONLY: "true"} if only else {})}
        await nc.publish(subject, body, headers=sent)
        await nc.flush()
        while missing_hops(docs[kind]) and (left := until - time.monotonic()) > 0:
            arrived.clear()
            waiter = asyncio.ensure_future(arrived.wait())
            await asyncio.wait({waiter}, timeout=left)
            waiter.cancel()
        return missing_hops(docs[kind])

    sub = await nc.subscribe(f"{base}.*", cb=on_doc)
    try:
        await nc.flush()
        start = time.monotonic()
        for _ in range(SCOUTS):
            if not await send("scout", True, min(start + timeout, time.monotonic() + max(timeout / (2 * SCOUTS), 0.2))):
                break
        missing = await send("trace", trace_only, time.monotonic() + timeout)
    finally:
        await sub.unsubscribe()
    return docs["trace"], missing


async def would_deliver(nc: Any, api: JSApi, hops: pd.DataFrame) -> pd.DataFrame:
    """The consumers of each stream in the trace whose filter takes the message's subject (as stored)."""
    out = []
    js = hops[(hops.event == "jetstream") & (hops.error == "")]
    for stream, subject, domain in js[["stream", "subject", "domain"]].drop_duplicates().itertuples(index=False):
        where = JSApi(nc, domain=domain, timeout=api.timeout) if domain and domain != api.domain else api
        listing = await where.listing(f"CONSUMER.LIST.{stream}", "consumers")
        for ci in listing.items:
            cfg = ci.get("config") or {}
            filters = cfg.get("filter_subjects") or ([cfg["filter_subject"]] if cfg.get("filter_subject") else [])
            if not filters or any(subject_matches(f, subject) for f in filters):
                out.append({"stream": stream, "domain": domain, "consumer": ci.get("name", ""),
                            "filter": ", ".join(filters) or "(all)", "num_pending": ci.get("num_pending", 0),
                            "push": bool(cfg.get("deliver_subject"))})
        for name, why in listing.missing.items():
            out.append({"stream": stream, "domain": domain, "consumer": name, "filter": f"not listed: {why}",
                        "num_pending": None, "push": None})
    return pd.DataFrame(out, columns=["stream", "domain", "consumer", "filter", "num_pending", "push"])


async def trace(subject: str, payload: bytes | str = b"", *, headers: Mapping[str, str] | None = None,
                trace_only: bool = False, timeout: float = 5.0, ctx: Any = None) -> Trace:
    """Trace one message to ``subject`` through every server it reaches (``trace_only``: store and deliver nothing)."""
    check_subject(subject)
    extra = dict(headers or {})
    if any(k.lower().startswith("nats-trace-") for k in extra):
        raise InputError("the Nats-Trace-* headers are set by %js_trace itself", hint="use --trace-only instead")
    ctx = await current(ctx).ensure()
    version = tuple(int(p) for p in str(ctx.info.get("version", "0.0")).split(".")[:2] if p.isdigit())
    if version and version < (2, 11):
        raise InputError(f"message tracing needs nats-server 2.11 or later; this one is {ctx.info.get('version')}")
    body = payload.encode() if isinstance(payload, str) else payload
    docs, missing = await gather(ctx.nc, subject, body, extra, trace_only, timeout)
    if not docs:
        raise TimeoutError(f"no trace arrived for {subject} within {timeout:g}s",
                           hint="is the server 2.11+ and may this user subscribe to _INBOX.>?")
    hops = rows(docs)
    api = ctx.api if ctx.api is not None else JSApi(ctx.nc)
    consumers = await would_deliver(ctx.nc, api, hops) if (hops.event == "jetstream").any() else \
        pd.DataFrame(columns=["stream", "domain", "consumer", "filter", "num_pending", "push"])
    return Trace(subject, trace_only, hops, consumers, docs, missing)
