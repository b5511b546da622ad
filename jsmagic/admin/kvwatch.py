"""Watching a KV bucket: an ordered consumer on its stream, a live table, resume after restarts.

nats-py's ``kv.watch`` has no updates-only or start-at-revision mode, decodes every
message's metadata the slow way and cannot resume after the server restarts.  Here:

- :class:`OrderedReader` is a small ordered push consumer (ack none, flow control,
  heartbeats, memory storage) on ``KV_<bucket>``.  Each message's revision, time and
  pending count come from its ack subject (one ``split``), not from ``msg.metadata``.
  A gap in the consumer sequence, a silent consumer (no heartbeat) or a reconnect
  recreates the consumer from the last seen revision + 1: nothing missed, nothing twice.
  ``jsmagic.admin.kv`` uses the same reader for one-shot reads (view, keys, history).
- :class:`KVWatch` feeds a :class:`jsmagic.ui.livetable.LiveTable` from the reader, keeps a
  bounded list of events, and runs as a background task of the context (``%js_status``
  lists it, ``%js_close`` and ``%js_kv unwatch`` stop it).
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any, Callable

import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from ..core.config import settings
from ..core.decode import decode_value
from ..ui.livetable import LIVE, RECONNECTING, LiveTable

KV_OP = "KV-Operation"
MARKER_REASON = "Nats-Marker-Reason"
_MARKERS = {"MaxAge": "PURGE", "Purge": "PURGE", "Remove": "DEL"}
_YIELD_EVERY = 256  # messages handled between yields to the loop (nats-py drains its queue without yielding)
MODES = {"last": DeliverPolicy.LAST_PER_SUBJECT, "all": DeliverPolicy.ALL, "new": DeliverPolicy.NEW}

# (subject, data, headers, revision, time_ns, pending)
OnRecord = Callable[[str, bytes, "dict | None", int, int, int], None]


def operation(headers: dict | None) -> str:
    """``PUT``, ``DEL`` or ``PURGE`` from a KV message's headers (server TTL markers too)."""
    if not headers:
        return "PUT"
    op = headers.get(KV_OP)
    if op:
        return op
    return _MARKERS.get(headers.get(MARKER_REASON, ""), "PUT")


class OrderedReader:
    """An ordered push consumer on ``stream`` that calls ``on_record`` for every message, in order.

    ``mode``: ``last`` (last per subject, then new), ``all``, ``new``, or ``start`` with
    ``start_seq``.  Call :meth:`start`, then :meth:`reset` whenever the consumer may be
    lost; :attr:`needs_reset` tells the owner a gap or silence was seen.
    """

    def __init__(
        self,
        nc: Any,
        js: Any,
        stream: str,
        filter_subject: str,
        on_record: OnRecord,
        *,
        mode: str = "last",
        start_seq: int | None = None,
        headers_only: bool = False,
        heartbeat: float = 2.0,
    ):
        self.nc, self.js, self.stream, self.filter = nc, js, stream, filter_subject
        self.on_record = on_record
        self.mode, self.start_seq, self.headers_only, self.heartbeat = mode, start_seq, headers_only, heartbeat
        self.last_seq = 0  # the last stream sequence (KV revision) handed to on_record
        self.records = 0
        self.resets = 0
        self.caught_up = asyncio.Event()
        self.needs_reset = asyncio.Event()
        self.last_activity = time.monotonic()
        self._cseq = 0
        self._sub = None
        self._consumer: str | None = None
        self._generation = 0
        self._since_yield = 0

    def _config(self, deliver_subject: str) -> ConsumerConfig:
        """The consumer: ordered (ack none, one delivery), resumed after ``last_seq`` when known."""
        if self.last_seq:
            policy, start = DeliverPolicy.BY_START_SEQUENCE, self.last_seq + 1
        elif self.mode == "start":
            policy, start = DeliverPolicy.BY_START_SEQUENCE, max(1, self.start_seq or 1)
        else:
            policy, start = MODES[self.mode], None
        return ConsumerConfig(
            deliver_policy=policy,
            opt_start_seq=start,
            ack_policy=AckPolicy.NONE,
            max_deliver=1,
            filter_subject=self.filter,
            deliver_subject=deliver_subject,
            flow_control=True,
            idle_heartbeat=self.heartbeat,
            headers_only=self.headers_only or None,
            mem_storage=True,
            num_replicas=1,
            inactive_threshold=60.0,
        )

    async def start(self) -> int:
        """Create the consumer and subscribe; returns how many messages it will deliver first."""
        self._generation += 1
        gen, inbox = self._generation, self.nc.new_inbox()
        self._cseq = 0

        async def on_msg(msg, gen=gen):
            if gen == self._generation:
                self._on_msg(msg)
                self._since_yield += 1
                if self._since_yield >= _YIELD_EVERY:  # a backlog must not starve the kernel's cells
                    self._since_yield = 0
                    await asyncio.sleep(0)

        self._sub = await self.nc.subscribe(inbox, cb=on_msg, pending_msgs_limit=-1, pending_bytes_limit=-1)
        try:
            info = await self.js.add_consumer(self.stream, config=self._config(inbox))
        except BaseException:
            await self._unsubscribe()
            raise
        self._consumer = info.name
        if self.mode == "new" and not self.last_seq and info.delivered is not None:
            self.last_seq = info.delivered.stream_seq or 0  # where "new" began: resume point
        self.last_activity = time.monotonic()
        if not info.num_pending and not info.delivered.consumer_seq:
            self.caught_up.set()
        return info.num_pending or 0

    def _on_msg(self, msg) -> None:
        """One delivery: a record (parse the ack subject) or a flow-control/heartbeat status."""
        self.last_activity = time.monotonic()
        reply = msg.reply
        if not reply or not reply.startswith("$JS.ACK."):
            self._on_status(msg)
            return
        t = reply.split(".")
        # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>[...]; v2 adds domain and hash
        sseq, cseq, tm, pending = (t[5], t[6], t[7], t[8]) if len(t) == 9 else (t[7], t[8], t[9], t[10])
        cseq = int(cseq)
        if cseq != self._cseq + 1:
            self.needs_reset.set()  # a gap: the owner recreates the consumer after last_seq
            return
        self._cseq = cseq
        self.last_seq = seq = int(sseq)
        self.records += 1
        pending = int(pending)
        self.on_record(msg.subject, msg.data, msg.headers, seq, int(tm), pending)
        if pending == 0 and not self.caught_up.is_set():
            self.caught_up.set()

    def _on_status(self, msg) -> None:
        """Answer flow control and stalled heartbeats; a heartbeat that shows a gap asks for a reset."""
        headers = msg.headers or {}
        if msg.reply:  # flow control request
            asyncio.ensure_future(self._publish(msg.reply))
            return
        stalled = headers.get("Nats-Consumer-Stalled")
        if stalled:
            asyncio.ensure_future(self._publish(stalled))
        last = headers.get("Nats-Last-Consumer")
        if last is not None and int(last) != self._cseq:
            self.needs_reset.set()

    async def _publish(self, subject: str) -> None:
        try:
            await self.nc.publish(subject, b"")
        except Exception:
            self.needs_reset.set()

    @property
    def silent(self) -> bool:
        """No message and no heartbeat for three heartbeats: the consumer is probably gone."""
        return time.monotonic() - self.last_activity > 3 * self.heartbeat

    async def reset(self) -> None:
        """Drop the current consumer and create a new one that starts after ``last_seq``."""
        self.needs_reset.clear()
        self.resets += 1
        await self.stop()
        await self.start()

    async def _unsubscribe(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception:  # closed or reconnecting connection: nothing left to undo
                pass

    async def stop(self) -> None:
        """Unsubscribe and delete the consumer (best effort: after a restart it is gone anyway)."""
        self._generation += 1
        await self._unsubscribe()
        name, self._consumer = self._consumer, None
        if name and self.nc.is_connected:
            try:
                await asyncio.wait_for(self.js.delete_consumer(self.stream, name), timeout=2)
            except Exception:
                pass


def _format_ns(ns: int | None) -> str:
    """Nanoseconds since the epoch as ``HH:MM:SS.mmm`` UTC (the table's updated column)."""
    if not ns:
        return ""
    secs, rest = divmod(ns, 1_000_000_000)
    return time.strftime("%H:%M:%S", time.gmtime(secs)) + f".{rest // 1_000_000:03d}"


def frame_times(ns_values: list[int]):
    """A column of UTC timestamps from nanoseconds (vectorised, no per-row datetime objects)."""
    import pandas as pd

    return pd.to_datetime(pd.array(ns_values, dtype="Int64"), unit="ns", utc=True)


class KVWatch:
    """A live watch of a bucket: ``.widget`` (the table), ``.df``, ``.events``, ``.stop()``.

    Modes as ``nats kv watch``: current values then updates (default), ``history``
    (every kept revision), ``updates`` (only new changes), or from ``revision``.
    """

    def __init__(
        self,
        bucket: str,
        pattern: str = ">",
        *,
        mode: str = "last",
        revision: int | None = None,
        deletes: bool = True,
        decode: str = "auto",
        events_cap: int | None = None,
    ):
        self.bucket, self.pattern, self.deletes, self.decode = bucket, pattern, deletes, decode
        self.stream, self._pre = f"KV_{bucket}", f"$KV.{bucket}."
        self.mode = "start" if revision is not None else mode
        self.revision = revision
        self._events: collections.deque = collections.deque(maxlen=events_cap or settings().events_cap)
        self.table = LiveTable(
            ["key", "value", "revision", "operation", "time"],
            key="key",
            title=f"KV {bucket}" + (f" {pattern}" if pattern != ">" else ""),
            on_stop=self.stop,
            formatters={"value": self._shown_value, "time": _format_ns},
        )
        self.reader: OrderedReader | None = None
        self.entry = None
        self._unlisten: Callable[[], None] | None = None

    # ---- the stream of records -> table and events -----------------------------------
    def _on_record(self, subject: str, data: bytes, headers, revision: int, tm: int, pending: int) -> None:
        key = subject[len(self._pre):]
        op = operation(headers) if headers else "PUT"
        self._events.append((revision, key, op, data, tm))
        if op == "PUT":
            self.table.upsert((key, data, revision, op, tm))
        elif self.deletes:
            self.table.upsert((key, None, revision, op, tm), muted=True)
        else:
            self.table.remove(key)

    def _shown_value(self, data: Any) -> Any:
        """Decode a value only when it is rendered (a storm overwrites most values unseen)."""
        try:
            return decode_value(data, self.decode) if isinstance(data, (bytes, bytearray)) else data
        except Exception:
            return data

    # ---- lifecycle ---------------------------------------------------------------------
    async def start(self, ctx) -> "KVWatch":
        """Create the consumer (errors surface in the cell), then run in the background."""
        js = await ctx.jetstream()
        self.reader = OrderedReader(
            ctx.nc, js, self.stream, self._pre + self.pattern, self._on_record,
            mode=self.mode, start_seq=self.revision,
        )
        await self.reader.start()
        self._unlisten = ctx.on_state(self._on_state)
        self.entry = ctx.spawn(self._run(), name=f"kv watch {self.bucket}", kind="kv-watch", describe=self.describe)
        self.task = self.entry.task
        return self

    def _on_state(self, state: str) -> None:
        """Connection state → widget status; a reconnect recreates the consumer."""
        if state in ("reconnecting", "disconnected"):
            self.table.set_status(RECONNECTING)
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
                    self.table.set_status(RECONNECTING)
                    await asyncio.sleep(backoff)
                    continue
                try:
                    await reader.reset()
                except asyncio.CancelledError:
                    raise
                except nats.js.errors.NotFoundError:  # the bucket was deleted: nothing to resume
                    self.table.finish(note="bucket deleted")
                    return
                except Exception as e:  # JetStream not back yet after a restart: retry
                    self.table.set_status(RECONNECTING, type(e).__name__)
                    reader.needs_reset.set()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.25
                self.table.set_status(LIVE, "")
        finally:
            await self._cleanup()

    async def _cleanup(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self.reader is not None:
            await self.reader.stop()
        self.table.finish()

    def stop(self) -> None:
        """Stop the watch: the table shows its final state now; the consumer is deleted right after."""
        self.table.finish()
        task = getattr(self, "task", None)
        if task is not None and not task.done():
            task.cancel()

    @property
    def running(self) -> bool:
        task = getattr(self, "task", None)
        return task is not None and not task.done()

    # ---- what the user reads -------------------------------------------------------------
    @property
    def df(self):
        """The current state: key, value (decoded), revision, operation, time."""
        import pandas as pd

        rows = self.table.rows()
        return pd.DataFrame(
            {
                "key": [r[0] for r in rows],
                "value": [self._shown_value(r[1]) for r in rows],
                "revision": pd.array([r[2] for r in rows], dtype="int64"),
                "operation": [r[3] for r in rows],
                "time": frame_times([r[4] for r in rows]),
            }
        )

    @property
    def events(self):
        """Every event seen (the newest ``JSMagic.events_cap``): revision, key, operation, value, time."""
        import pandas as pd

        ev = list(self._events)
        return pd.DataFrame(
            {
                "revision": pd.array([e[0] for e in ev], dtype="int64"),
                "key": [e[1] for e in ev],
                "operation": [e[2] for e in ev],
                "value": [self._shown_value(e[3]) if e[2] == "PUT" else None for e in ev],
                "time": frame_times([e[4] for e in ev]),
            }
        )

    def describe(self) -> str:
        """The one line ``%js_status`` shows."""
        return f"{self.bucket} {self.pattern}: {len(self.table):,} keys, {self.table.events:,} events, {self.table.status}"

    def __repr__(self) -> str:
        return f"<KVWatch {self.describe()}>"


async def unwatch(ctx, bucket: str | None = None) -> int:
    """Stop every KV watch (of ``bucket``); returns how many were stopped."""
    entries = [
        e for e in list(ctx.background.values())
        if e.kind == "kv-watch" and (bucket is None or e.name.startswith(f"kv watch {bucket}#"))
    ]
    for entry in entries:
        entry.task.cancel()
    await asyncio.gather(*(e.task for e in entries), return_exceptions=True)
    return len(entries)
