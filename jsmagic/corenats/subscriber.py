"""A live core NATS subscription (``nats sub``): messages kept as they arrive, until stopped.

:class:`Subscriber` subscribes (with a queue group if asked), keeps the newest
``events_cap`` messages undecoded, and runs as a background entry of its context
(``%js_status`` lists it; ``%js_close`` and :meth:`Subscriber.stop` end it).  It shows
nothing itself: a display (:class:`jsmagic.ui.subview.SubscriptionView`) follows it through
``on_row(row)`` for every message and ``on_status(status, note)``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any, Callable

from ..connecting.permissions import barrier
from ..core.config import settings
from ..core.decode import decoder
from ..core.registry import current
from ..core.units import plural
from .messages import check_subject, frame

LIVE, RECONNECTING, STOPPED = "live", "reconnecting", "stopped"
COLUMNS = ["time", "subject", "data", "headers", "reply"]

log = logging.getLogger("jsmagic.corenats.subscriber")


class Subscriber:
    """Messages on ``subject`` as they arrive: ``.df``, ``.count``, ``.stop()``, ``.running``."""

    def __init__(self, subject: str, *, queue: str | None = None, decode: Any = "auto", events_cap: int | None = None,
                 on_row: Callable[[tuple], None] | None = None,
                 on_status: Callable[[str, "str | None"], None] | None = None, name: str = "sub", kind: str = "sub",
                 ctx: Any = None):
        self.subject = check_subject(subject, wildcards=True)
        self.queue, self.decode = queue, decode
        self.decoder = decoder(decode)  # an unknown --decode fails here, before subscribing
        self.ctx = current(ctx)
        self.on_row, self.on_status = on_row, on_status
        self.name, self.kind = name, kind  # how %js_status lists it
        self.rows: collections.deque = collections.deque(maxlen=events_cap or settings().events_cap)
        self.count = 0
        self.status = LIVE
        self.sub: Any = None
        self.entry: Any = None
        self.task: asyncio.Task | None = None
        self._stopped = asyncio.Event()
        self._unlisten: Callable[[], None] | None = None

    async def _on_msg(self, msg: Any) -> None:
        row = (msg.subject, msg.data, dict(msg.headers) if msg.headers else None, msg.reply, time.time_ns())
        self.rows.append(row)
        self.count += 1
        if self.on_row is not None:
            self.on_row(row)

    async def start(self) -> "Subscriber":
        """Subscribe (errors surface in the caller), then live in the background until stopped."""
        await self.ctx.ensure()
        self.sub = await self.ctx.nc.subscribe(self.subject, queue=self.queue or "", cb=self._on_msg)
        await barrier(self.ctx.nc)  # in place on the server on return (one flush is not: its PING overtakes the SUB)
        self._unlisten = self.ctx.on_state(self._on_state)
        self.entry = self.ctx.spawn(self._run(), name=f"{self.name} {self.subject}", kind=self.kind,
                                    describe=self.describe)
        self.task = self.entry.task
        return self

    async def _run(self) -> None:
        try:
            await self._stopped.wait()
        finally:
            await self._unsubscribe()

    def _on_state(self, state: str) -> None:
        """The connection's state as the status: nats-py resubscribes after a reconnect; messages sent meanwhile are gone."""
        if self.status == STOPPED:
            return
        if state in ("reconnecting", "disconnected"):
            self._set_status(RECONNECTING, "core NATS keeps nothing: messages sent meanwhile are not seen")
        elif state == "connected":
            self._set_status(LIVE, "")

    async def _unsubscribe(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        sub, self.sub = self.sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception as e:  # noqa: BLE001 -- the connection is already closed: nothing left to end (logged)
                log.info("sub %s: unsubscribe failed: %r", self.subject, e)
        self._set_status(STOPPED, None)

    def _set_status(self, status: str, note: str | None) -> None:
        if status == self.status == STOPPED:
            return
        self.status = status
        if self.on_status is not None:
            self.on_status(status, note)

    def value(self, data: bytes, headers: dict | None = None) -> Any:
        """A payload decoded for display, only when it is shown (a failure shows what the decoder made of it)."""
        return self.decoder.one(data, headers)[0]

    def stop(self) -> None:
        """Stop: ``stopped`` now, unsubscribed right after."""
        self._set_status(STOPPED, None)
        self._stopped.set()

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def df(self):
        """The kept messages, oldest first: subject, data (decoded), headers, reply, time."""
        return frame(list(self.rows), self.decode)

    def describe(self) -> str:
        queue = f" (queue {self.queue})" if self.queue else ""
        return f"{self.subject}{queue}: {plural(self.count, 'message')}, {self.status}"

    def __repr__(self) -> str:
        return f"<Subscriber {self.describe()}>"
