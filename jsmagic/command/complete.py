"""Did a replay return every message the stream held for its selection?  The server's count, independently.

A scheduled export must not exit 0 with fewer rows than the stream held when it started:
messages purged, deleted or evicted by the stream's limits *while* it was read are gone
before the reader reached them, and the reader then ends "done" with a short frame.  So,
before the read, the server counts the selection: an ephemeral consumer with the same
filter and start as the read's own (:mod:`jsmagic.reading.session`: created, counted, deleted) — and a second one from
``--end-seq + 1`` when the range has an end, whose count is taken off.  A read that returns
fewer rows is short.

Only where the server can count exactly what the read keeps: ``--all``, ``--start-seq``,
``--since`` (with ``-s``, ``--end-seq``, ``-n``).  Reads whose rows are chosen by this
client (``--where``, ``--grep``, ``--header``, ``--until``, ``--last*``, ``--new``) are
not counted here (:func:`expected` returns None).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..reading.selection import consumer_config
from ..reading.session import ConsumerSession


def countable(sel: Any) -> bool:
    """Whether the server can count what ``sel`` keeps (see the module doc)."""
    return (sel.deliver in ("all", "start_seq", "since") and not (sel.where or sel.grep or sel.header or sel.until)
            and not sel.durable)


async def _pending(sel: Any, info: Any, ctx: Any) -> int:
    """``num_pending`` of a throw-away consumer made as the read makes its own (created, counted, deleted)."""
    async with ConsumerSession(ctx, sel.stream, consumer_config(sel, info), timeout=sel.api_timeout) as session:
        return int(session.info.get("num_pending", 0))


async def expected(sel: Any, ctx: Any) -> int | None:
    """How many rows a complete read of ``sel`` returns at least, per the server now; None: not countable."""
    if not countable(sel):
        return None
    info = await ctx.js.stream_info(sel.stream)
    total = await _pending(dataclasses.replace(sel, end_seq=None, count=None), info, ctx)
    if sel.end_seq is not None:
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
            f"began were not read (purged, deleted or evicted by the stream's limits meanwhile)")
