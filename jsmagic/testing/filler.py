"""Fill a stream with N orders of about 120 bytes of JSON, from a process of its own.

    python -m jsmagic.testing.filler nats://127.0.0.1:4222 ORDERS 1000000

Memory tests and benches run this in a separate process, so the kernel being measured
holds nothing of the publishing.  Plain publishes in windows, each waited for until the
stream holds it (nothing dropped, no per-message ack round trip).
"""

from __future__ import annotations

import asyncio
import sys
import time

REGIONS = ("eu", "us", "ap")


def order(i: int) -> bytes:
    """Order ``i``: ~120 bytes of JSON with ints, floats and text."""
    return (b'{"id":%d,"customer":"c-%05d","qty":%d,"amount":%.2f,"region":"%s","sku":"SKU-%04d","note":"ok"}'
            % (i, i % 9973, i % 17, (i % 1000) * 0.37, REGIONS[i % 3].encode(), i % 501))


async def fill(url: str, stream: str, n: int, window: int = 20_000, timeout: float = 300) -> None:
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[f"{stream}.>"])
    deadline = time.monotonic() + timeout
    subjects = [f"{stream}.{r}" for r in REGIONS]
    for start in range(0, n, window):
        end = min(n, start + window)
        for i in range(start, end):
            await nc.publish(subjects[i % 3], order(i))
        await nc.flush()
        while (await js.stream_info(stream)).state.messages < end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{stream} holds fewer than {end} messages after {timeout}s")
            await asyncio.sleep(0.01)
    await nc.close()


if __name__ == "__main__":
    asyncio.run(fill(sys.argv[1], sys.argv[2], int(sys.argv[3])))
