"""The bulk replay reader: large pull requests on its own connection, frames parsed in bulk.

:func:`read_bulk` replays a bounded selection of a Limits stream like
:func:`jsmagic.reading.consumer.read_consumer` does, minus nats-py's object per message.
It is one of the two transports of the one drain/resume loop (:mod:`jsmagic.reading.drain`,
which owns what is owed, the bounds, when a read ends and the resumes): :class:`BulkSource`
holds the connection, :class:`BulkPull` pulls one consumer over it:

* an ephemeral consumer is created (and always deleted) through ``ctx.api`` on the main
  connection (:class:`jsmagic.reading.session.ConsumerSession`) and pulled on a connection
  of its own (:mod:`.protocol`);
* two pull requests are in flight, each for up to ``batch`` messages and ``max_bytes``
  bytes (``no_wait``): what the server may send ahead is bounded, so memory is too;
* everything received is parsed at once (:mod:`.parse`) into one
  :class:`~jsmagic.reading.frames.Chunk` per read: sequences and timestamps from the ack
  subjects with one ``np.fromstring``, payloads joined in one C-level pass;
* status messages end requests (``408``, ``409`` max bytes), say the consumer is gone
  (``409`` leadership change or deleted, ``503``) or that nothing is left (``404``);
  a server's PING is answered; ``-ERR`` fails the read with its text;
* a lost connection, a lost consumer, silence, or "no messages" while messages are still
  owed (a leader change) is a loss: the drain loop resumes with a new consumer;
* a server that cuts the connection while it keeps running (the same ``server_id`` answers
  again: a slow consumer, whose pending bytes passed the server's ``max_pending`` or whose
  writes missed ``write_deadline``) is asked for a quarter of the bytes per pull after each
  cut, down to what one ``max_payload`` message needs, and the notes say so;
* an interrupt keeps what arrived (the buffer is parsed one last time) and deletes the consumer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import numpy as np
import orjson

from ...core.config import settings
from ...core.context import JSContext
from ...core.errors import JSMagicError
from ...core.units import plural
from ..consumer import throwaway
from ..drain import Drain, read_consumers
from ..frames import Chunk, Collector
from ..selection import RESUME_WAIT, ProgressFn, Selection
from .parse import AckFormat, Frames, Names, headers_column, parse
from .protocol import Wire, WireError, open_wire

log = logging.getLogger("jsmagic.reading.wire.bulk")

BATCH = 200_000  # messages per pull request (max_bytes bounds it first for all but tiny messages)
MAX_BYTES = 8 << 20  # bytes per pull request; two in flight
SHRINK = 4  # after the server cut us as a slow consumer: max_bytes per pull divided by this


class BulkSource:
    """The bulk wire as the drain loop's source (:class:`jsmagic.reading.drain.Source`): one connection for every consumer.

    Silence while messages are owed is a loss here (``resume_on_idle``): the pull requests
    may have died with a leader change that no status reports.
    """

    resume_on_idle = True

    def __init__(self, ctx: JSContext, wire: Wire, step: int | None = None) -> None:
        self.ctx, self.wire, self.step = ctx, wire, step
        self.cuts = 0  # the server closed the bulk connection and was still the same server after it
        self.max_bytes = MAX_BYTES  # asked per pull (at least what one max_payload message needs)

    async def transport(self, sel: Selection, name: str, d: Drain) -> "BulkPull":
        return BulkPull(self, sel, name, d)

    async def release(self, t: "BulkPull") -> None:
        t.unsubscribe()

    async def recover(self, sel: Selection) -> None:
        """After a loss: a new connection if this one was closed (a quarter of the bytes per pull if it was a cut)."""
        if self.wire.rx.closed is None:
            return
        server = self.wire.info.get("server_id")
        self.wire.close()
        self.wire = await _reopen(self.ctx, sel)
        if server and self.wire.info.get("server_id") == server:  # not a restart: it cut us off
            self.cuts += 1
            self.max_bytes //= SHRINK  # BulkPull raises it to what one message needs

    def close(self, notes: list[str] | None) -> None:
        self.wire.close()
        if self.cuts and notes is not None:
            notes.append(f"the server cut the bulk connection {plural(self.cuts, 'time')} as a slow consumer (this client "
                         f"read slower than the server sent): resumed with smaller pulls, {_size(self.max_bytes)} each")


async def read_bulk(sel: Selection, info: Any, collector: Collector, progress: ProgressFn | None = None,
                    *, ctx: JSContext, wire: Wire | None = None, notes: list[str] | None = None,
                    step: int | None = None) -> bool:
    """Pull ``sel`` into ``collector`` over a bulk connection; True when it stopped still owed messages.

    ``wire``: an already open bulk connection (:func:`.protocol.open_wire`; closed here);
    ``notes`` hears how often the read resumed with a new consumer; ``step``: parse at most
    this many bytes of what arrived into one chunk (a sink's chunk: what it holds while
    converting one), the rest at once after it; None: everything that arrived, as one chunk.
    """
    wire = wire or await open_wire(ctx.options, ctx.nc.connected_url, sel.api_timeout)
    source = BulkSource(ctx, wire, step)
    return await read_consumers(sel, info, collector, progress, ctx=ctx, source=source,
                                open_consumer=throwaway(ctx, info, notes), notes=notes)


def _size(n: int) -> str:
    return f"{n / (1 << 20):.3g} MiB" if n >= 1 << 20 else f"{n / 1024:.0f} KiB"


async def _reopen(ctx: JSContext, sel: Selection) -> Wire:
    """A new bulk connection after the server went away (it may take seconds to come back)."""
    deadline = time.monotonic() + max(3 * sel.api_timeout, RESUME_WAIT)
    while True:
        try:
            return await open_wire(ctx.options, ctx.nc.connected_url, sel.api_timeout)
        except WireError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


class _Requests:
    """The pull requests in flight, and when to send the next.

    With ``max_bytes`` every request ends with exactly one status: "409 Batch Completed"
    (filled by count), "409 … MaxBytes" (its bytes ran out) or 408.  Which request a message
    went to is not ours to know: under load the server interleaved two requests, and
    attributing messages to the oldest first let the counts drift until a request still
    "owed" messages nobody would send, and the read stalled for its idle timeout (about 1
    read in 6 of 500k on a busy machine).  So with ``max_bytes`` only the statuses count:
    up to two requests are open, each asks for everything still wanted (the read ends at
    ``want``, so asking more costs nothing), or one (``depth=1``) when the consumer holds
    more than the read's range: two would each be sent all of it.  Without ``max_bytes``
    (``--last*``) a request ends silently when filled, and the counts are the only signal:
    the sum still owed is what was asked minus what arrived, whoever got it.
    """

    def __init__(self, wire: Wire, subject: str, inbox: str, batch: int, max_bytes: int, want: int,
                 depth: int = 2) -> None:
        self.wire, self.subject, self.inbox = wire, subject, inbox
        self.batch, self.max_bytes, self.want, self.depth = batch, max_bytes, want, depth
        self.open = 0  # requests sent whose end has not been seen (max_bytes) or counted (without)
        self.requested = self.got = 0

    def send(self) -> None:
        """Send requests until ``depth`` are open or nothing more is wanted."""
        while self.open < self.depth and self._more() > 0:
            n = min(self.batch, self._more())
            body = {"batch": n, "no_wait": True, **({"max_bytes": self.max_bytes} if self.max_bytes else {})}
            self.wire.publish(self.subject, orjson.dumps(body), reply=self.inbox)
            self.open += 1
            self.requested += n

    def _more(self) -> int:
        """Messages to ask for now: all still wanted (max_bytes), or those not yet asked (by count)."""
        return self.want - self.got if self.max_bytes else self.want - self.requested

    def delivered(self, k: int) -> None:
        self.got += k
        if not self.max_bytes:  # by count: requests fill in turn; the ones filled are done
            owed = self.requested - self.got
            self.open = min(self.open, -(-owed // self.batch) if owed > 0 else 0)

    def ended(self) -> None:
        """A request ended (408, 409 max bytes, batch completed): another may be sent."""
        self.open = max(0, self.open - 1)
        if not self.max_bytes:  # a 408 without max_bytes: ask again for all not yet received
            self.requested = self.got


class BulkPull:
    """One consumer pulled over the bulk wire: a :class:`jsmagic.reading.drain.Transport`.

    Each :meth:`fetch` parses what arrived (at most ``step`` bytes of it) into one chunk and
    reads the statuses in arrival order: "409 Batch Completed", "409 … MaxBytes" and 408 end
    a request (another is sent); 404 says nothing is left; other 409s and 503 say the
    consumer is gone; a PING is answered; ``-ERR`` or any other status fails the read.
    """

    flush_at = 0  # every fetch's chunk is handed over as it is

    def __init__(self, source: BulkSource, sel: Selection, name: str, d: Drain) -> None:
        wire = self.wire = source.wire
        self.received, self.lost, self.empty, self.error, self.status = 0, False, False, None, None
        self.chunks: list[Chunk] = []
        self.sid: int | None = None
        inbox = wire.new_inbox()
        one_op = int(wire.info.get("max_payload", 1 << 20)) + (64 << 10)  # the largest message, with its lines
        max_bytes = source.max_bytes = max(source.max_bytes, one_op)
        batch = sel.batch or BATCH
        if sel.deliver in ("last", "last_per_subject"):
            # nats-server 2.15 drops the message at a max_bytes cut for these policies (the 100k-subject
            # --last-per-subject replay came back one short): message-counted pulls, as the nats-py reader
            max_bytes, batch = 0, sel.batch or settings().fetch_batch
        # with --end-seq the consumer holds more than the range: one pull at a time (two would each ask for all of it)
        self.reqs = _Requests(wire, source.ctx.api.msg_next(sel.stream, name), inbox, batch, max_bytes, d.want or 0,
                              depth=1 if d.ranged else 2)
        try:
            self.sid = wire.subscribe(inbox)
        except WireError:  # the connection went away since the last read: a new one
            self.lost = True
        self.reader = _Reader(str(self.sid).encode(), sel.headers_only, source.step, one_op)

    async def refill(self) -> None:
        if self.lost:
            return
        try:
            self.reqs.send()
        except WireError:  # a pull found the connection cut: a new one
            self.lost = True

    async def fetch(self, timeout: float | None) -> bool:
        if self.lost:
            return True
        if not await self.wire.wait(timeout):
            return False
        try:
            fr = self.reader.read(self.wire, self.chunks)
        except WireError:  # a PONG found the connection cut
            self.lost = True
            return True
        self.received += len(fr)
        seen = 0
        for before, st in fr.statuses:  # in arrival order with the messages around them
            self.reqs.delivered(before - seen)
            seen = before
            if st.code == "100":
                continue
            self.status = st
            if st.code == "408" or st.description == "Batch Completed" or (
                    st.code == "409" and "MaxBytes" in st.description):
                self.reqs.ended()  # a request ended (filled, its bytes ran out, or expired)
            elif st.code == "404":
                self.empty = True  # nothing left while owed (a leader change), or the end
            elif st.code in ("409", "503"):
                self.lost = True  # the consumer is gone (leadership change, deleted, no responders)
            else:
                self.error = f"pull request failed: {st.code} {st.description}".strip()
        self.reqs.delivered(len(fr) - seen)
        if self.wire.rx.closed is not None and not self.wire.rx.untaken:
            self.lost = True
        return True

    def gathered(self) -> int:
        return sum(len(c) for c in self.chunks)

    def take(self, final: bool = False) -> list[Chunk]:
        if final and self.sid is not None:
            self.reader.read(self.wire, self.chunks, final=True)  # keep what arrived
        chunks, self.chunks = self.chunks, []
        return chunks

    async def gone(self) -> bool:
        return self.lost or self.wire.rx.closed is not None

    async def settle(self) -> list[str]:
        return []  # no durable reads through the bulk wire

    def unsubscribe(self) -> None:
        if self.sid is not None and self.wire.rx.closed is None:
            try:
                self.wire.unsubscribe(self.sid)
            except WireError as e:
                log.debug("unsubscribe on the bulk connection failed: %r", e)


class _Reader:
    """Parses what arrived into one chunk per call."""

    def __init__(self, sid: bytes, headers_only: bool, step: int | None, max_op: int) -> None:
        self.sid, self.headers_only, self.step = sid, headers_only, step
        self.max_op = max_op  # the largest message, with its lines: a step always holds one
        self.ack: AckFormat | None = None
        self.names = Names()

    def read(self, wire: Wire, chunks: list[Chunk], final: bool = False) -> Frames:
        step = self.step  # one step at most (or what the largest message needs); the rest is read next
        data = wire.rx.take(None if final or step is None else max(step, self.max_op))
        used, fr = parse(data, self.sid)
        wire.rx.consume(used)
        if fr.pings and not final:
            wire.write(b"PONG\r\n" * fr.pings)
        if fr.errors and not final:
            raise JSMagicError(f"the server reported: {fr.errors[0]}")
        if len(fr):
            chunks.append(self._chunk(fr, data))
        return fr

    def _chunk(self, fr: Frames, data: bytes) -> Chunk:
        if self.ack is None:
            self.ack = AckFormat(fr.first(data, "reply"))
        nums = self.ack.numbers(fr, data)
        seq, ts = nums[:, 1], nums[:, 3]
        subjects = self.names.column(fr, data)
        headers = headers_column(fr, data)
        if self.headers_only:
            sizes = np.array([int((h or {}).pop("Nats-Msg-Size", 0)) for h in headers], dtype=np.int64)
            headers, buf = [h or None for h in headers], b""
        else:
            sizes, buf = fr.sizes(), fr.joined(data)
        return Chunk(seq.copy(), ts.copy(), subjects, headers, sizes, buf)
