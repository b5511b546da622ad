"""The bulk reader returns what the nats-py reader returns, and says when it is not used.

A property test publishes random streams (headers, binary, empty and JSON payloads,
many subjects, gaps from deleted messages) with plain nats-py and replays each twice:
through the bulk reader and through the nats-py reader (``Selection(bulk=False)``).  The
frames must be equal, in every decode mode, and no consumer may be left behind.
"""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jsmagic.core import registry
from jsmagic.core.config import settings as js_settings
from jsmagic.reading.reader import Selection, replay
from jsmagic.reading.wire.protocol import Unsupported, _target

PROPS = settings(max_examples=25, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

payloads = st.one_of(
    st.binary(max_size=40),
    st.just(b""),
    st.builds(lambda i, s: b'{"i": %d, "s": "%s"}' % (i, s.encode()), st.integers(-5, 10**12),
              st.text("ab \\r\\nMSG", max_size=6).map(lambda t: t.replace("\\", "").replace('"', ""))),
    st.sampled_from([b"\r\nMSG x 1 2\r\n", b"],[", b"HMSG a 1 $JS.ACK.x 3 4\r\n", b"NATS/1.0\r\n\r\n"]),
)
header_values = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), min_size=1, max_size=8)
headers = st.one_of(st.none(), st.dictionaries(st.sampled_from(["A", "Trace-Id", "x-b"]), header_values, min_size=1, max_size=3))
messages = st.lists(st.tuples(st.integers(0, 30), payloads, headers), min_size=1, max_size=60)


def read_both(ctx, sel: Selection) -> tuple:
    bulk = ctx.run(replay(Selection(**{**sel.__dict__, "bulk": True}), ctx=ctx))  # whatever JSMAGIC_BULK_REPLAY says
    plain = ctx.run(replay(Selection(**{**sel.__dict__, "bulk": False}), ctx=ctx))
    return bulk, plain


@PROPS
@given(msgs=messages, deleted=st.sets(st.integers(0, 59), max_size=10), batch=st.sampled_from([None, 3, 17]),
       decode=st.sampled_from(["auto", "bytes"]))
def test_bulk_and_nats_py_readers_return_equal_frames(shell, msgs, deleted, batch, decode):
    ctx = registry.context()
    name = f"PB{uuid.uuid4().hex[:8].upper()}"

    async def fill():
        await ctx.js.add_stream(name=name, subjects=[f"{name.lower()}.>"])
        seqs = [(await ctx.js.publish(f"{name.lower()}.s{k}", p, headers=h)).seq for k, p, h in msgs]
        for i in sorted(deleted):
            if i < len(seqs) - 1:  # keep the last one: the replay's end bound
                await ctx.js.delete_msg(name, seqs[i])

    ctx.run(fill())
    try:
        bulk, plain = read_both(ctx, Selection(name, batch=batch, decode=decode))
        assert bulk.bulk and not plain.bulk and not bulk.notes
        pd.testing.assert_frame_equal(bulk.frame, plain.frame)
        assert len(bulk.frame) == len(msgs) - len([i for i in deleted if i < len(msgs) - 1])
        assert ctx.run(ctx.js.consumers_info(name)) == []
    finally:
        ctx.run(ctx.js.delete_stream(name))


def test_bounds_filters_and_headers_only_match_the_nats_py_reader(shell):
    ctx = registry.context()
    name = f"PB{uuid.uuid4().hex[:8].upper()}"

    async def fill():
        await ctx.js.add_stream(name=name, subjects=[f"{name.lower()}.>"])
        for i in range(300):
            await ctx.js.publish(f"{name.lower()}.{'ab'[i % 2]}", b'{"i": %d}' % i, headers={"K": str(i)} if i % 3 else None)

    ctx.run(fill())
    p = name.lower()
    for sel in (Selection(name, subjects=[f"{p}.a"]), Selection(name, deliver="start_seq", start_seq=100, end_seq=150),
                Selection(name, count=7), Selection(name, headers_only=True), Selection(name, deliver="last_per_subject"),
                Selection(name, subjects=[f"{p}.a", f"{p}.b"], deliver="last")):
        bulk, plain = read_both(ctx, sel)
        assert bulk.bulk, sel
        pd.testing.assert_frame_equal(bulk.frame, plain.frame)
    assert ctx.run(ctx.js.consumers_info(name)) == []
    ctx.run(ctx.js.delete_stream(name))


def test_config_switch_forces_the_nats_py_reader(shell):
    ctx = registry.context()
    name = f"PB{uuid.uuid4().hex[:8].upper()}"
    ctx.run(ctx.js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    ctx.run(ctx.js.publish(f"{name.lower()}.a", b"x"))
    shell.run_line_magic("config", "JSMagic.bulk_replay = False")
    try:
        assert not ctx.run(replay(Selection(name), ctx=ctx)).bulk
        assert ctx.run(replay(Selection(name, bulk=True), ctx=ctx)).bulk  # a Selection's own choice wins
    finally:
        shell.run_line_magic("config", "JSMagic.bulk_replay = True")
    assert js_settings().bulk_replay and ctx.run(replay(Selection(name), ctx=ctx)).bulk
    ctx.run(ctx.js.delete_stream(name))


def test_a_websocket_url_is_not_served_by_the_bulk_reader():
    with pytest.raises(Unsupported, match="websocket"):
        _target("ws://127.0.0.1:8080")
    assert _target("tls://h:4443") == ("tls", "h", 4443)


def test_server_pings_are_answered_during_a_long_bulk_read():
    """A server drops a client that leaves 3 PINGs unanswered: a read that stalls (a slow progress
    callback) twice for two PING intervals must answer them, or it would be dropped (and resume)."""
    import time

    from jsmagic import testing as jt

    with jt.nats_server(config='ping_interval: "200ms"\nping_max: 3\n') as server, jt.connected_shell(server.url):
        ctx = registry.context()

        async def fill():
            await ctx.js.add_stream(name="PINGED", subjects=["pinged.>"])
            await jt.fill_stream(ctx.nc, "PINGED", 4000, lambda i: "pinged.a")

        stalls = []

        def stall(done, want):  # blocks the loop: nothing is read or sent meanwhile
            if len(stalls) < 4:
                stalls.append(done)
                time.sleep(0.45)

        ctx.run(fill())
        result = ctx.run(replay(Selection("PINGED", batch=500, bulk=True), stall, ctx=ctx))
        assert len(stalls) == 4
        assert result.bulk and not result.notes and len(result.frame) == 4000  # no resume: never dropped
        assert result.frame["i"].tolist() == list(range(4000))


PREFIX_ACCOUNTS = """
accounts {
  A: { jetstream: enabled, users: [{user: a, password: a}], exports: [{service: "$JS.API.>", response: stream}] }
  B: { users: [{user: b, password: b}], imports: [{service: {account: A, subject: "$JS.API.>"}, to: "JS.A.API.>"}] }
}
"""


def test_bulk_reader_pulls_through_an_imported_api_prefix():
    """Account B has no JetStream of its own: a pull sent to ``$JS.API`` would find no responder."""
    import asyncio

    import nats

    from jsmagic import testing as jt
    from jsmagic.connecting.options import resolve
    from jsmagic.core.context import JSContext

    async def scenario(host: str):
        owner = await nats.connect(f"nats://a:a@{host}")
        js = owner.jetstream()
        await js.add_stream(name="PFX", subjects=["pfx.>"])
        for i in range(50):
            await js.publish("pfx.x", b'{"i": %d}' % i)
        ctx = JSContext("imported")
        await ctx.connect(resolve({"servers": f"nats://b:b@{host}", "api_prefix": "JS.A.API"}))
        try:
            result = await replay(Selection("PFX", bulk=True), ctx=ctx)
            left = await js.consumers_info("PFX")
        finally:
            await ctx.close()
            await owner.close()
        return result, left

    with jt.nats_server(config=PREFIX_ACCOUNTS) as server:
        result, left = asyncio.run(scenario(server.url.split("://")[1]))
    assert result.bulk and not result.notes and not result.timed_out
    assert result.frame["i"].tolist() == list(range(50)) and left == []


def test_last_per_subject_over_more_than_one_pull_of_bytes_loses_no_subject(shell, monkeypatch):
    """20k subjects (~2 MB as the server counts them, pulls of ~1 MB): a max_bytes cut once lost the message at the cut."""
    import asyncio

    from jsmagic.reading.wire import bulk as bulk_reader

    monkeypatch.setattr(bulk_reader, "MAX_BYTES", 0)  # pulls of max_payload + 64 KiB

    ctx = registry.context()
    name = f"PB{uuid.uuid4().hex[:8].upper()}"

    async def fill():
        await ctx.js.add_stream(name=name, subjects=[f"{name.lower()}.>"])
        for s in range(0, 20_000, 5000):
            await asyncio.gather(*[ctx.js.publish_async(f"{name.lower()}.s{i}", b'{"v": 1}') for i in range(s, s + 5000)])
        while (await ctx.js.stream_info(name)).state.last_seq < 20_000:  # the info can lag the last acks
            await asyncio.sleep(0.05)

    ctx.run(fill())
    try:
        for sel in (Selection(name, deliver="last_per_subject"), Selection(name)):  # and every cut of a plain replay
            bulk, plain = read_both(ctx, sel)
            assert bulk.bulk and not bulk.timed_out and not bulk.notes and len(bulk.frame) == 20_000
            pd.testing.assert_frame_equal(bulk.frame, plain.frame)
    finally:
        ctx.run(ctx.js.delete_stream(name))
