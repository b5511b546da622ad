"""Bench: the wire's limit, %js_consume (bulk reader and nats-py fallback), the naive loop, in one run.

    .venv/bin/python bench/consume.py [--messages 1000000] [--rounds 3]

Fills a stream with N x ~100-byte JSON messages on a fresh embedded server, then times,
each in its own process (so peak RSS is that reader's own):

* (w) the wire: a raw socket that pulls every message in ONE request and only counts frames;
* (a) ``%js_consume`` in an IPython shell: the bulk reader (the default);
* (f) ``%js_consume`` with ``%config JSMagic.bulk_replay = False``: the nats-py reader;
* (b) ``pull_subscribe`` + ``fetch(batch=1000)`` + ``msg.metadata`` + a list of dicts →
  ``pd.DataFrame``.

(w) and (a) run alternately ``--rounds`` times (default 3) and each is taken at its best, so
that a busy moment of a shared machine does not decide the ratio; every round is printed.
Prints msgs/s of each, the ratios, peak RSS, and the frame's ``memory_usage(deep=True)``;
checks the goals (a) >= 40% of (w), (a) >= 5x (b), exact rows (a) == (f) == N,
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
if sys.argv[2:] == ["fallback"]:
    sh.run_line_magic("config", "JSMagic.bulk_replay = False")
ru0 = resource.getrusage(resource.RUSAGE_SELF); cpu0 = ru0.ru_utime + ru0.ru_stime
t = time.perf_counter()
df = sh.run_line_magic("js_consume", "BENCH")
dt = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rows": len(df), "seconds": dt, "frame_mb": df.memory_usage(deep=True).sum() / 2**20,
                  "rss_mb": ru.ru_maxrss / 1024, "cpu_s": ru.ru_utime + ru.ru_stime - cpu0}))
"""

WIRE = r"""
import asyncio, json, resource, socket, sys, time
from urllib.parse import urlsplit
import nats
async def consumer():
    nc = await nats.connect(sys.argv[1]); js = nc.jetstream()
    await js.delete_consumer("BENCH", "wire") if "wire" in [c.name for c in await js.consumers_info("BENCH")] else None
    ci = await js.add_consumer("BENCH", name="wire", ack_policy="none", mem_storage=True, inactive_threshold=60.0)
    await nc.close()
    return ci.num_pending
total = asyncio.run(consumer())
u = urlsplit(sys.argv[1])
s = socket.create_connection((u.hostname, u.port))
s.recv(65536)  # INFO
s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\nPING\r\n')
while b"PONG" not in s.recv(65536):
    pass
ru0 = resource.getrusage(resource.RUSAGE_SELF); cpu0 = ru0.ru_utime + ru0.ru_stime
t = time.perf_counter()
req = json.dumps({"batch": total, "no_wait": True}).encode()
s.sendall(b"SUB _INBOX.wire 1\r\nPUB $JS.API.CONSUMER.MSG.NEXT.BENCH.wire _INBOX.wire %d\r\n%s\r\n" % (len(req), req))
s.settimeout(30)  # a short count ends with an error, never a hang
buf = bytearray(1 << 22); view = memoryview(buf); count = 0; tail = b"\r\n"  # the first frame follows PONG\r\n
while count < total:
    n = s.recv_into(buf)
    chunk = tail + bytes(view[:n])
    count += chunk.count(b"\r\nMSG ")  # every frame but the very first follows a \r\n
    tail = chunk[-5:]
    chunk = None
dt = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
s.close()
print(json.dumps({"rows": count, "seconds": dt, "frame_mb": 0, "rss_mb": ru.ru_maxrss / 1024,
                  "cpu_s": ru.ru_utime + ru.ru_stime - cpu0}))
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


def measure(code: str, url: str, *extra: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, url, *extra], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="(w) and (a) alternated this many times; best of each")
    args = parser.parse_args()
    from jsmagic.testing import nats_server

    with nats_server() as server:
        asyncio.run(fill(server.url, args.messages))
        pairs = [(measure(WIRE, server.url), measure(OURS, server.url)) for _ in range(args.rounds)]
        fallback = measure(OURS, server.url, "fallback")
        naive = measure(NAIVE, server.url)
    import os

    # on a shared machine one timing measures the load as much as the code: (w) and (a) alternate,
    # and each is taken at its best (the same rule for both); every round is printed too
    for k, (pw, pa) in enumerate(pairs, 1):
        print(f"round {k}: (w) {pw['seconds']:.2f}s, (a) {pa['seconds']:.2f}s (client CPU {pa['cpu_s']:.1f}s) "
              f"= {pw['seconds'] / pa['seconds']:.0%} of wire")
    wire = min((pw for pw, _ in pairs), key=lambda r: r["seconds"])
    ours = min((pa for _, pa in pairs), key=lambda r: r["seconds"])
    ours["rss_mb"] = max(pa["rss_mb"] for _, pa in pairs)  # the budget holds for every run
    ours["rows"] = min(pa["rows"] for _, pa in pairs)

    rate = {k: r["rows"] / r["seconds"] for k, r in (("w", wire), ("a", ours), ("f", fallback), ("b", naive))}
    w, a, f, b = rate["w"], rate["a"], rate["f"], rate["b"]
    budget = 2 * ours["frame_mb"] + 150
    print(f"(w) wire, count only : {wire['rows']:,} frames in {wire['seconds']:.2f}s = {w:,.0f} msg/s (one pull request; best of {args.rounds})")
    for key, label, r in (("a", "(a) %js_consume bulk", ours), ("f", "(f) %js_consume nats-py", fallback),
                          ("b", "(b) naive loop      ", naive)):
        print(f"{label} : {r['rows']:,} rows in {r['seconds']:.2f}s = {rate[key]:,.0f} msg/s = {rate[key] / w:.0%} of wire, "
              f"peak RSS {r['rss_mb']:.0f} MB, frame {r['frame_mb']:.0f} MB, client CPU {r['cpu_s']:.1f}s")
    print(f"ratios: (a)/(w) {a / w:.0%}, (f)/(w) {f / w:.0%}, (a)/(f) {a / f:.1f}x, (a)/(b) {a / b:.1f}x; "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"goal (a) >= 40% of (w)    : {'met' if a >= 0.40 * w else 'MISSED'} ({a / w:.0%}; moonshot 50%)")
    print(f"goal (a) >= 5x (b)        : {'met' if a >= 5 * b else 'MISSED'} ({a / b:.1f}x)")
    exact = ours["rows"] == fallback["rows"] == args.messages
    print(f"goal exact rows           : {'met' if exact else 'MISSED'} ({ours['rows']:,} / {fallback['rows']:,} / {args.messages:,})")
    print(f"goal RSS <= {budget:.0f} MB : {'met' if ours['rss_mb'] <= budget else 'MISSED'} ({ours['rss_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
