"""NATS micro services (``nats micro ls|info|stats|ping``): the ``$SRV.PING/INFO/STATS[.NAME[.ID]]`` protocol.

Every service instance answers a discovery request on ``$SRV.<VERB>``, ``$SRV.<VERB>.<NAME>``
and ``$SRV.<VERB>.<NAME>.<ID>`` with a JSON document (``io.nats.micro.v1.*_response``).
A discovery gathers every answer that arrives within ``timeout`` (there is no way to know
how many instances exist), and says so in ``df.attrs["notes"]``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.decode import decoder
from ..core.errors import InputError, NotFoundError
from ..core.registry import current
from ..core.units import plural
from .messages import exchange

VERBS = ("PING", "INFO", "STATS")


def discovery_subject(verb: str, name: str | None = None, instance: str | None = None) -> str:
    """``$SRV.PING``, ``$SRV.INFO.orders``, ``$SRV.STATS.orders.<id>``."""
    if verb not in VERBS:
        raise InputError(f"unknown discovery verb {verb!r}", hint="one of " + ", ".join(VERBS))
    parts = ["$SRV", verb]
    for part in (name, instance):
        if part:
            if any(c in part for c in " .*>"):
                raise InputError(f"{part!r} is not a service name or id", hint="names have no dots, spaces or wildcards")
            parts.append(part)
    return ".".join(parts)


async def discover(verb: str, name: str | None = None, *, instance: str | None = None, timeout: float = 1.0,
                   ctx: Any = None) -> list[tuple[dict, float]]:
    """Every ``(response, rtt_ms)`` to one discovery request within ``timeout``, ordered by service name and id."""
    ctx = await current(ctx).ensure()
    subject = discovery_subject(verb, name, instance)
    try:
        got = await exchange(ctx.nc, subject, b"", want=0, timeout=timeout)
    except NotFoundError:
        got = []
    out = []
    as_json = decoder("json")
    for msg, rtt in got:
        doc, error = as_json.one(msg.data)
        if error is not None or not isinstance(doc, dict):
            raise InputError(f"a reply on {subject} is not a micro service response: {error or doc!r}")
        out.append((doc, rtt))
    if name and not out:
        raise NotFoundError(f"no service {name!r} answered within {timeout:g}s",
                            hint="%js_svc ls lists the services that answer; raise --timeout if it is busy")
    return sorted(out, key=lambda r: (r[0].get("name", ""), r[0].get("id", "")))


def _noted(df: pd.DataFrame, timeout: float) -> pd.DataFrame:
    df.attrs["notes"] = [f"{plural(len(df), 'answer')} within {timeout:g}s (instances slower than that are not listed)"]
    return df


async def ls(name: str | None = None, *, timeout: float = 1.0, ctx: Any = None) -> pd.DataFrame:
    """One row per service instance: name, id, version, description, endpoints, metadata."""
    got = await discover("INFO", name, timeout=timeout, ctx=ctx)
    return _noted(pd.DataFrame({
        "name": [r.get("name") for r, _ in got],
        "id": [r.get("id") for r, _ in got],
        "version": [r.get("version") for r, _ in got],
        "description": [r.get("description") or "" for r, _ in got],
        "endpoints": [len(r.get("endpoints") or []) for r, _ in got],
        "metadata": [r.get("metadata") or None for r, _ in got],
    }), timeout)


async def ping(name: str | None = None, *, timeout: float = 1.0, ctx: Any = None) -> pd.DataFrame:
    """One row per answering instance with its round-trip time in milliseconds."""
    got = await discover("PING", name, timeout=timeout, ctx=ctx)
    return _noted(pd.DataFrame({
        "name": [r.get("name") for r, _ in got],
        "id": [r.get("id") for r, _ in got],
        "version": [r.get("version") for r, _ in got],
        "rtt_ms": pd.array([rtt for _, rtt in got], dtype="float64"),
    }), timeout)


async def info(name: str, *, timeout: float = 1.0, ctx: Any = None) -> pd.DataFrame:
    """One row per endpoint of every instance of ``name``: subject, queue group, metadata."""
    got = await discover("INFO", name, timeout=timeout, ctx=ctx)
    rows = [(r.get("name"), r.get("id"), r.get("version"), e.get("name"), e.get("subject"), e.get("queue_group"),
             e.get("metadata") or None) for r, _ in got for e in r.get("endpoints") or []]
    cols = ["name", "id", "version", "endpoint", "subject", "queue_group", "metadata"]
    return _noted(pd.DataFrame(rows, columns=cols), timeout)


async def stats(name: str, *, timeout: float = 1.0, ctx: Any = None) -> pd.DataFrame:
    """One row per endpoint of every instance: requests, errors, last error, processing times (ms)."""
    got = await discover("STATS", name, timeout=timeout, ctx=ctx)
    rows = [(r.get("name"), r.get("id"), e.get("name"), e.get("subject"), e.get("num_requests", 0),
             e.get("num_errors", 0), e.get("last_error") or "", (e.get("processing_time") or 0) / 1e6,
             (e.get("average_processing_time") or 0) / 1e6, r.get("started"))
            for r, _ in got for e in r.get("endpoints") or []]
    cols = ["name", "id", "endpoint", "subject", "num_requests", "num_errors", "last_error", "processing_ms",
            "average_processing_ms", "started"]
    df = pd.DataFrame(rows, columns=cols)
    df["started"] = pd.to_datetime(df["started"], utc=True, format="ISO8601")
    return _noted(df, timeout)
