"""A consumer watched over time: pending, ack pending, redelivered, waiting, delivered and ack floor.

:class:`ConsumerWatcher` asks for the consumer's info every ``every`` seconds (one small
request, no consumer of its own, nothing to clean up on the server) and keeps each answer
as a row of a time series, ``.df``, when something changed (a consumer that sits still
adds no row: ``.checks`` counts the answers, ``.last_check`` is the newest).  A paused
consumer (``nats consumer pause``: fetching from it returns nothing) has the status
``paused``, with the time it resumes.  It runs as a background task its connection owns
(``%js_status`` lists it, ``%js_close`` stops it).  When the server goes away it keeps
asking - the status says ``reconnecting`` and the series has a gap - and it carries on
when the server (or another cluster member) answers again, so it survives a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

import nats.js.errors
import pandas as pd

from ..core.context import JSContext
from ..core.registry import current
from ..core.units import plural
from .consumers import info as consumer_info
from .watchstate import LIVE, PAUSED, RECONNECTING, STOPPED

log = logging.getLogger("jsmagic.admin.consumerwatch")

COLUMNS = ["time", "pending", "ack_pending", "redelivered", "waiting", "delivered_seq", "ack_floor_seq"]
OnSample = Callable[[dict[str, Any]], None]
OnStatus = Callable[[str, str], None]


def sample(raw: dict[str, Any]) -> dict[str, Any]:
    """One CONSUMER.INFO answer as a row of the series."""
    return {
        "time": pd.Timestamp.now(tz="UTC"),
        "pending": raw.get("num_pending", 0),
        "ack_pending": raw.get("num_ack_pending", 0),
        "redelivered": raw.get("num_redelivered", 0),
        "waiting": raw.get("num_waiting", 0),
        "delivered_seq": (raw.get("delivered") or {}).get("stream_seq", 0),
        "ack_floor_seq": (raw.get("ack_floor") or {}).get("stream_seq", 0),
    }


def paused_note(raw: dict[str, Any]) -> str | None:
    """``until 10:15:00 UTC`` for a paused consumer (None when it is not paused)."""
    if not raw.get("paused"):
        return None
    until = (raw.get("config") or {}).get("pause_until")
    if not until:
        return ""
    return f"until {pd.Timestamp(until).tz_convert('UTC').strftime('%Y-%m-%d %H:%M:%S')} UTC"


def changed(row: dict[str, Any], last: dict[str, Any] | None) -> bool:
    """Whether any counter differs from the last kept sample (the time alone is no change)."""
    return last is None or any(row[c] != last[c] for c in COLUMNS[1:])


class ConsumerWatcher:
    """Polls one consumer; ``.df`` (a row per change), ``.stop()``, ``.status`` live/paused/reconnecting/stopped."""

    def __init__(self, stream: str, name: str, every: float = 1.0, *, keep: int = 10_000,
                 on_sample: OnSample | None = None, on_status: OnStatus | None = None,
                 ctx: JSContext | None = None):
        self.ctx = current(ctx)
        self.stream, self.name, self.every, self.keep = stream, name, max(float(every), 0.05), keep
        self.on_sample, self.on_status = on_sample, on_status
        self.rows: list[dict[str, Any]] = []
        self.status, self.note = LIVE, ""
        self.checks, self.last_check = 0, None
        self.entry: Any = None
        self.task: asyncio.Task | None = None
        self._stopping = False

    async def start(self) -> "ConsumerWatcher":
        """Check the consumer exists (a typo is an error now), take the first sample, then poll in the background."""
        await consumer_info(self.stream, self.name, ctx=self.ctx)
        await self._poll()
        self.entry = self.ctx.spawn(self._run(), name=f"consumer watch {self.stream} > {self.name}",
                                    kind="consumer-watch", describe=self.describe)
        self.task = self.entry.task
        return self

    async def _poll(self) -> None:
        raw = await self.ctx.api.request(f"CONSUMER.INFO.{self.stream}.{self.name}", timeout=max(self.every, 1.0))
        row = sample(raw)
        self.checks, self.last_check = self.checks + 1, row["time"]
        if changed(row, self.rows[-1] if self.rows else None):
            self.rows.append(row)
            if len(self.rows) > self.keep:
                del self.rows[: len(self.rows) - self.keep]
            if self.on_sample is not None:
                self.on_sample(row)
        paused = paused_note(raw)
        self._set_status(*((PAUSED, paused) if paused is not None else (LIVE, "")))

    def _set_status(self, status: str, note: str = "") -> None:
        if (status, note) != (self.status, self.note):
            self.status, self.note = status, note
            if self.on_status is not None:
                self.on_status(status, note)

    async def _run(self) -> None:
        try:
            while not self._stopping:  # a flag as well as the cancel: Python 3.11's wait_for can swallow one
                due = time.monotonic() + self.every
                try:
                    await self._poll()
                except asyncio.CancelledError:
                    raise
                except nats.js.errors.NotFoundError:
                    self._set_status(RECONNECTING, "consumer not found (yet)")
                except Exception as e:  # noqa: BLE001 -- server restarting, leader moving, connection down: keep asking
                    log.info("consumer watch: poll failed, asking again: %r", e)
                    self._set_status(RECONNECTING, type(e).__name__)
                await asyncio.sleep(max(0.0, due - time.monotonic()))
        finally:
            self._set_status(STOPPED)

    def stop(self) -> None:
        """Stop polling (the series is kept)."""
        self._stopping = True
        if self.task is not None and not self.task.done():
            self.task.cancel()
        else:
            self._set_status(STOPPED)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def df(self) -> pd.DataFrame:
        """The time series: time, pending, ack_pending, redelivered, waiting, delivered_seq, ack_floor_seq."""
        return pd.DataFrame(list(self.rows), columns=COLUMNS)

    def describe(self) -> str:
        last = self.rows[-1] if self.rows else {}
        return (f"{self.stream} > {self.name}: {plural(len(self.rows), 'sample')} (a row per change, "
                f"{plural(self.checks, 'check')}), "
                f"pending {last.get('pending', '-')}, "
                f"ack pending {last.get('ack_pending', '-')}, {self.status}")

    def __repr__(self) -> str:
        return f"<ConsumerWatcher {self.describe()}>"
