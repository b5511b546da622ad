"""The ONE place that builds JetStream subjects and sends JetStream API requests.

Every ``$JS.API…`` subject depends on the connection: a JetStream *domain* makes it
``$JS.<domain>.API…`` and an imported JetStream (``--api-prefix``) replaces the prefix
altogether.  That includes the data-plane subjects a client publishes to itself:
``CONSUMER.MSG.NEXT`` (a pull request) and ``DIRECT.GET`` (a direct get).  A pull sent
on the wrong prefix in a leafnode setup gets "no responders" and looks like an empty
stream, so no module writes such a subject as a literal: each asks the context's
:class:`JSApi` (``ctx.api``).

Key-Value (``$KV.<bucket>.<key>``) and object-store (``$O.<bucket>.C|M.…``) subjects
are the storage layout that nats.go, nats.js, nats-py and the nats CLI share; their
builders live here too so that the layout has one home.

Requests go through public nats-py calls only (``nc.request``); errors come back as
nats-py's own ``APIError`` subclasses (``NotFoundError``, ``ServiceUnavailableError``…),
so callers handle them exactly as they handle errors from ``js.stream_info()``.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import nats.js.errors
import orjson
import pandas as pd

DEFAULT_PREFIX = "$JS.API"
ACK_PREFIX = "$JS.ACK."


def api_prefix(domain: str | None = None, prefix: str | None = None) -> str:
    """The API prefix for a domain (``$JS.hub.API``) or an imported prefix; else ``$JS.API``."""
    if domain:
        return f"$JS.{domain}.API"
    if prefix:
        return prefix.rstrip(".")
    return DEFAULT_PREFIX


class JSApi:
    """JetStream API subjects and requests for one connection and prefix.

    ``JSApi(nc, domain="hub")`` talks to the ``hub`` domain's JetStream;
    ``await api.request("STREAM.INFO.ORDERS")`` returns the server's answer as a dict.
    """

    def __init__(self, nc: Any, domain: str | None = None, prefix: str | None = None, timeout: float = 5.0):
        self.nc = nc
        self.domain = domain or None
        self.prefix = api_prefix(domain, prefix)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<JSApi {self.prefix}>"

    # ---- subjects ------------------------------------------------------------------------
    def subject(self, suffix: str) -> str:
        """``STREAM.INFO.ORDERS`` → ``$JS.API.STREAM.INFO.ORDERS`` on this prefix."""
        return f"{self.prefix}.{suffix}"

    def msg_next(self, stream: str, consumer: str) -> str:
        """Where a pull request for ``consumer`` is published (prefix-aware, like every API subject)."""
        return self.subject(f"CONSUMER.MSG.NEXT.{stream}.{consumer}")

    def direct_get(self, stream: str) -> str:
        """Where a (batched) direct get request for ``stream`` is published."""
        return self.subject(f"DIRECT.GET.{stream}")

    def msg_get(self, stream: str) -> str:
        """``STREAM.MSG.GET`` for ``stream`` (served by the stream leader)."""
        return self.subject(f"STREAM.MSG.GET.{stream}")

    # ---- writes to KV and object stores (ADR-8) ---------------------------------------------
    @property
    def write_prefix(self) -> str:
        """What goes in front of a ``$KV.`` subject when *writing* a value through this prefix.

        Under a domain or an imported API, a value is published to
        ``$JS.hub.API.$KV.<bucket>.<key>`` (the hub's server maps it back to
        ``$KV.<bucket>.<key>``; a leafnode does not carry ``$KV.>`` itself), as nats.go and
        the nats CLI do.  Object chunks and meta records (``$O.…``) cross a leafnode as they
        are and are never prefixed.  Reads keep the storage subjects (they are filters).
        """
        return "" if self.prefix == DEFAULT_PREFIX else self.prefix + "."

    def kv_put(self, bucket: str, key: str) -> str:
        """Where a value of ``key`` is published (``$KV.<bucket>.<key>``, prefixed under a domain)."""
        return self.write_prefix + kv_subject(bucket, key)

    # ---- requests ------------------------------------------------------------------------
    async def request(self, suffix: str, payload: dict | None = None, timeout: float | None = None) -> dict:
        """Send one API request; the answer as a dict, or nats-py's ``APIError`` for an error answer."""
        data = orjson.dumps(payload) if payload is not None else b""
        msg = await self.nc.request(self.subject(suffix), data, timeout=timeout or self.timeout)
        resp = orjson.loads(msg.data)
        if "error" in resp:
            raise nats.js.errors.APIError.from_error(resp["error"])
        return resp

    async def paged(self, suffix: str, key: str, extra: dict | None = None) -> list:
        """Every item of a paged list (the server answers 256 at a time): pages until ``total``."""
        items: list = []
        while True:
            resp = await self.request(suffix, {**(extra or {}), "offset": len(items)})
            page = resp.get(key) or []
            items.extend(page)
            if not page or len(items) >= resp.get("total", 0):
                return items


# ---- Key-Value and object-store layout (shared by every NATS client) -----------------------
def kv_stream(bucket: str) -> str:
    """The stream behind a KV bucket."""
    return f"KV_{bucket}"


def kv_prefix(bucket: str) -> str:
    """``$KV.<bucket>.``: every key's subject starts with it."""
    return f"$KV.{bucket}."


def kv_subject(bucket: str, key: str) -> str:
    """The subject a key's values are stored on (a key or a wildcard pattern)."""
    return f"$KV.{bucket}.{key}"


def obj_stream(bucket: str) -> str:
    """The stream behind an object-store bucket."""
    return f"OBJ_{bucket}"


def obj_chunks(bucket: str, nuid: str) -> str:
    """The subject an object's chunks are stored on (one nuid per object version)."""
    return f"$O.{bucket}.C.{nuid}"


def obj_meta(bucket: str, name: str) -> str:
    """The subject of an object's meta record: its name base64url-encoded, as every client does."""
    return f"$O.{bucket}.M.{base64.urlsafe_b64encode(name.encode()).decode()}"


def obj_all_meta(bucket: str) -> str:
    """A filter for every meta record of a bucket (listing, watching)."""
    return f"$O.{bucket}.M.>"


# ---- advisories (account-wide: no domain or API prefix in these subjects) --------------------
ADVISORY_PREFIX = "$JS.EVENT.ADVISORY."


def max_deliveries_advisory(stream: str, consumer: str) -> str:
    """Where the server reports a message that reached a consumer's max deliveries."""
    return f"{ADVISORY_PREFIX}CONSUMER.MAX_DELIVERIES.{stream}.{consumer}"


def terminated_advisory(stream: str, consumer: str) -> str:
    """Where the server reports a message a consumer's client terminated (``+TERM``)."""
    return f"{ADVISORY_PREFIX}CONSUMER.MSG_TERMINATED.{stream}.{consumer}"


# ---- fields older nats-py releases leave out -------------------------------------------------
def stored_time(msg: Any) -> datetime | None:
    """When a message from ``js.get_msg`` was stored: nats-py's ``.time``, else the direct get's header.

    nats-py before 2.15 fills ``time`` only for ``STREAM.MSG.GET`` answers (before 2.13 it
    has no such field); a direct get carries the time in its ``Nats-Time-Stamp`` header.
    """
    when = getattr(msg, "time", None)
    if when is None:
        stamp = (getattr(msg, "headers", None) or {}).get("Nats-Time-Stamp")
        if stamp:
            when = pd.Timestamp(stamp).to_pydatetime(warn=False)  # datetime has microseconds only
    return when


def last_active(sequence_info: Any) -> datetime | None:
    """A consumer's last delivery time (``SequenceInfo.last_active``, missing before nats-py 2.14)."""
    return getattr(sequence_info, "last_active", None) if sequence_info is not None else None
