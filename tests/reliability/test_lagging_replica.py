"""A replay whose consumer lands on a replica that is still catching up.

An R3 stream is filled while one follower is stopped (SIGSTOP); right after it resumes, it
holds fewer messages than the leader for a moment, and an R1 consumer placed on it counts
only those (0 or a few thousand of 200,000 were seen).  A replay that trusted that count
returned short without a word: ``test_kill_stream_leader_mid_replay[follower]`` did, through
the member a previous test had just restarted.  What a user checks: every message comes back,
and the summary says the replay waited.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

import nats
import pytest

from jsmagic import testing as jt
from jsmagic.core.registry import context
from jsmagic.reading.reader import Selection, replay
from jsmagic.reading.replicas import pending_seen
from jsmagic.testing import nats_cluster

pytestmark = pytest.mark.slow

N = 200_000


@pytest.fixture(scope="module")
def cluster():
    with nats_cluster(3) as c:
        yield c


async def lagging_consumer(cluster, stream: str):
    """Fill ``stream`` (R3) with a follower stopped, resume it, and create consumers until one lands
    on it while it is behind: ``(its name, the pending count its create answered, the follower)``."""
    nc = await nats.connect(cluster.urls)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"], num_replicas=3)
    leader = (await js.stream_info(stream)).cluster.leader
    follower = next(s for s in cluster.servers if s.server_name != leader)
    await nc.close()
    nc = await nats.connect([s.url for s in cluster.servers if s is not follower])
    js = nc.jetstream()
    follower.proc.send_signal(signal.SIGSTOP)
    try:
        await jt.fill_stream(nc, stream, N, lambda i: f"{stream.lower()}.x", chunk=20_000, timeout=60)
    finally:
        follower.proc.send_signal(signal.SIGCONT)
    try:
        for attempt in range(5):  # creates sent at once, while the follower applies what it missed
            names = [f"lag{attempt}_{k}" for k in range(12)]
            infos = await asyncio.gather(*(js.add_consumer(stream, name=n, ack_policy="none", mem_storage=True,
                                                           num_replicas=1, inactive_threshold=60.0) for n in names))
            short = [ci for ci in infos if ci.cluster.leader == follower.server_name and ci.num_pending < N]
            for ci in infos:
                if not short or ci.name != short[0].name:
                    await js.delete_consumer(stream, ci.name)
            if short:
                return short[0].name, short[0].num_pending, follower
        raise AssertionError("setup: no consumer landed on the follower while it was behind")
    finally:
        await nc.close()


def test_a_consumer_on_a_lagging_replica_is_waited_for(cluster):
    stream = f"LG{uuid.uuid4().hex[:6].upper()}"
    name, reported, follower = asyncio.run(lagging_consumer(cluster, stream))
    assert reported < N  # what any client reading this consumer would have trusted
    with jt.connected_shell(cluster.url):
        ctx = context()
        info = ctx.run(ctx.js.stream_info(stream))
        notes: list[str] = []
        seen = ctx.run(pending_seen(ctx, Selection(stream), info, name, reported, notes))
        assert seen == N
        assert notes and f"its consumer saw {reported:,} of {N:,}" in notes[0] and follower.server_name in notes[0]
        # and a whole replay through jsmagic, wherever its consumer lands, has every message
        result = ctx.run(replay(Selection(stream)))
        assert len(result.frame) == N and result.frame["seq"].is_monotonic_increasing
        assert not any(n.startswith("SHORT") for n in result.notes)
        ctx.run(ctx.js.delete_consumer(stream, name))
