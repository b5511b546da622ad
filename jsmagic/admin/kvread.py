"""Reading many keys of a bucket through its stream: one ordered consumer, checked against the stream leader.

``keys``, ``view``, ``history`` and the TTL listing (:mod:`.kv`, :mod:`.kvttl`) read the
bucket's stream through :class:`~jsmagic.admin.ordered.OrderedReader` until it has delivered
what existed when its consumer was created.

On a replicated bucket that consumer (R1) may be placed on a replica still catching up (a
member just restarted): it then holds every key with an *older* value, and the read ended
"complete" with them.  So the read must reach the stream leader's newest message under its
pattern (:func:`jsmagic.reading.counted.leader_newest`, asked before the consumer exists: a
server that holds it has applied everything before it).  A read that ends below it is read
again, up to :data:`REREADS` times against the leader's newest as of then, and otherwise
fails in one line: never older values in silence.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..core.config import settings
from ..core.context import JSContext
from ..core.errors import JSMagicError
from ..jsapi import kv_prefix
from ..reading.counted import leader_newest
from ..reading.replicas import replicated
from .kvrecords import stalled
from .ordered import OrderedReader
from .scan import ProgressFn

log = logging.getLogger("jsmagic.admin.kvread")

REREADS = 3  # reads in all while the read's consumer sat on a replica catching up


async def read(ctx: JSContext, info: Any, bucket: str, subject: str, mode: str, *, headers_only: bool = False,
               progress: ProgressFn | None = None) -> tuple[list[tuple], bool]:
    """Every record under ``subject`` of the bucket's stream (``info``) as (key, data, headers, revision, ns).

    ``mode``: ``last`` (each key's last record) or ``all``.  Returns the records and whether a
    kernel interrupt cut the read short.
    """
    checked = replicated(info)
    for _ in range(REREADS):
        want = await leader_newest(ctx, info.config.name, [subject], info, settings().timeout) if checked else None
        records, interrupted, newest = await _read_once(ctx, info.config.name, bucket, subject, mode, headers_only,
                                                        progress)
        if interrupted or want is None or newest >= want:
            return records, interrupted
        log.info("reading bucket %s ended at revision %d, below the leader's %d: read again", bucket, newest, want)
    raise JSMagicError(f"reading bucket {bucket!r} ended at revision {newest:,}, below the stream leader's newest "
                       f"({want:,}): its consumer sat on a replica still catching up, {REREADS} times",
                       hint="run it again in a moment")


async def _read_once(ctx: JSContext, stream: str, bucket: str, subject: str, mode: str, headers_only: bool,
                     progress: ProgressFn | None) -> tuple[list[tuple], bool, int]:
    """One ordered read until it delivered what its consumer held at create: (records, interrupted, last revision)."""
    cut = len(kv_prefix(bucket))
    records: list[tuple] = []
    append = records.append

    def on_record(subj, data, headers, seq, tm, pending):
        append((subj[cut:], data, headers, seq, tm))

    reader = OrderedReader(ctx, stream, subject, on_record, mode=mode, headers_only=headers_only)
    interrupted = False
    try:
        expected = await reader.start()
        while not reader.caught_up.is_set() and not (reader.resets == 0 and reader.records >= expected):
            seen = reader.records
            try:
                await asyncio.wait_for(reader.caught_up.wait(), timeout=min(0.25, settings().timeout))
            except asyncio.TimeoutError:
                if progress is not None:
                    progress(reader.records, expected or None)
                if reader.needs_reset.is_set():
                    await reader.reset()
                elif reader.records == seen and reader.silent:
                    raise stalled(bucket, reader.records, ctx) from None
    except asyncio.CancelledError:
        interrupted = True
    finally:
        await reader.stop()
    return records, interrupted, reader.last_seq
