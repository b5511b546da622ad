"""Independent NATS peers for the core NATS tests: a plain nats-py client on a loop of its own thread.

The magics block the test's thread while they wait (a request, ``-n N``); the peer's loop
keeps answering and publishing meanwhile, as another program would.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Awaitable, Callable

import nats


class Peer:
    """``peer.call(coro_fn)`` runs on the peer's loop; ``peer.nc`` is its own connection."""

    def __init__(self, url: str):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.nc: Any = self.call(lambda: nats.connect(url))

    def call(self, fn: Callable[[], Awaitable[Any]], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(fn(), self.loop).result(timeout)

    def start(self, fn: Callable[[], Awaitable[Any]]):
        """Run ``fn()`` in the background on the peer's loop (a publisher); returns its future."""
        return asyncio.run_coroutine_threadsafe(fn(), self.loop)

    def listen(self, subject: str) -> list:
        """A plain subscriber on this peer: the messages it receives, as they arrive."""
        got: list = []

        async def sub():
            async def cb(m):
                got.append(m)
            await self.nc.subscribe(subject, cb=cb)
            await self.nc.flush()
            await self.nc.flush()  # nats-py 2.16: one flush's PING can reach the server before the SUB

        self.call(sub)
        return got

    def close(self) -> None:
        self.call(self.nc.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it is truthy (generous deadline: the machine is shared)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never true within {timeout}s: {what}")
