"""Another client writing to a stream while a test reads it: plain nats-py, own thread, own loop.

    with BusyWriter(url, lambda k: f"ORDERS.s{k % 12}") as w:
        ...  # read while it publishes
    w.sent  # how many it published

``jetstream=True`` publishes through JetStream (one ack each: every message stored when
it counts); ``False`` with core publishes in runs of 100, flushed (faster, the stream's
own count says what arrived).  Nothing here is jsmagic: it is the independent client.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Callable

import orjson


class BusyWriter:
    """Publishes to ``subject(k)`` (k = 0, 1, 2, …) until the ``with`` block ends."""

    def __init__(self, url: str, subject: Callable[[int], str], *, jetstream: bool = True,
                 payload: Callable[[int], bytes] | None = None, start_after: int = 20) -> None:
        self.url, self.subject, self.jetstream = url, subject, jetstream
        self.payload = payload or (lambda k: orjson.dumps({"w": k}))
        self.start_after = start_after  # published before the block starts: the writer is really writing
        self.stop, self.started, self.sent = threading.Event(), threading.Event(), 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, daemon=True, name="busy-writer")

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except Exception as e:  # noqa: BLE001 -- handed to the test at __exit__, where it fails loudly
            self.error = e
            self.started.set()

    async def _run(self) -> None:
        import nats

        nc = await nats.connect(self.url)
        try:
            js = nc.jetstream()
            while not self.stop.is_set():
                for _ in range(1 if self.jetstream else 100):
                    if self.jetstream:
                        await js.publish(self.subject(self.sent), self.payload(self.sent))
                    else:
                        await nc.publish(self.subject(self.sent), self.payload(self.sent))
                    self.sent += 1
                if not self.jetstream:
                    await nc.flush()
                    await asyncio.sleep(0.002)  # a busy client, not a flood: the read must still get a turn
                if self.sent >= self.start_after:
                    self.started.set()
        finally:
            await nc.close()

    def __enter__(self) -> "BusyWriter":
        self.thread.start()
        assert self.started.wait(60) and self.error is None, f"the writer never published ({self.error!r})"
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(60)
        if self.error is not None and exc[0] is None:
            raise AssertionError(f"the busy writer failed: {self.error!r}") from self.error
