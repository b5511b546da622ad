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
from .core.units import plural

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

    async def listing(self, suffix: str, key: str, extra: dict | None = None) -> "Listing":
        """Every item of a paged list (``STREAM.LIST``, ``CONSUMER.NAMES.S``…), each once, and what is missing.

        The server answers 256 items (1024 names) a page.  In a cluster, ``offset`` counts
        every stream (consumer) the meta layer knows, sorted by name, but a page leaves out
        those whose leader did not answer within its 4 s gather and names them in
        ``missing`` instead (an offline one may come both as a placeholder and in
        ``missing``: it is counted missing).  So the next page starts after what the server
        covered (listed *and* missing), never at ``len(items)``, which repeated entries;
        and items are kept once by name.  Each request waits the server's gather on top of
        the API timeout.
        """
        items: dict[str, Any] = {}
        missing: dict[str, str] = {}
        offset, total = 0, 0
        while True:
            resp = await self.request(suffix, {**(extra or {}), "offset": offset},
                                      timeout=self.timeout + SERVER_GATHER_WAIT)
            total = resp.get("total", 0) or 0
            offline = resp.get("offline") or {}
            lost = {n: offline.get(n, "no leader") for n in resp.get("missing") or []}
            page = [x for x in resp.get(key) or [] if item_name(x) not in lost]
            covered = {item_name(x) for x in page} | set(lost)
            for x in page:
                items.setdefault(item_name(x), x)
            missing.update({n: why for n, why in lost.items() if n not in items})
            offset = (resp.get("offset", offset) or 0) + len(covered)
            if not covered or offset >= total:
                for n in list(missing):
                    if n in items:  # listed on a later page after all
                        del missing[n]
                return Listing([items[n] for n in sorted(items)], dict(sorted(missing.items())), total)

    async def paged(self, suffix: str, key: str, extra: dict | None = None) -> list:
        """The items of :meth:`listing` alone: for name lists (``STREAM.NAMES``), which have no ``missing``.

        A listing shown to a user (``STREAM.LIST``, ``CONSUMER.LIST``) takes :meth:`listing`
        and says what it could not list.
        """
        return (await self.listing(suffix, key, extra)).items


SERVER_GATHER_WAIT = 4.0  # how long a cluster's STREAM.LIST / CONSUMER.LIST waits for the members' answers


def item_name(item: Any) -> str:
    """The name of one item of a list answer: a name, a consumer (``name``) or a stream (``config.name``)."""
    if isinstance(item, str):
        return item
    return item.get("name") or (item.get("config") or {}).get("name", "")


class Listing:
    """A whole paged list: ``items`` (each once, sorted by name), and the names the server could not list.

    ``missing`` maps each name the server counted but could not describe to why (``"no
    leader"``, or the server's ``offline`` reason); ``total`` is the server's count.
    """

    def __init__(self, items: list, missing: dict[str, str], total: int):
        self.items, self.missing, self.total = items, missing, total

    def __repr__(self) -> str:
        return f"<Listing {len(self.items)} of {self.total}, missing {list(self.missing)}>"

    @property
    def complete(self) -> bool:
        """Every item the server counted is here (none missing, none skipped while the list changed)."""
        return not self.missing and len(self.items) >= self.total

    def missing_of(self, prefix: str = "") -> dict[str, str]:
        """The missing names that start with ``prefix`` (``KV_``), without it (bucket names)."""
        return {n[len(prefix):]: why for n, why in self.missing.items() if n.startswith(prefix)}

    def note(self, noun: str, prefix: str = "") -> str | None:
        """``"2 streams could not be listed (no leader): A, B"``, or None when nothing is missing."""
        missing = self.missing_of(prefix)
        if not missing:
            return None
        whys = sorted(set(missing.values()))
        why = whys[0] if len(whys) == 1 else "; ".join(whys)
        return f"{plural(len(missing), noun)} could not be listed ({why}): {', '.join(missing)}"

    def mark(self, frame: Any, noun: str, prefix: str = "") -> Any:
        """Say on ``frame`` what could not be listed: ``attrs["missing"]`` (name -> why), ``attrs["notes"]``."""
        frame.attrs["missing"] = self.missing_of(prefix)
        note = self.note(noun, prefix)
        frame.attrs["notes"] = [note] if note else []
        return frame


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
ADVISORIES = f"{ADVISORY_PREFIX}>"  # every JetStream advisory of the account (``%js_events``)


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
