"""``%js_events`` live in a real kernel: each advisory kind caused with plain nats-py shows up as a row,
the same advisories a plain subscriber receives; ``--capture`` keeps them in a stream; stop leaves a snapshot.
Leader elections are caused in a 3-node cluster and read through the core watcher."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid

import nats
import pytest

from jsmagic.admin.events import EventsWatcher
from jsmagic.testing import KernelSession, nats_cluster, nats_server
from tests.corenats.peers import Peer, wait_until


@pytest.fixture(scope="module")
def events_server():
    """A server of this module's own: a dead-letter capture another test left on the session
    server would overlap ``$JS.EVENT.ADVISORY.>`` (that case is tested below, on purpose)."""
    with nats_server() as s:
        yield s


@pytest.fixture(scope="module")
def jk(events_server, tmp_path_factory):
    server = events_server
    with KernelSession.isolated(tmp_path_factory.mktemp("events")) as k:
        k.run(f"%load_ext jsmagic\n%js_connect {server.url}")
        yield k


@pytest.fixture
def peer(events_server):
    p = Peer(events_server.url)
    yield p
    p.close()


def kernel_wait(kernel, expr, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kernel.value(expr):
            return
        kernel.drain_iopub(0.2)
    raise AssertionError(f"never true: {expr} — last: {kernel.value('sorted(set(ev.df.kind))')}")


def plain_advisories(peer: Peer) -> list:
    got: list = []

    async def sub():
        async def cb(m):
            got.append(json.loads(m.data))
        await peer.nc.subscribe("$JS.EVENT.ADVISORY.>", cb=cb)
        await peer.nc.flush()  # twice: one flush's PING can overtake the SUB (nats-py 2.16)
        await peer.nc.flush()

    peer.call(sub)
    return got


def provoke(peer: Peer, stream: str, seen: list) -> None:
    """Stream created/updated/deleted, consumer created/deleted, a nak, max deliveries, a termination.

    ``seen``: what a plain subscriber received; the consumer lives until its max deliveries was reported
    (the server reports it when it next tries to redeliver, not at the nak)."""
    async def go():
        js = peer.nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
        await js.update_stream(name=stream, subjects=[f"{stream.lower()}.>"], description="updated")
        await js.publish(f"{stream.lower()}.a", b"1")
        await js.publish(f"{stream.lower()}.b", b"2")
        await js.add_consumer(stream, durable_name="ONCE", max_deliver=1, ack_wait=30)
        sub = await js.pull_subscribe_bind("ONCE", stream)
        (m,) = await sub.fetch(1, timeout=10)
        await m.nak()  # max_deliver 1: naked, then max deliveries reached
        (m,) = await sub.fetch(1, timeout=10)
        await m.term()
        await peer.nc.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(a["type"].endswith("max_deliver") for a in seen):
            with contextlib.suppress(nats.errors.TimeoutError):  # a pull makes the server try the redelivery
                await sub.fetch(1, timeout=0.5)
        await js.delete_consumer(stream, "ONCE")
        await js.delete_stream(stream)
    peer.call(go)


KINDS = {"stream.created", "stream.updated", "stream.deleted", "consumer.created", "consumer.deleted",
         "consumer.msg_naked", "consumer.max_deliveries", "consumer.msg_terminated"}


def test_each_kind_is_a_row_like_a_plain_subscriber_sees_it(jk, peer):
    stream = f"EV{uuid.uuid4().hex[:6].upper()}"
    res = jk.run(f"ev = %js_events -s {stream}")
    assert any("application/vnd.jupyter.widget-view+json" in d for d in res.data)
    plain = plain_advisories(peer)
    provoke(peer, stream, plain)
    kernel_wait(jk, f"set(ev.df.kind) >= {sorted(KINDS)!r}".replace("[", "{").replace("]", "}"))
    mine = jk.value("sorted(a['id'] for a in ev.df.advisory)")
    theirs = sorted(a["id"] for a in plain if a.get("stream") == stream)
    assert mine == theirs  # the same advisories, none lost, none of another stream
    row = jk.value("ev.df[ev.df.kind == 'consumer.max_deliveries'][['consumer','detail']].values.tolist()")
    assert row == [["ONCE", "stream_seq 1 after 1 deliveries"]]
    stopped = jk.run("ev.stop()")
    updates = [m["content"] for m in stopped.messages if m["msg_type"] == "update_display_data"]
    final = updates[-1]["data"]
    assert "application/vnd.jupyter.widget-view+json" not in final
    assert "stopped" in final["text/html"] and "consumer.max_deliveries" in final["text/html"]
    kernel_wait(jk, "not ev.running")


def test_api_audit_kind_filter_and_capture(jk, peer):
    tag = uuid.uuid4().hex[:6].upper()
    keep = f"ADV{tag}"
    jk.run(f"ev = %js_events --kinds api --capture {keep}")
    async def make():
        js = peer.nc.jetstream()
        await js.add_stream(name=f"AU{tag}", subjects=[f"au{tag}.>"])
        await js.add_consumer(f"AU{tag}", durable_name="D")
    peer.call(make)
    kernel_wait(jk, f"any('STREAM.CREATE.AU{tag}' in d for d in ev.df.detail)")
    assert jk.value("sorted(set(ev.df.kind))") == ["api"]  # --kinds api: no stream/consumer actions
    async def kept():
        js = peer.nc.jetstream()
        msg = await js.get_last_msg(keep, f"$JS.EVENT.ADVISORY.CONSUMER.CREATED.AU{tag}.D")
        return json.loads(msg.data)
    doc = peer.call(kept)  # the server stored the advisory in the capture stream
    assert doc["stream"] == f"AU{tag}" and doc["consumer"] == "D"
    jk.run("ev.stop()")
    # a stream that does not capture advisories is refused, with what to do
    res = jk.run(f"%js_events --capture AU{tag}", allow_error=True)
    assert res.status == "error" and "does not capture $JS.EVENT.ADVISORY.>" in res.error_text


def test_capture_beside_a_dead_letter_capture_says_which_stream_overlaps(fresh_server, tmp_path):
    """A dead-letter capture keeps some advisories: the server refuses a second stream over them (10065)."""
    with KernelSession.isolated(tmp_path) as k:
        k.run(f"%load_ext jsmagic\n%js_connect {fresh_server.url}\n%js_stream add JOBS --subjects 'jobs.>'\n"
              "%js_consumer add JOBS worker --max-deliver 1\n%js_consumer dead JOBS worker --capture")
        res = k.run("%js_events --capture ADVS", allow_error=True)
        assert res.status == "error"
        line = res.error_text.strip().splitlines()[-1]
        assert "DEAD_JOBS_worker already captures some of it" in line, res.error_text
        names = k.value("__import__('jsmagic').run(__import__('jsmagic').streams.names())")
        assert "ADVS" not in names  # nothing half-made


def test_leader_elected_in_a_cluster():
    with nats_cluster(3) as cluster:
        async def go():
            from jsmagic.connecting.options import resolve
            from jsmagic.core.context import JSContext

            ctx = JSContext("events-cluster")
            await ctx.connect(resolve({"servers": [cluster.url]}))
            plain = await nats.connect(cluster.servers[1].url)
            theirs = []

            async def cb(m):
                theirs.append(json.loads(m.data))
            await plain.subscribe("$JS.EVENT.ADVISORY.>", cb=cb)
            await plain.flush()  # twice: one flush's PING can overtake the SUB (nats-py 2.16)
            await plain.flush()
            w = await EventsWatcher(kinds=["stream.leader_elected", "consumer.leader_elected"], ctx=ctx).start()
            js = plain.jetstream()
            await js.add_stream(name="LE", subjects=["le.>"], num_replicas=3)
            await js.add_consumer("LE", durable_name="LC", num_replicas=3)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and {"stream.leader_elected", "consumer.leader_elected"} - set(w.df.kind):
                await asyncio.sleep(0.1)
            kinds = set(w.df.kind)
            leader = (await js.stream_info("LE")).cluster.leader
            rows = w.df[w.df.kind == "stream.leader_elected"]
            w.stop()
            await asyncio.sleep(0.2)
            mine = set(a["id"] for a in w.df.advisory)
            their_ids = set(a["id"] for a in theirs if a.get("type", "").endswith("leader_elected"))
            await plain.close()
            await ctx.close()
            return kinds, leader, rows, mine, their_ids, w.running

        kinds, leader, rows, mine, theirs, running = asyncio.run(go())
        assert {"stream.leader_elected", "consumer.leader_elected"} <= kinds
        assert rows.stream.tolist()[-1] == "LE" and rows.detail.tolist()[-1].startswith(f"leader {leader}")
        assert mine <= theirs and not running


def test_an_unknown_kind_is_refused_before_subscribing(shell):
    from jsmagic.core.errors import InputError

    with pytest.raises(InputError, match="unknown advisory kind 'consumr.created'.*did you mean 'consumer'"):
        shell.run_line_magic("js_events", "--kinds consumr.created")
    from jsmagic.core.registry import context

    assert not [e for e in context().background.values() if e.kind == "events"]  # nothing left running
