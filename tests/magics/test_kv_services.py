"""``%js_kv`` and ``jsmagic.kv`` are one service: the same verbs give the same result, as plain nats-py reads it.

The same writes go to two buckets, one through the magic and one through the Python API;
nats-py's own ``KeyValue`` then reads both back (keys, values, revisions, operations), and
every read verb of the magic is compared with the API's on the same bucket.
"""

from __future__ import annotations

import time
import uuid

import pandas as pd
import pytest

import jsmagic
from jsmagic.core import registry


@pytest.fixture
def ctx(shell):
    return registry.context()


def records(nc, bucket: str) -> dict[str, list[tuple]]:
    """Every key's kept history as nats-py's KeyValue reads it: (revision, operation, value).

    Keys come from the bucket stream's subjects, so that deleted and purged keys count too."""
    _, js, run = nc

    async def read():
        kv = await js.key_value(bucket)
        si = await js.stream_info(f"KV_{bucket}", subjects_filter=f"$KV.{bucket}.>")
        keys = sorted(subject.split(".", 2)[2] for subject in si.state.subjects or {})
        return {key: [(e.revision, e.operation or "PUT", e.value or b"") for e in await kv.history(key)] for key in keys}

    return run(read())


def test_the_same_writes_through_the_magic_and_the_api_store_the_same_records(shell, ctx, nc):
    tag = uuid.uuid4().hex[:6]
    m, a = f"KVM{tag}", f"KVA{tag}"
    shell.run_line_magic("js_kv", f"add {m} --history 5 --marker-ttl 1s")
    ctx.run(jsmagic.kv.add(a, history=5, marker_ttl="1s"))
    assert shell.run_line_magic("js_kv", f"put {m} db.host pg1") == ctx.run(jsmagic.kv.put(a, "db.host", "pg1")) == 1
    assert shell.run_line_magic("js_kv", f"update {m} db.host pg2 1") == ctx.run(jsmagic.kv.update(a, "db.host", "pg2", 1))
    shell.run_cell_magic("js_kv", f"put {m} cfg.json", '{"theme": "dark"}')
    ctx.run(jsmagic.kv.put(a, "cfg.json", '{"theme": "dark"}'))
    shell.run_line_magic("js_kv", f"create {m} lock.1 w1 --ttl 60s")
    ctx.run(jsmagic.kv.create(a, "lock.1", "w1", ttl="60s"))
    shell.run_line_magic("js_kv", f"revert {m} db.host 1")
    ctx.run(jsmagic.kv.revert(a, "db.host", 1))
    shell.run_line_magic("js_kv", f"put {m} gone.a x")
    ctx.run(jsmagic.kv.put(a, "gone.a", "x"))
    shell.run_line_magic("js_kv", f"del {m} gone.a")
    ctx.run(jsmagic.kv.delete(a, "gone.a"))
    shell.run_line_magic("js_kv", f"put {m} gone.b y")
    ctx.run(jsmagic.kv.put(a, "gone.b", "y"))
    shell.run_line_magic("js_kv", f"purge {m} gone.b --ttl 60s --force")
    ctx.run(jsmagic.kv.purge(a, "gone.b", ttl="60s", force=True))

    by_magic, by_api = records(nc, m), records(nc, a)
    assert by_magic == by_api
    assert by_magic["db.host"] == [(1, "PUT", b"pg1"), (2, "PUT", b"pg2"), (5, "PUT", b"pg1")]
    assert [op for _, op, _ in by_magic["gone.a"]] == ["PUT", "DEL"]
    assert [op for _, op, _ in by_magic["gone.b"]] == ["PURGE"]


def test_every_read_verb_of_the_magic_is_the_apis(shell, ctx, nc):
    bucket = f"KVR{uuid.uuid4().hex[:6]}"
    ctx.run(jsmagic.kv.add(bucket, history=3))
    for i in range(12):
        ctx.run(jsmagic.kv.put(bucket, f"users.u{i % 4}", {"i": i}))
    ctx.run(jsmagic.kv.put(bucket, "db.host", "pg"))
    ctx.run(jsmagic.kv.delete(bucket, "users.u3"))

    view = ctx.run(jsmagic.kv.view(bucket))
    pd.testing.assert_frame_equal(pd.DataFrame(shell.run_line_magic("js_kv", f"view {bucket}")), pd.DataFrame(view))
    pd.testing.assert_frame_equal(pd.DataFrame(shell.run_line_magic("js_kv", f"history {bucket} users.u1")),
                                  pd.DataFrame(ctx.run(jsmagic.kv.history(bucket, "users.u1"))))
    assert shell.run_line_magic("js_kv", f"keys {bucket} 'users.*'") == ctx.run(jsmagic.kv.keys(bucket, "users.*"))
    assert shell.run_line_magic("js_kv", f"get {bucket} users.u2") == ctx.run(jsmagic.kv.get(bucket, "users.u2")).value
    assert shell.run_line_magic("js_kv", f"info {bucket}")["values"] == ctx.run(jsmagic.kv.info(bucket)).values

    # ...and both are what nats-py's KeyValue reads
    _, js, run = nc

    async def plain():
        kv = await js.key_value(bucket)
        keys = sorted(await kv.keys())
        return {k: ((e := await kv.get(k)).revision, e.value) for k in keys}, (await kv.status()).values

    current, values = run(plain())
    assert sorted(current) == view["key"].tolist() == ["db.host", "users.u0", "users.u1", "users.u2"]
    assert view["revision"].tolist() == [current[k][0] for k in view["key"]]
    assert [current[k][1] for k in view["key"]] == [b"pg", b'{"i":8}', b'{"i":9}', b'{"i":10}']
    assert ctx.run(jsmagic.kv.info(bucket)).values == values


def test_the_api_reports_a_long_read_as_the_magics_progress_line_does(ctx):
    bucket = f"KVP{uuid.uuid4().hex[:6]}"
    ctx.run(jsmagic.kv.add(bucket))
    for i in range(50):
        ctx.run(jsmagic.kv.put(bucket, f"k{i}", i))
    seen: list[tuple] = []
    df = ctx.run(jsmagic.kv.view(bucket, progress=lambda done, total: seen.append((done, total))))
    assert len(df) == 50  # progress is called only while the read waits: maybe never on a fast read
    assert all(total in (None, 50) and 0 <= done <= 50 for done, total in seen)
    assert ctx.run(jsmagic.kv.keys(bucket, progress=lambda *_: None)) == sorted(f"k{i}" for i in range(50))


def test_unwatch_stops_the_magics_watch_and_deletes_its_consumer(shell, ctx, nc):
    bucket = f"KVW{uuid.uuid4().hex[:6]}"
    ctx.run(jsmagic.kv.add(bucket))
    ctx.run(jsmagic.kv.put(bucket, "k", "v"))
    _, js, run = nc
    consumers = lambda: run(js.stream_info(f"KV_{bucket}")).state.consumer_count  # noqa: E731
    watch = shell.run_line_magic("js_kv", f"watch {bucket}")
    assert consumers() == 1
    assert ctx.run(jsmagic.kv.unwatch(bucket)) == 1  # the API stops what the magic started
    deadline = time.monotonic() + 20
    while consumers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert consumers() == 0 and not watch.running
    assert shell.run_line_magic("js_kv", f"unwatch {bucket}") == 0


def test_a_bad_watch_is_one_line_before_any_consumer(shell, ctx, nc):
    missing = f"NOPE_{uuid.uuid4().hex[:4]}"
    with pytest.raises(Exception, match=missing):
        shell.run_line_magic("js_kv", f"watch {missing}")
    bucket = f"KVX{uuid.uuid4().hex[:6]}"
    ctx.run(jsmagic.kv.add(bucket))
    with pytest.raises(Exception, match="invalid key pattern"):
        shell.run_line_magic("js_kv", f"watch {bucket} 'a.>.b'")
    _, js, run = nc
    assert run(js.stream_info(f"KV_{bucket}")).state.consumer_count == 0
