"""The grouped Python API against a real server, each result read again with plain nats-py.

Live results stop cleanly when the task that iterates them is cancelled: the server's own
consumer count goes back to zero, and the cancellation reaches the caller.
"""

from __future__ import annotations

import asyncio
import json
import time

import nats
import pytest

import jsmagic
from jsmagic.core.errors import ForceRequiredError, InputError


def session(server, body):
    """Run ``body(ctx, js)`` with a jsmagic connection and a plain nats-py one (``js``), both closed after."""

    async def main():
        ctx = await jsmagic.connect(server.url, alias="svc")
        nc = await nats.connect(server.url)
        try:
            return await body(ctx, nc.jetstream())
        finally:
            await nc.close()
            await jsmagic.close(ctx=ctx)

    return asyncio.run(main())


async def until(what, check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def consumer_count(js, stream):
    return (await js.stream_info(stream)).state.consumer_count


def test_a_kv_watch_cancelled_mid_loop_deletes_its_consumer_and_lets_the_cancel_through(server):
    async def body(ctx, js):
        await jsmagic.kv.add("svc_watch", ctx="svc")
        await jsmagic.kv.put("svc_watch", "a", 1, ctx="svc")
        seen = []

        async def watch():
            async for change in jsmagic.kv.watch("svc_watch", ctx="svc"):
                seen.append(change.key)

        task = asyncio.ensure_future(watch())
        await until("the watch's consumer", lambda: consumer_count(js, "KV_svc_watch"))
        await until("the first change", lambda: asyncio.sleep(0, bool(seen)))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until("no consumer left", lambda: _zero(js, "KV_svc_watch"))
        return seen

    assert session(server, body) == ["a"]


def test_a_follow_cancelled_mid_loop_deletes_its_consumer(server):
    async def body(ctx, js):
        await jsmagic.streams.add("SVCFOLLOW", subjects="svcfollow.>", ctx="svc")
        await js.publish("svcfollow.a", b'{"n": 1}')
        frames = []

        async def follow():
            async for chunk in jsmagic.follow("SVCFOLLOW", ctx="svc"):
                frames.append(chunk["n"].tolist())

        task = asyncio.ensure_future(follow())
        await until("the history", lambda: asyncio.sleep(0, bool(frames)))
        await js.publish("svcfollow.b", b'{"n": 2}')
        await until("the new message", lambda: asyncio.sleep(0, sum(frames, []) == [1, 2]))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until("no consumer left", lambda: _zero(js, "SVCFOLLOW"))
        return sum(frames, [])

    assert session(server, body) == [1, 2]


async def _zero(js, stream):
    return await consumer_count(js, stream) == 0


def test_streams_take_the_magics_flag_names_and_refuse_unknown_ones(server):
    async def body(ctx, js):
        with pytest.raises(InputError, match="max_age"):
            await jsmagic.streams.add("SVCBAD", max_agee="1d", ctx="svc")
        assert "SVCBAD" not in await jsmagic.streams.names(ctx="svc")  # nothing was created
        await jsmagic.streams.add("SVCS", subjects="svcs.>", max_age="1d", max_bytes="1MB", dupe_window="2m",
                                  storage="memory", ctx="svc")
        cfg = (await js.stream_info("SVCS")).config
        for i in range(10):
            await js.publish(f"svcs.{i % 2}", json.dumps({"i": i}).encode())
        msg = await jsmagic.streams.get("SVCS", 4, ctx="svc")
        with pytest.raises(ForceRequiredError):
            await jsmagic.streams.purge("SVCS", subject="svcs.0", ctx="svc")
        purged = await jsmagic.streams.purge("SVCS", subject="svcs.0", force=True, ctx="svc")
        left = (await js.stream_info("SVCS")).state.messages
        return cfg, msg, purged, left

    cfg, msg, purged, left = session(server, body)
    assert (cfg.max_age, cfg.max_bytes, cfg.duplicate_window, str(getattr(cfg.storage, "value", cfg.storage))) == (86400, 1_000_000, 120, "memory")  # 1MB as natscli reads it (SI)
    assert (msg["seq"], msg["subject"], msg["data"]) == (4, "svcs.1", {"i": 3})
    assert purged.purged == 5 and left == 5


def test_a_durable_consumer_through_the_api_as_the_server_sees_it(server):
    async def body(ctx, js):
        await jsmagic.streams.add("SVCC", subjects="svcc.>", ctx="svc")
        for i in range(6):
            await js.publish("svcc.x", json.dumps({"i": i}).encode())
        await jsmagic.consumers.add("SVCC", "worker", filter="svcc.x", ack_wait="30s", ctx="svc")
        got = await jsmagic.consumers.next("SVCC", "worker", 4, ctx="svc")
        info = await js.consumer_info("SVCC", "worker")
        listed = (await jsmagic.consumers.ls("SVCC", ctx="svc"))["name"].tolist()
        await jsmagic.consumers.rm("SVCC", "worker", force=True, ctx="svc")
        return got, info, listed, await consumer_count(js, "SVCC")

    got, info, listed, left = session(server, body)
    assert got["data"].tolist() == [{"i": i} for i in range(4)]
    assert (info.config.ack_wait, info.config.filter_subject, info.ack_floor.stream_seq, info.num_pending) == (30, "svcc.x", 4, 2)
    assert listed == ["worker"] and left == 0


def test_an_object_stored_through_the_api_reads_back_with_nats_py(server):
    payload = bytes(range(256)) * 1000

    async def body(ctx, js):
        await jsmagic.obj.add("svcobj", ctx="svc")
        await jsmagic.obj.put("svcobj", data=payload, name="blob.bin", ctx="svc")
        ours = await jsmagic.obj.get("svcobj", "blob.bin", ctx="svc")
        theirs = await (await js.object_store("svcobj")).get("blob.bin")
        names = (await jsmagic.obj.ls("svcobj", ctx="svc"))["name"].tolist()
        return ours, theirs.data, names

    ours, theirs, names = session(server, body)
    assert ours == theirs == payload and names == ["blob.bin"]


def test_the_sync_form_and_an_unknown_alias(server):
    ctx = jsmagic.run(jsmagic.connect(server.url, alias="svcsync"))
    try:
        assert jsmagic.run(jsmagic.status(ctx="svcsync")).connected is True
        with pytest.raises(jsmagic.JSMagicError, match="svcsync"):  # did you mean
            jsmagic.run(jsmagic.streams.ls(ctx="svcsycn"))
    finally:
        jsmagic.run(jsmagic.close(ctx=ctx))
