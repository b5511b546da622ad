"""Every verb of the grouped API once, against a real server, its effect read with plain nats-py.

What the script test and the live tests do not reach: edits, copies, removals, KV's
optimistic writes and history, consumer edit/copy/reset, counters' view and listing,
object info and removal, a partitioned export and the connection status.
"""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

import jsmagic
from jsmagic.core.errors import ConflictError, NotFoundError
from tests.api.test_services import session


def test_stream_verbs(server):
    async def body(ctx, js):
        s = jsmagic.streams
        await s.add("VSTREAM", subjects=["vstream.>"], max_msgs=100, ctx="svc")
        for i in range(6):
            await js.publish(f"vstream.{'ab'[i % 2]}", b'{"i": %d}' % i)
        changed = await s.edit("VSTREAM", max_age="3h", ctx="svc")
        dry = await s.edit("VSTREAM", metadata=["owner=ops"], dry_run=True, ctx="svc")
        info = await s.info("VSTREAM", ctx="svc")
        subjects = await s.subjects("VSTREAM", ctx="svc")
        removed = await s.rmm("VSTREAM", 2, force=True, ctx="svc")
        copy = await s.copy("VSTREAM", "VSTREAM_COPY", subjects="vcopy.>", ctx="svc")
        report = await s.report(ctx="svc")
        gone = await s.rm("VSTREAM_COPY", force=True, ctx="svc")
        theirs = await js.stream_info("VSTREAM")
        names = [n async for n in _names(js)]
        return changed, dry, info, subjects, removed, copy, report, gone, theirs, names

    changed, dry, info, subjects, removed, copy, report, gone, theirs, names = session(server, body)
    assert changed.set_index("setting").loc["max_age", "new"] == 3 * 3600 == theirs.config.max_age
    assert dry["setting"].tolist() == ["metadata"] and "owner" not in (theirs.config.metadata or {})  # a dry run
    assert info.info.state.messages == 6 and info.num_subjects == 2
    assert dict(zip(subjects["subject"], subjects["messages"])) == {"vstream.a": 3, "vstream.b": 3}
    assert (removed.seq, removed.subject) == (2, "vstream.b") and theirs.state.messages == 5
    assert copy.info.config.subjects == ["vcopy.>"] and copy.info.config.max_msgs == 100
    assert "VSTREAM" in report["name"].tolist() and gone.stream == "VSTREAM_COPY" and "VSTREAM_COPY" not in names


async def _names(js):
    for si in await js.streams_info():
        yield si.config.name


def test_kv_verbs(server):
    async def body(ctx, js):
        kv = jsmagic.kv
        await kv.add("vkv", history=5, ttl="1h", max_value_size="1KB", ctx="svc")
        r1 = await kv.create("vkv", "k", {"v": 1}, ctx="svc")
        with pytest.raises(ConflictError):
            await kv.create("vkv", "k", {"v": 9}, ctx="svc")
        r2 = await kv.update("vkv", "k", {"v": 2}, last=r1, ctx="svc")
        with pytest.raises(ConflictError):
            await kv.update("vkv", "k", {"v": 3}, last=r1, ctx="svc")
        r3 = await kv.revert("vkv", "k", r1, ctx="svc")
        await kv.put("vkv", "other", "x", ctx="svc")
        await kv.delete("vkv", "other", ctx="svc")
        history = await kv.history("vkv", "k", ctx="svc")
        keys = await kv.keys("vkv", ctx="svc")
        edited = await kv.edit("vkv", history=10, ctx="svc")
        purged = await kv.purge("vkv", "k", force=True, ctx="svc")
        with pytest.raises(NotFoundError):
            await kv.get("vkv", "k", ctx="svc")
        compacted = await kv.compact("vkv", force=True, ctx="svc")
        info = await kv.info("vkv", ctx="svc")
        listed = (await kv.ls(ctx="svc"))["bucket"].tolist()
        theirs = await (await js.key_value("vkv")).status()
        held = await kv.rm("vkv", force=True, ctx="svc")
        return r1, r2, r3, history, keys, edited, purged, compacted, info, listed, theirs, held

    r1, r2, r3, history, keys, edited, purged, compacted, info, listed, theirs, held = session(server, body)
    assert (r1, r2, r3) == (1, 2, 3)
    assert history["value"].tolist() == [{"v": 1}, {"v": 2}, {"v": 1}] and keys == ["k"]
    assert edited.set_index("setting").loc["max_msgs_per_subject", "new"] == 10 == theirs.history
    assert purged == 3 and "vkv" in listed and held == theirs.values


def test_consumer_counter_object_and_connection_verbs(server, tmp_path):
    async def body(ctx, js):
        c = jsmagic.consumers
        await jsmagic.streams.add("VCONS", subjects="vcons.>", ctx="svc")
        for i in range(4):
            await js.publish(f"vcons.{'ab'[i % 2]}", b'{"i": %d, "region": "%s"}' % (i, b"eu" if i % 2 else b"us"))
        await c.add("VCONS", "w", ctx="svc")
        edited = await c.edit("VCONS", "w", max_deliver=7, ctx="svc")
        await c.copy("VCONS", "w", "w2", ctx="svc")
        await c.next("VCONS", "w", 4, ctx="svc")
        reset = await c.reset("VCONS", "w", 1, ctx="svc")
        after_reset = await js.consumer_info("VCONS", "w")
        report = await c.report("VCONS", ctx="svc")
        info = await c.info("VCONS", "w2", ctx="svc")
        await c.rm("VCONS", "w2", force=True, ctx="svc")

        await jsmagic.streams.add("VHITS", subjects="vhits.>", allow_counter=True, ctx="svc")
        await jsmagic.counters.incr("vhits.a", "123456789012345678901234567890", ctx="svc")
        await jsmagic.counters.incr("vhits.b", 2, ctx="svc")
        view = await jsmagic.counters.view("vhits.a", ctx="svc")
        counters = await jsmagic.counters.ls("VHITS", ctx="svc")

        await jsmagic.obj.add("vobj", ctx="svc")
        await jsmagic.obj.put("vobj", data="hello", name="a.txt", ctx="svc")
        oinfo = await jsmagic.obj.info("vobj", "a.txt", ctx="svc")
        binfo = await jsmagic.obj.info("vobj", ctx="svc")
        await jsmagic.obj.rm("vobj", "a.txt", force=True, ctx="svc")
        left = (await jsmagic.obj.ls("vobj", ctx="svc"))["name"].tolist()

        exported = await jsmagic.export("VCONS", str(tmp_path / "lake"), partition_by="region", ctx="svc")
        status = await jsmagic.status(ctx="svc")
        consumers = [ci.name for ci in await js.consumers_info("VCONS")]
        held = len(await js.streams_info())
        return (edited, reset, after_reset, report, info, view, counters, oinfo, binfo, left, exported, status,
                consumers, held)

    (edited, reset, after_reset, report, info, view, counters, oinfo, binfo, left, exported, status,
     consumers, held) = session(server, body)
    assert edited.set_index("setting").loc["max_deliver", "new"] == 7 and info.config.max_deliver == 7
    assert after_reset.num_pending == 4 and report["name"].tolist() == ["w", "w2"]
    assert view["value"] == 123456789012345678901234567890
    assert dict(zip(counters["subject"], counters["value"])) == {"vhits.a": 123456789012345678901234567890, "vhits.b": 2}
    assert oinfo.size == 5 and left == []
    table = pq.read_table(exported.path).to_pandas()
    assert exported.rows == 4 and sorted(table["region"].astype(str).tolist()) == ["eu", "eu", "us", "us"]
    assert status.connected and status.streams == held and consumers == ["w"]
