"""Bench: time travel over a big bucket — ``%js_kv view --at`` and ``%js_kv diff`` vs replaying the stream, in one run.

    .venv/bin/python bench/timetravel.py [--keys 100000] [--revisions 1000000]

Fills a KV bucket (history 64, direct get on) with N revisions over K keys, written in
rounds (every key once a round) on a fresh embedded server, and takes T = the time of the
middle revision.  Then times in one IPython shell:

(a) ``%js_kv view BENCH --at T``: batched direct get, multi_last up to T;
(b) ``%js_kv diff BENCH T``: two such reads (at T and now) and the comparison;
(c) the peer: a plain nats-py replay of the whole stream (a push consumer into a plain
    subscription), the last revision per key stored at or before T computed in Python;
(d) jsmagic's own fastest full read, ``%js_consume KV_BENCH --until T`` (bulk reader), then
    the last row per key with pandas.

Checks that (a), (c) and (d) agree, and prints each time and the ratios c/a, c/b and d/a.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import nats
import pandas as pd
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from jsmagic.testing import fill_stream, nats_server, testing_shell


async def _fill(url: str, keys: int, revisions: int) -> int:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.create_key_value(bucket="BENCH", history=64, direct=True)
    await fill_stream(nc, "KV_BENCH", revisions, lambda k: f"$KV.BENCH.k{k % keys:06d}", timeout=600)
    msg = await js.get_msg("KV_BENCH", seq=revisions // 2, direct=True)  # its time to the nanosecond
    await nc.close()
    return msg.seq, pd.Timestamp(msg.headers["Nats-Time-Stamp"])


async def _peer(url: str, upto_ns: int) -> dict[str, int]:
    """A plain nats-py replay of the whole stream: key → last revision at or before ``upto_ns``.

    A push consumer (no acks, flow control answered) into a plain subscription with a
    callback: the quickest way nats-py alone reads a stream (without flow control the server
    drops it as a slow consumer); the stored time comes from the ack subject, in ns.
    """
    nc = await nats.connect(url)
    js = nc.jetstream()
    total = (await js.stream_info("KV_BENCH")).state.messages
    last: dict[str, int] = {}
    done = asyncio.Event()
    seen = [0]
    cut = len("$KV.BENCH.")

    async def on_msg(m):
        if not (m.reply or "").startswith("$JS.ACK."):
            if m.reply:  # flow control: answer, or the server stops sending
                await nc.publish(m.reply, b"")
            return
        seen[0] += 1
        tokens = m.reply.split(".")
        if int(tokens[7]) <= upto_ns:
            last[m.subject[cut:]] = int(tokens[5])
        if seen[0] >= total:
            done.set()

    inbox = nc.new_inbox()
    await nc.subscribe(inbox, cb=on_msg, pending_msgs_limit=-1, pending_bytes_limit=-1)
    ci = await js.add_consumer("KV_BENCH", ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL,
                                                          deliver_subject=inbox, inactive_threshold=60.0,
                                                          flow_control=True, idle_heartbeat=5.0))
    await asyncio.wait_for(done.wait(), timeout=600)
    await js.delete_consumer("KV_BENCH", ci.name)
    await nc.close()
    return last


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--revisions", type=int, default=1_000_000)
    a = ap.parse_args()
    with nats_server() as server:
        t = time.perf_counter()
        mid, when = asyncio.run(_fill(server.url, a.keys, a.revisions))
        fill_s = time.perf_counter() - t
        sh = testing_shell(probe_local=False)
        sh.run_line_magic("js_connect", server.url)
        at = when.isoformat()

        t = time.perf_counter()
        view = sh.run_line_magic("js_kv", f"view BENCH --at {at}")
        view_s = time.perf_counter() - t
        t = time.perf_counter()
        diff = sh.run_line_magic("js_kv", f"diff BENCH {at}")
        diff_s = time.perf_counter() - t
        t = time.perf_counter()
        peer = asyncio.run(_peer(server.url, when.value))
        peer_s = time.perf_counter() - t
        t = time.perf_counter()
        df = sh.run_line_magic("js_consume", f"KV_BENCH --until {at} --decode bytes")
        own = df.drop_duplicates("subject", keep="last")
        own_s = time.perf_counter() - t
        method = view.attrs["method"]
        sh.run_line_magic("unload_ext", "jsmagic")
    got = dict(zip(view["key"], view["revision"].astype(int)))
    assert got == peer, (len(got), len(peer))
    assert len(own) == len(peer) and int(own["seq"].max()) == mid, (len(own), len(peer), int(own["seq"].max()), mid)
    assert len(diff) == len(peer) or len(diff) == a.keys  # every key was written again after T
    print(f"{a.keys:,} keys, {a.revisions:,} revisions (filled in {fill_s:.1f} s); T = revision {mid:,}")
    print(f"(a) view --at     {view_s:6.2f} s  ({method})")
    print(f"(b) diff T..now   {diff_s:6.2f} s  ({len(diff):,} keys changed)")
    print(f"(c) nats-py replay {peer_s:6.2f} s  (the peer: whole stream, last per key at T)")
    print(f"(d) %js_consume --until T + last per key {own_s:6.2f} s")
    print(f"view --at is {peer_s / view_s:.1f}x and diff {peer_s / diff_s:.1f}x the speed of the nats-py replay; "
          f"view --at is {own_s / view_s:.1f}x jsmagic's own full read")


if __name__ == "__main__":
    main()
