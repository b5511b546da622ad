"""The bulk replay reader: large pull requests on its own connection, frames parsed in bulk.

:func:`read_bulk` replays a bounded selection of a Limits stream like
:func:`jsmagic.reading.consumer.read_consumer` does, minus nats-py's object per message:

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
* a lost connection, a lost consumer, or "no messages" while messages are still owed
  (a leader change) resumes with a new consumer from the sequence after the last one
  kept: every sequence exactly once;
* a server that cuts the connection while it keeps running (the same ``server_id`` answers
  again: a slow consumer, whose pending bytes passed the server's ``max_pending`` or whose
  writes missed ``write_deadline``) is asked for a quarter of the bytes per pull after each
  cut, down to what one ``max_payload`` message needs, and the notes say so;
* an interrupt keeps what arrived (the buffer is parsed one last time) and deletes the consumer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

import numpy as np
import orjson

from ...core.config import settings
from ...core.context import JSContext
from ...core.errors import JSMagicError
from ...core.runner import check_cancelled
from ...core.units import plural
from ..frames import Chunk, Collector
from ..selection import RESUME_WAIT, ProgressFn, Selection, consumer_config, rest_after, resumable
from ..session import ConsumerSession
from .parse import AckFormat, Frames, Names, headers_column, parse
from .protocol import Wire, WireError, open_wire

log = logging.getLogger("jsmagic.reading.wire.bulk")

BATCH = 200_000  # messages per pull request (max_bytes bounds it first for all but tiny messages)
MAX_BYTES = 8 << 20  # bytes per pull request; two in flight
MAX_RESUMES = 10
SHRINK = 4  # after the server cut us as a slow consumer: max_bytes per pull divided by this
DONE, LOST = "done", "lost"


@dataclasses.dataclass
class Progress:
    """Where the replay stands across consumers: the last sequence kept, messages kept."""

    last_seq: int | None = None
    received: int = 0
    resumes: int = 0
    cuts: int = 0  # the server closed the bulk connection and was still the same server after it
    max_bytes: int = MAX_BYTES  # asked per pull (at least what one max_payload message needs)
    step: int | None = None  # bytes parsed into one chunk at most (None: all that arrived)


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
    state = Progress(step=step)
    try:
        return await _read_all(wire, sel, info, collector, progress, ctx, state, notes)
    finally:
        if state.cuts and notes is not None:
            notes.append(f"the server cut the bulk connection {plural(state.cuts, 'time')} as a slow consumer (this client "
                         f"read slower than the server sent): resumed with smaller pulls, {_size(state.max_bytes)} each")
        if state.resumes and notes is not None:
            notes.append(f"resumed {plural(state.resumes, 'time')} with a new consumer after the last sequence kept")


async def _read_all(wire: Wire, sel: Selection, info: Any, collector: Collector, progress: ProgressFn | None,
                    ctx: JSContext, state: Progress, notes: list[str] | None = None) -> bool:
    resumes = 0
    try:
        while True:
            # created with the retry rules, checked against the stream leader, always deleted
            async with ConsumerSession(ctx, sel.stream, consumer_config(sel, info), timeout=sel.api_timeout,
                                       resumed=resumes > 0).checking(sel, info, notes) as session:
                outcome = await _drain(wire, ctx, sel, info, session.name, session.info, collector, progress,
                                       state)
            if outcome == DONE or collector.done:
                if progress is not None:
                    progress(collector.kept, collector.kept)  # the last figure is the true count
                return False
            if sel.live or not resumable(sel) or resumes >= MAX_RESUMES:
                return True
            resumes = state.resumes = resumes + 1
            sel = rest_after(sel, state.last_seq, state.received)
            if wire.rx.closed is not None:
                server = wire.info.get("server_id")
                wire.close()
                wire = await _reopen(ctx, sel)
                if server and wire.info.get("server_id") == server:  # not a restart: it cut us off
                    state.cuts += 1
                    state.max_bytes //= SHRINK  # _drain raises it to what one message needs
    finally:
        wire.close()


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

    def refill(self) -> None:
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


async def _drain(wire: Wire, ctx: JSContext, sel: Selection, info: Any, name: str, ci: dict,
                 collector: Collector, progress: ProgressFn | None, state: Progress) -> str:
    """Read one consumer until it delivered what it owed (DONE) or was lost/cut off (LOST)."""
    want = int(ci.get("num_pending", 0))
    if sel.count is not None:  # after a resume, the count still to read
        want = min(want, sel.count)
    span = _span(sel, collector.bounds.end_seq, info)
    ranged = span is not None and span < want  # --end-seq, a Dask partition: the consumer holds more than the range
    if ranged:  # ask for the range only, one pull at a time (two would each ask for all of it)
        want = span
    if want <= 0:
        return DONE
    inbox = wire.new_inbox()
    try:
        sid = wire.subscribe(inbox)
    except WireError:  # the connection went away since the last read: a new one
        return LOST
    one_op = int(wire.info.get("max_payload", 1 << 20)) + (64 << 10)  # the largest message, with its lines
    max_bytes = state.max_bytes = max(state.max_bytes, one_op)
    batch = sel.batch or BATCH
    if sel.deliver in ("last", "last_per_subject"):
        # nats-server 2.15 drops the message at a max_bytes cut for these policies (the 100k-subject
        # --last-per-subject replay came back one short): message-counted pulls, as the nats-py reader
        max_bytes, batch = 0, sel.batch or settings().fetch_batch
    reqs = _Requests(wire, ctx.api.msg_next(sel.stream, name), inbox, batch, max_bytes, want, depth=1 if ranged else 2)
    reader = _Reader(str(sid).encode(), sel.headers_only, state, one_op)
    got, base = 0, collector.kept
    try:
        reqs.refill()
        while True:
            if not await wire.wait(sel.idle_timeout):
                return LOST
            fr = reader.read(wire, collector)
            check_cancelled()  # an interrupt that an inner wait swallowed still stops the read
            got += len(fr)
            if collector.done or got >= want:
                return DONE
            seen = 0
            for before, st in fr.statuses:  # in arrival order with the messages around them
                reqs.delivered(before - seen)
                seen = before
                if st.code == "100":
                    continue
                if st.code == "408" or st.description == "Batch Completed" or (
                        st.code == "409" and "MaxBytes" in st.description):
                    reqs.ended()  # a request ended (filled, its bytes ran out, or expired)
                elif st.code in ("404", "409", "503"):
                    return LOST  # nothing left while owed (a leader change), or the consumer is gone
                else:
                    raise JSMagicError(f"pull request failed: {st.code} {st.description}".strip())
            reqs.delivered(len(fr) - seen)
            if wire.rx.closed is not None and not wire.rx.untaken:
                return LOST
            reqs.refill()
            if progress is not None:
                progress(collector.kept, base + want)
    except WireError:  # a write (a pull, a PONG) found the connection cut: a new one
        return LOST
    except asyncio.CancelledError:
        try:
            reader.read(wire, collector, final=True)  # keep what arrived
        except Exception as e:  # noqa: BLE001 -- the interrupt is what the user sees, not a half-received frame
            log.debug("the last buffer after an interrupt was not kept: %r", e)
        raise
    finally:
        if wire.rx.closed is None:
            try:
                wire.unsubscribe(sid)
            except WireError:
                pass


class _Reader:
    """Parses what arrived and adds it to the collector as one chunk."""

    def __init__(self, sid: bytes, headers_only: bool, state: Progress, max_op: int) -> None:
        self.sid, self.headers_only, self.state = sid, headers_only, state
        self.max_op = max_op  # the largest message, with its lines: a step always holds one
        self.ack: AckFormat | None = None
        self.names = Names()

    def read(self, wire: Wire, collector: Collector, final: bool = False) -> Frames:
        step = self.state.step  # one step at most (or what the largest message needs); the rest is read next
        data = wire.rx.take(None if final or step is None else max(step, self.max_op))
        used, fr = parse(data, self.sid)
        wire.rx.consume(used)
        if fr.pings and not final:
            wire.write(b"PONG\r\n" * fr.pings)
        if fr.errors and not final:
            raise JSMagicError(f"the server reported: {fr.errors[0]}")
        if len(fr) and not collector.done:
            self._add(fr, data, collector)
        return fr

    def _add(self, fr: Frames, data: bytes, collector: Collector) -> None:
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
        chunk = Chunk(seq.copy(), ts.copy(), subjects, headers, sizes, buf)
        last = self.state.last_seq
        # after a resume (only replays delivered in sequence order resume) nothing at or below the last
        # kept sequence is kept again; --last-per-subject delivers out of sequence order: never filtered
        if self.state.resumes and last is not None and int(seq.min()) <= last:
            keep = np.flatnonzero(seq > last)
            chunk = _select(chunk, keep)
        if len(chunk):
            before = collector.kept
            collector.add(chunk)
            kept = collector.kept - before
            self.state.received += kept
            if not collector.done:  # what a resume goes on after: the last delivered (a filter keeps fewer)
                self.state.last_seq = int(chunk.seq[-1])


def _select(chunk: Chunk, keep: np.ndarray) -> Chunk:
    """The messages of ``chunk`` at positions ``keep`` (rare: only after a resume)."""
    idx = keep.tolist()
    payloads = chunk.payloads() if chunk.buf or not len(chunk) else [b""] * len(chunk)
    from ..frames import SEP

    return Chunk(chunk.seq[keep], chunk.time_ns[keep], [chunk.subjects[i] for i in idx],
                 [chunk.headers[i] for i in idx], chunk.sizes[keep],
                 SEP.join(payloads[i] for i in idx) if chunk.buf else b"")


def _span(sel: Selection, end_seq: int | None, info: Any) -> int | None:
    """How many sequences the read's range holds at most, when it starts at a known one and has an end."""
    first = sel.start_seq if sel.deliver == "start_seq" else info.state.first_seq if sel.deliver == "all" else None
    if end_seq is None or first is None:
        return None
    return max(0, end_seq - max(int(first), 1) + 1)
