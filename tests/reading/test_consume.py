"""%js_consume against a real server: selections, bounds, decoding, non-destructive reads, durables."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pandas as pd
import pytest
from nats.js.api import RetentionPolicy, StreamConfig

from jsmagic.core.errors import InputError, NotFoundError


def _name(prefix: str = "C") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


@pytest.fixture
def orders(nc):
    """A stream ORDERS_x with 10 JSON orders on orders.eu/orders.us, one with a header."""
    client, js, run = nc
    name = _name("ORD")
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"])))
    for i in range(1, 11):
        region = "eu" if i % 2 else "us"
        headers = {"Trace": f"t{i}"} if i == 3 else None
        run(js.publish(f"{name}.{region}", json.dumps({"id": i, "qty": i * 2, "region": region}).encode(), headers=headers))
    return name


def consume(shell, line):
    return shell.run_line_magic("js_consume", line)


def consumers(nc, stream):
    _, js, run = nc
    return [c.name for c in run(js.consumers_info(stream))]


def test_whole_stream_is_a_frame_with_metadata_and_json_columns(shell, orders, nc):
    df = consume(shell, orders)
    assert list(df.columns[:5]) == ["seq", "subject", "time", "headers", "size"]
    assert df["seq"].tolist() == list(range(1, 11))
    assert df["id"].tolist() == list(range(1, 11))
    assert df["qty"].sum() == sum(i * 2 for i in range(1, 11))
    assert str(df["time"].dt.tz) == "UTC"
    assert df.loc[df.seq == 3, "headers"].iloc[0] == {"Trace": "t3"}
    assert df.loc[df.seq == 4, "headers"].iloc[0] is None
    assert df["size"].iloc[0] == len(json.dumps({"id": 1, "qty": 2, "region": "eu"}))
    assert f"{orders}: 10 rows" in df.summary and "seq 1–10" in df.summary
    assert consumers(nc, orders) == []  # the ephemeral consumer is gone


def test_deliver_policies_and_bounds(shell, orders):
    assert consume(shell, f"{orders} --start-seq 4")["seq"].tolist() == list(range(4, 11))
    assert consume(shell, f"{orders} --start-seq 4 --end-seq 6")["seq"].tolist() == [4, 5, 6]
    assert consume(shell, f"{orders} -n 3")["seq"].tolist() == [1, 2, 3]
    assert consume(shell, f"{orders} --last")["seq"].tolist() == [10]
    last = consume(shell, f"{orders} --last-per-subject")
    assert sorted(last["seq"].tolist()) == [9, 10]
    assert consume(shell, f"{orders} --new --timeout 0.5").empty


def test_since_and_until_split_by_time(shell, nc):
    _, js, run = nc
    name = _name()
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"])))
    for i in range(3):
        run(js.publish(f"{name}.a", b'{"batch": 1}'))
    time.sleep(1.2)
    split = pd.Timestamp.now(tz="UTC")
    time.sleep(0.1)
    for i in range(2):
        run(js.publish(f"{name}.a", b'{"batch": 2}'))
    assert consume(shell, f"{name} --since 1s")["batch"].tolist() == [2, 2]
    assert consume(shell, f"{name} --since {split.isoformat()}")["seq"].tolist() == [4, 5]
    assert consume(shell, f"{name} --until {split.isoformat()}")["batch"].tolist() == [1, 1, 1]


def test_several_subject_filters_and_headers_only(shell, nc):
    _, js, run = nc
    name = _name()
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"])))
    for subj in ("a.x", "b.y", "c.z", "a.w", "b.v"):
        run(js.publish(f"{name}.{subj}", b"x" * 7, headers={"K": subj}))
    df = consume(shell, f"{name} -s {name}.a.> -s {name}.b.*")
    assert df["seq"].tolist() == [1, 2, 4, 5]
    ho = consume(shell, f"{name} --headers-only")
    assert "data" not in ho.columns and ho["size"].tolist() == [7] * 5
    assert ho["headers"].iloc[1] == {"K": "b.y"}


def test_decode_modes(shell, nc):
    _, js, run = nc
    name = _name()
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"])))
    payloads = [b'{"a": 1}', b"[1, 2]", b"plain text", b"\xff\xfe\x00binary", b"", b"1,2"]
    for p in payloads:
        run(js.publish(f"{name}.p", p))
    auto = consume(shell, name)
    assert auto["a"].iloc[0] == 1 and auto["a"].iloc[1:].isna().all()  # the object keeps its column
    assert auto["data"].tolist() == [None, [1, 2], "plain text", b"\xff\xfe\x00binary", "", "1,2"]
    assert consume(shell, f"{name} --decode bytes")["data"].tolist() == payloads
    with pytest.raises(InputError, match="seq 2 is not JSON|seq 3 is not JSON"):
        consume(shell, f"{name} --start-seq 2 --decode json")
    with pytest.raises(InputError, match="seq 4 is not UTF-8"):
        consume(shell, f"{name} --decode text")
    assert consume(shell, f"{name} --end-seq 3 --decode text")["data"].tolist() == ['{"a": 1}', "[1, 2]", "plain text"]


def test_nested_objects_flatten(shell, nc):
    _, js, run = nc
    name = _name()
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"])))
    run(js.publish(f"{name}.o", b'{"id": 1, "who": {"name": "ann", "geo": {"cc": "de"}}, "seq": 99}'))
    run(js.publish(f"{name}.o", b'{"id": 2, "who": {"name": "bob"}}'))
    nested = consume(shell, name)
    assert nested["who"].iloc[0] == {"name": "ann", "geo": {"cc": "de"}}
    assert nested["data.seq"].iloc[0] == 99 and nested["seq"].tolist() == [1, 2]
    flat = consume(shell, f"{name} --flatten")
    assert flat["who.name"].tolist() == ["ann", "bob"]
    assert flat["who.geo.cc"].iloc[0] == "de" and pd.isna(flat["who.geo.cc"].iloc[1])


@pytest.mark.parametrize("retention,direct", [(RetentionPolicy.WORK_QUEUE, True), (RetentionPolicy.INTEREST, False)])
def test_workqueue_and_interest_streams_are_not_changed(shell, nc, retention, direct):
    _, js, run = nc
    name = _name("WQ")
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"], retention=retention, allow_direct=direct)))
    if retention == RetentionPolicy.INTEREST:  # an interest stream keeps messages only while someone is interested
        from nats.js.api import ConsumerConfig

        run(js.add_consumer(name, ConsumerConfig(durable_name="keeper")))
    for i in range(1, 151):
        run(js.publish(f"{name}.{'a' if i % 3 else 'b'}", json.dumps({"i": i}).encode()))
    before = run(js.stream_info(name)).state.messages
    assert before == 150
    df = consume(shell, name)
    assert df["i"].tolist() == list(range(1, 151))
    assert "no consumer created" in df.summary
    age = pd.Timestamp.now(tz="UTC") - df["time"]
    assert age.max() < pd.Timedelta("5min") and age.min() >= pd.Timedelta(0)
    only_b = consume(shell, f"{name} -s {name}.b --start-seq 10 -n 5")
    assert only_b["seq"].tolist() == [12, 15, 18, 21, 24]
    assert consume(shell, f"{name} --last-per-subject")["seq"].tolist() == [149, 150]
    assert consume(shell, f"{name} -s {name}.a -s {name}.b --end-seq 4")["seq"].tolist() == [1, 2, 3, 4]
    assert run(js.stream_info(name)).state.messages == before
    assert sorted(consumers(nc, name)) == (["keeper"] if retention == RetentionPolicy.INTEREST else [])


def test_durable_ack_nak_term_redelivery(shell, nc):
    _, js, run = nc
    name = _name("JOBS")
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"], retention=RetentionPolicy.WORK_QUEUE)))
    for i in range(4):
        run(js.publish(f"{name}.job", json.dumps({"job": i}).encode()))
    first = consume(shell, f"{name} --durable w --nak -n 2")
    assert first["num_delivered"].tolist() == [1, 1] and first["job"].tolist() == [0, 1]
    assert {"consumer_seq", "num_delivered", "pending"} <= set(first.columns)
    again = consume(shell, f"{name} --durable w --term -n 2")
    assert again["job"].tolist() == [0, 1] and again["num_delivered"].tolist() == [2, 2]
    rest = consume(shell, f"{name} --durable w --ack")
    assert rest["job"].tolist() == [2, 3]
    assert run(js.stream_info(name)).state.messages == 0  # acked/termed work is gone: the explicit path
    assert consume(shell, f"{name} --durable w --ack").empty


def test_durable_nak_delay_holds_redelivery_back(shell, nc):
    _, js, run = nc
    name = _name("JOBS")
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"], retention=RetentionPolicy.WORK_QUEUE)))
    run(js.publish(f"{name}.job", b'{"job": 1}'))
    assert consume(shell, f"{name} --durable d --nak --delay 30s")["num_delivered"].tolist() == [1]
    assert consume(shell, f"{name} --durable d --timeout 0.5").empty  # not redelivered before the delay
    assert run(js.stream_info(name)).state.messages == 1


def test_bad_input_is_one_clear_error(shell, orders):
    with pytest.raises(NotFoundError, match=f"did you mean '{orders}'"):
        consume(shell, orders[:-1] + "Q")
    with pytest.raises(NotFoundError, match=f"did you mean '{orders}'"):
        consume(shell, orders[:-1] + "Q --follow")
    with pytest.raises(InputError, match="needs --durable"):
        consume(shell, f"{orders} --ack")
    from IPython.core.error import UsageError

    with pytest.raises(UsageError):
        consume(shell, f"{orders} --last --start-seq 3")


def test_out_variable_and_limited_display(shell, orders):
    shell.run_line_magic("config", "JSMagic.display_limit = 4")
    df = consume(shell, f"{orders} -o got")
    assert shell.user_ns["got"] is df and len(df) == 10
    assert "rows" in repr(df) and "region" not in repr(df)  # -o: this cell shows the summary, not the table
    shell.execution_count += 1  # a later cell shows the variable in full
    assert "showing the first 2 and last 2 of 10 rows" in repr(df)
    assert repr(df).count("\n") < 12 and " 9 " in repr(df)  # the tail rows are shown too


def test_output_flag_stores_the_frame_and_the_old_out_spelling_still_works(shell, orders):
    df = consume(shell, f"{orders} -n 2 --output first")
    assert shell.user_ns["first"] is df and df["seq"].tolist() == [1, 2]
    old = consume(shell, f"{orders} -n 1 --out second")  # argparse takes the unambiguous prefix of --output
    assert shell.user_ns["second"] is old and len(old) == 1
    assert "-o NAME, --output NAME" in shell.magics_manager.magics["line"]["js_consume"].__doc__


def _fill(nc, name, n, retention=None):
    """``n`` small JSON messages, published with pipelined acks."""
    import asyncio

    _, js, run = nc
    cfg = StreamConfig(name=name, subjects=[f"{name}.>"])
    run(js.add_stream(cfg))

    async def go():
        for start in range(0, n, 5000):
            await asyncio.gather(*[js.publish_async(f"{name}.x", b'{"i": %d}' % i) for i in range(start, min(n, start + 5000))])

    run(go())


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "nats-py"])
def test_interrupt_in_a_kernel_keeps_partial_frame_and_leaves_no_consumer(kernel, server, nc, bulk):
    import threading

    name = _name("BIG")
    _fill(nc, name, 60_000)
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}\n%config JSMagic.progress_after = 0.2\n"
               f"%config JSMagic.bulk_replay = {bulk}")

    def interrupt_once_reading():  # once the replay's consumer exists (the nc loop is free meanwhile)
        for _ in range(400):
            if consumers(nc, name):
                break
            time.sleep(0.025)
        time.sleep(0.5)
        kernel.interrupt()

    watcher = threading.Thread(target=interrupt_once_reading)
    watcher.start()
    res = kernel.run(f"df = %js_consume {name} --batch 2 -o part", timeout=120, allow_error=True)
    watcher.join()
    assert res.status == "error" and "Interrupted:" in res.error_text and "kept in part" in res.error_text
    assert any("of 60,000 messages" in str(bundle) for bundle in res.data), "no progress was shown"
    n = int(kernel.run("print(len(part))").stdout.strip())
    assert 0 < n < 60_000
    check = kernel.run("print(part['i'].tolist() == list(range(len(part))), 'interrupted' in part.summary)")
    assert check.stdout.split() == ["True", "True"]
    assert consumers(nc, name) == []
    # the kernel and the connection still work afterwards
    assert kernel.run(f"again = %js_consume {name} -n 5\nprint(len(again))").stdout.strip() == "5"


PUBLISHER = r"""
import asyncio, sys, nats
async def main():
    nc = await nats.connect(sys.argv[1]); js = nc.jetstream()
    for i in range(int(sys.argv[3])):
        await js.publish(sys.argv[2], b'{"marker": "from-elsewhere", "n": %d}' % i)
    await nc.close()
asyncio.run(main())
"""


def test_follow_updates_while_idle_from_another_process(kernel, server, nc):
    import subprocess
    import sys

    _, js, run = nc
    name = _name("LIVE")
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"])))
    run(js.publish(f"{name}.old", b'{"n": -1}'))
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}")
    started = kernel.run(f"%js_consume {name} --new --follow -o tail")
    assert any("application/vnd.jupyter.widget-view+json" in b for b in started.data)
    for _ in range(100):  # the consumer is created by the background task, once the kernel is idle
        if consumers(nc, name):
            break
        time.sleep(0.05)
    assert len(consumers(nc, name)) == 1
    before = len(kernel.comm_log)
    subprocess.run([sys.executable, "-c", PUBLISHER, server.url, f"{name}.live", "25"], check=True, timeout=60)
    kernel.drain_iopub(2.0)  # the kernel is idle: only the background task can update the widget
    updates = [m for m in kernel.comm_log[before:] if "from-elsewhere" in str(m)]
    assert updates, "the live table did not update while the kernel was idle"
    out = kernel.run("print(len(tail.df), tail.df['n'].tolist()[:3], tail.table.renders)").stdout.split(" ", 1)
    assert out[0] == "25" and out[1].startswith("[0, 1, 2]")
    renders, rate = kernel.run("print(tail.table.renders, tail.table.max_render_rate)").stdout.split()
    assert int(renders) <= 8 * float(rate)  # throttled: 25 messages did not mean 25 renders per second
    kernel.run("tail.stop()")
    kernel.drain_iopub(0.5)
    assert consumers(nc, name) == []
    assert kernel.run("print(tail.running, len(tail.df))").stdout.split() == ["False", "25"]


@pytest.mark.parametrize("retention", [RetentionPolicy.LIMITS, RetentionPolicy.WORK_QUEUE])
def test_new_waits_for_messages_published_meanwhile(shell, server, nc, retention):
    import threading

    import nats as nats_mod

    _, js, run = nc
    name = _name("NEW")
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"], retention=retention, allow_direct=True)))
    run(js.publish(f"{name}.old", b'{"n": 0}'))

    def later():
        async def go():
            client = await nats_mod.connect(server.url)
            for i in (1, 2, 3):
                await client.jetstream().publish(f"{name}.new", b'{"n": %d}' % i)
            await client.close()

        time.sleep(0.4)
        asyncio.run(go())

    threading.Thread(target=later).start()
    df = consume(shell, f"{name} --new -n 3 --timeout 5")
    assert df["n"].tolist() == [1, 2, 3]
    assert run(js.stream_info(name)).state.messages == 4


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "nats-py"])
def test_interrupt_while_the_consumer_is_being_created_leaves_no_consumer(fresh_server, monkeypatch, bulk):
    """The create request is on its way (server paused) when the interrupt lands: it is deleted later."""
    import asyncio
    import signal

    import nats

    import jsmagic
    from jsmagic.reading import consumer as consume
    from jsmagic.reading.reader import Selection, replay
    from jsmagic.connecting.options import resolve

    real_config = consume.consumer_config

    reached = []

    def pause_then_config(sel, info):  # the server stops answering right before the create is sent
        stop_server(fresh_server)
        reached.append(True)
        return real_config(sel, info)

    monkeypatch.setattr(consume, "consumer_config", pause_then_config)  # both readers' consumers are made there

    async def scenario():
        ctx = jsmagic.context()
        await ctx.connect(resolve({"servers": [fresh_server.url]}))
        await ctx.js.add_stream(name="MIDCREATE", subjects=["mid.>"])
        await ctx.js.publish("mid.a", b"1")
        task = asyncio.ensure_future(replay(Selection("MIDCREATE", bulk=bulk)))
        for _ in range(200):  # under load the replay takes a while to get to its create
            if reached:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # stuck in the create: the server is paused
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        assert len(ctx._owned) == 1, "the delete of the half-created consumer is not owned by the context"
        fresh_server.proc.send_signal(signal.SIGCONT)
        other = await nats.connect(fresh_server.url)
        try:
            deadline = asyncio.get_running_loop().time() + 30  # the resumed server answers the create, then the delete
            while asyncio.get_running_loop().time() < deadline:
                if (await other.jetstream().stream_info("MIDCREATE")).state.consumer_count == 0:
                    return True
                await asyncio.sleep(0.1)
            return False
        finally:
            await other.close()
            await ctx.close()

    try:
        assert asyncio.run(scenario()), "the consumer created after the interrupt was left on the server"
    finally:
        if fresh_server.proc is not None:
            fresh_server.proc.send_signal(signal.SIGCONT)


def stop_server(server) -> None:
    """SIGSTOP the server and wait until it really stands still (a busy one may first answer what is in flight)."""
    import signal
    import time

    import psutil

    server.proc.send_signal(signal.SIGSTOP)
    proc, deadline = psutil.Process(server.proc.pid), time.monotonic() + 2
    while proc.status() != psutil.STATUS_STOPPED and time.monotonic() < deadline:
        time.sleep(0.001)
