"""Pull a consumer by hand: ``CONSUMER.MSG.NEXT`` requests answered on ONE core inbox.

nats-py's ``fetch()`` + ``msg.metadata`` + a list of dicts reads 15–19k msg/s; this reads
several times that:

* the pull requests are published to ``ctx.api.msg_next(stream, consumer)`` (prefix-aware:
  a JetStream domain or an imported API prefix changes that subject too), two batches in
  flight, all answered on one inbox subscription;
* a message costs four list appends in the subscription callback, and the reading loop
  is woken every half batch, not per message;
* the stream sequence, delivery count and timestamp come from the ack subject, parsed
  for a whole chunk with one ``np.fromstring`` (``msg.metadata`` costs 10x more) by
  :class:`jsmagic.reading.acks.AckFormat` (v1 and v2 subjects);
* a frame is a status only when the server sent it (:func:`jsmagic.reading.status.server_status`):
  a stored message with its own ``Status`` header is a row;
* a durable read hands each flushed chunk to its ledger (:mod:`jsmagic.reading.durable`);
  an ``--ack``/``--term`` read flushes and acks at every wake-up (and after
  ``WINDOW_QUIET`` of silence), so the durable's ``max_ack_pending`` never holds it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

import nats.errors
import numpy as np
import orjson

from ..core.errors import JSMagicError
from ..core.runner import check_cancelled
from ..jsapi import JSApi
from .acks import AckFormat, AckSubjectError
from .frames import Collector, make_chunk
from .selection import ProgressFn
from .status import server_status

log = logging.getLogger("jsmagic.reading.pull")

LIVE_CHECK = 3.0  # seconds of silence after which a live tail checks its connection and consumer
WINDOW_QUIET = 0.05  # seconds of silence after which a consuming durable read acks what arrived (max_ack_pending)
_CONSUMER_GONE = frozenset(("Server Shutdown", "Leadership Change", "Consumer Deleted"))  # 409s that end a pull


class Puller:
    """Manual pull requests on ONE core inbox subscription; messages gathered as column lists."""

    def __init__(self, api: JSApi, stream: str, consumer: str, batch: int, wait: bool, expires: float,
                 durable: bool = False, headers_only: bool = False, live: bool = False) -> None:
        nc = api.nc
        self.nc, self.batch, self.wait, self.expires = nc, batch, wait, expires
        self.api = api.msg_next(stream, consumer)
        self.durable, self.headers_only, self.live = durable, headers_only, live
        self.inbox = nc.new_inbox()
        self.sub = None
        self.subjects: list[str] = []
        self.replies: list[str] = []
        self.datas: list[bytes] = []
        self.headers: list[Any] = []
        self.requested = self.received = self.expired = 0
        self.empty = False
        self.error: str | None = None
        self.wake = asyncio.Event()
        self._acks: AckFormat | None = None
        self.want: int | None = None
        self.last_seq: int | None = None  # stream sequence of the last message flushed
        self.lost = False  # a pull request found no consumer to answer it
        self.short = False  # "no messages" came while the consumer still owed some (a leader change)
        self._reconnects = nc.stats.get("reconnects", 0)
        self._half = max(1, batch // 2)
        self._names: dict[str, str] = {}
        self.ledger: Any = None  # durable: sorts (and, --ack/--term, acks) each flushed batch (jsmagic.reading.durable)
        self.alive: Callable[[], Awaitable[bool]] | None = None  # live: is our consumer still there?

    async def start(self) -> None:
        limit = max(4 * self.batch, 65_536)
        self.sub = await self.nc.subscribe(
            self.inbox, cb=self._on_msg, pending_msgs_limit=limit, pending_bytes_limit=limit * 64 * 1024
        )

    async def stop(self) -> None:
        if self.sub is not None:
            try:
                await asyncio.shield(self.sub.unsubscribe())
            except (nats.errors.Error, asyncio.TimeoutError) as e:  # closed or reconnecting: the inbox goes with it
                log.debug("unsubscribe of %s failed: %r", self.inbox, e)
            self.sub = None

    async def _gone(self) -> bool:
        """Live: the connection was cut since we started (our pull requests died with it) or the consumer is gone."""
        if self.cut_off() or self.lost:
            return True
        return self.alive is not None and not await self.alive()

    def cut_off(self) -> bool:
        """Whether the connection dropped (or is down) since this puller started."""
        return self.nc.stats.get("reconnects", 0) != self._reconnects or not self.nc.is_connected

    async def _on_msg(self, msg) -> None:
        reply = msg.reply
        st = server_status(reply, msg.headers)
        if st is None:
            self.subjects.append(msg.subject)
            self.replies.append(reply)
            self.datas.append(msg.data)
            self.headers.append(msg.headers)
            self.received += 1
            if self.wait or self.received == self.want or self.received % self._half == 0 or self._drained(reply):
                self.wake.set()  # not per message: each wake-up of the reading loop costs
            return
        status, desc = st.code, st.description
        if status == "100":
            return
        if status == "503" or (status == "409" and desc in _CONSUMER_GONE):
            self.lost = True  # no responders / shut down / moved: the consumer's server is gone (killed or restarted)
        elif status == "404":
            self.empty = True
        elif status == "408":
            self.expired += int(st.headers.get("Nats-Pending-Messages", 0) or 0)
        else:
            self.error = f"pull request failed: {status} {desc}".strip()
        self.wake.set()

    async def _request(self, n: int) -> None:
        body = {"batch": n, "expires": int(self.expires * 1e9)} if self.wait else {"batch": n, "no_wait": True}
        self.requested += n
        await self.nc.publish(self.api, orjson.dumps(body), reply=self.inbox)

    async def drain(self, collector: Collector, want: int | None, idle: float | None, progress: ProgressFn | None) -> bool:
        """Pull until ``want`` messages, a bound, the end of the stream, or ``idle`` s of silence.

        Returns True when it stopped on the idle timeout while still expecting messages.
        """
        seen, self.want = 0, want
        while True:
            while self.requested - self.received - self.expired < 2 * self.batch and not self.empty:
                if want is not None and self.requested >= want:
                    break
                await self._request(self.batch if want is None else min(self.batch, want - self.requested))
            if self.received == seen:
                quiet = WINDOW_QUIET if self.datas and self._windowed() else None
                try:
                    async with asyncio.timeout(quiet or (idle if idle is not None or not self.live else LIVE_CHECK)):
                        await self.wake.wait()
                except TimeoutError:
                    if quiet:  # the durable may wait for our acks (max_ack_pending): send them
                        if await self._window(collector):
                            return False
                        continue
                    if idle is None and self.live:  # a quiet tail: is it still connected to its consumer?
                        if await self._gone():
                            self.flush(collector)
                            return True  # the caller resumes from the last kept sequence
                        continue
                    self.flush(collector)
                    return want is not None and not self.wait
            check_cancelled()
            self.wake.clear()
            seen = self.received
            if self.error:
                raise JSMagicError(self.error)
            if self.lost and (not self.wait or self.live):
                self.flush(collector)
                return True
            if self.empty and not self.wait and not self.durable and want is not None and self.received < want:
                # the consumer said "no messages" with messages still pending for it: during a stream
                # leader change it can. Ending here would return a short frame as if complete.
                if self.flush(collector):
                    return False  # a bound (--end-seq, --until, -n) was reached: complete
                self.short = True
                return True
            finished = (want is not None and self.received >= want) or (self.empty and not self.wait)
            if self.empty and self.wait:
                self.empty = False
            if len(self.datas) >= 10 * self.batch or finished or self.live:
                if self.flush(collector) or finished:
                    return False
            if self.datas and self._windowed() and await self._window(collector):
                return False
            if progress is not None:
                progress(collector.kept + len(self.datas), want)

    def _windowed(self) -> bool:
        """A consuming durable read (--ack/--term): acks as it reads, so max_ack_pending does not hold it."""
        return self.ledger is not None and self.ledger.consuming

    async def _window(self, collector: Collector) -> bool:
        """Flush what arrived and ack it; True when the read should end (a bound, or an undecodable payload)."""
        done = self.flush(collector)
        await self.ledger.settle()
        return done or self.ledger.stopped is not None

    def flush(self, collector: Collector) -> bool:
        """Turn the gathered lists into a chunk (ack subjects parsed in one go); True once a bound is crossed."""
        if not self.datas:
            return collector.done
        subjects, replies, datas, headers = self.subjects, self.replies, self.datas, self.headers
        self.subjects, self.replies, self.datas, self.headers = [], [], [], []
        names = self._names  # one str object per distinct subject: saves ~60 bytes a row
        if len(names) > 100_000:
            names.clear()
        subjects = [names.setdefault(x, x) for x in subjects]
        nums = self._parse_acks(replies)
        delivered, sseq, cseq, ts, pending = nums.T
        self.last_seq = int(sseq[-1])
        extra = {}
        if self.durable:
            extra = {"consumer_seq": cseq, "num_delivered": delivered, "pending": pending, "reply": replies}
        chunk = make_chunk(sseq, ts, subjects, headers, datas, extra, self.headers_only)
        done = collector.add(chunk)
        if self.ledger is not None:
            self.ledger.sort(replies, delivered, collector)
        return done

    async def settle(self, quiet: float = 0.3, limit: float = 5.0) -> list[str]:
        """Durable, after a bound was crossed: wait out deliveries still in flight; their replies (not kept)."""
        deadline = asyncio.get_running_loop().time() + limit
        seen = -1
        while self.received != seen and asyncio.get_running_loop().time() < deadline:
            seen = self.received
            await asyncio.sleep(quiet)
        late, self.subjects, self.replies, self.datas, self.headers = self.replies, [], [], [], []
        return late

    def _drained(self, reply: str) -> bool:
        """The message had pending 0 (an unknown ack subject form wakes the loop to fail the read)."""
        try:
            return (self._acks or self._learn(reply)).drained(reply)
        except AckSubjectError as e:  # raised in the callback it would only reach nats-py's error callback
            self.error = str(e)
            return True

    def _learn(self, reply: str) -> AckFormat:
        self._acks = AckFormat(reply)  # the consumer's ack subject form, from its first message
        return self._acks

    def _parse_acks(self, replies: list[str]) -> np.ndarray:
        """Ack subjects → int64 rows of ``delivered, sseq, cseq, ts, pending``."""
        return (self._acks or self._learn(replies[0])).numbers_of(replies)
