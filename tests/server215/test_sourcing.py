"""Reliable sourcing from WorkQueue and Interest streams (ADR-60, server 2.14) and mirror promotion (server 2.12).

Every count is the server's own (STREAM.INFO through plain nats-py); the sourced messages
are read back with a plain nats-py ordered subscription and compared one by one.
"""

from __future__ import annotations

import json
import time

import pytest

import jsmagic
from jsmagic.core.errors import InputError
from jsmagic.core.registry import context


def raw(nc, name: str) -> dict:
    client, _js, run = nc
    return json.loads(run(client.request(f"$JS.API.STREAM.INFO.{name}", b"", timeout=5)).data)


def api(nc, subject: str, body: dict | None = None) -> dict:
    client, _js, run = nc
    return json.loads(run(client.request(subject, json.dumps(body).encode() if body else b"", timeout=5)).data)


def publish(nc, subject: str, ids) -> None:
    _client, js, run = nc
    for i in ids:
        run(js.publish(subject, json.dumps({"i": i}).encode()))


def wait_until(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def stored_ids(nc, stream: str) -> list[int]:
    """Every message of ``stream``, read with a plain nats-py ordered consumer."""
    client, js, run = nc
    n = raw(nc, stream)["state"]["messages"]

    async def read():
        sub = await js.subscribe(">", stream=stream, ordered_consumer=True)
        out = []
        try:
            while len(out) < n:
                msg = await sub.next_msg(timeout=10)
                out.append(json.loads(msg.data)["i"])
        finally:
            await sub.unsubscribe()
        return out

    return run(read())


@pytest.mark.parametrize("retention", ["workqueue", "interest"])
def test_a_source_of_a_workqueue_or_interest_stream_gets_every_message_once(shell, nc, retention):
    origin, agg = f"RS_{retention.upper()}", f"RS_{retention.upper()}_AGG"
    api(nc, f"$JS.API.STREAM.CREATE.{origin}", {"name": origin, "subjects": [f"rs.{retention}.>"],
                                                 "retention": retention, "storage": "memory"})
    publish(nc, f"rs.{retention}.a", range(0, 300))  # on an Interest stream with no consumer: dropped by the server
    kept_before = raw(nc, origin)["state"]["messages"]
    assert kept_before == (300 if retention == "workqueue" else 0)

    shell.run_line_magic("js_stream", f"add {agg} --source {origin} --storage memory")
    # add returned once the origin lists the durable sourcing consumer: nothing published from now on is lost
    publish(nc, f"rs.{retention}.b", range(300, 1000))
    expected = sorted(range(0 if retention == "workqueue" else 300, 1000))
    wait_until(lambda: raw(nc, agg)["state"]["messages"] >= len(expected) and raw(nc, origin)["state"]["messages"] == 0)
    state = raw(nc, agg)["state"]
    assert state["messages"] == state["last_seq"] == len(expected)  # every message, each stored once
    assert sorted(stored_ids(nc, agg)) == expected
    assert raw(nc, origin)["state"]["messages"] == 0  # the origin let go of each only once it was stored

    src = shell.run_line_magic("js_stream", f"sourcing {origin}")
    listed = api(nc, f"$JS.API.CONSUMER.LIST.{origin}")["consumers"]
    assert list(src["consumer"]) == [c["name"] for c in listed] and len(src) == 1
    row = src.iloc[0]
    assert (row["kind"], row["for_stream"], row["ack_policy"]) == ("source", agg, "flow_control")
    assert row["consumer"].startswith("JS_SRC_") and row["pending"] == 0
    assert row["ack_floor_seq"] == listed[0]["ack_floor"]["stream_seq"] == raw(nc, origin)["state"]["last_seq"]


def test_sourcing_of_a_limits_stream_lists_nothing_and_says_why(shell, nc):
    api(nc, "$JS.API.STREAM.CREATE.RS_LIM", {"name": "RS_LIM", "subjects": ["rs.lim"], "storage": "memory"})
    shell.run_line_magic("js_stream", "add RS_LIM_AGG --source RS_LIM --storage memory")
    df = shell.run_line_magic("js_stream", "sourcing RS_LIM")
    assert len(df) == 0 and "ephemeral" in df.summary


def test_a_promoted_mirror_takes_publishes(shell, nc):
    _client, js, run = nc
    api(nc, "$JS.API.STREAM.CREATE.PM_ORD", {"name": "PM_ORD", "subjects": ["pm.>"], "storage": "memory"})
    publish(nc, "pm.a", range(10))
    shell.run_line_magic("js_stream", "add PM_MIR --mirror PM_ORD --storage memory")
    wait_until(lambda: raw(nc, "PM_MIR")["state"]["messages"] == 10)

    with pytest.raises(Exception, match="overlap"):  # the origin still captures pm.>: refused, nothing changed
        shell.run_line_magic("js_stream", "edit PM_MIR --no-mirror --subjects 'pm.>'")
    assert raw(nc, "PM_MIR")["config"]["mirror"]["name"] == "PM_ORD"

    shell.run_line_magic("js_stream", "edit PM_ORD --subjects 'pmold.>'")  # ADR-59: free the subjects first
    changed = shell.run_line_magic("js_stream", "edit PM_MIR --no-mirror --subjects 'pm.>'")
    assert set(changed["setting"]) >= {"mirror", "subjects"}
    cfg = raw(nc, "PM_MIR")["config"]
    assert "mirror" not in cfg and cfg["subjects"] == ["pm.>"]
    ack = run(js.publish("pm.b", b'{"i": 10}'))
    assert (ack.stream, ack.seq) == ("PM_MIR", 11)  # the promoted mirror stores it after the mirrored ten
    assert sorted(stored_ids(nc, "PM_MIR")) == list(range(11))

    with pytest.raises(InputError, match="contradict"):
        context().run(jsmagic.streams.edit("PM_MIR", mirror="PM_ORD", no_mirror=True))


def test_promotion_through_the_python_api(shell, nc):
    api(nc, "$JS.API.STREAM.CREATE.PA_ORD", {"name": "PA_ORD", "subjects": ["pa.>"], "storage": "memory"})
    publish(nc, "pa.a", range(3))
    context().run(jsmagic.streams.add("PA_MIR", mirror="PA_ORD", storage="memory"))
    wait_until(lambda: raw(nc, "PA_MIR")["state"]["messages"] == 3)
    context().run(jsmagic.streams.edit("PA_MIR", no_mirror=True))
    cfg = raw(nc, "PA_MIR")["config"]
    assert "mirror" not in cfg and cfg["subjects"] == ["PA_MIR"]  # the server's default subject: the name

