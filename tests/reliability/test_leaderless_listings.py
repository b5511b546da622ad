"""Listings while some streams have no leader (issue 21, item 8).

A 3-node cluster whose members carry placement tags h0, h1, h2.  R1 streams, KV buckets,
object stores and consumers are placed on every member; then member h0 is killed.  A
cluster's ``STREAM.LIST`` (``CONSUMER.LIST``) counts the leaderless ones in ``total``,
leaves them out of its page and names them in ``missing``; paging by ``offset =
len(found)`` then listed ``OBJ_ob1`` twice and ``OBJ_ob3`` three times.  With more than
256 streams (two pages) the first page's missing ones also shifted the second page.

What a user checks: every listing names each stream once, exactly the ones the server can
describe, and says on its summary's first words which ones it could not list.  The truth
comes from plain nats-py: ``STREAM.NAMES`` (the meta layer's complete list), the raw
``missing`` of each ``STREAM.LIST`` page, and ``stream_info`` of the listed streams.
"""

from __future__ import annotations

import asyncio
import time
import warnings

import nats
import nats.errors
import nats.js.errors
import orjson
import pytest
from nats.js.api import ConsumerConfig, DiscardPolicy, ObjectStoreConfig, Placement, StorageType

import jsmagic
from jsmagic.api import ReadWarning
from jsmagic.core.registry import context
from jsmagic.testing import NatsCluster, connected_shell

pytestmark = pytest.mark.slow

FILLERS = 256  # streams on the live members: the listing takes two pages
ON = {f"{kind}{i}": f"h{0 if i % 2 == 0 else 1 + i // 2 % 2}" for kind in ("S", "kb", "ob") for i in range(4)}
# S0, S2, kb0, kb2, ob0, ob2 live on h0 (killed); S1, S3, kb1, kb3, ob1, ob3 on h1 and h2


LEADERLESS_STREAMS = sorted([f"S{i}" for i in (0, 2)] + [f"KV_kb{i}" for i in (0, 2)] + [f"OBJ_ob{i}" for i in (0, 2)])


async def _with_js(urls, fn):
    nc = await nats.connect(urls, connect_timeout=2, max_reconnect_attempts=2)
    try:
        return await fn(nc)
    finally:
        await nc.close()


def on_cluster(urls, fn):
    """``fn(nc)`` on an independent plain nats-py client."""
    return asyncio.run(_with_js(urls, fn))


async def raw_list(nc, subject: str, offset: int) -> dict:
    msg = await nc.request(subject, orjson.dumps({"offset": offset}), timeout=15)
    return orjson.loads(msg.data)


@pytest.fixture(scope="module")
def leaderless():
    """The cluster with member h0 killed, once every leaderless stream shows in the server's ``missing``."""
    cluster = NatsCluster(3)
    for i, member in enumerate(cluster.servers):
        member.config += f'\nserver_tags: ["h{i}"]\n'
    with cluster:
        victim = cluster.servers[0]
        host_names = {f"h{i}": m.server_name for i, m in enumerate(cluster.servers)}

        async def build(nc):
            js, mem = nc.jetstream(), StorageType.MEMORY
            for name, tag in ON.items():
                where = Placement(tags=[tag])
                if name.startswith("S"):
                    await js.add_stream(name=name, subjects=[f"{name.lower()}.>"], storage=mem, placement=where)
                    for k in range(3):
                        await js.publish(f"{name.lower()}.x", b"%d" % k)
                elif name.startswith("kb"):  # a bucket's stream as every client makes it (nats-py drops placement)
                    await js.add_stream(name=f"KV_{name}", subjects=[f"$KV.{name}.>"], storage=mem, placement=where,
                                        max_msgs_per_subject=1, allow_rollup_hdrs=True, deny_delete=True,
                                        allow_direct=True, discard=DiscardPolicy.NEW)
                    await (await js.key_value(name)).put("k", b"v")
                else:
                    await js.create_object_store(name, ObjectStoreConfig(storage=mem, placement=where))
            fill = Placement(tags=["h1"])
            await asyncio.gather(*(js.add_stream(name=f"F{i:03d}", subjects=[f"f{i:03d}"], storage=mem, placement=fill)
                                   for i in range(FILLERS)))
            # an R3 stream with R1 consumers: some land on h0 (placement of a consumer is the server's choice)
            await js.add_stream(name="CONS", subjects=["cons.>"], storage=mem, num_replicas=3)
            on_victim, elsewhere, i = [], [], 0
            while (len(on_victim) < 2 or len(elsewhere) < 2) and i < 60:
                ci = await js.add_consumer("CONS", ConsumerConfig(durable_name=f"c{i:02d}", num_replicas=1))
                (on_victim if ci.cluster.leader == host_names["h0"] else elsewhere).append(ci.name)
                i += 1
            return on_victim, elsewhere

        consumers_gone, consumers_live = on_cluster(cluster.urls, build)
        assert len(consumers_gone) >= 2, "setup: no consumer was placed on h0"
        victim.kill()
        live = [m.url for m in cluster.servers if m is not victim]

        async def settled(nc):  # the server's own answers, once they show h0's streams and consumers missing
            names = (await raw_list(nc, "$JS.API.STREAM.NAMES", 0))["streams"]
            missing, offset = set(), 0
            while offset < len(names):
                page = await raw_list(nc, "$JS.API.STREAM.LIST", offset)
                missing |= set(page.get("missing") or [])
                offset += 256
            cons = await raw_list(nc, "$JS.API.CONSUMER.LIST.CONS", 0)
            return sorted(names), sorted(missing), sorted(cons.get("missing") or [])

        deadline = time.monotonic() + 90
        while True:
            try:
                names, missing, cons_missing = on_cluster(live, settled)
                if missing == LEADERLESS_STREAMS and cons_missing == sorted(consumers_gone):
                    break
            except (nats.errors.Error, nats.js.errors.Error, KeyError, OSError):
                pass
            assert time.monotonic() < deadline, "setup: the server never named h0's streams missing"
            time.sleep(0.5)
        with connected_shell(live[0]) as shell:
            yield shell, live, names, sorted(consumers_live)


def _summary(frame) -> str:
    return frame.summary


def test_stream_ls_lists_each_stream_once_and_names_the_leaderless(leaderless):
    shell, live, names, _ = leaderless
    df = shell.run_line_magic("js_stream", "ls")
    listed = df["name"].tolist()
    assert len(listed) == len(set(listed)), "a stream listed twice"
    assert sorted(listed) == sorted(set(names) - set(LEADERLESS_STREAMS))
    assert sorted(df.attrs["missing"]) == LEADERLESS_STREAMS
    assert _summary(df).startswith(
        f"{len(LEADERLESS_STREAMS)} streams could not be listed (no leader): {', '.join(LEADERLESS_STREAMS)}")

    async def counts(nc):
        js = nc.jetstream()
        return {n: (await js.stream_info(n)).state.messages for n in ("S1", "S3", "KV_kb1", "F000")}

    truth = on_cluster(live, counts)
    assert df.set_index("name")["messages"][list(truth)].to_dict() == truth


def test_stream_report_lists_each_stream_once(leaderless):
    shell, _, names, _ = leaderless
    df = shell.run_line_magic("js_stream", "report")
    assert sorted(df["name"]) == sorted(set(names) - set(LEADERLESS_STREAMS))
    assert sorted(df.attrs["missing"]) == LEADERLESS_STREAMS
    assert _summary(df).startswith(f"{len(LEADERLESS_STREAMS)} streams could not be listed (no leader):")


def test_kv_and_object_buckets_are_listed_once(leaderless):
    shell, *_ = leaderless
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        kv = shell.run_line_magic("js_kv", "ls")
        obj = shell.run_line_magic("js_obj", "ls")
    assert not [w for w in said if issubclass(w.category, ReadWarning)], "the summary says it: not warned again"
    assert kv["bucket"].tolist() == ["kb1", "kb3"]
    assert _summary(kv).startswith("2 buckets could not be listed (no leader): kb0, kb2; 2 buckets")
    assert obj["bucket"].tolist() == ["ob1", "ob3"]
    assert sorted(obj.attrs["missing"]) == ["ob0", "ob2"]
    assert _summary(obj).startswith("2 object store buckets could not be listed (no leader): ob0, ob2;")


def test_consumer_listings_name_the_leaderless_consumers(leaderless):
    shell, live, _, consumers_live = leaderless

    async def truth(nc):
        return (await raw_list(nc, "$JS.API.CONSUMER.LIST.CONS", 0)).get("missing") or []

    gone = sorted(on_cluster(live, truth))
    for line in ("ls CONS", "report CONS"):
        df = shell.run_line_magic("js_consumer", line)
        assert df["name"].tolist() == consumers_live, line
        assert sorted(df.attrs["missing"]) == gone, line
        assert _summary(df).startswith(f"{len(gone)} consumer{'' if len(gone) == 1 else 's'} could not be listed (no leader): {', '.join(gone)}")


def test_the_python_api_carries_the_missing_streams(leaderless):
    shell, *_ = leaderless
    ctx = context()
    with pytest.warns(ReadWarning, match=r"6 streams could not be listed \(no leader\): KV_kb0, KV_kb2"):
        df = ctx.run(jsmagic.streams())
    assert df["name"].is_unique and sorted(df.attrs["missing"]) == LEADERLESS_STREAMS


def test_the_magics_say_a_listings_notes_on_their_summary_line_and_warn_nothing(leaderless):
    """The magics call the services (which warn notes as ReadWarning for scripts); a cell says them once."""
    import warnings

    shell, *_ = leaderless
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReadWarning)
        for magic, line in (("js_stream", "ls"), ("js_stream", "report"), ("js_consumer", "ls CONS"),
                            ("js_consumer", "report CONS"), ("js_obj", "ls")):
            assert "could not be listed (no leader)" in _summary(shell.run_line_magic(magic, line)), line
