"""The new verbs say the same thing through the magics and through the Python API, with the same words.

Time travel (``%js_kv view|get --at``, ``%js_kv diff``, ``%js_stream diff``,
``%js_consume --last-per-subject --at``), exploring and finding (``%js_stream schema``,
``%js_stream find``, ``%js_consume --dry-run``), ``%js_consumer reset --dry-run`` and
``%js_check``: one data set, read both ways, the same frames and figures.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import pandas as pd
import pytest

import jsmagic
from jsmagic.core import registry


def frame(df) -> pd.DataFrame:
    return pd.DataFrame(df).reset_index(drop=True)


async def clock_past(when: dt.datetime) -> None:
    """Wait until the wall clock (the embedded server's too: one machine) is past ``when``."""
    deadline = time.monotonic() + 10
    while dt.datetime.now(dt.timezone.utc) <= when:
        assert time.monotonic() < deadline, "the clock did not move"
        await asyncio.sleep(0.001)


@pytest.fixture(scope="module")
def history(server):
    """Stream PARH and bucket parh: a first batch, a point in time, a second batch (written with nats-py)."""
    import nats

    async def write():
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(name="PARH", subjects=["parh.>"], allow_direct=True)
        kv = await js.create_key_value(bucket="parh", history=5)
        for k in "abc":
            await kv.put(k, json.dumps({"v": 1}).encode())
            await js.publish(f"parh.{k}", json.dumps({"p": 1}).encode())
        await js.add_consumer("PARH", durable_name="worker")
        await clock_past(dt.datetime.now(dt.timezone.utc) + dt.timedelta(milliseconds=5))
        point = dt.datetime.now(dt.timezone.utc)  # after every write of the first batch, before the second
        await clock_past(point + dt.timedelta(milliseconds=5))
        await kv.put("a", b'{"v": 2}')
        await kv.delete("b")
        await js.publish("parh.a", b'{"p": 2}')
        await js.publish("parh.d", b'{"p": "x"}')
        await nc.close()
        return point

    point = asyncio.run(write())
    yield point.isoformat().replace("+00:00", "Z")

    async def drop():
        nc = await nats.connect(server.url)
        await nc.jetstream().delete_stream("PARH")
        await nc.jetstream().delete_key_value("parh")
        await nc.close()

    asyncio.run(drop())


@pytest.fixture
def ctx(shell):
    return registry.context()


@pytest.mark.parametrize("line, call", [
    ("view parh --at {t}", lambda t: jsmagic.kv.view("parh", at=t)),
    ("view parh --revision 3", lambda t: jsmagic.kv.view("parh", revision=3)),
    ("diff parh {t}", lambda t: jsmagic.kv.diff("parh", t)),
])
def test_kv_time_travel(shell, ctx, history, line, call):
    by_magic = shell.run_line_magic("js_kv", line.format(t=history))
    by_api = ctx.run(call(history))
    assert len(by_api) > 0
    pd.testing.assert_frame_equal(frame(by_magic), frame(by_api))


def test_kv_get_at(shell, ctx, history):
    assert shell.run_line_magic("js_kv", f"get parh a --at {history}") == ctx.run(jsmagic.kv.get("parh", "a", at=history)).value == {"v": 1}


@pytest.mark.parametrize("verb, line, call", [
    ("js_stream", "diff PARH {t}", lambda t: jsmagic.streams.diff("PARH", t)),
    ("js_stream", "diff PARH {t} -s parh.a", lambda t: jsmagic.streams.diff("PARH", t, subjects="parh.a")),
    ("js_consume", "PARH --last-per-subject --at {t}", lambda t: jsmagic.streams.last_per_subject("PARH", at=t)),
    ("js_stream", "find 'parh.>'", lambda t: jsmagic.streams.find("parh.>")),
    ("js_check", "stream PARH --msgs-critical 0", lambda t: jsmagic.check.stream("PARH", msgs_critical=0)),
])
def test_stream_frames(shell, ctx, history, verb, line, call):
    by_magic = shell.run_line_magic(verb, line.format(t=history))
    by_api = ctx.run(call(history))
    assert len(by_api) > 0
    pd.testing.assert_frame_equal(frame(by_magic), frame(by_api))


def test_schema_dry_run_and_reset_plan(shell, ctx, history):
    magic = shell.run_line_magic("js_stream", "schema PARH")
    api = ctx.run(jsmagic.streams.schema("PARH"))
    pd.testing.assert_frame_equal(frame(magic.fields), frame(api.fields))
    pd.testing.assert_frame_equal(frame(magic.drift), frame(api.drift))

    fields = ("messages", "bytes", "first_seq", "last_seq", "reader", "exact")
    for line, words in ((f"PARH --since {history} --dry-run", {"since": history}),
                        ("PARH -s parh.a --dry-run", {"subjects": "parh.a"})):
        magic, api = shell.run_line_magic("js_consume", line), ctx.run(jsmagic.streams.dry_run("PARH", **words))
        assert [getattr(magic, f) for f in fields] == [getattr(api, f) for f in fields]
    assert api.messages == 2

    magic = shell.run_line_magic("js_consumer", f"reset PARH worker --since {history} --dry-run")
    api = ctx.run(jsmagic.consumers.reset("PARH", "worker", since=history, dry_run=True))
    assert magic.sentence() == api.sentence() and api.messages == 2
