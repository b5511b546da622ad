"""Scans (``%js_counter ls``, ``%js_stream schedules``, object gets): what they do when a read ends short.

A scan reads every message pending for a throwaway consumer.  If that consumer goes away
mid-read (deleted, or lost with its server), the scan used to stop and return what it had as
if it were all.  Here the consumer is deleted by a plain nats-py client while the scan runs.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

import nats
import pytest
from nats.js import api

from jsmagic.admin import objects, objtransfer, scan
from jsmagic.core.errors import JSMagicError


def delete_consumers(url: str, stream: str) -> list[str]:
    """Delete every consumer of ``stream`` from another thread and connection; their names."""
    out: list[str] = []

    async def go() -> None:
        nc = await nats.connect(url)
        js = nc.jetstream()
        for ci in await js.consumers_info(stream):
            await js.delete_consumer(stream, ci.name)
            out.append(ci.name)
        await nc.close()

    t = threading.Thread(target=lambda: asyncio.run(go()))
    t.start()
    t.join(30)
    return out


def test_a_scan_whose_consumer_goes_away_says_so(second, fresh_server):
    run, stream = second.run, "SCANNED"

    async def fill() -> None:
        await second.js.add_stream(name=stream, subjects=["scanned.>"])
        for i in range(2000):
            await second.js.publish(f"scanned.{i}", b"x" * 100)

    run(fill())
    got, deleted = [], []

    def progress(done: int, total: int | None) -> None:  # mid-read: the consumer is deleted under the scan
        if not deleted and done:
            deleted.extend(delete_consumers(fresh_server.url, stream))

    config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.ALL, mem_storage=True)
    with pytest.raises(JSMagicError, match=r"ended short: [\d,]+ of 2,000 messages"):
        run(scan.read_raw(stream, config, got.append, batch=50, progress=progress, ctx=second))
    assert len(deleted) == 1


def test_an_object_get_whose_consumer_goes_away_writes_nothing(second, fresh_server, tmp_path):
    run = second.run
    run(objects.add_bucket("shortget", ctx=second))
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(8 << 20))  # 64 chunks
    run(objtransfer.put_file("shortget", src, ctx=second))
    deleted: list[str] = []

    def progress(done: int, total: int | None) -> None:
        if not deleted and done:
            deleted.extend(delete_consumers(fresh_server.url, "OBJ_shortget"))

    out = tmp_path / "back.bin"
    with pytest.raises(JSMagicError, match="failed verification.*ended short"):
        run(objtransfer.get("shortget", "src.bin", out, progress=progress, ctx=second))
    assert len(deleted) == 1 and not out.exists() and not (tmp_path / "back.bin.part").exists()


def test_an_interrupted_scan_keeps_what_arrived_and_leaves_no_consumer(second, fresh_server):
    """A kernel interrupt (the task cancelled mid-read) ends the scan: True, every message that arrived
    handed over in order, and the throwaway consumer deleted (checked by a plain nats-py client)."""
    run, stream = second.run, "INTERRUPTED"

    async def fill() -> None:
        await second.js.add_stream(name=stream, subjects=["interrupted.>"])
        for i in range(3000):
            await second.js.publish(f"interrupted.{i % 7}", b"x" * 100)

    run(fill())
    seqs: list[int] = []
    seen_at_cancel: list[int] = []

    def handle(batch) -> None:
        seqs.extend(int(s) for s in batch.seq)

    def progress(done: int, total: int | None) -> None:
        if done and not seen_at_cancel:
            seen_at_cancel.append(done)
            asyncio.current_task().cancel()  # what the notebook's stop button does to the cell's task

    config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.ALL, mem_storage=True)
    assert run(scan.read_raw(stream, config, handle, batch=100, progress=progress, ctx=second)) is True
    assert seen_at_cancel and seen_at_cancel[0] <= len(seqs) < 3000  # nothing that arrived was dropped
    assert seqs == list(range(1, len(seqs) + 1))

    async def consumers_left() -> list[str]:  # polled: the delete may finish after the interrupt returns
        nc = await nats.connect(fresh_server.url)
        try:
            deadline = time.monotonic() + 10
            while (names := [ci.name for ci in await nc.jetstream().consumers_info(stream)]) and \
                    time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return names
        finally:
            await nc.close()

    assert asyncio.run(consumers_left()) == []
