"""Stream consumer limits (server 2.10) and the consumers a stream takes (1,000 by default on 2.15.1).

Each setting is read back with plain nats-py (the server's STREAM.INFO); each refusal is
compared with what the server itself refuses and counts.
"""

from __future__ import annotations

import json

import pytest

import jsmagic
from jsmagic.core.errors import InputError
from jsmagic.core.registry import context

NANOS = 1_000_000_000


def raw(nc, name: str) -> dict:
    client, _js, run = nc
    return json.loads(run(client.request(f"$JS.API.STREAM.INFO.{name}", b"", timeout=5)).data)


def create(nc, subject: str, body: dict) -> dict:
    client, _js, run = nc
    return json.loads(run(client.request(subject, json.dumps(body).encode(), timeout=5)).data)


def fill(nc, subject: str, n: int) -> None:
    _client, js, run = nc
    for i in range(n):
        run(js.publish(subject, json.dumps({"i": i}).encode()))


def test_consumer_limits_on_add_edit_and_info(shell, nc):
    shell.run_line_magic("js_stream", "add CLIM --subjects 'clim.>' --storage memory --max-consumers 7 "
                                      "--limit-consumer-inactive 30s --limit-consumer-max-pending 50")
    cfg = raw(nc, "CLIM")["config"]
    assert cfg["max_consumers"] == 7
    assert cfg["consumer_limits"] == {"inactive_threshold": 30 * NANOS, "max_ack_pending": 50}
    # the server gives a consumer that asks for nothing the stream's defaults
    made = create(nc, "$JS.API.CONSUMER.CREATE.CLIM.d1", {"stream_name": "CLIM", "config": {
        "name": "d1", "durable_name": "d1", "ack_policy": "explicit"}})
    assert made["config"]["max_ack_pending"] == 50 and made["config"]["inactive_threshold"] == 30 * NANOS

    changed = shell.run_line_magic("js_stream", "edit CLIM --limit-consumer-max-pending 100")
    assert list(changed["setting"]) == ["consumer_limits"]
    cfg = raw(nc, "CLIM")["config"]  # the inactive threshold given at add is kept
    assert cfg["consumer_limits"] == {"inactive_threshold": 30 * NANOS, "max_ack_pending": 100}

    text = repr(shell.run_line_magic("js_stream", "info CLIM"))
    assert "max consumers: 7" in text
    assert "consumer inactive threshold: 30s" in text and "consumer max ack pending: 100" in text

    context().run(jsmagic.streams.add("CLIM2", subjects="clim2.>", storage="memory", limit_consumer_inactive="1m"))
    assert raw(nc, "CLIM2")["config"]["consumer_limits"] == {"inactive_threshold": 60 * NANOS}
    with pytest.raises(InputError, match="limit-consumer-max-pending"):
        shell.run_line_magic("js_stream", "edit CLIM --limit-consumer-max-pending 0")
    assert raw(nc, "CLIM")["config"]["consumer_limits"]["max_ack_pending"] == 100  # unchanged


def test_a_read_keeps_within_the_streams_inactive_threshold_cap(shell, nc):
    """jsmagic's throwaway consumers ask for a 30 s+ inactive threshold: a stream capping it at 10 s refused them."""
    create(nc, "$JS.API.STREAM.CREATE.CCAP", {"name": "CCAP", "subjects": ["ccap.>"], "storage": "memory",
                                              "consumer_limits": {"inactive_threshold": 10 * NANOS}})
    fill(nc, "ccap.a", 300)
    df = shell.run_line_magic("js_consume", "CCAP")
    assert len(df) == raw(nc, "CCAP")["state"]["messages"] == 300
    assert sorted(df["i"]) == list(range(300))
    assert raw(nc, "CCAP")["state"]["consumer_count"] == 0  # and it was deleted afterwards


def test_the_server_default_of_1000_consumers_and_the_one_line_refusal(shell, nc):
    create(nc, "$JS.API.STREAM.CREATE.CMANY", {"name": "CMANY", "subjects": ["cmany.>"], "storage": "memory"})
    fill(nc, "cmany.a", 5)
    room = context().run(jsmagic.streams.consumer_room("CMANY"))
    assert (room.limit, room.source, room.in_use) == (1000, "server default", 0)
    for i in range(1000):
        made = create(nc, f"$JS.API.CONSUMER.CREATE.CMANY.c{i}", {"stream_name": "CMANY", "config": {
            "name": f"c{i}", "durable_name": f"c{i}", "ack_policy": "none", "mem_storage": True}})
        assert "error" not in made, (i, made)
    refused = create(nc, "$JS.API.CONSUMER.CREATE.CMANY.c1000", {"stream_name": "CMANY", "config": {
        "name": "c1000", "durable_name": "c1000", "ack_policy": "none", "mem_storage": True}})
    assert refused["error"]["err_code"] == 10026  # the server's own limit: 1,000 with max_consumers -1
    room = context().run(jsmagic.streams.consumer_room("CMANY"))
    assert (room.limit, room.in_use, room.free) == (1000, raw(nc, "CMANY")["state"]["consumer_count"], 0)

    with pytest.raises(InputError) as e:  # a read (and a watch: the same consumer session) says why, in one line
        shell.run_line_magic("js_consume", "CMANY")
    line = str(e.value)
    assert "allows 1,000 consumers (server default) and has 1,000 in use" in line and "\n" not in line
    assert "--max-consumers" in line
    assert raw(nc, "CMANY")["state"]["consumer_count"] == 1000  # nothing left behind
    create(nc, "$JS.API.STREAM.DELETE.CMANY", {})  # its 1,000 consumers leave the shared server


def test_dask_partitions_check_the_room_before_reading(nc):
    pytest.importorskip("dask.dataframe")
    import jsmagic.dask as jd

    client, _js, run = nc
    url = client.connected_url.geturl()
    create(nc, "$JS.API.STREAM.CREATE.CROOM", {"name": "CROOM", "subjects": ["croom.>"], "storage": "memory",
                                               "max_consumers": 3})
    fill(nc, "croom.a", 100)
    create(nc, "$JS.API.CONSUMER.CREATE.CROOM.keep", {"stream_name": "CROOM", "config": {
        "name": "keep", "durable_name": "keep", "ack_policy": "explicit"}})
    with pytest.raises(InputError) as e:
        jd.read_stream("CROOM", url, partitions=4)
    assert "partitions=4 needs 4 consumers but stream CROOM allows 3 consumers (stream max_consumers) " \
           "and has 1 in use" in str(e.value)
    assert "use at most 2" in str(e.value)
    assert raw(nc, "CROOM")["state"]["consumer_count"] == 1  # refused before any partition started

    ddf = jd.read_stream("CROOM", url, partitions=2)
    got = ddf.compute(scheduler="sync")
    assert ddf.npartitions == 2 and sorted(got["i"]) == list(range(100))


def test_sourcing_consumers_do_not_count_against_max_consumers(shell, nc):
    create(nc, "$JS.API.STREAM.CREATE.CWQ", {"name": "CWQ", "subjects": ["cwq.>"], "retention": "workqueue",
                                             "max_consumers": 1})
    shell.run_line_magic("js_stream", "add CWQAGG --source CWQ --storage memory")
    src = shell.run_line_magic("js_stream", "sourcing CWQ")
    assert list(src["for_stream"]) == ["CWQAGG"]
    assert raw(nc, "CWQ")["state"]["consumer_count"] == 1  # the server's sourcing consumer
    room = context().run(jsmagic.streams.consumer_room("CWQ"))
    assert (room.limit, room.in_use, room.free) == (1, 0, 1)
    made = create(nc, "$JS.API.CONSUMER.CREATE.CWQ.mine", {"stream_name": "CWQ", "config": {
        "name": "mine", "durable_name": "mine", "ack_policy": "explicit", "filter_subject": "cwq.none"}})
    assert "error" not in made  # the server agrees: there was room for one


def test_a_kv_watch_at_the_consumer_limit_refuses_in_one_line(shell, nc):
    shell.run_line_magic("js_kv", "add CLWATCH")
    shell.run_line_magic("js_kv", "put CLWATCH a 1")
    cfg = raw(nc, "KV_CLWATCH")["config"]
    cfg["max_consumers"] = 1
    assert "error" not in create(nc, "$JS.API.STREAM.UPDATE.KV_CLWATCH", cfg)
    create(nc, "$JS.API.CONSUMER.CREATE.KV_CLWATCH.held", {"stream_name": "KV_CLWATCH", "config": {
        "name": "held", "durable_name": "held", "ack_policy": "explicit"}})
    with pytest.raises(InputError) as e:
        shell.run_line_magic("js_kv", "watch CLWATCH")
    assert "stream KV_CLWATCH allows 1 consumer (stream max_consumers) and has 1 in use" in str(e.value)
    assert raw(nc, "KV_CLWATCH")["state"]["consumer_count"] == 1  # the watch left nothing behind
