"""Speed of ``%%js_publish`` vs nats-py ``publish_async``, same server, same run.

    .venv/bin/python bench/publish.py [N [ROUNDS]]

Publishes N (default 100,000) 100-byte JSON lines through the magic in an IPython
InteractiveShell (one ``%%js_publish`` cell of N lines, every ack checked) and through
nats-py's ``publish_async`` at a few windows, interleaved for ROUNDS (default 3) rounds;
prints msgs/s of each, the best of each, and the ratio magic / best publish_async.
The bar (issue 3) is a ratio >= 1.5.
"""

from __future__ import annotations

import asyncio
import sys
import time

import nats

from jsmagic.magics.base import run
from jsmagic.testing import nats_server, testing_shell

WINDOWS = (1_000, 4_000, 20_000)


def payload_line(i: int) -> str:
    """A 100-byte JSON object (the id varies, so lines differ)."""
    head = '{"id": %7d, "item": "book", "qty": 2, "note": "' % i
    return head + "x" * (100 - len(head) - 2) + '"}'


async def raw_publish_async(url: str, n: int, window: int, payload: bytes) -> float:
    """msgs/s of nats-py publish_async with ``window`` in flight; every ack awaited."""
    nc = await nats.connect(url)
    js = nc.jetstream(publish_async_max_pending=window)
    futures = []
    start = time.perf_counter()
    for _ in range(n):
        futures.append(await js.publish_async("bench.async", payload))
    await js.publish_async_completed()
    rate = n / (time.perf_counter() - start)
    acks = [f.result() for f in futures]
    assert len(acks) == n and all(a.seq for a in acks)
    await nc.close()
    return rate


def main(n: int = 100_000, rounds: int = 3) -> None:
    with nats_server() as server:
        shell = testing_shell()
        shell.run_line_magic("js_connect", server.url)

        async def setup():
            import jsmagic

            await jsmagic.context().js.add_stream(name="BENCH", subjects=["bench.>"])

        run(setup())
        cell = "\n".join(payload_line(i) for i in range(n)) + "\n"
        assert len(payload_line(0)) == 100
        payload = payload_line(0).encode()
        loop = asyncio.new_event_loop()
        magic_best, async_best = 0.0, {w: 0.0 for w in WINDOWS}
        for round_ in range(1, rounds + 1):  # interleaved, best of each: other load hits both alike
            start = time.perf_counter()
            frame = shell.run_cell_magic("js_publish", "bench.magic", cell)
            magic = n / (time.perf_counter() - start)
            assert len(frame) == n and frame["seq"].notna().all() and "error" not in frame, frame.summary
            magic_best = max(magic_best, magic)
            line = [f"round {round_}: %%js_publish {magic:8,.0f}"]
            for window in WINDOWS:
                rate = loop.run_until_complete(raw_publish_async(server.url, n, window, payload))
                async_best[window] = max(async_best[window], rate)
                line.append(f"publish_async w={window} {rate:8,.0f}")
            print(" | ".join(line) + " msg/s")
        loop.close()
        best_window = max(async_best, key=async_best.get)
        best = async_best[best_window]
        print(f"%%js_publish (best of {rounds})            : {magic_best:10,.0f} msg/s  (last: {frame.summary})")
        print(f"publish_async (best window {best_window:,}, of {rounds}): {best:10,.0f} msg/s")
        print(f"ratio magic / best publish_async: {magic_best / best:.2f}x  (bar: >= 1.5x, n={n:,})")
        shell.run_line_magic("unload_ext", "jsmagic")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
