"""Stream peers on a 3-node cluster: peer-evacuate (2.15), peer-remove (2.2) and cancel-move (2.15).

Each outcome is read from the server's STREAM.INFO cluster section with plain nats-py
(leader, replicas, ``desired``), polled with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import time

import nats
import pytest

from jsmagic import testing as jt
from jsmagic.core.errors import ForceRequiredError, InputError
from jsmagic.core.errors import TimeoutError as JSTimeout

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    c = jt.NatsCluster(3)
    for i, member in enumerate(c.servers):  # tags to steer a placement to one member
        member.config += f'\nserver_tags: ["node{i + 1}"]\n'
    with c:
        yield c


@pytest.fixture
def cshell(cluster):
    sh = jt.testing_shell(probe_local=False)
    sh.run_line_magic("js_connect", cluster.url)
    yield sh
    jt.close_shell(sh)


def info(cluster, stream: str) -> dict:
    """STREAM.INFO through plain nats-py on any running member, retried while the cluster elects."""
    async def ask():
        nc = await nats.connect([s.url for s in cluster.servers if s.running()], connect_timeout=2)
        try:
            for _ in range(20):
                try:
                    answer = json.loads((await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=3)).data)
                    if "error" not in answer:
                        return answer
                except nats.errors.Error:
                    pass  # no meta leader for a moment: ask again
                await asyncio.sleep(0.3)
            raise AssertionError(f"no STREAM.INFO for {stream}")
        finally:
            await nc.close()

    return asyncio.run(ask())


def peer_names(answer: dict) -> list[str]:
    c = answer.get("cluster") or {}
    return [n for n in [c.get("leader")] + [r["name"] for r in c.get("replicas") or []] if n]


def wait_for(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def fill(cluster, subject: str, n: int) -> None:
    """Store ``n`` messages with plain nats-py (each publish acknowledged)."""
    async def go():
        nc = await nats.connect(cluster.urls)
        js = nc.jetstream()
        for i in range(n):
            await js.publish(subject, b"%d" % i, timeout=10)
        await nc.close()

    asyncio.run(go())


def test_peers_and_peer_evacuate(cluster, cshell):
    cshell.run_line_magic("js_stream", "add EV --subjects 'ev.>' --replicas 2")
    fill(cluster, "ev.a", 50)
    before = wait_for(lambda: (a := info(cluster, "EV")) and len(peer_names(a)) == 2 and a)
    df = cshell.run_line_magic("js_stream", "peers EV")
    assert list(df["peer"]) == peer_names(before) and list(df["role"]) == ["leader", "follower"]

    leader, follower = peer_names(before)
    with pytest.raises(ForceRequiredError, match=f"would move stream EV off peer {follower}"):
        cshell.run_line_magic("js_stream", f"peer-evacuate EV {follower}")
    with pytest.raises(InputError, match="not a peer of stream EV"):
        cshell.run_line_magic("js_stream", "peer-evacuate EV nope --force")
    assert peer_names(info(cluster, "EV")) == [leader, follower]  # nothing changed

    cshell.run_line_magic("js_stream", f"peer-evacuate EV {follower} --force")
    spare = ({s.server_name for s in cluster.servers} - {leader, follower}).pop()

    def moved():
        a = info(cluster, "EV")
        reps = (a["cluster"].get("replicas") or [])
        return (a["cluster"].get("leader") == leader and [r["name"] for r in reps] == [spare]
                and reps[0].get("current") and not a["cluster"].get("desired") and a)

    after = wait_for(moved)
    assert after["config"]["num_replicas"] == 2 and after["state"]["messages"] == 50


def test_peer_remove_of_the_leader(cluster, cshell):
    cshell.run_line_magic("js_stream", "add PR --subjects 'pr.>' --replicas 2")
    fill(cluster, "pr.a", 20)
    before = wait_for(lambda: (a := info(cluster, "PR")) and len(peer_names(a)) == 2 and a)
    leader = peer_names(before)[0]
    with pytest.raises(ForceRequiredError, match="no leader until it elects one"):
        cshell.run_line_magic("js_stream", f"peer-remove PR {leader}")
    cshell.run_line_magic("js_stream", f"peer-remove PR {leader} --force")

    def healed():
        a = info(cluster, "PR")
        names = peer_names(a)
        return (a["cluster"].get("leader") and leader not in names and len(names) == 2
                and all(r.get("current") for r in a["cluster"]["replicas"]) and a)

    after = wait_for(healed)
    assert after["state"]["messages"] == 20


def test_cancel_move_rolls_a_stuck_placement_change_back(cluster):
    cshell = jt.testing_shell(probe_local=False)  # connected to the members that stay up
    cshell.run_line_magic("js_connect", ",".join(cluster.urls[:2]))
    cshell.run_line_magic("js_stream", "add MV --subjects 'mv.>' --tag node1")
    fill(cluster, "mv.a", 30)
    with pytest.raises(InputError, match="no placement change in progress"):
        cshell.run_line_magic("js_stream", "cancel-move MV")

    node3 = cluster.servers[2]
    node3.kill()  # the target dies before the move: it never catches up, the move stays in progress
    try:
        deadline = time.monotonic() + 60
        while True:  # node3 may have led the meta group: the cluster elects another first
            try:
                cshell.run_line_magic("js_stream", "edit MV --tag node3")
                break
            except JSTimeout:
                assert time.monotonic() < deadline, "the edit was never answered"
            except InputError as e:  # a timed-out try was applied after all
                assert "nothing to change" in str(e)
                break
        moving = wait_for(lambda: (a := info(cluster, "MV")) and a["cluster"].get("desired") and a)
        assert [r["name"] for r in moving["cluster"]["desired"]["replicas"]] == [node3.server_name]
        df = cshell.run_line_magic("js_stream", "peers MV")
        assert df.attrs["desired"] == [node3.server_name] and df.attrs["moving"]

        cshell.run_line_magic("js_stream", "cancel-move MV")

        def rolled_back():
            a = info(cluster, "MV")
            return (not a["cluster"].get("desired") and peer_names(a) == [cluster.servers[0].server_name]
                    and a["config"]["placement"] == {"tags": ["node1"]} and a)

        after = wait_for(rolled_back)
        assert after["state"]["messages"] == 30
        with pytest.raises(InputError, match="no placement change in progress"):
            cshell.run_line_magic("js_stream", "cancel-move MV")
    finally:
        jt.close_shell(cshell)
        cluster.start()


def test_peer_verbs_on_a_single_server_say_it_is_not_clustered(shell, server):
    shell.run_line_magic("js_stream", "add SOLO --subjects 'solo.>' --storage memory")
    name = server.server_name
    with pytest.raises(InputError, match="stream SOLO is not clustered"):
        shell.run_line_magic("js_stream", f"peer-remove SOLO {name} --force")
    with pytest.raises(InputError, match="stream SOLO is not clustered"):
        shell.run_line_magic("js_stream", "cancel-move SOLO")
    df = shell.run_line_magic("js_stream", "peers SOLO")
    assert list(df["peer"]) == [name] and not df.attrs["desired"]
