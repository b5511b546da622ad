"""An ordered push consumer that reads a stream in order, cheaply, and resumes after gaps and restarts.

nats-py's ``kv.watch`` decodes every message's metadata the slow way and cannot resume
after the server restarts.  :class:`OrderedReader` is a small ordered push consumer (ack
none, flow control, heartbeats, memory storage): each message's sequence, time and
pending count come from its ack subject (:func:`jsmagic.reading.acks.parse_ack`), not from ``msg.metadata``.  A
gap in the consumer sequence, a silent consumer (no heartbeat) or a reconnect recreates
the consumer from the last seen sequence + 1: nothing missed, nothing twice.

The KV watch (:mod:`jsmagic.admin.kvwatch`) and the KV reads (view, keys, history in
:mod:`jsmagic.admin.kv`) both read through it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from ..reading.acks import parse_ack
from ..reading.session import ConsumerSession, delete
from ..reading.status import server_status

log = logging.getLogger("jsmagic.admin.ordered")

_YIELD_EVERY = 256  # messages handled between yields to the loop (nats-py drains its queue without yielding)
MODES = {"last": DeliverPolicy.LAST_PER_SUBJECT, "all": DeliverPolicy.ALL, "new": DeliverPolicy.NEW}

# (subject, data, headers, sequence, time_ns, pending)
OnRecord = Callable[[str, bytes, "dict | None", int, int, int], None]


class OrderedReader:
    """An ordered push consumer on ``stream`` that calls ``on_record`` for every message, in order.

    ``ctx`` is a connected :class:`jsmagic.core.context.JSContext`: the reader uses its
    connection, and the flow-control answers it sends are tasks the context owns.
    ``mode``: ``last`` (last per subject, then new), ``all``, ``new``, or ``start`` with
    ``start_seq``.  Call :meth:`start`, then :meth:`reset` whenever the consumer may be
    lost; :attr:`needs_reset` tells the owner a gap or silence was seen.
    """

    def __init__(
        self,
        ctx: Any,
        stream: str,
        filter_subject: str,
        on_record: OnRecord,
        *,
        mode: str = "last",
        start_seq: int | None = None,
        headers_only: bool = False,
        heartbeat: float = 2.0,
    ):
        self.ctx, self.nc, self.js = ctx, ctx.nc, ctx.js
        self.stream, self.filter, self.on_record = stream, filter_subject, on_record
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
        session = ConsumerSession(self.ctx, self.stream, self._config(inbox), timeout=self.ctx.api.timeout,
                                  prefix="jsmagic-ordered_")
        try:
            await session.open()
        except BaseException:  # the subscription goes with the failed create, then the error
            await self._unsubscribe()
            raise
        info = session.consumer_info()
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
        if server_status(msg.reply, msg.headers) is not None:
            self._on_status(msg)
            return
        ack = parse_ack(msg.reply)
        if ack.consumer_seq != self._cseq + 1:
            self.needs_reset.set()  # a gap: the owner recreates the consumer after last_seq
            return
        self._cseq = ack.consumer_seq
        self.last_seq = ack.stream_seq
        self.records += 1
        pending = ack.pending
        self.on_record(msg.subject, msg.data, msg.headers, ack.stream_seq, ack.timestamp_ns, pending)
        if pending == 0 and not self.caught_up.is_set():
            self.caught_up.set()

    def _on_status(self, msg) -> None:
        """Answer flow control and stalled heartbeats; a heartbeat that shows a gap asks for a reset."""
        headers = msg.headers or {}
        if msg.reply:  # flow control request
            self.ctx.own(self._publish(msg.reply), name="flow control")
            return
        stalled = headers.get("Nats-Consumer-Stalled")
        if stalled:
            self.ctx.own(self._publish(stalled), name="flow control")
        last = headers.get("Nats-Last-Consumer")
        if last is not None and int(last) != self._cseq:
            self.needs_reset.set()

    async def _publish(self, subject: str) -> None:
        try:
            await self.nc.publish(subject, b"")
        except (nats.errors.Error, OSError) as e:  # the flow-control answer was lost: start over after last_seq
            log.debug("flow control answer to %s failed: %r", subject, e)
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
            except (nats.errors.Error, asyncio.TimeoutError) as e:  # closed or reconnecting: nothing left to undo
                log.debug("unsubscribe failed: %r", e)

    async def stop(self) -> None:
        """Unsubscribe and delete the consumer (best effort: after a restart it is gone anyway)."""
        self._generation += 1
        await self._unsubscribe()
        name, self._consumer = self._consumer, None
        if name and self.nc.is_connected:  # owned by the context: a slow server finishes it in the background
            task = self.ctx.own(delete(self.ctx, self.stream, name), name=f"delete consumer {self.stream}/{name}")
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=2)
            except asyncio.TimeoutError:
                log.debug("delete of consumer %s/%s goes on in the background", self.stream, name)
