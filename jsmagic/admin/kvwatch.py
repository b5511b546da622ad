"""Watching a KV bucket: the current state of its keys, kept by an ordered reader that resumes after restarts.

nats-py's ``kv.watch`` has no updates-only or start-at-revision mode and cannot resume
after the server restarts.  :class:`KVWatcher` reads the bucket's stream through an
:class:`~jsmagic.admin.ordered.OrderedReader`, keeps the latest record of every key and
a bounded list of events, and runs as a background task of its context (``%js_status``
lists it; ``ctx.close()``, :func:`unwatch` and :meth:`KVWatcher.stop` end it).  Modes as
``nats kv watch``: current values then updates (``last``), every kept revision
(``all``), only new changes (``new``), or from a ``revision``.

It shows nothing itself: a display (``jsmagic.ui.kvwatch.KVWatch``) follows it through
two callbacks, ``on_row(key, row)`` for every change of a key (``row`` None when the
key left the state) and ``on_status(status, note)`` for live / reconnecting / stopped.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any, Callable, NamedTuple

import nats.js.errors

from ..core.config import settings
from ..core.context import JSContext
from ..core.decode import decoder, raw, with_errors
from ..core.errors import InputError
from ..core.units import plural
from ..core.registry import current
from ..jsapi import kv_prefix, kv_stream, kv_subject
from .ordered import OrderedReader
from .watchstate import LIVE, RECONNECTING, STOPPED

KV_OP = "KV-Operation"
MARKER_REASON = "Nats-Marker-Reason"
_MARKERS = {"MaxAge": "PURGE", "Purge": "PURGE", "Remove": "DEL"}
_REASONS = {"MaxAge": "expired", "Purge": "purged", "Remove": "removed"}  # server 2.11 limit markers (ADR-48)
COLUMNS = ["key", "value", "revision", "operation", "time"]

log = logging.getLogger("jsmagic.kvwatch")

# a key's row: (key, data, revision, operation, time_ns); data is None for a deleted/purged key, a
# Stored for a value whose headers say how to decode it, else the stored bytes
OnRow = Callable[[str, "tuple | None"], None]
OnStatus = Callable[[str, "str | None"], None]  # (status, note); a None note keeps the last one


class Stored(NamedTuple):
    """A value kept undecoded with its headers (``Content-Type``/``Content-Encoding`` say how to decode it)."""

    data: bytes
    headers: dict


def operation(headers: dict | None) -> str:
    """``PUT``, ``DEL`` or ``PURGE`` from a KV message's headers (server TTL markers too)."""
    if not headers:
        return "PUT"
    op = headers.get(KV_OP)
    if op:
        return op
    reason = headers.get(MARKER_REASON, "")
    return f"{_MARKERS[reason]} ({_REASONS[reason]}: marker {reason})" if reason in _MARKERS else "PUT"


def frame_times(ns_values: list[int]):
    """A column of UTC timestamps from nanoseconds (vectorised, no per-row datetime objects)."""
    import pandas as pd

    return pd.to_datetime(pd.array(ns_values, dtype="Int64"), unit="ns", utc=True)


class KVWatcher:
    """A live watch of a bucket's keys: ``.state``, ``.df``, ``.events``, ``.stop()``.

    ``deletes``: keep deleted/purged keys in the state (as such) or drop them.
    ``decode``: how ``.df`` and ``.events`` decode values (kept raw until read), as ``%js_kv get``
    does; a ``decode_error`` column names a value that could not be decoded.
    """

    def __init__(
        self,
        bucket: str,
        pattern: str = ">",
        *,
        mode: str = "last",
        revision: int | None = None,
        deletes: bool = True,
        decode: Any = "auto",
        events_cap: int | None = None,
        on_row: OnRow | None = None,
        on_status: OnStatus | None = None,
        ctx: JSContext | None = None,
    ):
        self.ctx = current(ctx)
        self.bucket, self.pattern, self.deletes, self.decode = bucket, pattern, deletes, decode
        self.decoder = decoder(decode)  # an unknown --decode fails here, before any consumer exists
        self.stream, self._cut = kv_stream(bucket), len(kv_prefix(bucket))
        self.mode = "start" if revision is not None else mode
        self.revision = revision
        self.on_row, self.on_status = on_row, on_status
        self.state: dict[str, tuple] = {}
        self.count = 0  # events seen
        self.status, self.note = LIVE, ""
        self._events: collections.deque = collections.deque(maxlen=events_cap or settings().events_cap)
        self.reader: OrderedReader | None = None
        self.entry: Any = None
        self.task: asyncio.Task | None = None
        self._unlisten: Callable[[], None] | None = None

    # ---- the stream of records -> state and events ---------------------------------------
    def _on_record(self, subject: str, data: bytes, headers, revision: int, tm: int, pending: int) -> None:
        key = subject[self._cut:]
        op = operation(headers) if headers else "PUT"
        if headers and op == "PUT":
            data = Stored(data, headers)
        self._events.append((revision, key, op, data, tm))
        self.count += 1
        if op == "PUT":
            row = self.state[key] = (key, data, revision, op, tm)
        elif self.deletes:
            row = self.state[key] = (key, None, revision, op, tm)
        else:
            self.state.pop(key, None)
            row = None
        if self.on_row is not None:
            self.on_row(key, row)

    def value(self, data: Any) -> Any:
        """A kept value decoded for display, only when it is shown (a storm overwrites most values unseen).

        A value a strict ``--decode`` refuses is shown as stored (``.df`` raises the error)."""
        try:
            return self._decoded(data)[0]
        except InputError as e:
            log.info("kv watch %s: %s; shown as stored", self.bucket, e)
            return raw(data.data if isinstance(data, Stored) else data)

    def _decoded(self, data: Any) -> tuple[Any, str | None]:
        if isinstance(data, Stored):
            return self.decoder.one(data.data, data.headers)
        return self.decoder.one(data) if isinstance(data, (bytes, bytearray, memoryview)) else (data, None)

    def _set_status(self, status: str, note: str | None = "") -> None:
        if status == STOPPED and self.status == STOPPED and note is None:
            return  # already shown as ended
        self.status = status
        if note is not None:
            self.note = note
        if self.on_status is not None:
            self.on_status(status, note)

    # ---- lifecycle ---------------------------------------------------------------------
    async def start(self) -> "KVWatcher":
        """Create the consumer (errors surface in the caller), then run in the background."""
        await self.ctx.jetstream()
        self.reader = OrderedReader(
            self.ctx, self.stream, kv_subject(self.bucket, self.pattern), self._on_record,
            mode=self.mode, start_seq=self.revision,
        )
        await self.reader.start()
        self._unlisten = self.ctx.on_state(self._on_state)
        self.entry = self.ctx.spawn(self._run(), name=f"kv watch {self.bucket}", kind="kv-watch",
                                    describe=self.describe)
        self.task = self.entry.task
        return self

    def _on_state(self, state: str) -> None:
        """Connection state → status; a reconnect recreates the consumer."""
        if state in ("reconnecting", "disconnected"):
            self._set_status(RECONNECTING)
        elif state == "connected" and self.reader is not None:
            self.reader.needs_reset.set()

    async def _run(self) -> None:
        """Keep the consumer alive until stopped: reset on a gap, silence or reconnect."""
        reader = self.reader
        backoff = 0.25
        try:
            while True:
                try:
                    await asyncio.wait_for(reader.needs_reset.wait(), timeout=reader.heartbeat)
                except asyncio.TimeoutError:
                    if not reader.silent:
                        continue
                if not reader.nc.is_connected:
                    self._set_status(RECONNECTING)
                    await asyncio.sleep(backoff)
                    continue
                try:
                    await reader.reset()
                except asyncio.CancelledError:
                    raise
                except nats.js.errors.NotFoundError:  # the bucket was deleted: nothing to resume
                    self._set_status(STOPPED, "bucket deleted")
                    return
                except Exception as e:  # noqa: BLE001 -- JetStream not back yet after a restart: retry (logged)
                    log.info("kv watch %s: reset failed, retrying: %r", self.bucket, e)
                    self._set_status(RECONNECTING, type(e).__name__)
                    reader.needs_reset.set()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.25
                self._set_status(LIVE)
        finally:
            await self._cleanup()

    async def _cleanup(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self.reader is not None:
            await self.reader.stop()
        self._set_status(STOPPED, None)

    def stop(self) -> None:
        """Stop the watch: ``stopped`` now; the consumer is deleted right after."""
        self._set_status(STOPPED, None)
        if self.task is not None and not self.task.done():
            self.task.cancel()
            self.task.add_done_callback(self._after_stop)

    def _after_stop(self, task: asyncio.Task) -> None:
        """A task cancelled before its first step never ran its ``finally``: delete the consumer here."""
        if self._unlisten is not None:  # _cleanup clears it first thing: it has not run
            self.ctx.own(self._cleanup(), name=f"stop kv watch {self.bucket}")

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    # ---- what the user reads -------------------------------------------------------------
    @property
    def df(self):
        """The current state, sorted by key: key, value (decoded), revision, operation, time."""
        import pandas as pd

        rows = [self.state[k] for k in sorted(self.state)]
        values, errors = zip(*[self._decoded(r[1]) for r in rows]) if rows else ((), ())
        return with_errors(pd.DataFrame(
            {
                "key": [r[0] for r in rows],
                "value": list(values),
                "revision": pd.array([r[2] for r in rows], dtype="int64"),
                "operation": [r[3] for r in rows],
                "time": frame_times([r[4] for r in rows]),
            }
        ), list(errors))

    @property
    def events(self):
        """Every event seen (the newest ``JSMagic.events_cap``): revision, key, operation, value, time."""
        import pandas as pd

        ev = list(self._events)
        values, errors = zip(*[self._decoded(e[3] if e[2] == "PUT" else None) for e in ev]) if ev else ((), ())
        return with_errors(pd.DataFrame(
            {
                "revision": pd.array([e[0] for e in ev], dtype="int64"),
                "key": [e[1] for e in ev],
                "operation": [e[2] for e in ev],
                "value": list(values),
                "time": frame_times([e[4] for e in ev]),
            }
        ), list(errors))

    def describe(self) -> str:
        """The one line ``%js_status`` shows."""
        return f"{self.bucket} {self.pattern}: {plural(len(self.state), 'key')}, {plural(self.count, 'event')}, {self.status}"

    def __repr__(self) -> str:
        return f"<KVWatcher {self.describe()}>"


async def unwatch(bucket: str | None = None, *, ctx: JSContext | None = None) -> int:
    """Stop every KV watch (of ``bucket``) on ``ctx``; returns how many were stopped."""
    ctx = current(ctx)
    entries = [
        e for e in list(ctx.background.values())
        if e.kind == "kv-watch" and (bucket is None or e.name.startswith(f"kv watch {bucket}#"))
    ]
    for entry in entries:
        if entry.stop is not None:
            entry.stop()  # the display's stop: its snapshot is sent from this cell
        entry.task.cancel()
    await asyncio.gather(*(e.task for e in entries), return_exceptions=True)
    return len(entries)
