"""Scans (``%js_counter ls``, ``%js_stream schedules``, object gets): an interrupt mid-scan.

A consumer deleted mid-scan: tests/reading/test_scan_resume.py (the scan resumes, or says so).
"""

from __future__ import annotations

import asyncio
import time

import nats
from nats.js import api

from jsmagic.admin import scan


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
