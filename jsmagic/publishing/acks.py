"""Collecting PubAcks on one reply inbox, with a bounded window of messages in flight.

Message *k* of a publish carries the reply subject ``<inbox>.<k>``: its ack says which
message it answers without any per-message future or callback object.  The
:class:`AckWindow` records each ack (parsed with orjson) into the
:class:`~jsmagic.publishing.result.PublishResult`, lets the send loop wait until few enough
are outstanding, and turns silence into a reason: a timeout, or the server's
asynchronous "permission denied" for a subject this user may not publish to.

A server restart under a publish is waited out (within the publish's timeout): silence
while the connection is down does not count, and once it is back, the messages whose acks
the cut swallowed are marked :data:`~.result.UNKNOWN` (stored or not: no ack will say),
never "failed", and the publish goes on.  Messages with a Nats-Msg-Id go out again
instead (:meth:`AckWindow.resend_lost`): the server stores each id once.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

import orjson

from ..connecting.permissions import refusals
from .result import UNKNOWN, PublishResult
from ..core.units import plural

log = logging.getLogger(__name__)
RECONNECT_GRACE = 1.0  # seconds of silence after a reconnect before the acks the cut swallowed count as lost


class AckWindow:
    """The ack side of one publish call, sharing counters with its send loop without locks."""

    def __init__(self, nc: Any, result: PublishResult, window: int, timeout: float):
        self.nc, self.result, self.window, self.timeout = nc, result, window, timeout
        self.prefix = nc.new_inbox() + "."
        self.plen = len(self.prefix)
        self.inflight = 0
        self.room = asyncio.Event()
        self.wake_at = window // 2
        self.streams: dict[str, str] = {}
        self.started = time.monotonic()
        self.refusals = refusals(nc)
        self.reconnects = self._reconnects()
        self.lost: list[int] = []  # positions whose ack a lost connection swallowed (unknown: stored or not)
        self.recent: collections.deque | None = None  # messages with ids: what goes out again after a cut

    def _reconnects(self) -> int:
        return int((getattr(self.nc, "stats", None) or {}).get("reconnects", 0))

    async def connected(self) -> bool:
        """Wait (within the timeout) until the connection is up again; False if it stays down."""
        deadline = time.monotonic() + self.timeout
        while not self.nc.is_connected:
            if time.monotonic() >= deadline or self.nc.is_closed:
                return False
            await asyncio.sleep(0.05)
        return True

    async def on_ack(self, msg: Any) -> None:
        """Record one PubAck (or the server's refusal) against the message it answers."""
        res = self.result
        try:
            k = int(msg.subject[self.plen:])
        except ValueError:
            return
        if k >= res.sent or res.answered[k]:
            return
        res.answered[k] = 1
        self.inflight -= 1
        data = msg.data
        if not data:
            status = (msg.headers or {}).get("Status", "")
            res.errors[k] = "no responders: no stream captures this subject" if status == "503" else f"server status {status or '?'}"
        else:
            self._record(k, data)
        if self.inflight <= self.wake_at:
            self.room.set()

    def _record(self, k: int, data: bytes) -> None:
        """Store message ``k``'s ack: stream, seq and duplicate flag, or the error the server gave."""
        res = self.result
        try:
            ack = orjson.loads(data)
            if "error" in ack:
                e = ack["error"]
                res.errors[k] = f"{e.get('description', 'error')} (error {e.get('err_code', e.get('code', '?'))})"
            else:
                stream = ack["stream"]
                res.streams[k] = self.streams.setdefault(stream, stream)  # one string object per stream
                res.seqs[k] = ack["seq"]
                if ack.get("duplicate"):
                    res.duplicate[k] = 1
        except (orjson.JSONDecodeError, KeyError, TypeError):
            res.errors[k] = f"unreadable ack {bytes(data[:60])!r}"

    async def wait_until(self, limit: int) -> bool:
        """Wait until at most ``limit`` acks are outstanding; False if none came for ``timeout`` s."""
        self.wake_at = limit
        last, since, down = self.inflight, time.monotonic(), None
        while self.inflight > limit:
            self.room.clear()
            try:
                await asyncio.wait_for(self.room.wait(), timeout=0.25)
            except asyncio.TimeoutError:
                pass
            now = time.monotonic()
            if not self.nc.is_connected:  # the server is away (a restart): wait for it, within the timeout
                down = down or now
                if now - down >= self.timeout or self.nc.is_closed:
                    return False
                since = now
                continue
            down = None
            if self.inflight != last:
                last, since = self.inflight, now
            elif self._reconnects() != self.reconnects and now - since >= min(RECONNECT_GRACE, self.timeout):
                self.reconnects = self._reconnects()  # back, and quiet: what is still unanswered was lost in the cut
                self.mark_unanswered(UNKNOWN, lost=True)
                await self.resend_lost()
                last, since = self.inflight, now
            elif now - since >= self.timeout:
                return False
            elif now - since >= 0.25 and self._refused():
                return True  # the server refused: no ack will come, say why at once
        return True

    async def settle(self) -> None:
        """Wait for every outstanding ack; give those that never came "no ack within N s"."""
        if not await self.wait_until(0):
            self.give_up()

    def give_up(self) -> None:
        """No ack came for ``timeout`` s (or the connection stayed down): every message still waiting says so."""
        if not self.nc.is_connected:
            self.mark_unanswered(UNKNOWN, lost=True)
            return
        self.mark_unanswered(f"no ack within {self.timeout:g}s")

    def _refused(self) -> bool:
        """Mark unanswered messages "permission denied" if the server refused a publish of ours.

        A refused publish gets no ack, only an asynchronous -ERR on the connection: without
        this, the user would wait out the timeout and read "no ack".
        """
        denied = self.refusals.subjects_since("publish", self.started)
        if not denied:
            return False
        shown = ", ".join(repr(s) for s in denied[:3]) + (" ..." if len(denied) > 3 else "")
        self.mark_unanswered(f"permission denied: this user may not publish to {shown}")
        return True

    def mark_unanswered(self, why: str, lost: bool = False) -> None:
        """Give every message still waiting for an ack the reason it has none (``lost``: the connection's fault)."""
        res = self.result
        for k in range(res.sent):
            if not res.answered[k]:
                res.answered[k] = 1
                res.errors[k] = why
                if lost:
                    self.lost.append(k)
        self.inflight = 0

    def keep(self, k: int, subject: str, payload: bytes, headers: dict | None) -> None:
        """Remember message ``k`` for a resend after a cut (only messages with a Nats-Msg-Id are kept)."""
        if self.recent is not None:
            self.recent.append((k, subject, payload, headers))

    async def resend_lost(self) -> None:
        """The messages a cut left unknown go out again when they carry a Nats-Msg-Id: the server stores each once."""
        if self.recent is None or not self.lost:
            return
        lost = set(self.lost)
        again = [m for m in self.recent if m[0] in lost]
        self.lost = sorted(lost - {m[0] for m in again})  # older than what is kept: they stay unknown
        res = self.result
        log.info("resending %s with ids after a reconnect", plural(len(again), "message"))
        for k, subject, payload, headers in again:
            res.answered[k] = 0
            res.errors.pop(k, None)
            self.inflight += 1
            await self.nc.publish(subject, payload, reply=self.prefix + str(k), headers=headers)

    async def grace(self) -> None:
        """After an interrupt, give acks already on their way a moment to arrive (so the result is exact)."""
        deadline = time.monotonic() + min(self.timeout, 2.0)
        while self.inflight > 0 and time.monotonic() < deadline:
            try:
                await asyncio.sleep(0.02)
            except asyncio.CancelledError:
                break
