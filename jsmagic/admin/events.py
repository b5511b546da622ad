"""The JetStream advisories of an account as they happen (``nats events``): ``$JS.EVENT.ADVISORY.>``.

:class:`EventsWatcher` subscribes (a :class:`jsmagic.corenats.subscriber.Subscriber`), turns
each advisory into a row ``(time_ns, kind, stream, consumer, detail, subject, advisory)`` and
keeps the newest ``events_cap``.  ``kind`` is the advisory's subject in lower case
(``consumer.created``, ``consumer.max_deliveries``, ``stream.leader_elected``, ``api``…);
``kinds`` keeps some (``consumer`` takes every ``consumer.*``), ``stream`` those of one stream.
``capture``: a stream that stores every advisory on the server (created if absent), so none is
lost while no notebook watches.
"""

from __future__ import annotations

import collections
import logging
from typing import Any, Callable, Sequence

import pandas as pd

from ..core.config import settings
from ..core.decode import decoder
from ..core.errors import InputError, did_you_mean
from ..core.registry import current
from ..core.units import plural
from ..corenats.subscriber import LIVE, STOPPED, Subscriber
from ..jsapi import ADVISORIES, ADVISORY_PREFIX
from ..publishing.capture import subject_matches

COLUMNS = ["time", "kind", "stream", "consumer", "detail"]
_SKIP = {"type", "id", "timestamp", "stream", "consumer", "client", "domain"}

log = logging.getLogger("jsmagic.admin.events")


def kind_of(subject: str) -> str:
    """``$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.S`` → ``stream.leader_elected``; ``…ADVISORY.API`` → ``api``."""
    tokens = subject[len(ADVISORY_PREFIX):].split(".")
    head = tokens[:2] if tokens[0] in ("STREAM", "CONSUMER") and len(tokens) > 1 else tokens[:1]
    return ".".join(head).lower()


def detail(doc: dict) -> str:
    """What the advisory says beyond its kind, stream and consumer, in a few words."""
    if "action" in doc:
        return doc["action"]
    if doc.get("type", "").endswith("api_audit"):
        who = (doc.get("client") or {}).get("name") or (doc.get("client") or {}).get("lang", "")
        error = ((doc.get("response") or "") if '"error"' in (doc.get("response") or "") else "")
        return f"{doc.get('subject', '')} by {who}".strip() + (f" — {error[:120]}" if error else "")
    if "leader" in doc:
        return f"leader {doc['leader']}" + (f", replicas {len(doc.get('replicas') or [])}" if doc.get("replicas") else "")
    if "stream_seq" in doc:
        extra = f" ({doc['reason']})" if doc.get("reason") else ""
        return f"stream_seq {doc['stream_seq']} after {doc.get('deliveries', '?')} deliveries{extra}"
    rest = {k: v for k, v in doc.items() if k not in _SKIP}
    return ", ".join(f"{k}={v}" for k, v in rest.items())[:160]


FAMILIES = ("api", "consumer", "stream")  # the first token of every JetStream advisory kind


def check_kinds(kinds: Sequence[str]) -> list[str]:
    """``--kinds`` in lower case; a kind outside the advisory families is refused (a typo would show nothing)."""
    out = [k.strip().lower() for k in kinds if k.strip()]
    for k in out:
        if k.split(".")[0] not in FAMILIES:
            raise InputError(f"unknown advisory kind {k!r}: {did_you_mean(k.split('.')[0], FAMILIES)}",
                             hint="kinds are api, consumer[.created|.deleted|.max_deliveries|…], stream[.created|…]")
    return out


def wanted(kinds: Sequence[str] | None, kind: str) -> bool:
    return not kinds or any(kind == k or kind.startswith(k + ".") for k in kinds)


class EventsWatcher:
    """A live tail of advisories: ``.df``, ``.count``, ``.stop()``, ``.running``, ``.entry``."""

    def __init__(self, *, kinds: Sequence[str] | None = None, stream: str | None = None, capture: str | None = None,
                 events_cap: int | None = None, on_row: Callable[[tuple], None] | None = None,
                 on_status: Callable[[str, "str | None"], None] | None = None, ctx: Any = None):
        self.ctx = current(ctx)
        self.kinds = check_kinds(kinds or [])
        self.stream, self.capture = stream, capture
        self.on_row, self.on_status = on_row, on_status
        self.rows: collections.deque = collections.deque(maxlen=events_cap or settings().events_cap)
        self.count = 0
        self._json = decoder("json")
        self.sub = Subscriber(ADVISORIES, on_row=self._on_msg, on_status=on_status, name="events", kind="events",
                              ctx=self.ctx)

    def _on_msg(self, msg_row: tuple) -> None:
        subject, data, headers, _reply, received_ns = msg_row
        doc, error = self._json.one(data, headers)
        if error is not None or not isinstance(doc, dict):
            log.info("events: %s is not a JSON advisory: %s", subject, error)
            return
        kind = kind_of(subject)
        if not wanted(self.kinds, kind) or (self.stream and doc.get("stream") != self.stream):
            return
        stamp = doc.get("timestamp")
        row = (pd.Timestamp(stamp).value if stamp else received_ns, kind, doc.get("stream", ""),
               doc.get("consumer", ""), detail(doc), subject, doc)
        self.rows.append(row)
        self.count += 1
        if self.on_row is not None:
            self.on_row(row)

    async def start(self) -> "EventsWatcher":
        """Make the capture stream if asked (errors surface here), then subscribe in the background."""
        if self.capture:
            await ensure_capture(self.capture, ctx=self.ctx)
        await self.sub.start()
        return self

    def stop(self) -> None:
        self.sub.stop()

    @property
    def entry(self) -> Any:
        return self.sub.entry

    @property
    def running(self) -> bool:
        return self.sub.running

    @property
    def status(self) -> str:
        return self.sub.status

    @property
    def df(self) -> pd.DataFrame:
        """Every kept advisory, oldest first: time (UTC), kind, stream, consumer, detail, subject, advisory (the JSON)."""
        rows = list(self.rows)
        return pd.DataFrame({
            "time": pd.to_datetime(pd.array([r[0] for r in rows], dtype="Int64"), unit="ns", utc=True),
            **{c: [r[i] for r in rows] for i, c in enumerate(["kind", "stream", "consumer", "detail", "subject",
                                                             "advisory"], start=1)},
        })

    def describe(self) -> str:
        return f"{plural(self.count, 'advisory')}, {self.sub.status}"


async def ensure_capture(name: str, *, ctx: Any = None) -> dict:
    """A stream ``name`` that stores every advisory (created with ``$JS.EVENT.ADVISORY.>`` if absent).

    Created by the one stream creator, :func:`jsmagic.admin.streams.add_stream` (its
    STREAM.CREATE goes through ``ctx.api``: JetStream domains and API prefixes included).
    """
    import nats.js.errors

    from .streams import add_stream, stream_names

    js = await current(ctx).jetstream()
    try:
        info = await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        try:
            await add_stream(name, subjects=[ADVISORIES], description="JetStream advisories kept by %js_events --capture",
                             ctx=ctx)
        except nats.js.errors.BadRequestError as e:
            if e.err_code != 10065:  # subjects overlap with an existing stream
                raise
            others = await stream_names(ADVISORIES, ctx=ctx)
            raise InputError(f"stream {name} cannot capture {ADVISORIES}: {', '.join(others) or 'another stream'} "
                             f"already captures some of it (a dead-letter capture keeps one consumer's advisories)",
                             hint=f"use --capture {others[0]} if it captures all of them, or remove the others first"
                             if others else "remove the overlapping stream first") from None
        return {"stream": name, "created": True}
    subjects = info.config.subjects or []
    if not any(all(subject_matches(s, ADVISORY_PREFIX + probe) for probe in ("API", "A.B.C.D")) for s in subjects):
        raise InputError(f"stream {name} exists and does not capture {ADVISORIES} (its subjects: {', '.join(subjects)})",
                         hint="name a new stream for --capture, or add that subject to it")
    return {"stream": name, "created": False}


__all__ = ["COLUMNS", "EventsWatcher", "LIVE", "STOPPED", "ensure_capture", "kind_of"]
