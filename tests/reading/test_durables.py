"""``%js_consume --durable``: bind only to a durable that reads what the line asks; leave nothing pending by accident.

An existing durable keeps its own filter, deliver policy and start options (the server
ignores the line's), so a second line with another filter used to return 0 rows and no
error.  Rows delivered past ``--end-seq`` were cut from the frame but never acked: they
sat "ack pending" for the ack wait, and the next run got nothing.
"""

from __future__ import annotations

import asyncio
import uuid

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from jsmagic.core.errors import InputError


@pytest.fixture
def stream(nc):
    client, js, run = nc
    name = f"DUR{uuid.uuid4().hex[:6].upper()}"
    subj = name.lower()
    run(js.add_stream(name=name, subjects=[f"{subj}.>"]))
    for i in range(20):
        run(js.publish(f"{subj}.{'ab'[i % 2]}", b'{"i":%d}' % i))
    yield name, subj
    run(js.delete_stream(name))


def _refusal(shell, line: str) -> str:
    with pytest.raises(InputError) as e:
        shell.run_line_magic("js_consume", line)
    return str(e.value)


def test_a_durable_with_another_filter_or_start_is_refused_in_one_line(shell, stream):
    name, subj = stream
    assert len(shell.run_line_magic("js_consume", f"{name} --durable d1 -s {subj}.a --ack")) == 10
    msg = _refusal(shell, f"{name} --durable d1 -s {subj}.b")
    assert f"durable d1 on {name} already exists and filters {subj}.a, not {subj}.b" in msg
    assert f"%js_consumer rm {name} d1 --force" in msg and "\n" not in msg
    assert "delivers all, not new" in _refusal(shell, f"{name} --durable d1 -s {subj}.a --new")
    shell.run_line_magic("js_consume", f"{name} --durable d2 --start-seq 3 -n 1 --ack")
    assert "starts at sequence 3, not 7" in _refusal(shell, f"{name} --durable d2 --start-seq 7")
    # the same options (or none) bind to it and go on where it stopped
    assert shell.run_line_magic("js_consume", f"{name} --durable d2 -n 1 --ack")["seq"].tolist() == [4]


def test_rows_past_end_seq_are_given_back_not_left_pending(shell, stream, nc):
    client, js, run = nc
    name, _ = stream
    first = shell.run_line_magic("js_consume", f"{name} --durable d3 --end-seq 5 --ack")
    assert first["seq"].tolist() == [1, 2, 3, 4, 5]
    assert "15 messages delivered past the bound were nak'ed back to d3" in first.summary
    rest = shell.run_line_magic("js_consume", f"{name} --durable d3 --ack --timeout 2")
    assert rest["seq"].tolist() == list(range(6, 21))  # at once, not after the 30 s ack wait
    assert run(js.consumer_info(name, "d3")).num_ack_pending == 0


def test_an_interrupted_durable_read_does_not_claim_nothing_is_left(kernel, fresh_server):
    """A durable at its max-ack-pending waits for messages; the user interrupts it."""
    from tests.reliability.test_interrupts import interrupt_when

    async def setup():
        nc = await nats.connect(fresh_server.url)
        js = nc.jetstream()
        await js.add_stream(name="DI", subjects=["di.>"])
        for i in range(10):
            await js.publish("di.x", b"%d" % i)
        await js.add_consumer("DI", ConsumerConfig(durable_name="dd", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=3))
        sub = await js.pull_subscribe_bind("dd", "DI")
        assert len(await sub.fetch(3)) == 3  # left unacked: the durable is at its limit
        await nc.close()

    asyncio.run(setup())
    kernel.run(f"%load_ext jsmagic\n%js_connect {fresh_server.url}")
    watcher = interrupt_when(kernel, lambda: True, settle=2.0)
    res = kernel.run("df = %js_consume DI --durable dd --ack --timeout 60", timeout=60, allow_error=True)
    watcher.join()
    assert res.status == "error" and res.error["ename"] == "InterruptedWithResult", res.all_text  # Run All stops
    line = res.error["evalue"]
    assert line.startswith("0 messages read from DI; kept in jsmagic.last_result()"), line
    assert "nothing is left on the server" not in line and "durable dd redelivers them" in line
