"""Every path that reads an ack subject, on a server that sends the v2 form.

nats-server 2.14+ has the opt-in feature flag ``js_ack_fc_v2`` (announced as the default of
2.16): ack subjects become ``$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.
<sseq>.<cseq>.<ts>.<pending>``.  On such a server ``df = %js_consume S`` used to fail with
``ValueError: string or file could not be read to its end due to unmatched data``.  Here each
reader runs against one server with the flag on, and what it returns is compared with plain
nats-py's reading of the same stream (nats-py's ``Msg.metadata`` reads v2 subjects) or with
the server's own counts.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import nats
import pytest
from jsmagic import testing
from jsmagic.testing import nats_server

V2 = "feature_flags { js_ack_fc_v2: true }"


@pytest.fixture(scope="module")
def v2server():
    with nats_server(config=V2) as server:
        yield server


@pytest.fixture
def shell(v2server):
    with testing.connected_shell(v2server.url) as sh:
        yield sh


@pytest.fixture
def client(v2server):
    """A plain nats-py connection to the v2 server: ``(nc, js, run)``."""
    loop = asyncio.new_event_loop()
    nc = loop.run_until_complete(nats.connect(v2server.url))
    yield nc, nc.jetstream(), loop.run_until_complete
    loop.run_until_complete(nc.close())
    loop.close()


def _name(prefix: str = "V") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


def wait(shell, check, timeout: float = 30) -> bool:
    """Let the shell's loop run (cells) until ``check()`` or the timeout."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        shell.run_cell("import asyncio; await asyncio.sleep(0.05)")
    return check()


@pytest.fixture
def stream(client):
    """300 messages on two subjects, every third one with headers (one with its own ``Status``)."""
    nc, js, run = client
    name = _name()
    p = name.lower()
    run(js.add_stream(name=name, subjects=[f"{p}.>"]))

    async def fill():
        for i in range(300):
            headers = {"X-K": str(i)} if i % 3 == 0 else None
            if i == 9:
                headers = {"Status": "404", "Description": "Not Found"}
            await js.publish(f"{p}.{'ab'[i % 2]}", b'{"i": %d}' % i, headers=headers)

    run(fill())
    yield name
    run(js.delete_stream(name))


def truth(client, name: str) -> list[tuple]:
    """(seq, subject, time µs, i, headers) of every message, read by plain nats-py with STREAM.MSG.GET.

    Not through a nats-py consumer: its ``fetch`` takes a stored message's own ``Status: 404``
    header for the end of the batch.
    """
    nc, js, run = client

    async def read():
        state = (await js.stream_info(name)).state
        rows = []
        for seq in range(state.first_seq, state.last_seq + 1):
            m = await js.get_msg(name, seq)
            rows.append((m.seq, m.subject, round(m.time.timestamp() * 1e6), int(m.data[6:-1]), m.headers or None))
        return rows

    return run(read())


def test_the_server_sends_v2_ack_subjects_and_nats_py_reads_them(client):
    nc, js, run = client
    name = _name()
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    run(js.publish(f"{name.lower()}.a", b"x"))
    psub = run(js.pull_subscribe("", durable="d", stream=name))
    (msg,) = run(psub.fetch(1, timeout=5))
    assert len(msg.reply.split(".")) == 11 and msg.reply.startswith("$JS.ACK._.")
    md = msg.metadata
    assert (md.stream, md.consumer, md.sequence.stream, md.num_pending) == (name, "d", 1, 0)
    run(js.delete_stream(name))


def rows(df) -> list[tuple]:
    return [(int(r.seq), r.subject, round(r.time.value / 1e3), int(r.i), r.headers or None) for r in df.itertuples()]


def assert_same(got: list[tuple], want: list[tuple]) -> None:
    assert [(s, subj, i, h) for s, subj, _, i, h in got] == [(s, subj, i, h) for s, subj, _, i, h in want]
    assert all(abs(a[2] - b[2]) <= 2 for a, b in zip(got, want))  # nats-py's time is a float of seconds


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "nats-py"])
def test_a_replay_reads_v2_ack_subjects_like_nats_py(shell, client, stream, bulk):
    shell.run_line_magic("config", f"JSMagic.bulk_replay = {bulk}")
    want = truth(client, stream)
    df = shell.run_line_magic("js_consume", stream)
    assert_same(rows(df), want)
    assert df.loc[df["seq"] == 10, "headers"].iloc[0] == {"Status": "404", "Description": "Not Found"}
    part = shell.run_line_magic("js_consume", f"{stream} -s {stream.lower()}.b --start-seq 100 -n 20")
    assert_same(rows(part), [w for w in want if w[0] >= 100 and w[1].endswith(".b")][:20])
    _, js, run = client
    assert run(js.consumers_info(stream)) == []


def test_a_follow_reads_history_and_then_new_messages(shell, client, stream):
    nc, js, run = client
    tail = shell.run_line_magic("js_consume", f"{stream} --follow")
    try:
        assert wait(shell, lambda: len(tail.df) == 300)
        for i in range(300, 310):
            run(js.publish(f"{stream.lower()}.c", b'{"i": %d}' % i))
        assert wait(shell, lambda: len(tail.df) == 310)
        assert_same(rows(tail.df), truth(client, stream))
    finally:
        tail.stop()
    assert wait(shell, lambda: not tail.running)


def test_consumer_next_and_a_durable_ack_read(shell, client, stream):
    nc, js, run = client
    shell.run_line_magic("js_consumer", f"add {stream} w --pull --ack explicit")
    got = shell.run_line_magic("js_consumer", f"next {stream} w --count 5 --ack")
    want = truth(client, stream)
    assert got["seq"].tolist() == [1, 2, 3, 4, 5] and got["delivered"].tolist() == [1] * 5
    assert got["pending"].tolist() == [299, 298, 297, 296, 295]
    assert [round(t.value / 1e3) for t in got["time"]] == pytest.approx([w[2] for w in want[:5]], abs=2)
    assert run(js.consumer_info(stream, "w")).ack_floor.stream_seq == 5  # the server took the acks

    df = shell.run_line_magic("js_consume", f"{stream} --durable d -n 120 --ack")
    assert_same(rows(df), want[:120])
    assert run(js.consumer_info(stream, "d")).ack_floor.stream_seq == 120
    rest = shell.run_line_magic("js_consume", f"{stream} --durable d --ack --timeout 2")
    assert_same(rows(rest), want[120:])
    assert run(js.consumer_info(stream, "d")).num_pending == 0


def test_dead_letters(shell, client, stream):
    shell.run_line_magic("js_consumer", f"add {stream} w --pull --ack explicit --max-deliver 2")
    shell.run_line_magic("js_consumer", f"dead {stream} w --capture")
    shell.run_line_magic("js_consumer", f"next {stream} w --count 1 --term")
    df = None

    def dead():
        nonlocal df
        df = shell.run_line_magic("js_consumer", f"dead {stream} w")
        return len(df) == 1

    assert wait(shell, dead)
    assert df["seq"].tolist() == [1] and df["reason"].tolist() == ["terminated"] and df["data"][0] == {"i": 0}
    nc, js, run = client
    run(js.delete_stream(f"DEAD_{stream}_w"))


def test_kv_reads_and_watch(shell, client):
    nc, js, run = client
    bucket = _name("kv").lower()
    kv = run(js.create_key_value(bucket=bucket, history=5))
    for i in range(20):
        run(kv.put(f"k{i % 5}", b'{"v": %d}' % i))
    try:
        view = shell.run_line_magic("js_kv", f"view {bucket}").set_index("key")
        want = {f"k{j}": run(kv.get(f"k{j}")) for j in range(5)}
        assert {k: view.loc[k, "revision"] for k in want} == {k: e.revision for k, e in want.items()}
        assert {k: view.loc[k, "value"] for k in want} == {k: {"v": 15 + j} for j, k in enumerate(want)}
        assert sorted(shell.run_line_magic("js_kv", f"keys {bucket}")) == sorted(want)
        hist = shell.run_line_magic("js_kv", f"history {bucket} k1")
        # by STREAM.MSG.GET: nats-py's own kv.history breaks on v2 subjects (it reads them by v1 positions)
        stored = [run(js.get_msg(f"KV_{bucket}", seq)) for seq in range(1, 21)]
        assert hist["revision"].tolist() == [m.seq for m in stored if m.subject.endswith(".k1")] == [2, 7, 12, 17]
        assert hist["value"].tolist() == [{"v": i} for i in (1, 6, 11, 16)]
        watch = shell.run_line_magic("js_kv", f"watch {bucket}")
        try:
            assert wait(shell, lambda: len(watch.df) == 5)
            run(kv.put("k9", b'{"v": 99}'))
            assert wait(shell, lambda: "k9" in set(watch.df["key"]))
            assert watch.df.set_index("key").loc["k9", "revision"] == run(kv.get("k9")).revision
        finally:
            watch.stop()
    finally:
        run(js.delete_key_value(bucket))


def test_object_store_get_and_ls(shell, client):
    nc, js, run = client
    bucket = _name("ob").lower()
    obs = run(js.create_object_store(bucket))
    blob = bytes(range(256)) * 2_000  # several chunks
    run(obs.put("blob", blob))
    try:
        # compared with what was put: nats-py's own obs.get hangs on v2 subjects (it reads them by v1 positions)
        assert shell.run_line_magic("js_obj", f"get {bucket} blob") == blob
        assert shell.run_line_magic("js_obj", f"ls {bucket}")["name"].tolist() == ["blob"]
    finally:
        run(js.delete_object_store(bucket))


@pytest.mark.skipif("allow_msg_counter" not in nats.js.api.StreamConfig.__dataclass_fields__,
                    reason="this nats-py has no counter fields (2.16 has them; tests/test_api.py re-runs this file on the oldest)")
def test_counters_and_schedules(shell, client):
    nc, js, run = client
    name = _name("C")
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --allow-counter")
    try:
        shell.run_line_magic("js_counter", f"incr {name}.a 5")
        shell.run_line_magic("js_counter", f"incr {name}.b 2")
        shell.run_line_magic("js_counter", f"incr {name}.a 1")
        table = shell.run_line_magic("js_counter", f"ls {name}").set_index("subject")
        assert table["value"].to_dict() == {f"{name}.a": 6, f"{name}.b": 2}
        assert table["seq"].to_dict() == {f"{name}.a": 3, f"{name}.b": 2}
        last = run(js.get_last_msg(name, f"{name}.a"))  # the stored message, by STREAM.MSG.GET
        assert last.seq == 3 and abs(table.loc[f"{name}.a", "time"].value / 1e3 - last.time.timestamp() * 1e6) <= 2
    finally:
        run(js.delete_stream(name))
    name = _name("SC")
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --allow-schedules --allow-msg-ttl")
    try:
        shell.run_cell_magic("js_publish", f"{name}.schedules.r1 --schedule-after 1h --schedule-dest {name}.due",
                             "call Ann\n")
        pending = shell.run_line_magic("js_stream", f"schedules {name}")
        assert pending["subject"].tolist() == [f"{name}.schedules.r1"] and pending["seq"].tolist() == [1]
        assert pending["target"].tolist() == [f"{name}.due"]
    finally:
        run(js.delete_stream(name))


def test_object_watch(shell, client):
    """The object watch read through nats-py's ordered consumer, whose v1-only ack parsing broke the connection."""
    nc, js, run = client
    bucket = _name("ow").lower()
    obs = run(js.create_object_store(bucket))
    run(obs.put("first", b"1" * 1000))
    try:
        watch = shell.run_line_magic("js_obj", f"watch {bucket}")
        try:
            assert wait(shell, lambda: watch.df["name"].tolist() == ["first"])
            run(obs.put("second", b"2" * 2000))
            assert wait(shell, lambda: watch.df["name"].tolist() == ["first", "second"])
            assert watch.df.set_index("name")["size"].to_dict() == {"first": 1000, "second": 2000}
        finally:
            watch.stop()
        assert wait(shell, lambda: not watch.running and run(js.consumers_info(f"OBJ_{bucket}")) == [])
        assert shell.run_line_magic("js_obj", f"ls {bucket}")["name"].tolist() == ["first", "second"]
    finally:
        run(js.delete_object_store(bucket))


@pytest.mark.skipif("allow_msg_counter" not in nats.js.api.StreamConfig.__dataclass_fields__,
                    reason="this nats-py has no counter fields (2.16 has them; tests/test_api.py re-runs this file on the oldest)")
def test_scans_keep_stored_status_messages(shell, client):
    """``%js_stream schedules`` and ``%js_counter ls`` (scans through the replay's drain loop) on a
    v2 server: stored messages with their own ``Status: 404`` header, one with an empty body, are
    rows; each compared with plain nats-py's STREAM.MSG.GET."""
    import datetime as dt

    nc, js, run = client
    name = _name("SS")
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --allow-schedules --allow-msg-ttl")
    at = "@at " + (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        for i in range(1, 7):
            headers = {"Nats-Schedule": at, "Nats-Schedule-Target": f"{name}.due"}
            if i in (2, 5):
                headers.update({"Status": "404", "Description": "Not Found"})
            run(js.publish(f"{name}.schedules.r{i}", b"" if i == 5 else b"job %d" % i, headers=headers))
        stored = [run(js.get_msg(name, seq)) for seq in range(1, 7)]
        assert [m.headers.get("Status") for m in stored] == [None, "404", None, None, "404", None]
        pending = shell.run_line_magic("js_stream", f"schedules {name}")
        assert pending["subject"].tolist() == [m.subject for m in stored]
        assert pending["seq"].tolist() == [m.seq for m in stored]
    finally:
        run(js.delete_stream(name))
    name = _name("CS")
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --allow-counter")
    try:
        for i in range(1, 5):
            headers = {"Nats-Incr": f"+{i}"}
            if i % 2:
                headers.update({"Status": "404", "Description": "Not Found"})
            run(nc.request(f"{name}.c{i}", b"", headers=headers, timeout=5))
        table = shell.run_line_magic("js_counter", f"ls {name}")
        want = [run(js.get_last_msg(name, f"{name}.c{i}")) for i in range(1, 5)]
        assert table["subject"].tolist() == [m.subject for m in want]
        assert table["seq"].tolist() == [m.seq for m in want] and table["value"].tolist() == [1, 2, 3, 4]
    finally:
        run(js.delete_stream(name))
