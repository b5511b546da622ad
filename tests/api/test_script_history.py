"""Time travel, exploring, finding, core NATS and health checks from a script with only the public API.

The script runs in a plain ``python`` process (IPython is never imported: asserted) against
an embedded server.  Every write is made with plain nats-py, whose own answers (revisions,
sequences, the stored times, counts, the micro service's statistics) are what the public
API's readings are compared with here.
"""

from __future__ import annotations

import pytest

from .test_script import run_python

SCRIPT = r'''
import asyncio, datetime as dt, json, sys, time, warnings
import nats
from nats import micro
import jsmagic

TMP = sys.argv[1]


async def until(what, check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def main():
    out = {}
    warnings.simplefilter("error", jsmagic.ReadWarning)  # a complete read says nothing: any note fails the script
    ctx = await jsmagic.connect(embedded=True)
    nc = await nats.connect(ctx.url)          # the independent writer and reader: plain nats-py
    js = nc.jetstream()

    # ---- batch 1, a point in time, batch 2: written with plain nats-py, its revisions and sequences kept
    await jsmagic.streams.add("PRICES", subjects="prices.>", allow_direct=True)
    await jsmagic.kv.add("cfg", history=5)
    kv = await js.key_value("cfg")
    rev1 = {k: await kv.put(k, json.dumps({"v": 1}).encode()) for k in ("a", "b", "c")}
    seq1 = {s: (await js.publish(f"prices.{s}", json.dumps({"p": 1}).encode())).seq for s in "abcde"}
    last = await js.get_msg("PRICES", seq=max(seq1.values()))
    await until("the clock to pass batch 1", lambda: asyncio.sleep(0, dt.datetime.now(dt.timezone.utc)
                                                                    > last.time + dt.timedelta(milliseconds=2)))
    t1 = dt.datetime.now(dt.timezone.utc)
    await until("the clock to pass the point", lambda: asyncio.sleep(0, dt.datetime.now(dt.timezone.utc)
                                                                     > t1 + dt.timedelta(milliseconds=2)))
    rev2 = {"a": await kv.put("a", json.dumps({"v": 2}).encode()), "d": await kv.put("d", b'{"v": 1}')}
    await kv.delete("b")
    seq2 = {"a": (await js.publish("prices.a", b'{"p": 2}')).seq, "f": (await js.publish("prices.f", b'{"p": 1}')).seq,
            "z": (await js.publish("prices.z", b'{"p": "bad"}')).seq}

    # ---- time travel: the bucket and the stream as they were at t1, and what changed since
    then = await jsmagic.kv.view("cfg", at=t1)
    out["kv_view_at"] = [then["key"].tolist(), then["value"].tolist(), then["revision"].tolist() == [rev1[k] for k in "abc"]]
    by_rev = await jsmagic.kv.view("cfg", revision=max(rev1.values()))
    out["kv_view_revision_same"] = by_rev[["key", "revision"]].values.tolist() == then[["key", "revision"]].values.tolist()
    out["kv_get_at"] = [(await jsmagic.kv.get("cfg", "a", at=t1)).value, (await jsmagic.kv.get("cfg", "a")).value,
                        (await jsmagic.kv.get("cfg", "a", at=t1.isoformat())).revision == rev1["a"]]
    changed = await jsmagic.kv.diff("cfg", t1)
    out["kv_diff"] = [changed["key"].tolist(), changed["change"].tolist(),
                      changed["new_revision"].tolist()[::2] == [rev2["a"], rev2["d"]],
                      changed["old_revision"].tolist()[:2] == [rev1["a"], rev1["b"]]]
    lps = await jsmagic.streams.last_per_subject("PRICES", at=t1)
    out["stream_at"] = [lps["subject"].tolist(), lps["seq"].tolist() == [seq1[s] for s in "abcde"], lps["p"].tolist()]
    sdiff = await jsmagic.streams.diff("PRICES", t1)
    out["stream_diff"] = [sdiff["subject"].tolist(), sdiff["change"].tolist(),
                          sdiff["new_seq"].tolist() == [seq2["a"], seq2["f"], seq2["z"]]]

    # ---- schema with a JSON Schema check; drift where p turned into text
    with open(f"{TMP}/price.schema.json", "w") as f:
        json.dump({"type": "object", "properties": {"p": {"type": "integer"}}, "required": ["p"]}, f)
    schema = await jsmagic.streams.schema("PRICES", check=f"{TMP}/price.schema.json")
    info = await js.stream_info("PRICES")
    p = schema.fields.set_index("field").loc["p"]
    out["schema"] = [schema.messages == info.state.messages, int(p["present"]) == info.state.messages, p["type_counts"],
                     schema.violating, schema.violations["seq"].tolist() == [seq2["z"]],
                     schema.drift[["field", "change", "old", "new"]].values.tolist()]

    # ---- find: the stream and a stream sourcing one subject of it, with the server's counts
    await jsmagic.streams.add("PRICES_A", sources=["PRICES:prices.a"])
    await until("the source to catch up", lambda: _count(js, "PRICES_A", 2))
    found = await jsmagic.streams.find("prices.a")
    plain_a = (await js.stream_info("PRICES", subjects_filter="prices.a")).state.subjects["prices.a"]
    out["find"] = [found["stream"].tolist(), found["messages"].tolist() == [plain_a, plain_a],
                   "source PRICES" in found["via"].tolist()[1]]

    # ---- dry run: the server's counts, and no consumer created
    before = info.state.consumer_count
    d_all = await jsmagic.streams.dry_run("PRICES")
    d_a = await jsmagic.streams.dry_run("PRICES", subjects="prices.a")
    d_since = await jsmagic.streams.dry_run("PRICES", since=t1)
    after = (await js.stream_info("PRICES")).state.consumer_count
    out["dry_run"] = [d_all.messages == info.state.messages, d_all.bytes == info.state.bytes, d_a.messages == plain_a,
                      d_since.messages, [d_since.first_seq, d_since.last_seq] == [seq2["a"], seq2["z"]],
                      before, after]

    # ---- core NATS: a request answered by a nats.py micro service, compared with its own statistics
    async def add(req):
        a = json.loads(req.data)
        await req.respond(json.dumps({"sum": a["a"] + a["b"]}).encode())

    svc = await micro.add_service(nc, name="calc", version="1.0.0")
    await svc.add_endpoint(name="add", subject="calc.add", handler=add)
    await nc.flush()
    replies = await jsmagic.nats.request("calc.add", '{"a": 1, "b": 2}')
    more = await jsmagic.nats.request("calc.add", '{"a": 40, "b": 2}', timeout="5s")
    ping = await jsmagic.micro.ping("calc")
    stats = await jsmagic.micro.stats("calc")
    own = svc.stats()
    out["request"] = [replies["data"].tolist(), more["data"].tolist(), float(replies["latency_ms"][0]) >= 0,
                      ping["name"].tolist(), ping["id"].tolist() == [svc.id],
                      int(stats["num_requests"].sum()) == own.endpoints[0].num_requests == 2]

    # core publish with {{Count}}, read by a plain subscription; a live subscribe fed by plain publishes
    got = []

    async def greeted(m):
        got.append(json.loads(m.data))

    plain_sub = await nc.subscribe("greet.x", cb=greeted)
    await nc.flush()  # twice: one flush's PING can overtake the SUB (nats-py 2.16)
    await nc.flush()
    sent = await jsmagic.nats.publish("greet.x", '{"n": {{Count}}}', count=5)
    await until("the plain subscription to get 5", lambda: asyncio.sleep(0, len(got) == 5))
    await plain_sub.unsubscribe()
    live = []
    async with jsmagic.nats.subscribe("live.*", count=3) as msgs:
        for i in range(3):
            await nc.publish(f"live.{i}", json.dumps({"i": i}).encode())
        async for m in msgs:
            live.append([m.subject, m.data])
    out["core"] = [sent, got, live]

    # ---- health checks, their figures compared with the server's
    ok = await jsmagic.check.stream("PRICES", msgs_critical=0)
    row = ok.set_index("check").loc["messages"]
    missing = await jsmagic.check.stream("NOPE")
    try:
        await jsmagic.check.kv("nope", fail_on="crit")
    except jsmagic.JSMagicError as e:
        failed = [type(e).__name__, e.result.attrs["status"]]
    out["check"] = [ok.attrs["status"], int(row["value"]) == (await js.stream_info("PRICES")).state.messages,
                    missing.attrs["status"], (await jsmagic.check.kv("cfg", key="a")).attrs["status"], failed,
                    (await jsmagic.check.connection()).attrs["status"] in ("OK", "WARN")]

    await svc.stop()
    await nc.close()
    await jsmagic.close(all=True)
    out["ipython"] = sorted(m for m in sys.modules if m.split(".")[0] in ("IPython", "ipywidgets", "ipykernel"))
    print(json.dumps(out, default=str))


async def _count(js, stream, n):
    return (await js.stream_info(stream)).state.messages >= n


asyncio.run(main())
'''


@pytest.mark.slow
def test_a_script_travels_in_time_explores_finds_and_checks_with_the_public_api_only(tmp_path):
    out = run_python(SCRIPT, str(tmp_path))
    v1 = {"v": 1}
    assert out["kv_view_at"] == [["a", "b", "c"], [v1, v1, v1], True]  # b was deleted after t1, a rewritten, d added
    assert out["kv_view_revision_same"] is True
    assert out["kv_get_at"] == [v1, {"v": 2}, True]
    assert out["kv_diff"] == [["a", "b", "d"], ["changed", "deleted", "added"], True, True]
    assert out["stream_at"] == [["prices.a", "prices.b", "prices.c", "prices.d", "prices.e"], True, [1] * 5]
    assert out["stream_diff"] == [["prices.a", "prices.f", "prices.z"], ["changed", "added", "added"], True]
    assert out["schema"][:2] == [True, True] and out["schema"][2] == {"int": 7, "str": 1}
    assert out["schema"][3:5] == [1, True] and out["schema"][5] == [["p", "type", "int", "str"]]
    assert out["find"] == [["PRICES", "PRICES_A"], True, True]
    assert out["dry_run"] == [True, True, True, 3, True, 0, 0]
    assert out["request"] == [[{"sum": 3}], [{"sum": 42}], True, ["calc"], True, True]
    assert out["core"] == [5, [{"n": n} for n in range(1, 6)], [[f"live.{i}", {"i": i}] for i in range(3)]]
    assert out["check"] == ["OK", True, "CRIT", "OK", ["CheckFailed", "CRIT"], True]
    assert out["ipython"] == []
