"""``%js_consumer`` and ``jsmagic.consumers`` are one service: the same request gives the same answer.

Twin durable consumers on one stream, one made and driven by the magic, one by the Python
API; both are compared with what the server says, read with plain nats-py on an independent
connection (``consumer_info``, and the raw ``CONSUMER.INFO`` answer for the priority-group
fields nats-py does not parse).
"""

from __future__ import annotations

import time
import uuid

import pandas as pd
import pytest

import jsmagic
from tests.api.test_stream_parity import api
from tests.modern.conftest import raw

CONFIG = ("deliver_policy", "ack_policy", "ack_wait", "max_deliver", "backoff", "filter_subject", "filter_subjects",
          "max_ack_pending", "headers_only", "inactive_threshold", "description", "replay_policy")


@pytest.fixture
def stream(nc):
    """A stream of 10 messages (``<s>.a`` and ``<s>.b``), made with nats-py."""
    _, js, run = nc
    name = "CP" + uuid.uuid4().hex[:6].upper()
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    for i in range(10):
        run(js.publish(f"{name.lower()}.{'ab'[i % 2]}", f'{{"i": {i}}}'.encode()))
    return name


def config(nc, stream, consumer):
    _, js, run = nc
    cfg = run(js.consumer_info(stream, consumer)).config
    return {f: getattr(cfg, f) for f in CONFIG}


def test_add_edit_and_copy_give_the_server_the_same_consumer(shell, nc, stream):
    s = stream.lower()
    shell.run_line_magic("js_consumer", f"add {stream} m --filter '{s}.a' --filter '{s}.b' --ack-wait 20s "
                                        "--max-deliver 4 --backoff 1s,5s --inactive-threshold 1h --headers-only "
                                        "--max-ack-pending 50 --description twin --replay original")
    api(jsmagic.consumers.add(stream, "a", filter=[f"{s}.a", f"{s}.b"], ack_wait="20s", max_deliver=4,
                              backoff="1s,5s", inactive_threshold="1h", headers_only=True, max_ack_pending=50,
                              description="twin", replay="original"))
    assert config(nc, stream, "m") == config(nc, stream, "a")
    assert config(nc, stream, "a")["filter_subjects"] == [f"{s}.a", f"{s}.b"] and config(nc, stream, "a")["backoff"] == [1, 5]

    by_magic = shell.run_line_magic("js_consumer", f"edit {stream} m --max-deliver 7 --description edited")
    by_api = api(jsmagic.consumers.edit(stream, "a", max_deliver=7, description="edited"))
    assert sorted(by_magic["setting"]) == sorted(by_api["setting"])
    assert config(nc, stream, "m") == config(nc, stream, "a")
    assert (config(nc, stream, "a")["max_deliver"], config(nc, stream, "a")["description"]) == (7, "edited")

    shell.run_line_magic("js_consumer", f"copy {stream} m m2")
    api(jsmagic.consumers.copy(stream, "a", "a2"))
    assert config(nc, stream, "m2") == config(nc, stream, "a2") == config(nc, stream, "a")


def test_next_info_ls_report_and_reset_agree_with_the_server(shell, nc, stream):
    _, js, run = nc
    for twin in ("m", "a"):
        run(js.add_consumer(stream, durable_name=twin, ack_policy="explicit"))
    by_magic = shell.run_line_magic("js_consumer", f"next {stream} m --count 3")
    by_api = api(jsmagic.consumers.next(stream, "a", 3))
    assert by_magic["seq"].tolist() == by_api["seq"].tolist() == [1, 2, 3]
    assert by_magic["data"].tolist() == by_api["data"].tolist() == [{"i": 0}, {"i": 1}, {"i": 2}]

    truth = {twin: run(js.consumer_info(stream, twin)) for twin in ("m", "a")}
    assert [(t.delivered.stream_seq, t.ack_floor.stream_seq, t.num_pending) for t in truth.values()] == [(3, 3, 7)] * 2
    assert shell.run_line_magic("js_consumer", f"info {stream} m").raw.num_pending == 7
    assert api(jsmagic.consumers.info(stream, "a")).num_pending == 7

    for listing in (shell.run_line_magic("js_consumer", f"ls {stream}"), api(jsmagic.consumers.ls(stream)),
                    shell.run_line_magic("js_consumer", f"report {stream}"), api(jsmagic.consumers.report(stream))):
        rows = listing.set_index("name")
        assert {t: (rows.loc[t, "pending"], rows.loc[t, "ack_pending"]) for t in ("m", "a")} == {
            t: (i.num_pending, i.num_ack_pending) for t, i in truth.items()}

    shell.run_line_magic("js_consumer", f"reset {stream} m 2")
    api(jsmagic.consumers.reset(stream, "a", 2))
    after = [run(js.consumer_info(stream, twin)) for twin in ("m", "a")]
    assert [(i.delivered.stream_seq, i.num_pending) for i in after] == [(1, 9)] * 2


def test_pause_and_priority_groups_are_what_the_server_reports(shell, nc, stream):
    _, js, run = nc
    shell.run_line_magic("js_consumer", f"add {stream} m --pinned-groups jobs --pinned-ttl 2m --pause 10m")
    api(jsmagic.consumers.add(stream, "a", pinned_groups=["jobs"], pinned_ttl="2m", pause="10m"))
    server = {twin: raw(nc, f"CONSUMER.INFO.{stream}.{twin}") for twin in ("m", "a")}
    for twin in ("m", "a"):
        cfg = server[twin]["config"]
        assert (cfg["priority_policy"], cfg["priority_groups"], cfg["priority_timeout"]) == ("pinned_client", ["jobs"],
                                                                                           120 * 10**9)
        assert run(js.consumer_info(stream, twin)).paused is True

    by_magic = shell.run_line_magic("js_consumer", f"info {stream} m").state
    by_api = api(jsmagic.consumers.priority(stream, "a"))
    same = ("paused", "priority_policy", "groups", "pinned_ttl")
    assert {k: by_magic[k] for k in same} == {k: by_api[k] for k in same} == {
        "paused": True, "priority_policy": "pinned_client", "groups": {"jobs": None}, "pinned_ttl": 120.0}
    assert by_api["pause_until"] == pd.Timestamp(server["a"]["config"]["pause_until"])

    shell.run_line_magic("js_consumer", f"resume {stream} m")
    api(jsmagic.consumers.resume(stream, "a"))
    assert [bool(run(js.consumer_info(stream, twin)).paused) for twin in ("m", "a")] == [False, False]  # absent: None


def test_dead_letters_are_the_messages_the_server_kept_as_dead(shell, nc, stream):
    _, js, run = nc
    for twin in ("m", "a"):
        run(js.add_consumer(stream, durable_name=twin, ack_policy="explicit"))
    assert shell.run_line_magic("js_consumer", f"dead {stream} m --capture") is None  # a sentence, printed
    assert api(jsmagic.consumers.dead(stream, "a", capture=True)) == f"DEAD_{stream}_a"
    shell.run_line_magic("js_consumer", f"next {stream} m --count 2 --term")
    api(jsmagic.consumers.next(stream, "a", 2, action="term"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and [run(js.stream_info(f"DEAD_{stream}_{t}")).state.messages
                                           for t in ("m", "a")] != [2, 2]:
        time.sleep(0.1)
    kept = [run(js.stream_info(f"DEAD_{stream}_{t}")).state.messages for t in ("m", "a")]
    assert kept == [2, 2], kept
    columns = ["seq", "subject", "data", "deliveries"]
    by_magic = shell.run_line_magic("js_consumer", f"dead {stream} m")
    by_api = api(jsmagic.consumers.dead(stream, "a"))
    pd.testing.assert_frame_equal(pd.DataFrame(by_magic)[columns], by_api[columns])
    originals = [run(js.get_msg(stream, seq)) for seq in (1, 2)]
    assert by_api["subject"].tolist() == [m.subject for m in originals]
    assert by_api["data"].tolist() == [{"i": 0}, {"i": 1}] and by_api["reason"].str.contains("terminated").all()
