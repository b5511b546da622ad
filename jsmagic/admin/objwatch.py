"""Watching an object store bucket: its objects as they are now, kept current while the kernel is idle.

:class:`ObjectStoreWatcher` reads the bucket's meta subjects through jsmagic's ordered
reader (:class:`jsmagic.admin.ordered.OrderedReader`: current objects first, then every
change; recreated after a gap or silence) and keeps one row per object.  It runs as a
background task of its context (``%js_status`` lists it, ``ctx.close()`` ends it).

We use neither nats-py's ``ObjectWatcher`` (its ``stop()`` does not end an ``async for``)
nor its ordered consumer (it reads ack subjects by their v1 positions: a v2 subject of
``js_ack_fc_v2`` breaks the connection's read loop).  :meth:`ObjectStoreWatcher.stop` ends
the task, whose ``finally`` deletes the consumer - nothing is left behind.  It shows nothing itself: a display (``jsmagic.ui.objwatch.ObjectWatch``)
follows it through ``on_row(name, row)`` (``row`` None when the object was deleted) and
``on_stop()``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable

import nats.errors
import nats.js.errors
import pandas as pd
from nats.js import api

from ..core.context import JSContext
from ..core.units import plural
from ..core.registry import current
from ..jsapi import obj_all_meta, obj_stream
from .objects import object_row, store
from .ordered import OrderedReader

COLUMNS = ["name", "size", "chunks", "modified", "digest"]
log = logging.getLogger("jsmagic.admin.objwatch")


class ObjectStoreWatcher:
    """A live view of a bucket's objects: ``.df``, ``.events``, ``.stop()``, ``.running``."""

    def __init__(self, bucket: str, *, on_row: Callable[[str, "tuple | None"], None] | None = None,
                 on_stop: Callable[[], None] | None = None, ctx: JSContext | None = None):
        self.ctx = current(ctx)
        self.bucket = bucket
        self.on_row, self.on_stop = on_row, on_stop
        self.state: dict[str, tuple] = {}
        self.events = 0  # changes seen
        self._stopping = asyncio.Event()
        self.entry: Any = None

    def _on_meta(self, data: bytes) -> None:
        info = api.ObjectInfo.from_response(json.loads(data))
        self.events += 1
        if info.deleted:
            self.state.pop(info.name, None)
            row = None
        else:
            values = object_row(info)
            row = self.state[info.name] = tuple(values[c] for c in COLUMNS)
        if self.on_row is not None:
            self.on_row(info.name, row)

    async def start(self) -> "ObjectStoreWatcher":
        """Create the consumer (current objects first, then changes) and run until stopped."""
        await store(self.bucket, ctx=self.ctx)
        await self.ctx.jetstream()
        reader = OrderedReader(self.ctx, obj_stream(self.bucket), obj_all_meta(self.bucket),
                               lambda subject, data, headers, seq, ts, pending: self._on_meta(data), mode="last")
        await reader.start()
        self.entry = self.ctx.spawn(self._run(reader), f"obj watch {self.bucket}", kind="watch",
                                    describe=self.describe)
        return self

    async def _run(self, reader: OrderedReader) -> None:
        """Until stopped: recreate the consumer after a gap, or after silence once connected again."""
        try:
            while not self._stopping.is_set():
                wake = asyncio.ensure_future(reader.needs_reset.wait())
                stop = asyncio.ensure_future(self._stopping.wait())
                try:
                    await asyncio.wait({wake, stop}, timeout=reader.heartbeat, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    wake.cancel()
                    stop.cancel()
                if self._stopping.is_set() or not reader.nc.is_connected:
                    continue
                if reader.needs_reset.is_set() or reader.silent:
                    try:
                        await reader.reset()
                    except nats.js.errors.NotFoundError:  # the bucket was deleted: nothing to watch
                        return
                    except (nats.errors.Error, nats.js.errors.Error, asyncio.TimeoutError) as e:
                        log.info("obj watch %s: consumer not recreated yet (%s); retrying", self.bucket, e)
                        reader.needs_reset.set()
                        await asyncio.sleep(0.5)
        finally:
            await reader.stop()  # unsubscribes and deletes the consumer (best effort: a closing connection drops it)
            if self.on_stop is not None:
                self.on_stop()

    def stop(self) -> None:
        """Stop watching (the state keeps its last rows)."""
        self._stopping.set()

    @property
    def running(self) -> bool:
        return self.entry is not None and self.entry.running()

    @property
    def df(self) -> pd.DataFrame:
        """The objects as they are now, by name: name, size (bytes), chunks, modified, digest."""
        rows = [self.state[k] for k in sorted(self.state)]
        return pd.DataFrame(rows, columns=COLUMNS)

    def describe(self) -> str:
        """The one line ``%js_status`` shows."""
        return f"{plural(len(self.state), 'object')}, {plural(self.events, 'event')}"

    def __repr__(self) -> str:
        return f"<ObjectStoreWatcher {self.bucket} {'live' if self.running else 'stopped'}: {self.describe()}>"
