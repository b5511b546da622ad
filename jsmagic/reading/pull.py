"""Pull a consumer by hand: ``CONSUMER.MSG.NEXT`` requests answered on ONE core inbox.

:class:`Puller` is the nats-py transport of the one drain loop (:mod:`jsmagic.reading.drain`,
which decides what is owed, when a read ends and when it resumes): for websocket URLs,
durables, live tails, scans and single pulls.  nats-py's ``fetch()`` + ``msg.metadata`` + a list of dicts reads 15–19k msg/s; this reads
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
* a scan (:mod:`jsmagic.admin.scan`) takes the lists raw: a :class:`Feed` collector hands each
  flushed :class:`Batch` (subjects, payloads, headers, sequences, times) to a callback, so an
  object get writes its chunks as they come and holds no more than a few batches;
* a single pull (:func:`pull_once`: ``%js_consumer next``, a priority-group pull) is one request
  whose body may carry ``group``/``id``/``min_pending`` (:attr:`Puller.body`), ended by the
  first status the server sends (:attr:`Puller.status` says which);
* a durable read's chunks carry the reply subjects and delivery counts its ledger
  (:mod:`jsmagic.reading.durable`) settles them with.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any, Awaitable, Callable, NamedTuple

import nats.errors
import numpy as np
import orjson

from ..jsapi import JSApi
from .acks import AckFormat, AckSubjectError
from .drain import DONE, SHORT, Drain, drain
from .frames import Bounds, Collector, make_chunk
from .selection import ProgressFn
from .status import Status, server_status

log = logging.getLogger("jsmagic.reading.pull")

_CONSUMER_GONE = frozenset(("Server Shutdown", "Leadership Change", "Consumer Deleted"))  # 409s that end a pull


class Batch(NamedTuple):
    """What a :class:`Feed` gets per flush: parallel lists, the numbers from the ack subjects."""

    subjects: list[str]
    replies: list[str]
    datas: list[bytes]
    headers: list[Any]
    seq: np.ndarray  # stream sequences (int64)
    time_ns: np.ndarray  # stored times, ns since the epoch (int64)
    delivered: np.ndarray
    pending: np.ndarray

    def select(self, idx: np.ndarray) -> "Batch":
        """The messages at ``idx`` (what a resumed read keeps after the last sequence it kept)."""
        pick = idx.tolist()
        return Batch([self.subjects[i] for i in pick], [self.replies[i] for i in pick], [self.datas[i] for i in pick],
                     [self.headers[i] for i in pick], self.seq[idx], self.time_ns[idx], self.delivered[idx],
                     self.pending[idx])


class Feed:
    """A collector for raw readers: each flushed :class:`Batch` goes to ``handle`` (nothing kept here)."""

    def __init__(self, handle: Callable[[Batch], None]) -> None:
        self.handle, self.done, self.kept = handle, False, 0
        self.newest = 0  # the highest sequence handed over (a "last" scan must reach the stream leader's newest)
        self.bounds = Bounds()  # no bound of its own: a raw read ends when its consumer owes nothing

    def add(self, batch: Batch) -> bool:
        self.handle(batch)
        self.kept += len(batch.datas)
        if len(batch.seq):
            self.newest = max(self.newest, int(batch.seq.max()))
        return self.done


@dataclasses.dataclass
class Delivered:
    """One message a single pull handed out (what a nats-py ``Msg`` says of it), with its ``ack()``."""

    nc: Any
    subject: str
    reply: str
    data: bytes
    headers: dict | None

    async def ack(self) -> None:
        await self.nc.publish(self.reply, b"+ACK")


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
        self.body: dict[str, Any] = {}  # more fields of every pull request (a priority group's group/id/min_pending)
        self.once = False  # one pull request: the first status the server sends ends the read
        self.status: Status | None = None  # the last status the server sent (why a single pull ended)
        self.flush_at = 10 * batch  # messages gathered before a flush (a Feed of big payloads flushes sooner)
        self._names: dict[str, str] = {}
        self.ledger: Any = None  # durable: sorts (and, --ack/--term, acks) each flushed batch (jsmagic.reading.durable)
        self.alive: Callable[[], Awaitable[bool]] | None = None  # is our consumer still there?
        self.raw = False  # take() gives Batch lists (a Feed), not chunks
        self._seen = 0  # messages received as of the last fetch

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
        self.status = st
        if status == "503" or (status == "409" and desc in _CONSUMER_GONE):
            self.lost = True  # no responders / shut down / moved: the consumer's server is gone (killed or restarted)
        elif status == "404":
            self.empty = True
        elif status == "408":
            self.expired += int(st.headers.get("Nats-Pending-Messages", 0) or 0)
        elif not self.once:  # a single pull hands its status (423 pinned elsewhere, 409 …) to the caller
            self.error = f"pull request failed: {status} {desc}".strip()
        self.wake.set()

    async def _request(self, n: int) -> None:
        body = {"batch": n, "expires": int(self.expires * 1e9)} if self.wait else {"batch": n, "no_wait": True}
        body.update(self.body)
        self.requested += n
        await self.nc.publish(self.api, orjson.dumps(body), reply=self.inbox)

    # ---- the drain loop's transport (jsmagic.reading.drain) --------------------------------

    async def drain(self, collector: Collector | Feed, want: int | None, idle: float | None,
                    progress: ProgressFn | None) -> bool:
        """Pull until ``want`` messages, the end of the stream, or ``idle`` s of silence (a single pull).

        The one drain loop (:func:`jsmagic.reading.drain.drain`) runs it; True when it stopped
        on the idle timeout while still expecting messages, or short (:attr:`lost`, :attr:`short`).
        """
        self.want, self.raw = want, isinstance(collector, Feed)
        d = Drain(want, idle, waiting=self.wait, live=self.live, durable=self.durable, once=self.once,
                  ledger=self.ledger)
        outcome = await drain(self, collector, d, progress)
        self.short = outcome == SHORT
        return outcome != DONE

    async def refill(self) -> None:
        """Keep two batches of requests in flight (up to ``want``)."""
        while self.requested - self.received - self.expired < 2 * self.batch and not self.empty:
            if self.want is not None and self.requested >= self.want:
                break
            await self._request(self.batch if self.want is None else min(self.batch, self.want - self.requested))

    async def fetch(self, timeout: float | None) -> bool:
        """Wait for the callback's wake-up (every half batch, a status, the last message); False on timeout."""
        if self.received == self._seen:
            try:
                async with asyncio.timeout(timeout):
                    await self.wake.wait()
            except TimeoutError:
                return False
        self.wake.clear()
        self._seen = self.received
        return True

    def gathered(self) -> int:
        return len(self.datas)

    async def gone(self) -> bool:
        """The connection was cut since we started (our pull requests died with it) or the consumer is gone."""
        if self.cut_off() or self.lost:
            return True
        return self.alive is not None and not await self.alive()

    def take(self, final: bool = False) -> list:
        """The gathered lists as one chunk (ack subjects parsed in one go), or a :class:`Batch` for a :class:`Feed`."""
        if not self.datas:
            return []
        subjects, replies, datas, headers = self.subjects, self.replies, self.datas, self.headers
        self.subjects, self.replies, self.datas, self.headers = [], [], [], []
        names = self._names  # one str object per distinct subject: saves ~60 bytes a row
        if len(names) > 100_000:
            names.clear()
        subjects = [names.setdefault(x, x) for x in subjects]
        nums = self._parse_acks(replies)
        delivered, sseq, cseq, ts, pending = nums.T
        self.last_seq = int(sseq[-1])
        if self.raw:
            return [Batch(subjects, replies, datas, headers, sseq, ts, delivered, pending)]
        extra = {}
        if self.durable:
            extra = {"consumer_seq": cseq, "num_delivered": delivered, "pending": pending, "reply": replies}
        return [make_chunk(sseq, ts, subjects, headers, datas, extra, self.headers_only)]

    def flush(self, collector: Collector | Feed) -> bool:
        """Hand what was gathered to ``collector`` now (what arrived before an interrupt); True once a bound is crossed."""
        self.raw = isinstance(collector, Feed)
        for part in self.take():
            collector.add(part)
        return collector.done

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


async def pull_once(api: JSApi, stream: str, consumer: str, n: int, expires: float, body: dict[str, Any] | None = None,
                    *, no_wait: bool = False,
                    into: list[Delivered] | None = None) -> tuple[list[Delivered], Status | None]:
    """One pull request for up to ``n`` messages, waiting up to ``expires`` s; what came and the status that ended it.

    ``body``: more fields of the request (a priority group's ``group``, ``id``, ``min_pending``);
    ``no_wait``: only what is there now; ``into``: the caller's list, which holds what arrived
    also when an interrupt ends the pull (the messages are appended to it and it is returned).
    """
    got = [] if into is None else into

    def keep(b: Batch) -> None:
        got.extend(Delivered(api.nc, *m) for m in zip(b.subjects, b.replies, b.datas, b.headers))

    puller = Puller(api, stream, consumer, n, wait=not no_wait, expires=expires)
    puller.body, puller.once = dict(body or {}), True
    feed = Feed(keep)
    await puller.start()
    try:
        await puller.drain(feed, n, expires + 1, None)
    finally:
        try:
            if puller.datas:  # also on an interrupt: what arrived is the caller's
                puller.flush(feed)
        finally:
            await puller.stop()
    return got, puller.status
