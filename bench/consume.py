"""Bench: %js_consume vs the naive nats-py loop, both into a DataFrame, in one run.

    .venv/bin/python bench/consume.py [--messages 1000000]

Fills a stream with N x ~100-byte JSON messages on a fresh embedded server, then times,
each in its own process (so peak RSS is that reader's own): (a) ``%js_consume`` in an
IPython shell and (b) ``pull_subscribe`` + ``fetch(batch=1000)`` + ``msg.metadata`` + a
list of dicts → ``pd.DataFrame``.  Prints msgs/s of both, the ratio, peak RSS, and the
frame's ``memory_usage(deep=True)``; checks the goals (a) >= 5x (b), (a) >= 60k msg/s,
(a) RSS <= 2 x frame + 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys

STREAM = "BENCH"

OURS = r"""
import json, resource, sys, time
from jsmagic.testing import testing_shell
sh = testing_shell()
sh.run_line_magic("js_connect", sys.argv[1])
ru0 = resource.getrusage(resource.RUSAGE_SELF); cpu0 = ru0.ru_utime + ru0.ru_stime
t = time.perf_counter()
df = sh.run_line_magic("js_consume", "BENCH")
dt = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rows": len(df), "seconds": dt, "frame_mb": df.memory_usage(deep=True).sum() / 2**20,
                  "rss_mb": ru.ru_maxrss / 1024, "cpu_s": ru.ru_utime + ru.ru_stime - cpu0}))
"""

NAIVE = r"""
import asyncio, json, resource, sys, time
import nats, pandas as pd
async def main():
    nc = await nats.connect(sys.argv[1]); js = nc.jetstream()
    total = (await js.stream_info("BENCH")).state.messages
    ru0 = resource.getrusage(resource.RUSAGE_SELF); cpu0 = ru0.ru_utime + ru0.ru_stime
    t = time.perf_counter()
    sub = await js.pull_subscribe("BENCH.>", stream="BENCH")
    rows = []
    while len(rows) < total:
        for m in await sub.fetch(batch=1000, timeout=5):
            md = m.metadata
            rows.append({"seq": md.sequence.stream, "subject": m.subject, "time": md.timestamp,
                         "headers": m.headers, "size": len(m.data), **json.loads(m.data)})
            await m.ack()
    df = pd.DataFrame(rows)
    dt = time.perf_counter() - t
    await sub.unsubscribe(); await nc.close()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"rows": len(df), "seconds": dt, "frame_mb": df.memory_usage(deep=True).sum() / 2**20,
                      "rss_mb": ru.ru_maxrss / 1024, "cpu_s": ru.ru_utime + ru.ru_stime - cpu0}))
asyncio.run(main())
"""


async def fill(url: str, n: int) -> None:
    """N orders of ~100 bytes, published with pipelined acks."""
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name=STREAM, subjects=[f"{STREAM}.>"])
    regions = ["eu", "us", "ap"]
    window = []
    for i in range(n):
        region = regions[i % 3]
        body = {"id": i, "customer": f"c-{i % 9973:05d}", "qty": i % 17, "price": round(i % 1000 * 0.37, 2),
                "region": region, "sku": f"SKU-{i % 501:04d}"}
        window.append(await js.publish_async(f"{STREAM}.{region}", json.dumps(body).encode()))
        if len(window) >= 20_000:
            await asyncio.gather(*window)
            window.clear()
    await asyncio.gather(*window)
    info = await js.stream_info(STREAM)
    print(f"filled {info.state.messages:,} messages, {info.state.bytes / 2**20:.0f} MiB stored")
    await nc.close()


def measure(code: str, url: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    from jsmagic.testing import nats_server

    with nats_server() as server:
        asyncio.run(fill(server.url, args.messages))
        ours = measure(OURS, server.url)
        naive = measure(NAIVE, server.url)
    import os

    a, b = ours["rows"] / ours["seconds"], naive["rows"] / naive["seconds"]
    budget = 2 * ours["frame_mb"] + 150
    print(f"(a) %js_consume : {ours['rows']:,} rows in {ours['seconds']:.2f}s = {a:,.0f} msg/s, "
          f"peak RSS {ours['rss_mb']:.0f} MB, frame {ours['frame_mb']:.0f} MB")
    print(f"(b) naive loop  : {naive['rows']:,} rows in {naive['seconds']:.2f}s = {b:,.0f} msg/s, "
          f"peak RSS {naive['rss_mb']:.0f} MB, frame {naive['frame_mb']:.0f} MB")
    print(f"ratio (a)/(b)   : {a / b:.1f}x wall; client CPU {ours['cpu_s']:.1f}s vs {naive['cpu_s']:.1f}s "
          f"= {naive['cpu_s'] / ours['cpu_s']:.1f}x; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"goal (a) >= 5x (b)        : {'met' if a >= 5 * b else 'MISSED'}")
    print(f"goal (a) >= 60k msg/s     : {'met' if a >= 60_000 else 'MISSED'}")
    print(f"goal RSS <= {budget:.0f} MB : {'met' if ours['rss_mb'] <= budget else 'MISSED'} ({ours['rss_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
