"""Watching an object store bucket: its objects as they are now, kept current while the kernel is idle.

:class:`ObjectStoreWatcher` subscribes an ordered consumer to the bucket's meta subjects
(current objects first, then every change) and keeps one row per object.  It runs as a
background task of its context (``%js_status`` lists it, ``ctx.close()`` ends it).

We do not use nats-py's ``ObjectWatcher``: its ``stop()`` does not end an ``async for``.
Here :meth:`ObjectStoreWatcher.stop` ends the task, whose ``finally`` unsubscribes - nothing is
left behind.  It shows nothing itself: a display (``jsmagic.ui.objwatch.ObjectWatch``)
follows it through ``on_row(name, row)`` (``row`` None when the object was deleted) and
``on_stop()``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable

import pandas as pd
from nats.js import api

from ..core.context import JSContext
from ..core.units import plural
from ..core.registry import current
from ..jsapi import obj_all_meta
from .objects import object_row, store

COLUMNS = ["name", "size", "chunks", "modified", "digest"]


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
        """Subscribe (current objects first, then changes) and run until stopped."""
        await store(self.bucket, ctx=self.ctx)
        js = await self.ctx.jetstream()

        async def on_msg(msg: Any) -> None:
            self._on_meta(msg.data)

        sub = await js.subscribe(obj_all_meta(self.bucket), cb=on_msg, ordered_consumer=True,
                                 deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT)
        self.entry = self.ctx.spawn(self._run(sub), f"obj watch {self.bucket}", kind="watch", describe=self.describe)
        return self

    async def _run(self, sub: Any) -> None:
        try:
            await self._stopping.wait()
        finally:
            try:
                await sub.unsubscribe()
            except Exception:
                pass  # the connection is closing: the server drops the consumer anyway
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
