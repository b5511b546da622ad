"""Did a replay return every message the stream held for its selection?  The server's count, independently.

A read must not come back complete-looking with fewer rows than the stream held when it
started: messages purged, deleted or evicted by the stream's limits *while* it was read are
gone before the reader reached them, and the reader then ends "done" with a short frame (the
bulk reader after one resume, the nats-py reader in silence).  So, before the read
(:func:`jsmagic.reading.reader.replay`, for every caller: magics, API, command), the server
counts the selection: an ephemeral consumer with the same
filter and start as the read's own (:mod:`jsmagic.reading.session`: created, counted, deleted) — and a second one from
``--end-seq + 1`` when the range has an end, whose count is taken off.  A read that returns
fewer rows is short: its first note starts ``SHORT`` (the summary leads with it, the API
raises, the command exits 3).

Only where the server can count exactly what the read keeps: ``--all``, ``--start-seq``,
``--since`` (with ``-s``, ``--end-seq``, ``-n``).  Reads whose rows are chosen by this
client (``--where``, ``--grep``, ``--header``, ``--until``, ``--last*``, ``--new``), live
reads and durables are not counted here (:func:`expected` returns None), nor reads without
a consumer (WorkQueue/Interest streams: a consumer could take messages there).

``--last``/``--last-per-subject`` are not counted (a replica still catching up holds every
subject, with older "last" messages), but checked by their newest message
(:func:`newest`): the stream leader's newest message of the selection, asked before the
read, must be among the rows, since a server that holds it has applied everything before
it.  A read that ends below it took its "last" set from a replica still catching up: SHORT.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import nats.js.errors

from .replicas import ask, checkable
from .selection import LAST_POLICIES, MAX_SEQ, consumer_config, reads_by_get
from .session import ConsumerSession


def countable(sel: Any, info: Any) -> bool:
    """Whether the server can count what ``sel`` keeps on the stream of ``info`` (see the module doc)."""
    return (sel.deliver in ("all", "start_seq", "since") and not (sel.where or sel.grep or sel.header or sel.until)
            and not sel.durable and not sel.live and not reads_by_get(info, sel))


async def _pending(sel: Any, info: Any, ctx: Any) -> int:
    """``num_pending`` of a throw-away consumer made as the read makes its own (created, counted, deleted).

    Checked against the stream leader as the read's own consumer is (``checking``): placed on a
    replica still catching up, an unchecked count is low, and a short read would then pass as whole.
    """
    session = ConsumerSession(ctx, sel.stream, consumer_config(sel, info), timeout=sel.api_timeout)
    async with session.checking(sel, info) as counted:
        return int(counted.info.get("num_pending", 0))


async def expected(sel: Any, info: Any, ctx: Any) -> int | None:
    """How many rows a complete read of ``sel`` returns at least, per the server now; None: not countable.

    Count before the read takes its end bound (the stream's last sequence): with another
    client writing, a count taken after it would include messages beyond the bound.
    """
    if not countable(sel, info):
        return None
    total = await _pending(dataclasses.replace(sel, end_seq=None, count=None), info, ctx)
    if sel.end_seq is not None and sel.end_seq < MAX_SEQ:  # what lies beyond the range is taken off
        total -= await _pending(dataclasses.replace(sel, deliver="start_seq", start_seq=sel.end_seq + 1, since=None,
                                                    end_seq=None, count=None), info, ctx)
    if sel.count is not None:
        total = min(total, sel.count)
    return max(total, 0)


def shortfall(rows: int, want: int | None) -> str | None:
    """The SHORT note for a read of ``rows`` where the server counted ``want`` before it began."""
    if want is None or rows >= want:
        return None
    return (f"SHORT: {want - rows:,} of the {want:,} messages the stream held for this selection when the read "
            f"began were not read (purged, deleted or evicted by the stream's limits meanwhile, or a replica the "
            f"read's consumer was placed on was still catching up): read again")


async def newest(sel: Any, info: Any, ctx: Any) -> int | None:
    """For ``--last*`` on a replicated stream: the newest sequence the selection holds, by the stream leader.

    ``STREAM.MSG.GET`` is answered by the stream leader (``last_by_subj`` takes wildcards);
    None where nothing can be checked: another selection, a bound or a filter of this client's
    (``-n``, ``--end-seq``, ``--until``, ``--where``…) that may end the read below it, or an empty selection.
    """
    bounded = sel.count or sel.until or (sel.end_seq is not None and sel.end_seq < MAX_SEQ)
    if (sel.deliver not in LAST_POLICIES or bounded or sel.where or sel.grep or sel.header or reads_by_get(info, sel)
            or not checkable(sel, info) or not int(info.state.messages)):
        return None
    return await leader_newest(ctx, sel.stream, sel.subjects, info, sel.api_timeout)


async def leader_newest(ctx: Any, stream: str, subjects: list[str], info: Any, timeout: float) -> int | None:
    """The newest sequence under ``subjects`` (none: the whole stream) by the stream leader; None: nothing there."""
    if not subjects or subjects == [">"]:
        return int(info.state.last_seq) if int(info.state.messages) else None
    found = []
    for subject in subjects:
        try:
            msg = await ask(ctx, f"STREAM.MSG.GET.{stream}", {"last_by_subj": subject}, timeout)
        except nats.js.errors.NotFoundError:
            continue
        found.append(int(msg["message"]["seq"]))
    return max(found, default=None)


def stale(read_newest: int, want: int | None) -> str | None:
    """What a read whose newest row is older than the leader's newest (:func:`newest`) missed; None: it did not."""
    if want is None or read_newest >= want:
        return None
    got = f"seq {read_newest:,}" if read_newest else "nothing"
    return (f"the newest message of this selection is seq {want:,} by the stream leader, but the read's newest was "
            f"{got}: its consumer took its last messages from a replica still catching up")


def behind(read_newest: int, want: int | None) -> str | None:
    """The SHORT note for a ``--last*`` read whose newest row is older than the leader's newest (:func:`stale`)."""
    said = stale(read_newest, want)
    return None if said is None else f"SHORT: {said}; read again"
