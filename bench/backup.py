"""Bench: %js_stream backup/restore vs reading the same stream with %js_consume, in one run.

    .venv/bin/python bench/backup.py [--messages 200000]

Fills a stream with N x ~100-byte JSON messages on a fresh embedded server, then times in
one IPython shell: (a) ``%js_stream backup`` to a directory, (b) ``%js_stream rm`` +
``%js_stream restore``, and (c) ``%js_consume`` of the same stream into a DataFrame (the
fastest way jsmagic reads a stream: the peer).  Prints msgs/s of each, the ratios a/c and
b/c, the backup's size, and checks the restore (same messages and last sequence).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import nats

from jsmagic.testing import fill_stream, nats_server, testing_shell


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=200_000)
    n = ap.parse_args().messages
    work = tempfile.mkdtemp()
    with nats_server() as server:
        async def fill():
            nc = await nats.connect(server.url)
            await nc.jetstream().add_stream(name="BENCH", subjects=["bench.>"])
            await fill_stream(nc, "BENCH", n, lambda i: f"bench.{i % 10}")
            await nc.close()

        asyncio.run(fill())
        sh = testing_shell(probe_local=False)
        sh.run_line_magic("js_connect", server.url)
        t = time.perf_counter()
        sh.run_line_magic("js_stream", f"backup BENCH {work}/b")
        backup_s = time.perf_counter() - t
        t = time.perf_counter()
        df = sh.run_line_magic("js_consume", "BENCH")
        consume_s = time.perf_counter() - t
        sh.run_line_magic("js_stream", "rm BENCH --force")
        t = time.perf_counter()
        done = sh.run_line_magic("js_stream", f"restore {work}/b")
        restore_s = time.perf_counter() - t
        size = sum(p.stat().st_size for p in Path(work, "b").iterdir())
        sh.run_line_magic("unload_ext", "jsmagic")
    shutil.rmtree(work, ignore_errors=True)
    assert len(df) == n and done.messages == n and done.last_seq == n, (len(df), done)
    print(f"{n:,} messages; backup {size / 2**20:.1f} MiB")
    print(f"(a) backup   {backup_s:6.2f} s  {n / backup_s:10,.0f} msg/s")
    print(f"(b) restore  {restore_s:6.2f} s  {n / restore_s:10,.0f} msg/s")
    print(f"(c) consume  {consume_s:6.2f} s  {n / consume_s:10,.0f} msg/s  (the peer: a full read into pandas)")
    print(f"backup is {consume_s / backup_s:.1f}x, restore {consume_s / restore_s:.1f}x the speed of a full read")


if __name__ == "__main__":
    main()
