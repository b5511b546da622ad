"""Object store: a 50 MiB put and get-to-file through jsmagic vs nats-py's ObjectStore, same server, same run.

Run: .venv/bin/python bench/objects.py [MiB]   (prints best-of-3 seconds, MiB/s and the ratios)
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import jsmagic
from jsmagic.admin import objects, objtransfer
from jsmagic.connecting.options import resolve
from jsmagic.testing import nats_server

ROUNDS = 3


async def timed(results: dict, key: str, coro) -> None:
    start = time.perf_counter()
    await coro
    results.setdefault(key, []).append(time.perf_counter() - start)


async def nats_py_put(store, path: Path) -> None:
    with open(path, "rb") as f:
        await store.put("theirs", f)


async def nats_py_get(store, out: Path) -> None:
    with open(out, "wb") as f:
        await store.get("theirs", writeinto=f)


async def main(url: str, path: Path, work: Path, mib: int) -> None:
    ctx = jsmagic.context()
    await ctx.connect(resolve({"servers": [url]}))
    await objects.add_bucket("bench")
    store = await ctx.js.object_store("bench")
    res: dict[str, list[float]] = {}
    for _ in range(ROUNDS):
        await timed(res, "put jsmagic", objtransfer.put_file("bench", path, name="ours"))
        await timed(res, "put nats-py", nats_py_put(store, path))
        await timed(res, "get jsmagic", objtransfer.get("bench", "ours", work / "ours.out"))
        await timed(res, "get nats-py", nats_py_get(store, work / "theirs.out"))
    for key, values in res.items():
        print(f"{key:12s} best {min(values):.3f} s  {mib / min(values):6.0f} MiB/s")
    for verb in ("put", "get"):
        print(f"{verb}: jsmagic is {min(res[f'{verb} nats-py']) / min(res[f'{verb} jsmagic']):.1f}x nats-py")
    await ctx.close()


if __name__ == "__main__":
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with tempfile.TemporaryDirectory() as tmp, nats_server() as server:
        work = Path(tmp)
        path = work / "payload.bin"
        with open(path, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
        asyncio.run(main(server.url, path, work, mib))
