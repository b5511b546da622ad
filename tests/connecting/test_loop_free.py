"""Blocking work stays off the kernel's loop: every live watch keeps ticking while it runs.

Starting the embedded server (a local-server probe, then up to 15 s of polling its port)
and stopping it (SIGTERM, then ``proc.wait``) used to run on the loop itself: every KV
watch and live tail froze meanwhile.  A heartbeat task on the same loop measures it.
"""

from __future__ import annotations

import asyncio
import time

from jsmagic.connecting.options import resolve
from jsmagic.core.context import JSContext


def test_the_loop_keeps_ticking_while_an_embedded_server_starts_and_stops():
    async def scenario():
        ticks: list[float] = []

        async def heartbeat():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.002)

        beat = asyncio.ensure_future(heartbeat())
        await asyncio.sleep(0.05)
        ctx = JSContext("loop-free")
        t0 = time.monotonic()
        await ctx.connect(resolve({"embedded": True}))
        t1 = time.monotonic()
        assert ctx.server is not None and ctx.server.running()
        server = ctx.server
        await ctx.close()
        t2 = time.monotonic()
        beat.cancel()
        assert not server.running()
        inside = [t for t in ticks if t0 <= t <= t2]
        gaps = [b - a for a, b in zip([t0, *inside], [*inside, t2])]
        return max(gaps), t1 - t0, t2 - t1

    gap, start, stop = asyncio.run(scenario())
    # blocking, the loop stands still for (nearly) the whole start; off the loop, for a tick or a thread switch
    assert gap < max(0.02, 0.6 * start), f"the loop stood still for {gap:.3f}s (start {start:.3f}s, stop {stop:.3f}s)"
