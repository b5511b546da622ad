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
import contextlib
import signal
import uuid

import nats
import nats.errors
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


def fill_with_a_follower_stopped(cluster, streams: list[str]):
    """R3 ``streams`` filled with N messages each while one follower is stopped (SIGSTOP; still stopped after)."""

    async def go():
        nc = await nats.connect(cluster.urls)
        js = nc.jetstream()
        for stream in streams:
            await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"], num_replicas=3)
        leaders = {(await js.stream_info(s)).cluster.leader for s in streams}
        await nc.close()
        follower = next(s for s in cluster.servers if s.server_name not in leaders)
        nc = await nats.connect([s.url for s in cluster.servers if s is not follower])
        follower.proc.send_signal(signal.SIGSTOP)
        try:
            for stream in streams:
                await jt.fill_stream(nc, stream, N, lambda i, p=stream.lower(): f"{p}.x", chunk=20_000, timeout=60)
        except BaseException:
            follower.proc.send_signal(signal.SIGCONT)
            raise
        finally:
            await nc.close()
        return follower

    return asyncio.run(go())


async def lagging_consumer(js, stream: str, follower):
    """Create consumers (sent at once) until one lands on ``follower`` while it is behind:
    ``(its name, the pending count its create answered)``."""
    for attempt in range(5):
        names = [f"lag{attempt}_{k}" for k in range(8)]
        infos = await asyncio.gather(*(js.add_consumer(stream, name=n, ack_policy="none", mem_storage=True,
                                                       num_replicas=1, inactive_threshold=60.0, timeout=20) for n in names))
        short = [ci for ci in infos if ci.cluster.leader == follower.server_name and ci.num_pending < N]
        for ci in infos:  # the others go (a busy cluster may not answer: their inactive threshold ends them)
            if not short or ci.name != short[0].name:
                with contextlib.suppress(nats.errors.Error):
                    await js.delete_consumer(stream, ci.name)
        if short:
            return short[0].name, short[0].num_pending
    return None, None  # the follower caught up first


def test_replays_right_after_a_follower_resumes_have_every_message(cluster):
    for _ in range(3):  # a round whose consumers all missed the lagging follower proves nothing: again
        stream = f"LG{uuid.uuid4().hex[:6].upper()}"
        follower = fill_with_a_follower_stopped(cluster, [stream])
        with jt.connected_shell(cluster.url):
            ctx = context()

            async def at_once():
                follower.proc.send_signal(signal.SIGCONT)
                replays = [replay(Selection(stream, bulk=k % 2 == 0, timeout=20)) for k in range(4)]  # both readers
                return await asyncio.gather(lagging_consumer(ctx.js, stream, follower), *replays)

            (name, reported), *results = ctx.run(at_once())
            # wherever each consumer landed, every replay has every message, and none says it is short
            for result in results:
                assert len(result.frame) == N and result.frame["seq"].is_monotonic_increasing, result.notes
                assert not any(n.startswith("SHORT") for n in result.notes)
            waited = [n for r in results for n in r.notes if n.startswith("waited for")]
            print(f"replays that waited for {follower.server_name}: {len(waited)}; a raw consumer counted {reported}")
            if name is None:
                continue
            # the guard itself, on a consumer known to have counted short on the lagging follower
            assert reported < N  # what any client reading this consumer would have trusted
            info = ctx.run(ctx.js.stream_info(stream))
            notes: list[str] = []
            assert ctx.run(pending_seen(ctx, Selection(stream), info, name, reported, notes)) == N
            assert notes and f"its consumer saw {reported:,} of {N:,}" in notes[0]
            assert follower.server_name in notes[0]
            with contextlib.suppress(nats.errors.Error):
                ctx.run(ctx.js.delete_consumer(stream, name))
            return
    pytest.fail("setup: in 3 rounds no consumer landed on the follower while it was behind")
