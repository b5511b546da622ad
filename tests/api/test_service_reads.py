"""The magics, the Python API and the ``jsmagic`` command read and publish through the same services.

The same request gives the same result whichever front-end makes it, and that result is
what plain nats-py finds on the server:

* ``%js_consume`` (plain, ``--as arrow``, ``--to``, ``--last-per-subject --up-to-seq``) and
  ``jsmagic.replay``/``jsmagic.export``/``jsmagic.services.reading`` give equal frames, equal
  to the messages nats-py gets one by one;
* ``%%js_publish`` and ``jsmagic.publish`` store the same messages (``{{Count}}`` templates,
  ``{=var}`` values, message ids: a re-run stores nothing), as nats-py reads them back;
* ``jsmagic replay --format parquet`` writes ``%js_consume``'s frame.
"""

from __future__ import annotations

import asyncio
import json
import time

import pandas as pd
import pyarrow.parquet as pq
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

import jsmagic
from jsmagic.core import registry
from jsmagic.services import consumerreset, finding, publishing, reading

from ..cli.test_command import context_env, jsmagic_cmd

REGIONS = ("eu", "us", "ap")


def _plain(js, on_loop, stream: str) -> pd.DataFrame:
    """Every message of ``stream`` fetched one by one with nats-py: seq, subject, time, payload keys, headers."""

    async def read():
        info = await js.stream_info(stream)
        rows = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            m = await js.get_msg(stream, seq)
            rows.append({"seq": m.seq, "subject": m.subject, **json.loads(m.data),
                         "trace": (m.headers or {}).get("trace")})
        return rows

    return pd.DataFrame(on_loop(read()))


@pytest.fixture(scope="module")
def orders(server):
    """A stream of 600 JSON orders on three subjects, written by plain nats-py, each with a trace header."""
    import nats

    stream = f"SVCREAD{time.monotonic_ns() % 10**8}"

    async def fill():
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{stream}.>"])
        for i in range(1, 601):
            region = REGIONS[i % 3]
            await js.publish(f"{stream}.{region}", json.dumps({"id": i, "qty": i % 7, "region": region}).encode(),
                             headers={"trace": f"t{i}"})
        await nc.close()

    asyncio.run(fill())
    return stream


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(pd.DataFrame(a).reset_index(drop=True), pd.DataFrame(b).reset_index(drop=True))


@pytest.mark.parametrize("flags, words, keep", [
    ("", {}, lambda p, s: p),
    ("-s {s}.eu --start-seq 100 --end-seq 400", {"subjects": "{s}.eu", "start_seq": 100, "end_seq": 400},
     lambda p, s: p[(p.subject == f"{s}.eu") & p.seq.between(100, 400)]),
    ("--where 'qty > 3' -n 50 --header-cols trace", {"where": "qty > 3", "count": 50, "header_cols": "trace"},
     lambda p, s: p[p.qty > 3].head(50)),
    ("--last-per-subject", {"deliver": "last_per_subject"}, lambda p, s: p.groupby("subject").tail(1)),
])
def test_js_consume_equals_jsmagic_replay_and_plain_nats_py(shell, nc, orders, flags, words, keep):
    _, js, on_loop = nc
    by_magic = shell.run_line_magic("js_consume", f"{orders} {flags.format(s=orders)}")
    by_api = registry.context().run(jsmagic.replay(orders, **{k: v.format(s=orders) if isinstance(v, str) else v
                                                             for k, v in words.items()}))
    _same(by_magic, by_api)
    plain = keep(_plain(js, on_loop, orders), orders)
    assert len(by_api) == len(plain) > 0
    assert by_api["seq"].tolist() == plain["seq"].tolist()
    for col in ("subject", "id", "qty", "region"):
        assert by_api[col].tolist() == plain[col].tolist(), col
    if "header_cols" in words:
        assert by_api["trace"].tolist() == plain["trace"].tolist()


def test_arrow_parquet_and_time_travel_are_the_same_reads(shell, nc, orders, tmp_path):
    _, js, on_loop = nc
    ctx = registry.context()
    table = shell.run_line_magic("js_consume", f"{orders} -s {orders}.us --as arrow")
    _, api_table = ctx.run(reading.read_as(jsmagic.selection(orders, subjects=f"{orders}.us"), "arrow"))
    assert table.equals(api_table) and table.num_rows == 200

    shell.run_line_magic("js_consume", f"{orders} --since 1d --to {tmp_path / 'magic.parquet'}")
    ctx.run(jsmagic.export(orders, str(tmp_path / "api.parquet"), since="1d"))
    by_magic, by_api = (pq.read_table(tmp_path / f).to_pandas() for f in ("magic.parquet", "api.parquet"))
    _same(by_magic, by_api)
    assert by_api["seq"].tolist() == _plain(js, on_loop, orders)["seq"].tolist()

    at = shell.run_line_magic("js_consume", f"{orders} --last-per-subject --up-to-seq 300")
    result = ctx.run(reading.read_at(jsmagic.selection(orders, deliver="last_per_subject"), up_to_seq=300))
    _same(at, result.frame)
    _same(at, ctx.run(jsmagic.replay(orders, deliver="last_per_subject", up_to_seq=300)))
    plain = _plain(js, on_loop, orders)
    assert sorted(result.frame["seq"]) == sorted(plain[plain.seq <= 300].groupby("subject").tail(1)["seq"])


def test_dry_run_find_and_reset_plan_are_the_services(shell, nc, orders):
    _, js, on_loop = nc
    ctx = registry.context()
    by_magic = shell.run_line_magic("js_consume", f"{orders} -s {orders}.eu --dry-run")
    by_api = ctx.run(reading.dry_run(jsmagic.selection(orders, subjects=f"{orders}.eu")))
    assert by_magic.sentence() == by_api.sentence() and by_api.messages == 200

    found = shell.run_line_magic("js_stream", f"find {orders}.>")
    _same(found, ctx.run(finding.find(f"{orders}.>")))
    assert found.set_index("stream").loc[orders, "messages"] == on_loop(js.stream_info(orders)).state.messages

    on_loop(js.add_consumer(orders, ConsumerConfig(durable_name="svcread", filter_subject=f"{orders}.us",
                                                   ack_policy=AckPolicy.EXPLICIT)))
    plan = shell.run_line_magic("js_consumer", f"reset {orders} svcread 301 --dry-run")
    assert plan.sentence() == ctx.run(consumerreset.reset(orders, "svcread", 301, dry_run=True)).sentence()
    plain = _plain(js, on_loop, orders)
    assert plan.messages == len(plain[(plain.subject == f"{orders}.us") & (plain.seq >= 301)]) == 100


def test_js_publish_equals_jsmagic_publish_with_templates_values_and_message_ids(shell, nc):
    _, js, on_loop = nc
    ctx = registry.context()
    tag = f"svcpub{time.monotonic_ns() % 10**8}"
    for side in ("magic", "api"):
        on_loop(js.add_stream(name=f"{tag}_{side}", subjects=[f"{tag}.{side}.>"]))
    shell.user_ns["region"] = "eu"
    body = '{"n": {{Count}}, "region": "{=region}"}'
    line = f"{tag}.magic.{{=region}} --msg-id {{=region}}-{{{{Count}}}} -H Trace:t{{{{Count}}}} --count 4"
    shell.run_cell_magic("js_publish", line, body)
    acks = ctx.run(jsmagic.publish(f"{tag}.api.{{=region}}", body, msg_id="{=region}-{{Count}}",
                                   headers={"Trace": "t{{Count}}"}, count=4, namespace={"region": "eu"}))
    again = ctx.run(publishing.publish_acks(f"{tag}.api.{{=region}}", body, msg_id="{=region}-{{Count}}", count=4,
                                            namespace={"region": "eu"}))
    shell.run_cell_magic("js_publish", line, body)  # the magic's re-run: the same ids, nothing stored

    async def stored(stream):
        info = await js.stream_info(stream)
        out = []
        for seq in range(1, info.state.last_seq + 1):
            m = await js.get_msg(stream, seq)
            out.append((m.subject.split(".", 2)[2], json.loads(m.data), m.headers["Nats-Msg-Id"], m.headers["Trace"]))
        return info.state.messages, out

    (n_magic, magic), (n_api, api) = on_loop(stored(f"{tag}_magic")), on_loop(stored(f"{tag}_api"))
    assert n_magic == n_api == 4
    assert magic == api == [("eu", {"n": i, "region": "eu"}, f"eu-{i}", f"t{i}") for i in range(1, 5)]
    assert acks["seq"].tolist() == [1, 2, 3, 4] and not acks["duplicate"].any()
    assert again.acked == 4 and again.duplicates() == 4 and not again.errors


def test_raw_publishes_templates_as_written(shell, nc):
    _, js, on_loop = nc
    tag = f"svcraw{time.monotonic_ns() % 10**8}"
    on_loop(js.add_stream(name=tag, subjects=[f"{tag}.>"]))
    shell.run_cell_magic("js_publish", f"{tag}.m --raw", "{{Count}} {=x}")
    registry.context().run(jsmagic.publish(f"{tag}.a", "{{Count}} {=x}", raw=True, namespace={}))
    got = [on_loop(js.get_msg(tag, s)).data for s in (1, 2)]
    assert got == [b"{{Count}} {=x}"] * 2


def test_jsmagic_replay_parquet_equals_js_consume(orders, server, shell, tmp_path):
    env = context_env(tmp_path, server.url)
    r = jsmagic_cmd("replay", orders, "-s", f"{orders}.ap", "--where", "qty >= 2", "--header-cols", "trace",
                    "--format", "parquet", "-o", "ap.parquet", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = pq.read_table(tmp_path / "ap.parquet").to_pandas(maps_as_pydicts="strict")  # headers: a Parquet map
    frame = pd.DataFrame(shell.run_line_magic("js_consume", f"{orders} -s {orders}.ap --where 'qty >= 2' --header-cols trace"))
    assert len(frame) > 100
    pd.testing.assert_frame_equal(got, frame.reset_index(drop=True), check_dtype=False)
