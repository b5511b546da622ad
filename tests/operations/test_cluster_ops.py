"""The report and the consumer watch on a 3-node cluster: replicas, leader and lag shown; the watch
keeps its series through the loss and return of the stream's leader."""

import asyncio
import time

import pytest

from jsmagic.core.registry import context
from jsmagic import testing as jt

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    with jt.nats_cluster(3) as c:
        yield c


@pytest.fixture
def cshell(cluster):
    sh = jt.testing_shell(probe_local=False)
    sh.run_line_magic("js_connect", cluster.url)
    yield sh
    jt.close_shell(sh)


def wait_for(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        context().run(asyncio.sleep(0.2))


def test_report_and_watch_on_a_cluster(cluster, cshell):
    sh = cshell
    sh.run_line_magic("js_stream", "add R3 --subjects 'r3.>' --replicas 3")
    ctx = context()

    async def pub(n):
        js = await ctx.jetstream()
        for i in range(n):
            for _attempt in range(100):  # right after a member's return the stream may be electing a leader
                try:
                    await js.publish("r3.x", b"%d" % i, headers={"Nats-Msg-Id": f"m{n}-{i}"})
                    break
                except Exception:
                    await asyncio.sleep(0.2)

    ctx.run(pub(50))
    sh.run_line_magic("js_stream", "add R3MIRROR --mirror R3")
    sh.run_line_magic("js_consumer", "add R3 w")
    names = {s.server_name for s in cluster.servers}

    def settled():
        rep = sh.run_line_magic("js_stream", "report").set_index("name")
        return rep.loc["R3MIRROR", "messages"] == 50 and rep.loc["R3", "replica_lag"] == 0

    wait_for(settled)
    rep = sh.run_line_magic("js_stream", "report").set_index("name")
    r3 = rep.loc["R3"]
    assert r3["replicas"] == 3 and r3["leader"] in names and r3["messages"] == 50
    assert r3["followers"].count("lag 0") == 2 and r3["leader"] not in r3["followers"]
    assert rep.loc["R3MIRROR", "mirror"] == "R3" and rep.loc["R3MIRROR", "lag"] == 0
    assert "with replication lag" in sh.run_line_magic("js_stream", "report").summary

    crep = sh.run_line_magic("js_consumer", "report R3").set_index("name")
    assert crep.loc["w", "pending"] == 50 and crep.loc["w", "leader"] in names and crep.loc["w", "replicas"] == 3

    w = sh.run_line_magic("js_consumer", "watch R3 w --every 0.2")
    wait_for(lambda: w.watcher.checks >= 2)  # a row per change: the answers are counted
    leader = cluster.kill_leader("R3")
    try:
        ctx.run(asyncio.sleep(1.0))
        seen = w.watcher.checks
        wait_for(lambda: w.watcher.status == "live" and w.watcher.checks > seen)  # a new leader answers
    finally:
        leader.start()
    cluster.wait_ready()
    wait_for(lambda: w.watcher.status == "live")
    ctx.run(pub(7))
    wait_for(lambda: w.df["pending"].iloc[-1] == 57)
    assert w.running and w.df["pending"].iloc[0] == 50
    w.stop()
