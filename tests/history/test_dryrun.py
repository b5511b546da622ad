"""``%js_consume … --dry-run`` and ``%js_consumer reset … --dry-run``: the server's counts, and no consumer made."""

from __future__ import annotations

import asyncio
import time

import pandas as pd
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from .independent import replay_all


def _ts(ns: int) -> str:
    return pd.Timestamp(ns, unit="ns", tz="UTC").isoformat()


@pytest.fixture(params=[True, False], ids=["direct", "no-direct"])
def orders(request, shell, nc):
    client, js, on_loop = nc
    stream = f"DR{'D' if request.param else 'N'}{time.monotonic_ns() % 10**9}"

    async def fill():
        await js.add_stream(name=stream, subjects=[f"{stream}.>"], allow_direct=request.param)
        for i in range(400):
            await js.publish(f"{stream}.{('eu', 'us', 'asia')[i % 3]}.{i % 4}", b"x" * (10 + i % 7))

    on_loop(fill())
    records = on_loop(replay_all(client, js, stream, f"{stream}.>"))
    created: list = []

    async def seen(msg):
        created.append(msg.subject)

    async def watch():  # in place before the dry run: flushed twice (one flush's PING can overtake the SUB)
        sub = await client.subscribe("$JS.EVENT.ADVISORY.CONSUMER.CREATED.>", cb=seen)
        await client.flush()
        await client.flush()
        return sub

    sub = on_loop(watch())
    yield stream, records, request.param, created, js, on_loop
    on_loop(sub.unsubscribe())
    on_loop(js.delete_stream(stream))


def _settle(on_loop, created, stream) -> list:
    on_loop(asyncio.sleep(0.3))  # an advisory would have arrived by now (published before the API reply)
    return [s for s in created if f".{stream}." in s]


def _matching(records, prefix: str, lo_ns=None, hi_ns=None, lo_seq=None, hi_seq=None) -> list:
    import fnmatch

    pat = prefix.replace(".>", ".*").replace("*", "[!.]*") if not prefix.endswith(">") else None
    out = []
    for r in records:
        if pat is not None and not fnmatch.fnmatchcase(r[1], pat):
            continue
        if prefix.endswith(">") and not r[1].startswith(prefix[:-1]):
            continue
        if (lo_ns is None or r[2] >= lo_ns) and (hi_ns is None or r[2] <= hi_ns) and \
                (lo_seq is None or r[0] >= lo_seq) and (hi_seq is None or r[0] <= hi_seq):
            out.append(r)
    return out


def test_counts_are_the_servers_and_no_consumer_is_made(shell, orders, tmp_path):
    stream, records, direct, created, js, on_loop = orders
    whole = shell.run_line_magic("js_consume", f"{stream} --dry-run")
    info = on_loop(js.stream_info(stream))
    assert (whole.messages, whole.bytes, whole.bytes_exact) == (400, info.state.bytes, True)
    assert "no consumer created" in repr(whole) and "bulk reader" in whole.reader

    t1, t2 = records[50][2], records[300][2]
    d = shell.run_line_magic("js_consume", f"{stream} -s '{stream}.eu.>' --since {_ts(t1)} --until {_ts(t2)} --dry-run")
    want = _matching(records, f"{stream}.eu.>", lo_ns=t1, hi_ns=t2)
    if direct:
        assert d.exact and d.messages == len(want)
    else:
        assert not d.exact and "≈" in repr(d) and abs(d.messages - len(want)) <= len(want) // 2 + 5
    assert d.first_seq == records[50][0] and d.last_seq == records[300][0]

    d = shell.run_line_magic("js_consume", f"{stream} -s '{stream}.*.1' --start-seq 120 --end-seq 260 --dry-run")
    if direct:
        assert d.messages == len(_matching(records, f"{stream}.*.1", lo_seq=120, hi_seq=260))
    d = shell.run_line_magic("js_consume", f"{stream} --last-per-subject --dry-run")
    assert d.messages == len({r[1] for r in records})
    d = shell.run_line_magic("js_consume", f"{stream} --last-per-subject --at {_ts(t1)} --dry-run")
    assert "multi_last" in d.reader if direct else "no direct get" in d.reader
    target = tmp_path / "out.parquet"
    d = shell.run_line_magic("js_consume", f"{stream} --to {target} --dry-run")
    assert d.messages == 400 and not target.exists() and "nothing written" in repr(d)
    assert _settle(on_loop, created, stream) == []
    assert on_loop(js.stream_info(stream)).state.consumer_count == 0


def test_reset_dry_run_counts_what_the_reset_then_delivers(shell, orders):
    stream, records, direct, created, js, on_loop = orders
    name = "worker"
    on_loop(js.add_consumer(stream, ConsumerConfig(durable_name=name, ack_policy=AckPolicy.EXPLICIT,
                                                   filter_subject=f"{stream}.us.>")))
    created.clear()
    since = records[200][2]
    plan = shell.run_line_magic("js_consumer", f"reset {stream} {name} --since {_ts(since)} --dry-run")
    want = _matching(records, f"{stream}.us.>", lo_ns=since)
    assert plan.from_seq == records[200][0]
    assert plan.messages == len(want) if direct else abs(plan.messages - len(want)) <= len(want) // 2 + 5
    assert "nothing changed" in repr(plan)
    assert _settle(on_loop, created, stream) == []
    before = on_loop(js.consumer_info(stream, name))
    assert before.num_pending == len(_matching(records, f"{stream}.us.>"))  # the dry run changed nothing
    try:
        shell.run_line_magic("js_consumer", f"reset {stream} {name} --since {_ts(since)}")
    except Exception as e:  # CONSUMER.RESET came with nats-server 2.14
        pytest.skip(f"the server cannot reset consumers: {e}")
    after = on_loop(js.consumer_info(stream, name))
    assert after.num_pending == len(want)
    if direct:
        assert after.num_pending == plan.messages
