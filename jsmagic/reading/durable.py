"""The durable path's own rules: bind only to a durable that reads what the line asks; settle every row delivered.

* An existing durable keeps its filter, deliver policy and start options: the server
  ignores the ones on a later line.  :func:`bind_durable` refuses in one line when they
  differ ("durable d1 on L filters l.a, not l.b: …") instead of returning the durable's
  rows (or none) as if they were the ones asked for.  Options left at their default
  (no ``-s``, no deliver flag) bind to the durable as it is.
* Every row the durable delivers is settled by the read (:class:`Ledger`), none left
  "ack pending" by accident:

  - the rows the frame keeps get the line's action (``--ack``/``--term``/``--nak``/
    ``--in-progress``), or none (left pending: the durable redelivers them after its ack wait);
  - rows delivered past a bound (``--end-seq``, ``--until``, ``-n``) are nak'ed back at once;
  - rows a client-side filter (``--where``, ``--grep``, ``--header``) dropped go where the
    read's action puts the rows it did not return: a *consuming* read (``--ack``, ``--term``)
    acks them, "seen, not wanted", as a subject filter would have skipped them; any other read
    (``--nak``, ``--in-progress``, no action) naks them back, so it consumes nothing.
    Why not nak them after ``--ack`` too: a nak'ed message stays ack pending until it is
    redelivered, so it keeps its place in ``max_ack_pending``; a filter over a backlog of more
    non-matching messages than that window would be handed the same ones on every read and
    never reach a later match (nats-server 2.15: after naking a full window of 5, the next
    pull returned the same 5 and ``num_ack_pending`` stayed 5), and with ``--max-deliver 1``
    a nak'ed message is never delivered again anyway.  The price, said in the summary: on a
    WorkQueue stream the acked non-matching messages are removed.  To keep them, filter on the
    server (``-s``), or read without a filter and filter the frame.

* A consuming read acks as it reads, window by window, so it is not held at the durable's
  ``max_ack_pending``: ``-n 500`` on a durable with a window of 100 returns 500 rows.  A row
  is acked only once it is in the rows the frame is built from (an interrupt leaves every
  acked row in the partial result) and its payload decoded (a strict ``--decode`` failing
  stops the read there: the rows before it are returned, the rest given back).  Any other
  read leaves its rows pending, so it returns at most one window; the summary then says how
  many more wait and why.
"""

from __future__ import annotations

from typing import Any

import nats.js.errors
from nats.js.api import ConsumerConfig, DeliverPolicy, RetentionPolicy

from ..core.errors import InputError
from ..core.units import plural
from .payloads import chunk_payloads
from .selection import ACTIONS, Selection, consumer_config

CONSUMING = ("ack", "term")  # actions that settle a row for good: the read acks as it goes, past max_ack_pending


def _filters(cfg: ConsumerConfig) -> list[str]:
    if cfg.filter_subjects:
        return sorted(cfg.filter_subjects)
    return [cfg.filter_subject] if cfg.filter_subject and cfg.filter_subject != ">" else []


def _policy(cfg: ConsumerConfig) -> str:
    p = cfg.deliver_policy
    words = {DeliverPolicy.ALL: "all", DeliverPolicy.NEW: "new", DeliverPolicy.LAST: "last",
             DeliverPolicy.LAST_PER_SUBJECT: "last_per_subject", DeliverPolicy.BY_START_SEQUENCE: "start_seq",
             DeliverPolicy.BY_START_TIME: "since"}
    return words.get(p, str(getattr(p, "value", p) or "all"))


def differences(existing: ConsumerConfig, wanted: ConsumerConfig, sel: Selection) -> list[str]:
    """What the line asks that the existing durable does not do (only options the line sets)."""
    out = []
    if sel.subjects and _filters(existing) != _filters(wanted):
        have = ", ".join(_filters(existing)) or "no filter (every subject)"
        out.append(f"filters {have}, not {', '.join(_filters(wanted))}")
    if sel.deliver != "all" and _policy(existing) != _policy(wanted):
        out.append(f"delivers {_policy(existing).replace('_', '-')}, not {sel.deliver.replace('_', '-')}")
    elif sel.deliver == "start_seq" and existing.opt_start_seq != wanted.opt_start_seq:
        out.append(f"starts at sequence {existing.opt_start_seq}, not {wanted.opt_start_seq}")
    elif sel.deliver == "since" and str(existing.opt_start_time or "")[:19] != str(wanted.opt_start_time or "")[:19]:
        out.append(f"starts at {existing.opt_start_time}, not {wanted.opt_start_time}")
    if sel.headers_only and not existing.headers_only:
        out.append("delivers whole messages, not headers only")
    return out


async def bind_durable(js: Any, sel: Selection, info: Any) -> Any:
    """The durable's info: created from the selection, or an existing one that reads what the line asks."""
    wanted = consumer_config(sel, info)
    try:
        ci = await js.consumer_info(sel.stream, sel.durable)
    except nats.js.errors.NotFoundError:
        return await js.add_consumer(sel.stream, wanted)
    diff = differences(ci.config, wanted, sel)
    if diff:
        raise InputError(
            f"durable {sel.durable} on {sel.stream} already exists and {'; '.join(diff)}",
            hint=f"use another --durable name, or delete it first: %js_consumer rm {sel.stream} {sel.durable} --force",
        )
    return ci


async def give_back(nc: Any, replies: list[str], timeout: float) -> int:
    """Nak ``replies`` (rows delivered but not kept); the last as a request, so all are applied on return."""
    return await send(nc, [(r, ACTIONS["nak"]) for r in replies], timeout)


async def send(nc: Any, acks: list[tuple[str, bytes]], timeout: float) -> int:
    """Publish ``(reply, body)`` acks in order, the last as a request: the server applies a consumer's
    acks in order and answers the last once done, so all are applied on return."""
    if not acks:
        return 0
    for reply, body in acks[:-1]:
        await nc.publish(reply, body)
    await nc.request(acks[-1][0], acks[-1][1], timeout=timeout)
    return len(acks)


def _filter_flags(sel: Selection) -> str:
    return "/".join(f for f, on in (("--where", sel.where), ("--grep", sel.grep), ("--header", sel.header)) if on)


class Ledger:
    """Every row one durable read was delivered, sorted as it is flushed: kept, dropped by a filter, past a bound.

    :meth:`want` says how many rows to pull; the puller hands each flushed batch to :meth:`sort`;
    a consuming read (:data:`CONSUMING`) sends its acks with :meth:`settle` as it goes, and
    :meth:`finish` settles the rest once the puller has stopped (no pull request of ours is
    left at the server to take back what we give back).  The figures land in ``notes``.
    """

    def __init__(self, sel: Selection, info: Any, nc: Any) -> None:
        self.sel, self.nc, self.timeout = sel, nc, sel.api_timeout
        self.consuming = sel.action in CONSUMING
        self.retention = info.config.retention
        self.kept: list[str] = []  # replies not settled yet
        self.dropped: list[str] = []
        self.past: list[str] = []
        self.acted = 0  # kept rows the action was sent for (a consuming read)
        self.dropped_done = self.past_done = 0
        self.used_up = 0  # rows nak'ed back whose max_deliver is reached: never delivered again
        self.limit: int | None = None  # the durable's max_ack_pending
        self.max_deliver: int | None = None
        self.waiting = 0  # rows the durable held for us when the read began (pending + ack pending)
        self.stopped: str | None = None  # why a consuming read stopped early (an undecodable payload)
        self.error: InputError | None = None
        self.collector: Any = None
        self._newest: list[tuple[str, bytes]] = []  # the last ack published: sent again as the read's closing request

    def want(self, ci: Any, count: int | None) -> int:
        """How many rows to pull from the durable described by ``ci`` (its consumer info)."""
        cfg = ci.config
        self.limit = cfg.max_ack_pending if cfg.max_ack_pending and cfg.max_ack_pending > 0 else None
        self.max_deliver = cfg.max_deliver if cfg.max_deliver and cfg.max_deliver > 0 else None
        self.waiting = want = ci.num_pending + ci.num_ack_pending
        if self.limit and not self.consuming:  # rows left pending block delivery past max_ack_pending
            want = min(want, self.limit)
        return min(want, count) if count else want

    def sort(self, replies: list[str], delivered: Any, collector: Any) -> None:
        """One flushed batch: which replies the collector kept, which a filter dropped, which lie past a bound."""
        self.collector = collector
        chunk, end = collector.last, collector.last_within
        keep = set(chunk.extra.get("reply", ())) if chunk is not None else set()
        count = collector.bounds.count
        if keep and count is not None and collector.kept >= count:  # -n reached: the rest is past the bound
            end = max(i for i, r in enumerate(replies[:end]) if r in keep) + 1
        for i, reply in enumerate(replies[:end]):
            if reply in keep:
                self.kept.append(reply)
            else:
                self.dropped.append(reply)
                if not self.consuming and self._used_up(delivered[i]):  # nak'ed back: delivered again?
                    self.used_up += 1
        self.past.extend(replies[end:])
        self.used_up += sum(self._used_up(d) for d in delivered[end:])
        if self.consuming and chunk is not None and (err := _undecodable(chunk, collector.rows)) is not None:
            self._stop(chunk, err, collector)

    def _used_up(self, delivered: Any) -> bool:
        return self.max_deliver is not None and int(delivered) >= self.max_deliver

    def _stop(self, chunk: Any, err: InputError, collector: Any) -> None:
        """A kept chunk that does not decode: not acked, out of the frame, and the read ends before it."""
        rows = collector.rows
        if rows.chunks and rows.chunks[-1] is chunk:
            rows.chunks.pop()
        bad = set(chunk.extra.get("reply", ()))
        self.past.extend(r for r in self.kept if r in bad)
        self.kept = [r for r in self.kept if r not in bad]
        collector.done = True  # nothing more is added after the gap
        self.stopped, self.error = f"stopped at seq {int(chunk.seq[0])}: {err}", err

    def given_back_later(self, replies: list[str]) -> None:
        """Rows that arrived after the read ended (pulls still in flight): past the bound."""
        self.past.extend(replies)

    async def settle(self, last: bool = False) -> None:
        """A consuming read: the action for the kept rows, an ack for the dropped ones (what arrived so far).

        Published without waiting for answers, except on the ``last`` call, whose final ack is a
        request: once it is answered the server has applied every ack before it.  When nothing
        is left by then, the newest ack is sent again as that request (the server answers a
        repeated ack and changes nothing).
        """
        if not self.consuming:
            return
        body = ACTIONS[self.sel.action]
        acks = [(r, body) for r in self.kept] + [(r, ACTIONS["ack"]) for r in self.dropped]
        self.acted += len(self.kept)  # counted first: an interrupt while we wait still sent them
        self.dropped_done += len(self.dropped)
        self.kept, self.dropped = [], []
        if last:
            await send(self.nc, acks or self._newest, self.timeout)
            return
        for reply, ack in acks:
            await self.nc.publish(reply, ack)
        self._newest = acks[-1:] or self._newest

    async def finish(self, js: Any, notes: list[str]) -> None:
        """After the puller stopped: settle what is left and say what happened to the rows not returned."""
        await self.settle(last=True)
        back = self.past + ([] if self.consuming else self.dropped)
        naked_dropped = 0 if self.consuming else len(self.dropped)
        self.past_done, self.past, self.dropped = len(self.past), [], []
        await give_back(self.nc, back, self.timeout)
        d, flags = self.sel.durable, _filter_flags(self.sel)
        if self.stopped and not self.acted:  # nothing returned: the decode error itself, as before acks went early
            raise self.error
        if self.stopped:
            notes.insert(0, f"{self.stopped}; the {plural(self.past_done, 'message')} delivered from there were nak'ed back "
                            f"to {d}, none acked")
        if self.dropped_done:
            where = {RetentionPolicy.WORK_QUEUE: "; the WorkQueue stream removed them",
                     RetentionPolicy.LIMITS: "; the stream keeps them"}.get(self.retention, "")
            notes.append(f"{plural(self.dropped_done, 'message')} that did not match {flags} were acked on {d} "
                         f"(seen, not wanted{where})")
        if naked_dropped:
            notes.append(f"{plural(naked_dropped, 'message')} that did not match {flags} were nak'ed back to {d}")
        if self.past_done and not self.stopped:
            notes.append(f"{plural(self.past_done, 'message')} delivered past the bound were nak'ed back to {d}")
        if self.used_up:
            notes.append(f"{self.used_up:,} of those nak'ed back reached max_deliver ({self.max_deliver}): "
                         f"{d} will not deliver them again")
        await self._window_note(js, notes)

    async def _window_note(self, js: Any, notes: list[str]) -> None:
        """A read that leaves its rows pending returns one max_ack_pending window: say how many more wait."""
        c = self.collector
        if self.consuming or not self.limit or self.waiting <= self.limit:
            return
        if c is not None and c.bounds.count is not None and c.kept >= c.bounds.count:
            return  # it returned all it was asked for
        left = (await js.consumer_info(self.sel.stream, self.sel.durable)).num_pending
        if left:
            notes.insert(0, f"{plural(left, 'more message')} wait on {self.sel.durable}: a read without --ack or --term "
                            f"stops at its max_ack_pending ({self.limit:,}), which the rows it leaves pending fill")


def _undecodable(chunk: Any, rows: Any) -> InputError | None:
    """Why a kept chunk's payloads do not decode (a strict ``--decode``), or None."""
    if not len(chunk) or rows.sink is not None or rows.headers_only:  # a sink decodes (or raises) as it writes
        return None
    if getattr(chunk, "frame_cache", None) is not None or getattr(chunk, "payload_frame", None) is not None:
        return None  # decoded already (a --where filter, or the eager decode of a one-shot replay)
    try:
        chunk_payloads(chunk, rows.decode, rows.flatten)
    except InputError as e:
        return e
    return None
