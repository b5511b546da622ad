"""``--follow`` replays the stream's history through the bulk reader, then follows it live.

The history (up to the stream's last sequence when the follow starts) is a bounded replay:
it goes through the bulk reader, and the live nats-py reader takes over right above it.
Every sequence arrives exactly once and in order across that hand-over, also for messages
published while the history is being read (published here from inside the follower's
callback, with the loop held: they are stored before the history read goes on, however
fast or slow the machine is).  Stopping during the history keeps its rows and leaves no
consumer.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

import nats
import pytest

from jsmagic.connecting.options import resolve
from jsmagic.core import registry
from jsmagic.reading.follow import LiveReplay
from jsmagic.reading.selection import Selection
from jsmagic.testing import EmbeddedServer
from jsmagic.testing.filler import fill


def _name() -> str:
    return f"FC{uuid.uuid4().hex[:8].upper()}"


async def _until(check, timeout: float = 30) -> None:
    """Poll ``check()`` (sync or async) every 50 ms until it is true; fail after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        ok = check()
        if asyncio.iscoroutine(ok):
            ok = await ok
        if ok:
            return
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def _publish_now(url: str, subjects: list[str]) -> None:
    """Publish one JSON message per subject with a JetStream ack each, from another thread and connection.

    Blocks the caller (the follower's loop) until the stream has stored them all.
    """
    async def go():
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            for s in subjects:
                await js.publish(s, b'{"late": true}')
        finally:
            await nc.close()

    t = threading.Thread(target=asyncio.run, args=(go(),))
    t.start()
    t.join()


def _scenario(url: str, body) -> None:
    async def run():
        alias = f"fc{uuid.uuid4().hex[:6]}"
        ctx = registry.create(alias)
        try:
            await ctx.connect(resolve({"servers": [url]}))
            await body(ctx)
        finally:
            await ctx.close()
            registry.forget(alias)

    asyncio.run(run())


async def _drop(ctx, name: str) -> None:
    """Stop any follow still running (a failed check left it), then delete the stream."""
    tasks = [e.task for e in ctx.background.values() if e.task is not None]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await ctx.js.delete_stream(name)


def _seqs(live: LiveReplay) -> list[int]:
    return [int(s) for c in live.rows.chunks for s in c.seq]


def test_a_follow_reads_its_history_in_bulk_then_follows_from_right_above_it(server):
    name, n = _name(), 50_000

    async def body(ctx):
        await fill(server.url, name, n)
        try:
            live = LiveReplay(Selection(name), ctx=ctx).start()
            await _until(lambda: len(live) == n and live.result.catchup.handed)
            assert _seqs(live) == list(range(1, n + 1))
            assert live.result.bulk and live.result.catchup.end == n
            assert live.describe() == f"following {name}: {n:,} messages, running; history to seq {n:,} read by the bulk reader"
            await _until(lambda: _live_consumer(ctx, name))
            (ci,) = await ctx.js.consumers_info(name)
            assert ci.config.opt_start_seq == n + 1  # the live reader starts right above the history
            await ctx.js.publish(f"{name}.eu", b'{"id": -1}')
            await _until(lambda: len(live) == n + 1)
            assert int(live.df["seq"].iloc[-1]) == n + 1 and live.df["id"].iloc[-1] == -1
            live.stop()
            await _until(lambda: not live.running)
            assert live.result.interrupted and await ctx.js.consumers_info(name) == []
        finally:
            await _drop(ctx, name)

    _scenario(server.url, body)


async def _live_consumer(ctx, name: str) -> bool:
    infos = await ctx.js.consumers_info(name)
    return len(infos) == 1 and infos[0].config.opt_start_seq is not None


def test_messages_published_during_and_after_the_history_arrive_once_and_in_order(server):
    name, n, during, after = _name(), 20_000, 300, 200
    published: list[int] = []

    async def body(ctx):
        await fill(server.url, name, n)
        try:
            def arrived(chunks):
                if not published:  # the first rows of the history: publish more while it is being read
                    assert not live.result.catchup.handed and len(live) < n
                    published.append(len(live))
                    _publish_now(server.url, [f"{name}.{'ab'[i % 2]}" for i in range(during)])

            live = LiveReplay(Selection(name, batch=2_000), on_rows=arrived, ctx=ctx).start()
            await _until(lambda: len(live) == n + during)
            assert live.result.catchup.handed and live.result.catchup.end == n
            for i in range(after):
                await ctx.js.publish(f"{name}.c", b'{"after": %d}' % i)
            await _until(lambda: len(live) == n + during + after)
            await asyncio.sleep(0.3)  # a repeat would arrive now
            assert _seqs(live) == list(range(1, n + during + after + 1))
            df = live.df
            assert df["after"].iloc[-after:].tolist() == list(range(after)) and df["late"].iloc[n : n + during].all()
            live.stop()
            await _until(lambda: not live.running)
            assert await ctx.js.consumers_info(name) == []
        finally:
            await _drop(ctx, name)

    _scenario(server.url, body)


def test_a_filtered_follow_whose_matches_end_early_neither_repeats_nor_skips(server):
    name, n = _name(), 30_000

    async def body(ctx):
        await ctx.js.add_stream(name=name, subjects=[f"{name}.>"])
        for i in range(10):
            await ctx.js.publish(f"{name}.a", b'{"i": %d}' % i)
        await fill(server.url, name, n - 10)  # .eu/.us/.ap: none of them match
        try:
            live = LiveReplay(Selection(name, subjects=[f"{name}.a"]), ctx=ctx).start()
            await _until(lambda: len(live) == 10)
            await _until(lambda: _live_consumer(ctx, name))
            (ci,) = await ctx.js.consumers_info(name)
            assert ci.config.opt_start_seq == n + 1 and ci.num_pending == 0  # not from seq 11 again
            for i in range(10, 20):
                await ctx.js.publish(f"{name}.{'a' if i % 2 else 'eu'}", b'{"i": %d}' % i)
            await _until(lambda: len(live) == 15)
            await asyncio.sleep(0.3)
            assert live.df["i"].tolist() == list(range(10)) + [11, 13, 15, 17, 19]
            assert _seqs(live) == list(range(1, 11)) + [n + 2, n + 4, n + 6, n + 8, n + 10]
            assert "read by the bulk reader" in live.describe()
            live.stop()
            await _until(lambda: not live.running)
        finally:
            await _drop(ctx, name)

    _scenario(server.url, body)


def test_stopping_during_the_history_keeps_its_rows_and_leaves_no_consumer(server):
    name, n = _name(), 50_000

    async def body(ctx):
        await fill(server.url, name, n)
        ends: list[str] = []
        try:
            def arrived(chunks):
                if live.running:
                    live.stop()  # from inside the read, at its first rows

            live = LiveReplay(Selection(name, batch=2_000), on_rows=arrived, on_end=ends.append, ctx=ctx).start()
            await _until(lambda: not live.running)
            assert ends == ["interrupted"] and not live.result.catchup.handed
            assert live.describe().endswith(f"stopped; history to seq {n:,}: stopped while the bulk reader read it")
            k = len(live)
            assert 0 < k < n and _seqs(live) == list(range(1, k + 1))
            assert live.df["id"].tolist() == list(range(k))
            assert await ctx.js.consumers_info(name) == []
        finally:
            await _drop(ctx, name)

    _scenario(server.url, body)



@pytest.mark.parametrize("where", [None, "id % 100 == 0"])  # a filter keeps rows far below what was delivered
def test_a_server_restart_during_the_history_loses_nothing_and_repeats_nothing(tmp_path, where):
    server, n, step = EmbeddedServer(store_dir=tmp_path / "store").start(), 50_000, 100 if where else 1
    restarted: list[int] = []

    async def body(ctx):
        await fill(server.url, "RS", n)

        def arrived(chunks):
            if not restarted and len(live) >= 5_000 // step:  # mid-history (pulls of 2,000): the consumer is lost
                restarted.append(len(live))
                server.restart()

        live = LiveReplay(Selection("RS", batch=2_000, where=where), on_rows=arrived, ctx=ctx).start()
        await _until(lambda: len(live) == n // step and live.result.catchup.handed)
        assert restarted[0] < n // step and live.result.catchup.end == n
        assert any("resumed" in note for note in live.result.notes)  # the bulk reader took a new consumer
        for i in range(5):
            await ctx.js.publish("RS.eu", b'{"id": %d}' % (n + 100 * i))
        await _until(lambda: len(live) == n // step + 5)
        await asyncio.sleep(0.3)
        ids = list(range(0, n, step)) + [n + 100 * i for i in range(5)]
        assert live.df["id"].tolist() == ids and _seqs(live) == [i + 1 for i in ids[:-5]] + list(range(n + 1, n + 6))
        live.stop()
        await _until(lambda: not live.running)
        assert await ctx.js.consumers_info("RS") == []

    try:
        _scenario(server.url, body)
    finally:
        server.cleanup()
