"""%js_stream schema against a real server: counts and drift points compared with a plain nats-py read."""

from __future__ import annotations

import json
import time
import uuid

import pandas as pd
import pytest

from jsmagic.core.errors import InputError

from . import drifting as d


@pytest.fixture
def drifted(shell, nc):
    _client, js, run = nc
    name = "SCH" + uuid.uuid4().hex[:8].upper()
    d.fill(run, js, name)
    return name


def test_fields_and_counts_match_a_plain_read(shell, nc, drifted):
    _client, js, run = nc
    plain = d.read_plain(run, js, drifted)
    expected, non_json = d.count_fields(plain)
    s = shell.run_line_magic("js_stream", f"schema {drifted}")
    got = {(None, r.field): r.type_counts for r in s.fields.itertuples()}
    assert got == expected
    assert s.messages == len(plain) == d.ORDERS + len(d.BINARY) + len(d.TEXT)
    assert s.non_json == non_json == len(d.BINARY) + len(d.TEXT)
    kinds = dict(zip(s.kinds["kind"], s.kinds["messages"]))
    assert kinds == {"object": d.ORDERS, "text": len(d.TEXT), "bytes": len(d.BINARY)}
    f = s.fields.set_index("field")
    assert f.at["status", "nulls"] == sum(1 for _q, _s, p in plain[: d.ORDERS] if json.loads(p)["status"] is None)
    assert f.at["status", "null_rate"] == pytest.approx(f.at["status", "nulls"] / d.ORDERS)
    assert (f.at["coupon", "first_seq"], f.at["coupon", "last_seq"]) == (d.COUPON_AT, d.ORDERS)
    assert (f.at["legacy", "first_seq"], f.at["legacy", "last_seq"]) == (1, d.LEGACY_LAST)
    assert f.at["customer.region", "presence"] == pytest.approx((d.ORDERS - d.REGION_AT + 1) / d.ORDERS)
    tl = s.timeline  # what the plot draws holds the same counts, bin by bin
    for (_scope, field), types in expected.items():
        assert tl[tl["field"] == field].groupby("type")["messages"].sum().to_dict() == types
    assert tl.drop_duplicates("bin")["bin"].size <= 100
    assert 1 <= len(f.at["customer.tier", "examples"]) <= 3 and f.at["customer.tier", "examples"][0] == "gold"
    # the stream is left as it was: no consumer remains
    info = run(js.stream_info(drifted))
    assert info.state.messages == len(plain) and info.state.consumer_count == 0


def test_drift_points_are_the_known_ones(shell, nc, drifted):
    _client, js, run = nc
    times = {m[0]: run(js.get_msg(drifted, m[0])).time for m in d.read_plain(run, js, drifted)}
    s = shell.run_line_magic("js_stream", f"schema {drifted}")
    points = {(r.field, r.change, int(r.seq), r.old, r.new) for r in s.drift.itertuples()}
    assert points == {
        ("coupon", "appeared", d.COUPON_AT, None, "str"),
        ("customer.region", "appeared", d.REGION_AT, None, "str"),
        ("amount", "type", d.AMOUNT_STR_AT, "int", "str"),
        ("legacy", "disappeared", d.LEGACY_LAST + 1, "bool", None),
    }
    for r in s.drift.itertuples():  # by time too: the server's time of that sequence (nats-py keeps microseconds)
        assert abs(r.time - pd.Timestamp(times[int(r.seq)])) < pd.Timedelta("1us")


def test_by_subject(shell, nc, drifted):
    _client, js, run = nc
    expected, _ = d.count_fields(d.read_plain(run, js, drifted), by_subject=True)
    s = shell.run_line_magic("js_stream", f"schema {drifted} --by-subject")
    assert {(r.subject, r.field): r.type_counts for r in s.fields.itertuples()} == expected
    # the audit subject (every 10th) has its own drift: amount turns str at 50, legacy gone after 40
    audit = s.drift[s.drift["subject"] == f"{drifted}.audit"]
    assert ("amount", "type", 50) in {(r.field, r.change, int(r.seq)) for r in audit.itertuples()}
    assert ("legacy", "disappeared", 50) in {(r.field, r.change, int(r.seq)) for r in audit.itertuples()}


def test_filter_and_since(shell, nc, drifted):
    _client, js, run = nc
    plain = [m for m in d.read_plain(run, js, drifted) if m[1] == f"{drifted}.audit"]
    s = shell.run_line_magic("js_stream", f"schema {drifted} -s {drifted}.audit")
    assert s.messages == len(plain) == d.ORDERS // 10
    assert {(None, r.field): r.type_counts for r in s.fields.itertuples()} == d.count_fields(plain)[0]
    since = run(js.get_msg(drifted, 31)).time
    s = shell.run_line_magic("js_stream", f"schema {drifted} --since {since.isoformat()}")
    assert s.first_seq == 31 and s.messages == d.ORDERS - 30 + len(d.BINARY) + len(d.TEXT)


def test_sample_reads_evenly_and_says_how(shell, nc):
    _client, js, run = nc
    name = "SMP" + uuid.uuid4().hex[:8].upper()
    run(js.add_stream(name=name, subjects=[f"{name}.>"]))
    for i in range(1, 1001):
        run(js.publish(f"{name}.x", json.dumps({"i": i, **({"late": i} if i > 500 else {})}).encode()))
    s = shell.run_line_magic("js_stream", f"schema {name} --sample 100")
    assert s.messages == 100 and s.sampled == 1000 and "sampled" in s.method
    assert (s.first_seq, s.last_seq) == (1, 1000)
    late = s.drift[s.drift["field"] == "late"]
    assert len(late) == 1 and 501 <= int(late["seq"].iloc[0]) <= 511  # the first sample point after 500
    f = s.fields.set_index("field")
    assert f.at["late", "present"] == pytest.approx(50, abs=1)
    assert run(js.stream_info(name)).state.consumer_count == 0


def test_workqueue_is_left_intact(shell, nc):
    _client, js, run = nc
    name = "WQS" + uuid.uuid4().hex[:8].upper()
    run(js.add_stream(name=name, subjects=[f"{name}.>"], retention="workqueue"))
    for i in range(50):
        run(js.publish(f"{name}.job", json.dumps({"n": i if i < 25 else str(i)}).encode()))
    s = shell.run_line_magic("js_stream", f"schema {name}")
    assert s.messages == 50 and "no consumer" in s.method
    assert [(r.field, r.change, int(r.seq)) for r in s.drift.itertuples()] == [("n", "type", 26)]
    assert run(js.stream_info(name)).state.messages == 50


def test_bad_input_is_one_line(shell, drifted):
    with pytest.raises(InputError, match="--sample 0"):
        shell.run_line_magic("js_stream", f"schema {drifted} --sample 0")
    with pytest.raises(InputError, match="no such file"):
        shell.run_line_magic("js_stream", f"schema {drifted} --check /nonexistent/schema.json")
    with pytest.raises(Exception, match="did you mean"):
        shell.run_line_magic("js_stream", f"schema {drifted[:-1]}")


@pytest.mark.slow
def test_memory_does_not_grow_with_the_stream(shell, nc):
    """The schema of a stream 4x as long peaks at the same memory (chunks aggregated, never held)."""
    import tracemalloc

    _client, js, run = nc
    pad = "x" * 8000  # 160 MB at 20,000: well above the bulk reader's window, so "below the stream" means something
    peaks = {}
    for n in (5_000, 20_000):
        name = "MEM" + uuid.uuid4().hex[:8].upper()
        run(js.add_stream(name=name, subjects=[f"{name}.>"]))
        for i in range(n):
            run(_client.publish(f"{name}.x", json.dumps({"i": i, "pad": pad}).encode()))
        run(_client.flush())
        deadline = time.monotonic() + 120
        while run(js.stream_info(name)).state.messages < n and time.monotonic() < deadline:
            time.sleep(0.1)
        assert run(js.stream_info(name)).state.messages == n
        tracemalloc.start()
        try:
            s = shell.run_line_magic("js_stream", f"schema {name}")
            peaks[n] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert s.messages == n and s.fields.set_index("field").at["pad", "present"] == n
        run(js.delete_stream(name))
    stream_bytes = 20_000 * 8_000
    assert peaks[20_000] < 1.5 * peaks[5_000] + (4 << 20), peaks
    # below the stream it read.  The bulk reader's own window is two 8 MiB pulls in flight plus its receive buffer,
    # which doubles as it grows: ~21 MB on a quiet machine, 65 MB under two CPU hogs (the parse lags the socket).
    # With 2 KB payloads (a 40 MB stream) that window alone failed "below 0.75x the stream" in a full run.
    assert peaks[20_000] < 0.75 * stream_bytes, peaks


def test_msgpack_payloads_are_decoded_by_the_registry(shell, nc):
    msgpack = pytest.importorskip("msgpack")
    _client, js, run = nc
    name = "MPK" + uuid.uuid4().hex[:8].upper()
    run(js.add_stream(name=name, subjects=[f"{name}.>"]))
    sent = [{"i": i, "blob": b"\x00\x01", **({"v": 1.5 if i > 4 else 2} if i % 2 else {})} for i in range(10)]
    for payload in sent:
        run(js.publish(f"{name}.x", msgpack.packb(payload), headers={"Content-Type": "application/msgpack"}))
    got = {}
    for seq in range(1, 11):  # the independent reading: plain gets, msgpack's own unpacker
        for k, v in msgpack.unpackb(run(js.get_msg(name, seq)).data).items():
            t = {int: "int", float: "float", bytes: "bytes"}[type(v)]
            got.setdefault(k, {}).setdefault(t, 0)
            got[k][t] += 1
    s = shell.run_line_magic("js_stream", f"schema {name}")
    assert {r.field: r.type_counts for r in s.fields.itertuples()} == got
    assert s.non_json == 0 and [(r.field, r.change, int(r.seq)) for r in s.drift.itertuples()] == [
        ("v", "appeared", 2), ("v", "type", 6)]


def test_fields_beyond_the_cap_are_counted_not_kept(shell, nc, monkeypatch):
    from jsmagic.explore import fields

    monkeypatch.setattr(fields, "MAX_FIELDS", 10)
    _client, js, run = nc
    name = "KEY" + uuid.uuid4().hex[:8].upper()
    run(js.add_stream(name=name, subjects=[f"{name}.>"]))
    for i in range(30):  # a payload keyed by ids: a new field per message
        run(js.publish(f"{name}.x", json.dumps({"kind": "tick", f"id{i}": i}).encode()))
    s = shell.run_line_magic("js_stream", f"schema {name}")
    assert len(s.fields) == 10 and s.fields["field"].tolist()[:2] == ["kind", "id0"]
    assert s.fields.set_index("field").at["kind", "present"] == 30  # a tracked field is still counted in full
    # 21 names beyond the cap, 10 of them remembered: at least 10 more, said so first
    assert any(n.startswith("10+ further field names beyond the first 10 not tracked (21 occurrence") for n in s.notes)
    assert s.summary.startswith("10+ further field names")
