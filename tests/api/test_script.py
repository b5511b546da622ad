"""What the course notebooks do with magics, done by a script with only the public API, in a plain ``python``.

The script runs in a subprocess (so nothing of IPython is imported, and it is asserted)
against an embedded server: it creates a stream and a bucket, publishes with ``{{Count}}``
message ids, replays, exports to Parquet, watches a bucket for N changes, follows a stream
for N messages, reads counters, backs a stream up and restores it.  Every figure is read
a second time with plain nats-py (or the server's own counts) and compared here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
N_ORDERS, N_TEXT, N_CHANGES, N_FOLLOW = 500, 200, 25, 60

SCRIPT = r'''
import asyncio, json, sys, time
import nats
import pyarrow.parquet as pq
import jsmagic

N_ORDERS, N_TEXT, N_CHANGES, N_FOLLOW = %(n)s
TMP = sys.argv[1]


async def until(what, check, timeout=60.0):
    """Poll ``check()`` (a coroutine function) until it is true; the deadline names what did not happen."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def consumers(js, stream):
    return (await js.stream_info(stream)).state.consumer_count


async def main():
    out = {}
    ctx = await jsmagic.connect(embedded=True)
    nc = await nats.connect(ctx.url)          # the independent reader: plain nats-py
    js = nc.jetstream()

    # a stream, and messages with {{Count}} message ids (a list of dicts, then text with templates)
    await jsmagic.streams.add("ORDERS", subjects="orders.>", dupe_window="2m")
    acks = await jsmagic.publish("orders.eu", [{"id": i} for i in range(1, N_ORDERS + 1)], msg_id="o-{{Count}}")
    again = await jsmagic.publish("orders.eu", [{"id": i} for i in range(1, N_ORDERS + 1)], msg_id="o-{{Count}}")
    text = "\n".join(['{"id": {{Count}}, "kind": "text"}'])
    more = await jsmagic.publish("orders.us", text, count=N_TEXT, msg_id="t-{{Count}}")
    out["acks"] = [len(acks), int(acks["seq"].max()), int(again["duplicate"].sum()), len(more), int(more["seq"].max())]
    info = await js.stream_info("ORDERS")
    out["server_messages"] = [info.state.messages, info.state.last_seq]
    first, text1 = await js.get_msg("ORDERS", seq=1), await js.get_msg("ORDERS", seq=N_ORDERS + 1)
    last = await js.get_msg("ORDERS", seq=N_ORDERS + N_TEXT)
    out["msg_ids"] = [first.headers["Nats-Msg-Id"], text1.headers["Nats-Msg-Id"], last.headers["Nats-Msg-Id"]]
    out["text_payloads"] = [json.loads(text1.data), json.loads(last.data)]
    try:
        await jsmagic.publish("orders.eu", [{"id": 1}], msg_id="o-{i}")
    except jsmagic.JSMagicError as e:
        out["old_template"] = str(e)

    # replay, compared message by message with plain nats-py's reading of the stream
    df = await jsmagic.replay("ORDERS")
    plain = [await js.get_msg("ORDERS", seq=s) for s in range(1, info.state.last_seq + 1)]
    out["replay_equal"] = (df["seq"].tolist() == [m.seq for m in plain]
                           and df["subject"].tolist() == [m.subject for m in plain]
                           and df["id"].tolist() == [json.loads(m.data)["id"] for m in plain])
    eu = await jsmagic.replay("ORDERS", subjects="orders.eu", since="1h", where="id > 100")
    out["filtered"] = [len(eu), int(eu["id"].min()), int(eu["id"].max())]

    # export to Parquet, compared with the same plain reading
    exported = await jsmagic.export("ORDERS", f"{TMP}/orders.parquet")
    table = pq.read_table(exported.path).to_pandas()
    out["export"] = [exported.rows, table["seq"].tolist() == [m.seq for m in plain],
                     table["id"].tolist() == [json.loads(m.data)["id"] for m in plain]]

    # a KV bucket watched for N changes that plain nats-py writes
    await jsmagic.kv.add("cfg", history=5)
    await jsmagic.kv.put("cfg", "db.host", "pg")
    kv = await js.key_value("cfg")
    seen = []
    async with jsmagic.kv.watch("cfg", "db.>", updates=True) as changes:
        await until("the watch's consumer", lambda: consumers(js, "KV_cfg"))
        for i in range(N_CHANGES):
            await kv.put(f"db.k{i %% 5}", json.dumps({"n": i}).encode())
        async for change in changes:
            seen.append([change.key, change.value, change.revision, change.operation])
            if len(seen) == N_CHANGES:
                break
    revisions = [(await kv.get(f"db.k{i}")).revision for i in range(5)]
    out["watch"] = [len(seen), [s[1]["n"] for s in seen] == list(range(N_CHANGES)),
                    max(s[2] for s in seen) == max(revisions), {s[3] for s in seen}]
    await until("the watch's consumer deleted", lambda: _none(js, "KV_cfg"))
    out["kv_get"] = (await jsmagic.kv.get("cfg", "db.k4")).value == json.loads((await kv.get("db.k4")).value)
    out["kv_view"] = (await jsmagic.kv.view("cfg"))["key"].tolist()

    # a bare break (no async with): the watch still ends and deletes its consumer
    async for change in jsmagic.kv.watch("cfg"):
        break
    await until("a broken-off watch's consumer deleted", lambda: _none(js, "KV_cfg"))

    # follow the stream for N new messages that plain nats-py publishes
    start = (await js.stream_info("ORDERS")).state.last_seq + 1
    got = []

    async def publisher():
        for i in range(N_FOLLOW):
            await js.publish("orders.live", json.dumps({"live": i}).encode())

    async with jsmagic.follow("ORDERS", start_seq=start) as chunks:
        task = asyncio.ensure_future(publisher())
        async for chunk in chunks:
            got.extend(chunk["live"].tolist())
            if len(got) >= N_FOLLOW:
                break
        await task
    out["follow"] = [got == list(range(N_FOLLOW)), (await js.stream_info("ORDERS")).state.last_seq - start + 1]
    await until("the follow's consumer deleted", lambda: _none(js, "ORDERS"))

    # counters, read back through plain nats-py's last message on the subject
    await jsmagic.streams.add("HITS", subjects="hits.>", allow_counter=True)
    for amount in (5, 10, -3):
        value = await jsmagic.counters.incr("hits.home", amount)
    await jsmagic.counters.decr("hits.home", 2)
    raw = await js.get_msg("HITS", subject="hits.home")
    out["counter"] = [value, await jsmagic.counters.get("hits.home"), int(json.loads(raw.data)["val"])]

    # back up and restore beside the original, under another name and subjects
    saved = await jsmagic.streams.backup("ORDERS", f"{TMP}/backup")
    back = await jsmagic.streams.restore(f"{TMP}/backup", name="ORDERS_COPY", subjects=["copy.>"])
    original, copy = await js.stream_info("ORDERS"), await js.stream_info("ORDERS_COPY")
    out["backup"] = [saved.messages, back.messages, original.state.messages, copy.state.messages,
                     back.last_seq == original.state.last_seq == copy.state.last_seq,
                     (await js.get_msg("ORDERS_COPY", seq=7)).data == (await js.get_msg("ORDERS", seq=7)).data]

    # an alias names a connection wherever ctx= is taken
    await jsmagic.connect(embedded=True, alias="other")
    out["alias"] = [(await jsmagic.streams.ls())["name"].tolist(),
                    sorted((await jsmagic.streams.ls(ctx="default"))["name"].tolist())]
    out["status"] = [(await jsmagic.status(ctx="default")).streams, len(await js.streams_info())]

    out["consumers_left"] = [await consumers(js, s) for s in ("ORDERS", "KV_cfg", "HITS")]
    await nc.close()
    await jsmagic.close(all=True)
    out["ipython"] = sorted(m for m in sys.modules if m.split(".")[0] in ("IPython", "ipywidgets", "ipykernel"))
    print(json.dumps(out, default=sorted))


async def _none(js, stream):
    return await consumers(js, stream) == 0


asyncio.run(main())
'''


def run_python(script: str, *args: str, timeout: float = 300) -> dict:
    """Run ``script`` in a plain ``python`` process (this worktree first on the path); its last line as JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_script_does_what_the_notebooks_do_with_the_public_api_only(tmp_path):
    out = run_python(SCRIPT % {"n": (N_ORDERS, N_TEXT, N_CHANGES, N_FOLLOW)}, str(tmp_path))
    total = N_ORDERS + N_TEXT
    assert out["acks"] == [N_ORDERS, N_ORDERS, N_ORDERS, N_TEXT, total]  # the re-run stored no duplicate
    assert out["server_messages"] == [total, total]
    assert out["msg_ids"] == ["o-1", "t-1", f"t-{N_TEXT}"]
    assert out["text_payloads"] == [{"id": 1, "kind": "text"}, {"id": N_TEXT, "kind": "text"}]
    assert "{{Count}}" in out["old_template"]
    assert out["replay_equal"] is True
    assert out["filtered"] == [N_ORDERS - 100, 101, N_ORDERS]
    assert out["export"] == [total, True, True]
    assert out["watch"] == [N_CHANGES, True, True, ["PUT"]]
    assert out["kv_get"] is True and out["kv_view"] == ["db.host", *(f"db.k{i}" for i in range(5))]
    assert out["follow"] == [True, N_FOLLOW]
    assert out["counter"] == [12, 10, 10]
    assert out["backup"] == [total + N_FOLLOW] * 4 + [True, True]
    assert out["alias"] == [[], ["HITS", "KV_cfg", "ORDERS", "ORDERS_COPY"]]
    assert out["status"][0] == out["status"][1] == 4
    assert out["consumers_left"] == [0, 0, 0]
    assert out["ipython"] == []
