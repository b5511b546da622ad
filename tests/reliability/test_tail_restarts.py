"""A live tail (``%js_consume F --new --follow``) across a server restart and a stream leader change.

The tail's ephemeral consumer lives in the server's memory: a restart (same store) or
the loss of the stream's leader in a cluster takes it away, and the tail used to keep
its rows forever while still saying it was live.  It must notice, take a new consumer
from the sequence after the last row kept, and end up with every message exactly once.
Its ``.df`` is capped by ``JSMagic.follow_max_rows``, the dropped count shown.
"""

from __future__ import annotations

import asyncio
import time

import nats
import pytest

from jsmagic.testing import EmbeddedServer, connected_shell, nats_cluster


async def _publish(urls, subject: str, start: int, n: int, timeout: float = 30) -> None:
    """Publish ``n`` messages with a JetStream ack each, retrying while the stream has no leader."""
    deadline = time.monotonic() + timeout
    nc = await nats.connect(urls, max_reconnect_attempts=20, reconnect_time_wait=0.2)
    js = nc.jetstream(timeout=2)
    try:
        i = start
        while i < start + n:
            try:
                await js.publish(subject, b'{"i":%d}' % i)
                i += 1
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await nc.close()


def _wait(shell, check, timeout: float = 45) -> bool:
    """Run the kernel's loop (cells) until ``check()`` or the timeout."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        shell.run_cell("import asyncio; await asyncio.sleep(0.1)")
    return check()


def _start_tail(shell, line: str):
    tail = shell.run_line_magic("js_consume", line)
    assert _wait(shell, lambda: tail.running)
    for _ in range(10):  # let it create its consumer
        shell.run_cell("import asyncio; await asyncio.sleep(0.1)")
    return tail


@pytest.mark.parametrize("retention", ["limits", "workqueue"])  # a consumer, and direct gets
def test_a_tail_survives_a_server_restart_with_no_gap_and_no_repeat(tmp_path, retention):
    server = EmbeddedServer(store_dir=tmp_path / "store").start()
    try:
        async def setup():
            nc = await nats.connect(server.url)
            await nc.jetstream().add_stream(name="F", subjects=["f.>"], retention=retention, allow_direct=True)
            await nc.close()

        asyncio.run(setup())
        with connected_shell(server.url) as shell:
            tail = _start_tail(shell, "F --new --follow")
            asyncio.run(_publish(server.url, "f.x", 0, 50))
            assert _wait(shell, lambda: len(tail) == 50)
            server.restart()
            asyncio.run(_publish(server.url, "f.x", 50, 50))
            assert _wait(shell, lambda: len(tail) == 100), (tail.describe(), tail.error)
            df = tail.df
            assert df["seq"].tolist() == list(range(1, 101)) and df["i"].tolist() == list(range(100))
            assert tail.running and "100 messages, running" in tail.describe()
            tail.stop()
    finally:
        server.cleanup()


def test_a_tail_keeps_the_newest_rows_up_to_the_cap_and_says_how_many_it_dropped(shell, nc):
    client, js, run = nc
    run(js.add_stream(name="CAP", subjects=["cap.>"]))
    shell.run_line_magic("config", "JSMagic.follow_max_rows = 30")
    try:
        tail = _start_tail(shell, "CAP --new --follow")
        for i in range(100):
            run(client.publish("cap.x", b'{"i":%d}' % i))
        run(client.flush())
        assert _wait(shell, lambda: tail.live.dropped == 70)
        assert tail.df["i"].tolist() == list(range(70, 100))
        assert "30 messages (the oldest 70 dropped: JSMagic.follow_max_rows)" in tail.describe()
        assert "oldest 70 dropped" in tail.table.note
        tail.stop()
    finally:
        shell.run_line_magic("config", "JSMagic.follow_max_rows = 1000000")
        run(js.delete_stream("CAP"))


def _kill_the_tails_leader(cluster, stream: str):
    """Move the stream's leadership to the member that hosts the tail's consumer, then kill that member.

    Both happen then: the stream elects a new leader and the tail's consumer is gone.
    """
    async def host() -> str:
        nc = await nats.connect(cluster.urls)
        try:
            js = nc.jetstream()
            (ci,) = await js.consumers_info(stream)
            where = ci.cluster.leader
            if (await js.stream_info(stream)).cluster.leader != where:
                await nc.request(f"$JS.API.STREAM.LEADER.STEPDOWN.{stream}",
                                 b'{"placement": {"preferred": "%s"}}' % where.encode(), timeout=5)
            return where
        finally:
            await nc.close()

    where = asyncio.run(host())
    deadline = time.monotonic() + 15
    while cluster.leader_of(stream).server_name != where:
        assert time.monotonic() < deadline, "the stream's leadership did not move"
        time.sleep(0.2)
    member = cluster.member(where)
    member.kill()
    return member


@pytest.mark.slow
def test_a_tail_survives_a_stream_leader_change_in_a_cluster():
    with nats_cluster(3) as cluster:
        async def setup():
            nc = await nats.connect(cluster.urls)
            await nc.jetstream().add_stream(name="FC", subjects=["fc.>"], num_replicas=3)
            await nc.close()

        asyncio.run(setup())
        with connected_shell(cluster.url) as shell:
            tail = _start_tail(shell, "FC --new --follow")
            asyncio.run(_publish(cluster.urls, "fc.x", 0, 20))
            assert _wait(shell, lambda: len(tail) == 20)
            leader = _kill_the_tails_leader(cluster, "FC")
            asyncio.run(_publish([s.url for s in cluster.servers if s.running()], "fc.x", 20, 20))
            assert _wait(shell, lambda: len(tail) == 40, timeout=60), tail.describe()
            assert tail.df["i"].tolist() == list(range(40)) and tail.running
            tail.stop()
            leader.start()
