"""Nothing destructive by accident: exploring leaves the server exactly as it was.

Limits, WorkQueue and Interest streams, each with two durable pull consumers caught
mid-work (some messages acked, one nak'ed and redelivered, some still pending), and a
KV bucket with such a consumer on its stream.  Every magic a user explores with, with
its default flags, runs against them; before and after each one we read the server's
own view with plain nats-py: message counts and sequences, the list of consumers, and
each consumer's delivered / ack floor / pending / ack pending / redelivered.  They
must be identical, and no consumer of jsmagic's may be left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid

import pytest
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy

from jsmagic.core.registry import context

POLICIES = {"limits": RetentionPolicy.LIMITS, "workqueue": RetentionPolicy.WORK_QUEUE,
            "interest": RetentionPolicy.INTEREST}
MESSAGES = 30


def snapshot(nc, stream: str) -> dict:
    """The server's state of ``stream`` and of every consumer on it (times left out)."""
    client, js, run = nc

    async def go():
        si = await js.stream_info(stream)
        state = {k: getattr(si.state, k) for k in ("messages", "bytes", "first_seq", "last_seq", "consumer_count")}
        consumers = {}
        for ci in await js.consumers_info(stream):
            consumers[ci.name] = {
                "delivered": (ci.delivered.consumer_seq, ci.delivered.stream_seq),
                "ack_floor": (ci.ack_floor.consumer_seq, ci.ack_floor.stream_seq),
                "num_pending": ci.num_pending, "num_ack_pending": ci.num_ack_pending,
                "num_redelivered": ci.num_redelivered,
            }
        return {"stream": state, "consumers": consumers}

    return run(go())


def half_work(nc, stream: str, consumer: str) -> None:
    """Leave a durable consumer mid-work: 2 acked, 1 nak'ed then redelivered, the rest pending."""
    client, js, run = nc

    async def go():
        sub = await js.pull_subscribe_bind(consumer, stream)
        msgs = await sub.fetch(4, timeout=2)
        await msgs[0].ack_sync()
        await msgs[1].ack_sync()
        await msgs[2].nak()
        await client.flush()
        for _ in range(20):  # the server queues the redelivery a moment after the nak
            await asyncio.sleep(0.1)
            more = await sub.fetch(1, timeout=2)
            if more[0].metadata.num_delivered > 1:
                break
        else:
            raise AssertionError("the nak'ed message never came back")
        await client.flush()
        await sub.unsubscribe()

    run(go())


@pytest.fixture(params=list(POLICIES))
def busy_stream(request, nc):
    """A stream of the given retention with two durable consumers mid-work; ``(name, prefix)``."""
    client, js, run = nc
    tag = uuid.uuid4().hex[:8]
    name, prefix = f"ND_{request.param}_{tag}", f"nd{tag}"
    run(js.add_stream(name=name, subjects=[f"{prefix}.>"], retention=POLICIES[request.param]))
    # WorkQueue consumers may not overlap; on the others one sees everything and one a part
    filters = ([f"{prefix}.a", f"{prefix}.b"] if request.param == "workqueue" else [None, f"{prefix}.a"])
    for i, subject in enumerate(filters):
        run(js.add_consumer(name, ConsumerConfig(durable_name=f"c{i}", ack_policy=AckPolicy.EXPLICIT,
                                                  ack_wait=3600, filter_subject=subject)))

    async def fill():
        for i in range(MESSAGES):
            await js.publish(f"{prefix}.{'ab'[i % 2]}", b'{"n": %d}' % i, headers={"X-N": str(i)})

    run(fill())
    for i in range(len(filters)):
        half_work(nc, name, f"c{i}")
    yield name, prefix
    run(js.delete_stream(name))


def quietly(shell, magic: str, line: str):
    with contextlib.redirect_stdout(io.StringIO()):
        return shell.run_line_magic(magic, line)


def settle() -> None:
    """Let the kernel loop finish background clean-up (a stopped watch deletes its consumer)."""
    context().run(asyncio.sleep(0.3))


def explore_lines(name: str, prefix: str, first_seq: int) -> list[tuple[str, str]]:
    """What a user runs to look at a stream: every default-flag read."""
    return [
        ("js_consume", name),
        ("js_consume", f"{name} -s {prefix}.a"),
        ("js_consume", f"{name} --last"),
        ("js_consume", f"{name} --last-per-subject"),
        ("js_consume", f"{name} --start-seq {first_seq + 2} -n 5"),
        ("js_consume", f"{name} --since 1h --headers-only"),
        ("js_consume", f"{name} --decode bytes --flatten"),
        ("js_stream", "ls"),
        ("js_stream", f"info {name}"),
        ("js_stream", f"subjects {name}"),
        ("js_stream", f"subjects {name} {prefix}.*"),
        ("js_stream", f"get {name} {first_seq}"),
        ("js_stream", f"get {name} --last-for {prefix}.b"),
        ("js_consumer", f"ls {name}"),
        ("js_consumer", f"info {name} c0"),
        ("js_consumer", f"info {name} c1"),
        ("js_status", ""),
    ]


def test_exploring_a_busy_stream_changes_nothing(shell, nc, busy_stream):
    name, prefix = busy_stream
    before = snapshot(nc, name)
    assert before["stream"]["messages"] > 0 and len(before["consumers"]) == 2
    assert all(c["num_ack_pending"] > 0 for c in before["consumers"].values())
    assert any(c["num_redelivered"] > 0 for c in before["consumers"].values())
    for magic, line in explore_lines(name, prefix, before["stream"]["first_seq"]):
        quietly(shell, magic, line)
        settle()
        assert snapshot(nc, name) == before, f"%{magic} {line} changed the server's state"


def test_following_a_busy_stream_changes_nothing(shell, nc, busy_stream):
    """``--follow`` (a live tail) and ``--new`` leave no consumer and touch no one's state once stopped."""
    client, js, run = nc
    name, prefix = busy_stream
    before = snapshot(nc, name)
    handle = quietly(shell, "js_consume", f"{name} --follow")
    settle()
    handle.stop()
    settle()
    assert snapshot(nc, name) == before, "%js_consume --follow changed the server's state"
    quietly(shell, "js_consume", f"{name} --new --timeout 0.3")
    settle()
    assert snapshot(nc, name) == before, "%js_consume --new changed the server's state"


@pytest.fixture
def busy_bucket(nc):
    """A KV bucket with history and a durable consumer on its stream, mid-work."""
    client, js, run = nc
    bucket = f"ndkv{uuid.uuid4().hex[:8]}"
    kv = run(js.create_key_value(bucket=bucket, history=10))
    run(js.add_consumer(f"KV_{bucket}", ConsumerConfig(durable_name="c0", ack_policy=AckPolicy.EXPLICIT, ack_wait=3600)))

    async def fill():
        for i in range(12):
            await kv.put(f"k{i % 4}", b"v%d" % i)
        await kv.delete("k3")

    run(fill())
    half_work(nc, f"KV_{bucket}", "c0")
    yield bucket
    run(js.delete_key_value(bucket))


def test_exploring_a_kv_bucket_changes_nothing(shell, nc, busy_bucket):
    stream = f"KV_{busy_bucket}"
    before = snapshot(nc, stream)
    assert before["consumers"]["c0"]["num_ack_pending"] > 0
    for magic, line in [("js_kv", f"view {busy_bucket}"), ("js_kv", f"history {busy_bucket} k1"),
                        ("js_kv", f"keys {busy_bucket}"), ("js_kv", f"get {busy_bucket} k2"),
                        ("js_kv", f"get {busy_bucket} k2 --revision 3"), ("js_kv", f"info {busy_bucket}"),
                        ("js_kv", "ls"), ("js_consume", stream), ("js_stream", f"subjects {stream}")]:
        quietly(shell, magic, line)
        settle()
        assert snapshot(nc, stream) == before, f"%{magic} {line} changed the server's state"

    for line in (f"watch {busy_bucket}", f"watch {busy_bucket} --history", f"watch {busy_bucket} 'k1'"):
        watch = quietly(shell, "js_kv", line)
        settle()
        assert len(watch.df) > 0
        watch.stop()
        settle()
        assert snapshot(nc, stream) == before, f"%js_kv {line} changed the server's state"


def test_the_comparison_sees_a_consumer_move(shell, nc, busy_stream):
    """Control: a verb that does consume (``%js_consumer next`` acks) shows up in the snapshot.

    Without this, a snapshot blind to consumer state would let every test above pass.
    """
    name, prefix = busy_stream
    before = snapshot(nc, name)
    quietly(shell, "js_consumer", f"next {name} c0 --count 2")
    after = snapshot(nc, name)
    assert after["consumers"]["c0"] != before["consumers"]["c0"]
    assert after["consumers"]["c1"] == before["consumers"]["c1"]
