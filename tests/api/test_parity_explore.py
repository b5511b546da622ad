"""``%js_stream schema|browse`` and ``%js_check`` say what ``jsmagic.streams.schema|browse`` and
``jsmagic.check.*`` say (one service under both), and both say what plain nats-py reads.

The data is written with plain nats-py; every figure is compared with nats-py's own reading
(the messages it gets back, ``stream_info``, ``consumer_info``, the KV entries), not with jsmagic.
"""

from __future__ import annotations

import asyncio
import json
import uuid
import warnings

import nats
import nats.js.errors
import pandas as pd
import pytest

import jsmagic
from jsmagic.core import registry
from jsmagic.services.check import CheckFailed
from jsmagic.services.common import ReadWarning

N = 30  # messages: every third on .b; field x turns from int to str after message 20


def frame(df) -> pd.DataFrame:
    return pd.DataFrame(df).reset_index(drop=True)


@pytest.fixture(scope="module")
def data(server):
    """Stream PXnnn (30 JSON messages, 3 deleted), durable W with 2 delivered unacked, bucket pxnnn with 2 keys."""
    tag = uuid.uuid4().hex[:6]
    stream, bucket = f"PX{tag.upper()}", f"px{tag}"

    async def write():
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{stream}.>"], allow_direct=True)
        for i in range(N):
            await js.publish(f"{stream}.{'b' if i % 3 == 0 else 'a'}", json.dumps({"i": i, "x": "s" if i >= 20 else i}).encode())
        for seq in (5, 6, 12):
            await js.delete_msg(stream, seq)
        await js.add_consumer(stream, durable_name="W", ack_wait=300)
        sub = await js.pull_subscribe_bind("W", stream)
        assert len(await sub.fetch(2, timeout=10)) == 2  # delivered, never acked
        kv = await js.create_key_value(bucket=bucket)
        await kv.put("k1", b"1")
        await kv.put("k2", b"2")
        await nc.close()

    asyncio.run(write())
    yield stream, bucket

    async def drop():
        nc = await nats.connect(server.url)
        await nc.jetstream().delete_stream(stream)
        await nc.jetstream().delete_key_value(bucket)
        await nc.close()

    asyncio.run(drop())


def plain(server, fn):
    """``fn(js)`` on a plain nats-py connection of its own: the independent reading."""
    async def go():
        nc = await nats.connect(server.url)
        try:
            return await fn(nc.jetstream())
        finally:
            await nc.close()

    return asyncio.run(go())


def stored(server, stream: str, subject: str | None = None) -> list:
    """Every stored message (seq, subject, decoded JSON) by plain nats-py gets, deleted ones skipped."""
    async def read(js):
        info = await js.stream_info(stream)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                m = await js.get_msg(stream, seq)
            except nats.js.errors.NotFoundError:
                continue
            if subject is None or m.subject == subject:
                out.append((m.seq, m.subject, json.loads(m.data)))
        return out

    return plain(server, read)


@pytest.fixture
def ctx(shell):
    return registry.context()


def test_schema_magic_api_and_a_plain_read(shell, ctx, server, data):
    stream, _ = data
    msgs = stored(server, stream)
    x_types = pd.Series(["str" if isinstance(m[2]["x"], str) else "int" for m in msgs]).value_counts().to_dict()
    seen: list = []
    by_magic = shell.run_line_magic("js_stream", f"schema {stream}")
    by_api = ctx.run(jsmagic.streams.schema(stream, progress=lambda done, total: seen.append(done)))
    pd.testing.assert_frame_equal(frame(by_magic.fields), frame(by_api.fields))
    pd.testing.assert_frame_equal(frame(by_magic.drift), frame(by_api.drift))
    assert by_magic.messages == by_api.messages == len(msgs) == N - 3
    assert by_api.fields.set_index("field").at["x", "type_counts"] == x_types
    first_str = next(m[0] for m in msgs if isinstance(m[2]["x"], str))
    assert [(r.field, int(r.seq), r.old, r.new) for r in by_api.drift.itertuples()] == [("x", first_str, "int", "str")]
    assert seen and seen[-1] == len(msgs)  # progress= reaches the read, and its last figure is the true count
    info = plain(server, lambda js: js.stream_info(stream))
    assert info.state.consumer_count == 1  # only W: neither read left a consumer


def test_schema_notes_are_said_once_by_the_magic_and_warned_by_the_api(shell, ctx, server, data):
    """A sample that finds fewer distinct messages than asked: on the summary line (no ReadWarning), warned in a script."""
    stream, _ = data
    on_b = stored(server, stream, f"{stream}.b")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReadWarning)  # the magic must not warn what its summary says
        report = shell.run_line_magic("js_stream", f"schema {stream} -s {stream}.b --sample 20")
    with pytest.warns(ReadWarning, match="for --sample 20") as warned:
        api = ctx.run(jsmagic.streams.schema(stream, subject=f"{stream}.b", sample=20))
    note = f"{len(on_b)} distinct messages for --sample 20"
    assert report.summary.startswith(note) and api.notes[0].startswith(note)
    assert report.notes == api.notes and len(warned) == len(api.notes)
    assert report.messages == api.messages == len(on_b)


def test_browse_magic_api_and_plain_gets(shell, ctx, server, data):
    stream, _ = data
    on_a = stored(server, stream, f"{stream}.a")
    view = shell.run_line_magic("js_stream", f"browse {stream} -s {stream}.a -n 7 --seq 4")
    try:
        api = ctx.run(jsmagic.streams.browse(stream, subject=f"{stream}.a", page_size=7, seq=4))
        magic_page, api_page = frame(view.browser.page.frame), frame(api.page.frame)
        pd.testing.assert_frame_equal(magic_page, api_page)
        expected = [m for m in on_a if m[0] >= 4][:7]
        assert [(int(r.seq), r.subject, r.value) for r in api_page.itertuples()] == expected
        nxt = ctx.run(api.next())
        assert [int(s) for s in nxt.frame["seq"]] == [m[0] for m in on_a if m[0] > expected[-1][0]][:7]
    finally:
        view.stop()
    assert plain(server, lambda js: js.stream_info(stream)).state.consumer_count == 1  # browsing made no consumer


def verdict(df, check):
    return df.set_index("check").loc[check]


def test_checks_magic_api_and_the_servers_counts(shell, ctx, server, data):
    stream, bucket = data
    info = plain(server, lambda js: js.stream_info(stream))
    cons = plain(server, lambda js: js.consumer_info(stream, "W"))
    account = plain(server, lambda js: js.account_info())

    async def keys(js):
        return await (await js.key_value(bucket)).keys()
    values = len(plain(server, keys))
    pairs = [
        (f"stream {stream} --msgs-warn 100", jsmagic.check.stream(stream, msgs_warn=100)),
        (f"consumer {stream} W --outstanding-ack-critical 1", jsmagic.check.consumer(stream, "W", outstanding_ack_critical=1)),
        (f"kv {bucket} --key k1 --values-critical 1", jsmagic.check.kv(bucket, key="k1", values_critical=1)),
        ("jetstream --streams-warn 50", jsmagic.check.jetstream(streams_warn=50)),
    ]
    got = {}
    for line, call in pairs:
        by_magic, by_api = shell.run_line_magic("js_check", line), ctx.run(call)
        pd.testing.assert_frame_equal(frame(by_magic), frame(by_api))
        assert by_magic.summary == by_api.attrs["summary"] and by_magic.attrs["status"] == by_api.attrs["status"]
        got[line.split()[0]] = by_api
    assert verdict(got["stream"], "messages").value == info.state.messages == N - 3
    assert verdict(got["stream"], "messages").status == "WARN"  # 27 <= 100
    assert verdict(got["consumer"], "ack pending").value == cons.num_ack_pending == 2
    assert verdict(got["consumer"], "ack pending").status == "CRIT"
    assert verdict(got["kv"], "values").value == values == 2 and verdict(got["kv"], "values").status == "CRIT"  # > 1
    assert verdict(got["jetstream"], "streams used").value == account.streams
    by_magic = shell.run_line_magic("js_check", "connection")
    by_api = ctx.run(jsmagic.check.connection())
    assert list(by_magic.check) == list(by_api.check) and by_api.attrs["status"] == "OK"


def test_fail_on_fails_the_same_way_and_the_magic_keeps_the_table(shell, ctx, data):
    stream, _ = data
    with pytest.raises(CheckFailed) as by_api:
        ctx.run(jsmagic.check.stream(stream, msgs_critical=100, fail_on="crit"))
    with pytest.raises(CheckFailed) as by_magic:
        shell.run_line_magic("js_check", f"stream {stream} --msgs-critical 100 --fail-on crit -o out")
    assert str(by_magic.value) == str(by_api.value) and "messages CRIT (27)" in str(by_api.value)
    kept = shell.user_ns["out"]
    pd.testing.assert_frame_equal(frame(kept), frame(by_api.value.result))
    assert kept.summary == by_api.value.result.attrs["summary"] and kept.attrs["status"] == "CRIT"
