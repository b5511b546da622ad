"""One decoder registry: the same stored payloads read back as the same values on every path.

Payloads are written by plain nats-py (JSON, gzip with ``Content-Encoding: gzip``, msgpack with
``Content-Type: application/msgpack``, text, bytes that are not UTF-8, an empty payload); the
values expected are written down here, not computed by jsmagic.  Every read that decodes must
give them: the replay's ``.df``, ``--follow``'s table and ``.df``, ``%js_consumer next``,
``%js_stream get``, ``%js_kv get/history/view/watch`` and dead letters.  And every magic that
takes ``--decode`` refuses an unknown name with the same one line.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import uuid

import msgpack
import pandas as pd
import pytest
from nats.js.api import ConsumerConfig, StreamConfig

from jsmagic.core.errors import InputError

# (payload, headers, the value every path must show)
CASES = [
    (b'{"a": 1}', None, {"a": 1}),
    (gzip.compress(b'{"a": 2}'), {"Content-Encoding": "gzip"}, {"a": 2}),
    (msgpack.packb({"m": [1, 2]}), {"Content-Type": "application/msgpack"}, {"m": [1, 2]}),
    (b"hello", None, "hello"),
    (b"\xff\xfe\x00", None, b"\xff\xfe\x00"),
    (b"", None, ""),
    (gzip.compress(b"plain words"), {"content-encoding": "gzip", "content-type": "text/plain"}, "plain words"),
]
EXPECTED = [c[2] for c in CASES]
KEYS = ("a", "m")  # the object payloads' keys (a replay makes them columns)


def _name(prefix: str = "DEC") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


def wait_for(predicate, timeout: float = 30.0) -> None:
    """Poll ``predicate`` while the shell's connection loop runs (a follow or a watch is fed by it)."""
    from jsmagic.core.registry import context

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        context().run(asyncio.sleep(0.05))


@pytest.fixture
def stream(nc):
    """A stream holding CASES in order on NAME.x, written by plain nats-py."""
    _, js, run = nc
    name = _name()
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"])))
    for payload, headers, _ in CASES:
        run(js.publish(f"{name}.x", payload, headers=headers))
    yield name
    run(js.delete_stream(name))


def _from_columns(cells: dict) -> list:
    """A row's value from a frame that splits objects into columns: ``data``, else the object's keys."""
    data = cells.get("data")
    if data is not None and not (isinstance(data, float) and pd.isna(data)):
        return data
    return {k: cells[k] for k in KEYS if k in cells and cells[k] is not None and not _nan(cells[k])}


def _nan(v) -> bool:
    return isinstance(v, float) and pd.isna(v)


def _frame_values(df: pd.DataFrame) -> list:
    assert "decode_error" not in df.columns or df["decode_error"].isna().all(), df["decode_error"].tolist()
    return [_from_columns(row) for row in df.to_dict("records")]


def test_replay_df_and_stream_get(shell, stream):
    df = shell.run_line_magic("js_consume", stream)
    assert _frame_values(df) == EXPECTED
    got = [shell.run_line_magic("js_stream", f"get {stream} {seq}")["data"] for seq in range(1, len(CASES) + 1)]
    assert got == EXPECTED


def test_follow_table_and_df(shell, stream):
    handle = shell.run_line_magic("js_consume", f"{stream} --all --follow")
    try:
        wait_for(lambda: len(handle) >= len(CASES) and len(handle.table.rows()) >= len(CASES))
        columns = handle.table.columns
        shown = [_from_columns(dict(zip(columns[4:], row[4:]))) for row in handle.table.rows()]
        assert shown == EXPECTED  # the table shows what the core decoded, as .df has it
        assert _frame_values(handle.df) == EXPECTED
    finally:
        handle.stop()


def test_consumer_next(shell, stream, nc):
    _, js, run = nc
    run(js.add_consumer(stream, ConsumerConfig(durable_name="C", ack_policy="explicit")))
    df = shell.run_line_magic("js_consumer", f"next {stream} C --count {len(CASES)} --timeout 5")
    assert df["data"].tolist() == EXPECTED
    assert "decode_error" not in df.columns


def test_dead_letters(shell, stream, nc):
    _, js, run = nc
    run(js.add_consumer(stream, ConsumerConfig(durable_name="D", ack_policy="explicit", max_deliver=3)))
    shell.run_line_magic("js_consumer", f"dead {stream} D --capture")
    psub = run(js.pull_subscribe_bind("D", stream=stream))
    msgs = run(psub.fetch(len(CASES), timeout=5))
    for m in msgs:
        run(m.term())
    wait_for(lambda: len(shell.run_line_magic("js_consumer", f"dead {stream} D")) == len(CASES))
    df = shell.run_line_magic("js_consumer", f"dead {stream} D").sort_values("seq")
    assert df["data"].tolist() == EXPECTED
    run(js.delete_stream(f"DEAD_{stream}_D"))


def test_kv_get_history_view_and_watch(shell, nc):
    _, js, run = nc
    bucket = _name("KV")
    run(js.create_key_value(bucket=bucket, history=2))
    for i, (payload, headers, _) in enumerate(CASES):
        run(js.publish(f"$KV.{bucket}.k{i}", payload, headers=headers))
    keys = [f"k{i}" for i in range(len(CASES))]
    assert [shell.run_line_magic("js_kv", f"get {bucket} {k}") for k in keys] == EXPECTED
    assert [shell.run_line_magic("js_kv", f"history {bucket} {k}")["value"].tolist()[-1] for k in keys] == EXPECTED
    view = shell.run_line_magic("js_kv", f"view {bucket}")
    assert view["key"].tolist() == keys and view["value"].tolist() == EXPECTED
    watch = shell.run_line_magic("js_kv", f"watch {bucket}")
    try:
        wait_for(lambda: len(watch.df) == len(CASES))
        assert watch.df["value"].tolist() == EXPECTED
        shown = {row[0]: watch.watcher.value(row[1]) for row in watch.table.rows()}  # what the table renders
        assert [shown[k] for k in keys] == EXPECTED
    finally:
        watch.stop()
    run(js.delete_key_value(bucket))


def test_named_modes_decode_alike_on_every_path(shell, nc):
    """--decode msgpack and a notebook function: replay, consumer next and KV get agree."""
    _, js, run = nc
    name = _name()
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"])))
    packed = msgpack.packb({"m": 7})
    run(js.publish(f"{name}.x", packed))
    run(js.publish(f"{name}.x", gzip.compress(packed), headers={"Content-Encoding": "gzip"}))
    assert shell.run_line_magic("js_consume", f"{name} --decode msgpack")["m"].tolist() == [7, 7]
    run(js.add_consumer(name, ConsumerConfig(durable_name="C", ack_policy="explicit")))
    nxt = shell.run_line_magic("js_consumer", f"next {name} C --count 2 --decode msgpack --timeout 5")
    assert nxt["data"].tolist() == [{"m": 7}, {"m": 7}]
    shell.user_ns["sized"] = lambda data, headers: {"n": len(data), "enc": headers.get("Content-Encoding")}
    df = shell.run_line_magic("js_consume", f"{name} --decode sized")
    assert df["n"].tolist() == [len(packed), len(gzip.compress(packed))] and df["enc"].tolist()[1] == "gzip"
    bucket = _name("KV")
    run(js.create_key_value(bucket=bucket))
    run(js.publish(f"$KV.{bucket}.k", packed))
    assert shell.run_line_magic("js_kv", f"get {bucket} k --decode msgpack") == {"m": 7}
    assert shell.run_line_magic("js_kv", f"get {bucket} k --decode sized") == {"n": len(packed), "enc": None}
    run(js.delete_key_value(bucket))
    run(js.delete_stream(name))


def test_a_payload_that_cannot_be_decoded_says_why_on_every_path(shell, nc):
    _, js, run = nc
    name = _name()
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"])))
    bad = b"not gzip at all"
    run(js.publish(f"{name}.x", bad, headers={"Content-Encoding": "gzip"}))
    df = shell.run_line_magic("js_consume", name)
    assert df["data"].tolist() == ["not gzip at all"] and "not gzip" in df["decode_error"].iloc[0]
    run(js.add_consumer(name, ConsumerConfig(durable_name="C", ack_policy="explicit")))
    nxt = shell.run_line_magic("js_consumer", f"next {name} C --timeout 5")
    assert nxt["data"].tolist() == ["not gzip at all"] and "not gzip" in nxt["decode_error"].iloc[0]
    got = shell.run_line_magic("js_stream", f"get {name} 1")
    assert got["data"] == "not gzip at all" and "not gzip" in got["decode_error"]
    run(js.delete_stream(name))


def test_strict_json_in_consumer_next_gives_the_batch_back(shell, nc):
    """A payload a strict --decode refuses fails ``next`` before it is acked: it comes again."""
    _, js, run = nc
    name = _name()
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"])))
    run(js.publish(f"{name}.x", b"not json"))
    run(js.add_consumer(name, ConsumerConfig(durable_name="C", ack_policy="explicit")))
    with pytest.raises(InputError, match=r"message seq 1 is not JSON .*given back \(nak\)"):
        shell.run_line_magic("js_consumer", f"next {name} C --decode json --timeout 5")
    assert run(js.consumer_info(name, "C")).ack_floor.stream_seq == 0  # not acked
    again = shell.run_line_magic("js_consumer", f"next {name} C --timeout 5")
    assert again["data"].tolist() == ["not json"] and again["delivered"].tolist() == [2]
    run(js.delete_stream(name))


def test_every_magic_refuses_an_unknown_decode_with_the_same_line(shell, stream, nc):
    _, js, run = nc
    run(js.add_consumer(stream, ConsumerConfig(durable_name="C", ack_policy="explicit")))
    bucket = _name("KV")
    run(js.create_key_value(bucket=bucket))
    run(js.publish(f"$KV.{bucket}.k", b"1"))
    lines = {
        "js_consume": f"{stream} --decode nope",
        "js_consume ": f"{stream} --follow --decode nope",
        "js_consumer": f"next {stream} C --decode nope",
        "js_consumer ": f"dead {stream} C --decode nope",
        "js_stream": f"get {stream} 1 --decode nope",
        "js_kv": f"get {bucket} k --decode nope",
        "js_kv ": f"history {bucket} k --decode nope",
        "js_kv  ": f"view {bucket} --decode nope",
        "js_kv   ": f"watch {bucket} --decode nope",
    }
    seen = {}
    for magic, line in lines.items():
        with pytest.raises(InputError) as err:
            shell.run_line_magic(magic.strip(), line)
        seen[f"%{magic.strip()} {line}"] = err.value.one_line()
    expected = ("InputError: unknown --decode 'nope' — use one of auto, json, text, bytes, msgpack, gzip, "
                "protobuf:module.Message or the name of a function (data, headers) -> value")
    assert set(seen.values()) == {expected}, json.dumps(seen, indent=1)
    assert run(js.consumer_info(stream, "C")).num_ack_pending == 0  # refused before pulling anything
    run(js.delete_key_value(bucket))


# ---- the chunk path (a replay) and the one-payload path (every other read) agree ------------
def _payloads():
    from hypothesis import strategies as st

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.text(max_size=4))
    values = st.one_of(scalars, st.lists(scalars, max_size=2), st.dictionaries(st.text(max_size=2), scalars, max_size=2))
    plain = st.one_of(st.builds(lambda v: json.dumps(v).encode(), values), st.binary(max_size=6),
                      st.sampled_from([b"", b"1,2", b"[5", b'{"a"', b"\xff", b"hello"]))
    packed = st.builds(lambda v: (msgpack.packb(v), {"Content-Type": "application/msgpack"}), values)
    zipped = st.builds(lambda d: (gzip.compress(d), {"Content-Encoding": "gzip"}), plain)
    typed = st.builds(lambda d, t: (d, {"content-type": t}), plain,
                      st.sampled_from(["text/plain", "application/octet-stream", "application/json", "image/png"]))
    return st.lists(st.one_of(st.builds(lambda d: (d, None), plain), packed, zipped, typed), min_size=1, max_size=8)


@pytest.mark.parametrize("mode", ["auto", "json", "text", "bytes", "msgpack", "gzip"])
def test_a_replay_chunk_decodes_as_each_payload_alone(mode):
    """Property: ``decode_chunk`` (one orjson call when it can) gives what ``Decoder.one`` gives each
    payload, and a strict mode fails both ways with the same error (naming the same message)."""
    from hypothesis import given, settings

    from jsmagic.core.decode import decode_chunk, decoder
    from jsmagic.reading.frames import make_chunk

    @settings(max_examples=150, deadline=None)
    @given(_payloads())
    def check(messages):
        datas, headers = [m[0] for m in messages], [m[1] for m in messages]
        chunk = make_chunk(list(range(1, len(datas) + 1)), [0] * len(datas), ["s"] * len(datas), headers, datas)
        dec = decoder(mode)
        assert outcome(lambda: decode_chunk(chunk, mode)) == outcome(
            lambda: tuple(map(list, zip(*[dec.one(d, h, seq) for seq, (d, h) in enumerate(zip(datas, headers), 1)]))))

    def outcome(read):
        try:
            return read()
        except InputError as e:
            return str(e)

    check()
