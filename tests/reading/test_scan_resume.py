"""Scans resume like replays: a consumer deleted mid-scan (by a plain nats-py client) is replaced.

A scan (``%js_counter ls``, ``%js_stream schedules``, ``%js_obj get``) reads through the one
drain/resume loop: it goes on with a new consumer after the last sequence it handed over,
hands every message over once and in order, and its notes say "resumed N times".  What the
scan got is compared with the server's own count and with the bytes a plain nats-py client
read; a ``--last-per-subject`` scan cannot resume (its new "last" set is another one) and
still fails loudly.
"""

from __future__ import annotations

import asyncio
import os
import threading

import nats
import pytest
from nats.js import api

from jsmagic.admin import objects, objtransfer, scan
from jsmagic.core.errors import JSMagicError


def delete_consumers(url: str, stream: str) -> list[str]:
    """Delete every consumer of ``stream`` from another thread and connection (plain nats-py); their names."""
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


def server_state(url: str, stream: str) -> tuple[int, int, int, list[str]]:
    """The server's messages, first and last sequence, and the consumers left, read by plain nats-py."""

    async def go():
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            si = await js.stream_info(stream)
            return (si.state.messages, si.state.first_seq, si.state.last_seq,
                    [ci.name for ci in await js.consumers_info(stream)])
        finally:
            await nc.close()

    return asyncio.run(go())


def test_a_scan_whose_consumer_is_deleted_resumes_and_hands_over_every_message(second, fresh_server):
    run, stream = second.run, "RESUMED"

    async def fill() -> None:
        await second.js.add_stream(name=stream, subjects=["resumed.>"])
        for i in range(3000):
            await second.js.publish(f"resumed.{i % 11}", str(i).encode())

    run(fill())
    seqs, datas, deleted, notes = [], [], [], []

    def handle(batch) -> None:
        seqs.extend(int(s) for s in batch.seq)
        datas.extend(batch.datas)

    def progress(done: int, total: int | None) -> None:  # mid-read: the consumer is deleted under the scan
        if not deleted and done:
            deleted.extend(delete_consumers(fresh_server.url, stream))

    config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.ALL, mem_storage=True)
    assert run(scan.read_raw(stream, config, handle, batch=50, progress=progress, ctx=second, notes=notes)) is False
    messages, first, last, left = server_state(fresh_server.url, stream)
    assert len(deleted) == 1 and 0 < len(seqs)
    assert messages == 3000 and seqs == list(range(first, last + 1))  # every one, once, in order
    assert datas == [str(i).encode() for i in range(3000)]
    assert any("resumed 1 time" in n for n in notes), notes
    assert left == []  # the replacement consumer is gone too


def test_an_object_get_whose_consumer_is_deleted_resumes_with_the_same_bytes(second, fresh_server, tmp_path):
    run = second.run
    run(objects.add_bucket("resumedget", ctx=second))
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(8 << 20))  # 64 chunks
    run(objtransfer.put_file("resumedget", src, ctx=second))
    deleted: list[str] = []

    def progress(done: int, total: int | None) -> None:
        if not deleted and done:
            deleted.extend(delete_consumers(fresh_server.url, "OBJ_resumedget"))

    out = tmp_path / "back.bin"
    run(objtransfer.get("resumedget", "src.bin", out, progress=progress, ctx=second))
    assert len(deleted) == 1 and out.read_bytes() == src.read_bytes()


def test_a_last_per_subject_scan_whose_consumer_is_deleted_still_says_so(second, fresh_server):
    run, stream = second.run, "LASTS"

    async def fill() -> None:
        await second.js.add_stream(name=stream, subjects=["lasts.>"])
        for i in range(3000):
            await second.js.publish(f"lasts.{i}", b"x" * 100)

    run(fill())
    deleted: list[str] = []

    def progress(done: int, total: int | None) -> None:
        if not deleted and done:
            deleted.extend(delete_consumers(fresh_server.url, stream))

    config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT, filter_subject=">")
    with pytest.raises(JSMagicError, match=r"ended short: [\d,]+ of 3,000 messages"):
        run(scan.read_raw(stream, config, lambda b: None, batch=50, progress=progress, ctx=second))
    assert len(deleted) == 1
