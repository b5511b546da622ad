"""The replay core as a script uses it: data back (no display text), any named connection, live reads.

``replay(sel, ctx=second)`` reads through ``second`` while the notebook's current connection
stays where it is; a :class:`LiveReplay` is stopped by closing its own connection; the
words under a frame come from :mod:`jsmagic.ui.replay`, the figures from the core.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import nats
import pandas as pd
import pytest
from nats.js.api import RetentionPolicy, StreamConfig

from jsmagic.connecting.options import resolve
from jsmagic.core import registry
from jsmagic.core.errors import NotFoundError
from jsmagic.reading.follow import LiveReplay
from jsmagic.reading.reader import Replay, check_stream, replay
from jsmagic.reading.selection import Selection
from jsmagic.ui.replay import replay_summary


def _name(prefix: str = "R") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


def test_replay_and_check_stream_read_through_the_given_context(shell, second):
    async def fill():
        await second.js.add_stream(name="ELSEWHERE", subjects=["else.>"])
        await second.js.add_stream(StreamConfig(name="WQELSE", subjects=["wq.>"], retention=RetentionPolicy.WORK_QUEUE,
                                               allow_direct=True))
        for i in range(3):
            await second.js.publish("else.a", json.dumps({"i": i}).encode())
            await second.js.publish("wq.a", json.dumps({"i": i}).encode())

    second.run(fill())
    result = second.run(replay(Selection("ELSEWHERE"), ctx=second))
    assert type(result.frame) is pd.DataFrame and result.frame["i"].tolist() == [0, 1, 2]
    assert (result.method, result.interrupted, result.timed_out) == ("ephemeral consumer (deleted)", False, False)
    by_get = second.run(replay(Selection("WQELSE"), ctx=second))  # direct get on the second connection's API
    assert by_get.frame["i"].tolist() == [0, 1, 2] and "no consumer created" in by_get.method
    assert second.run(check_stream("ELSEWHERE", ctx=second)).config.name == "ELSEWHERE"
    assert registry.current_alias() == "default"
    with pytest.raises(NotFoundError, match="unknown stream 'ELSEWHERE'"):
        shell.run_line_magic("js_consume", "ELSEWHERE")  # the current context is another server
    info = second.run(second.js.stream_info("ELSEWHERE"))
    assert info.state.consumer_count == 0 and second.run(second.js.stream_info("WQELSE")).state.messages == 3


def test_a_durable_ack_count_is_data_and_the_magic_words_it(shell, nc):
    _, js, run = nc
    name = _name("JOBS")
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"], retention=RetentionPolicy.WORK_QUEUE)))
    for i in range(3):
        run(js.publish(f"{name}.job", json.dumps({"job": i}).encode()))
    ctx = registry.context()
    result = ctx.run(replay(Selection(name, durable="w", action="ack")))
    assert (result.action, result.acknowledged) == ("ack", 3) and result.frame["job"].tolist() == [0, 1, 2]
    assert not hasattr(result, "summary")  # the core returns data; ui.replay words it
    assert replay_summary(result).endswith("; durable consumer w; ack sent for 3 messages")
    for i in range(2):
        run(js.publish(f"{name}.job", json.dumps({"job": 3 + i}).encode()))
    df = shell.run_line_magic("js_consume", f"{name} --durable w --in-progress")
    assert df["job"].tolist() == [3, 4]
    assert df.summary.endswith("; durable consumer w; in-progress sent for 2 messages")


def test_replay_summary_words_every_field():
    t = pd.Timestamp("2026-11-26 10:00:00", tz="UTC")
    frame = pd.DataFrame({"seq": [1, 2, 3], "subject": ["o.eu", "o.us", "o.eu"],
                          "time": [t, t + pd.Timedelta("5min"), t + pd.Timedelta(days=2)]})
    done = Replay("ORDERS", frame, method="ephemeral consumer (deleted)", interrupted=True, timed_out=True,
                  notes=["a note"])
    assert replay_summary(done) == (
        "ORDERS: 3 rows; seq 1–3; 2026-11-26 10:00:00 → 2026-11-28 10:00:00 UTC; 2 subjects: o.eu (2), o.us (1); "
        "ephemeral consumer (deleted); a note; interrupted: partial result; stopped: no message within the timeout"
    )
    assert replay_summary(Replay("EMPTY", pd.DataFrame(), method="m")) == "EMPTY: 0 rows; m"


def test_a_live_replay_feeds_new_rows_and_stops_with_its_own_context(fresh_server):
    async def scenario():
        ctx = registry.create("live")
        try:
            await ctx.connect(resolve({"servers": [fresh_server.url]}))
            await ctx.js.add_stream(name="TAIL", subjects=["tail.>"])
            await ctx.js.publish("tail.old", b'{"n": -1}')
            seqs, ends = [], []
            live = LiveReplay(Selection("TAIL", deliver="new"), ctx=ctx, on_end=ends.append,
                              on_rows=lambda chunks: seqs.extend(int(s) for c in chunks for s in c.seq)).start()
            assert [e.kind for e in ctx.background.values()] == ["follow"]
            assert registry.context() is not ctx  # started on "live", not on the current context
            async def consumer_made():
                return (await ctx.js.stream_info("TAIL")).state.consumer_count == 1

            async def all_arrived():
                return len(seqs) == 5

            await _until(consumer_made)
            for i in range(5):
                await ctx.js.publish("tail.new", b'{"n": %d}' % i)
            await _until(all_arrived)
            assert seqs == [2, 3, 4, 5, 6] and live.running
            assert live.describe() == "following TAIL: 5 messages, running"
            await ctx.close()  # %js_close: the live read stops with its connection
            assert not live.running and ends == ["interrupted"] and ctx.background == {}
            assert live.df["n"].tolist() == [0, 1, 2, 3, 4]
            second = await nats.connect(fresh_server.url)
            try:
                assert (await second.jetstream().stream_info("TAIL")).state.consumer_count == 0
            finally:
                await second.close()
        finally:
            await ctx.close()
            registry.forget("live")

    asyncio.run(scenario())


async def _until(check, tries: int = 100) -> None:
    """Poll ``await check()`` every 50 ms until it is true; fail after ``tries`` polls."""
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never true: {check.__name__}")
