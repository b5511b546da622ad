"""ADR-44 on the pinned server: API levels in info and report, offline assets, highest sourced sequences.

An *offline* asset (server 2.12+) is one the server found on disk but cannot load, e.g. a
consumer whose ``_nats.req.level`` is above the server's API level (as after a downgrade).
The server checks a consumer's ``meta.inf`` without a checksum, so a test makes one by
raising its level on disk while the server is stopped; in single-server mode the server then
stops its stream too ("stopped - unsupported consumer").  Each figure is compared with the
server's own JSON, read with plain nats-py.
"""

from __future__ import annotations

import json

import orjson
import pytest

from jsmagic.testing import close_shell, nats_server
from jsmagic.testing import testing_shell as make_shell
from tests.corenats.peers import Peer, wait_until


def raw(peer, subject, payload=None):
    """The server's own answer to an API request (plain nats-py)."""
    async def go():
        msg = await peer.nc.request(subject, json.dumps(payload or {}).encode(), timeout=10)
        return orjson.loads(msg.data)
    return peer.call(go)


def create(peer, name, **config):
    answer = raw(peer, f"$JS.API.STREAM.CREATE.{name}", {"name": name, "storage": "file", **config})
    assert "error" not in answer, answer


@pytest.fixture
def fresh(fresh_server):
    """A shell and a plain nats-py peer on a server of this test's own."""
    peer = Peer(fresh_server.url)
    sh = make_shell(probe_local=False)
    sh.run_line_magic("js_connect", fresh_server.url)
    try:
        yield sh, peer
    finally:
        close_shell(sh)
        peer.close()


@pytest.fixture
def offline():
    """A server holding stream OK1, and stream OFF whose consumer C needs API level 99 (both offline)."""
    with nats_server() as srv:
        peer = Peer(srv.url)
        create(peer, "OK1", subjects=["ok.>"])
        create(peer, "OFF", subjects=["off.>"])
        assert "error" not in raw(peer, "$JS.API.CONSUMER.CREATE.OFF.C",
                                  {"stream_name": "OFF", "config": {"durable_name": "C", "ack_policy": "explicit"}})
        peer.close()
        srv.stop()
        meta = next(srv.store_dir.rglob("streams/OFF/obs/C/meta.inf"))
        cfg = json.loads(meta.read_text())
        cfg.setdefault("metadata", {})["_nats.req.level"] = "99"
        meta.write_text(json.dumps(cfg))
        srv.start()
        sh = make_shell(probe_local=False)
        peer = Peer(srv.url)
        sh.run_line_magic("js_connect", srv.url)
        try:
            yield sh, peer
        finally:
            close_shell(sh)
            peer.close()


def test_offline_stream_and_consumer_are_rows_with_the_servers_reason(offline):
    sh, peer = offline
    streams = raw(peer, "$JS.API.STREAM.LIST")
    consumers = raw(peer, "$JS.API.CONSUMER.LIST.OFF")
    assert streams["offline"] == {"OFF": 'stopped - unsupported consumer "C"'}  # the server's words
    assert consumers["offline"]["C"].startswith("unsupported - required API level: 99")

    df = sh.run_line_magic("js_stream", "report")
    assert df["name"].tolist() == ["OFF", "OK1"]  # the offline stream is a row, not gone
    rows = df.set_index("name")
    assert rows.loc["OFF", "offline"] == streams["offline"]["OFF"] and rows.loc["OK1", "offline"] == ""
    assert rows.loc["OK1", "messages"] == 0 and str(df["messages"].dtype) == "Int64"  # no made-up zeros for OFF
    assert df.attrs["missing"] == streams["offline"]

    cdf = sh.run_line_magic("js_consumer", "report OFF")  # the stream is offline: its consumers still list
    assert cdf["name"].tolist() == ["C"] and cdf["offline"].iloc[0] == consumers["offline"]["C"]
    assert "required API level: 99" in cdf.attrs["notes"][0]


def test_api_level_metadata_in_info_and_report(fresh):
    sh, peer = fresh
    create(peer, "LVL0", subjects=["lvl0"])
    create(peer, "LVL1", subjects=["lvl1"], allow_msg_ttl=True)  # TTLs: API level 1 (2.11)
    create(peer, "LVL2", subjects=["lvl2"], allow_msg_counter=True)  # counters: API level 2 (2.12)
    assert "error" not in raw(peer, "$JS.API.CONSUMER.CREATE.LVL1.W",
                              {"stream_name": "LVL1", "config": {"durable_name": "W", "ack_policy": "explicit"}})
    level = raw(peer, "$JS.API.INFO")["api"]["level"]
    truth = {n: raw(peer, f"$JS.API.STREAM.INFO.{n}")["config"]["metadata"] for n in ("LVL0", "LVL1", "LVL2")}
    assert [truth[n]["_nats.req.level"] for n in ("LVL0", "LVL1", "LVL2")] == ["0", "1", "2"]

    df = sh.run_line_magic("js_stream", "report").set_index("name")
    assert {n: df.loc[n, "api_level"] for n in truth} == {n: int(m["_nats.req.level"]) for n, m in truth.items()}
    rep = sh.run_line_magic("js_stream", "info LVL2")
    assert rep["API level"] == {"required API level": "2", "server API level": str(level),
                                "server version": truth["LVL2"]["_nats.ver"]}
    assert "server version: " + truth["LVL2"]["_nats.ver"] in repr(rep)

    cinfo = raw(peer, "$JS.API.CONSUMER.INFO.LVL1.W")["config"]["metadata"]
    crep = sh.run_line_magic("js_consumer", "info LVL1 W")
    assert crep["API level"]["required API level"] == cinfo["_nats.req.level"]
    assert crep["API level"]["server API level"] == cinfo["_nats.level"] == str(level)
    cdf = sh.run_line_magic("js_consumer", "report LVL1")
    assert cdf["api_level"].tolist() == [int(cinfo["_nats.req.level"])] and cdf["offline"].tolist() == [""]


def test_highest_sourced_sequence_per_source(fresh):
    sh, peer = fresh
    create(peer, "SA", subjects=["sa.>"])
    create(peer, "SB", subjects=["sb.>"])
    create(peer, "AGG", sources=[{"name": "SA"}, {"name": "SB"}])
    create(peer, "MIR", mirror={"name": "SA"})

    async def pub():
        js = peer.nc.jetstream()
        for i in range(3):
            await js.publish("sa.x", b"a")
        for i in range(5):
            await js.publish("sb.x", b"b")
    peer.call(pub)

    def copied():
        agg = raw(peer, "$JS.API.STREAM.INFO.AGG")
        mir = raw(peer, "$JS.API.STREAM.INFO.MIR")
        return agg["state"]["messages"] == 8 and mir["state"]["messages"] == 3
    wait_until(copied, timeout=30, what="sources and mirror copied")
    agg = raw(peer, "$JS.API.STREAM.INFO.AGG")
    mir = raw(peer, "$JS.API.STREAM.INFO.MIR")
    seqs = {s["name"]: s["seq"] for s in agg["sources"]}
    assert seqs == {"SA": 3, "SB": 5}  # the server's field (2.12+)
    df = sh.run_line_magic("js_stream", "report").set_index("name")
    assert df.loc["AGG", "sourced_seqs"] == f"SA {seqs['SA']}, SB {seqs['SB']}"
    # 2.15.1 sends no seq for a mirror (it keeps the upstream's own sequences: its last_seq)
    want = f"mirror SA {mir['mirror']['seq']}" if "seq" in mir["mirror"] else ""
    assert df.loc["MIR", "sourced_seqs"] == want
    assert df.loc["SA", "sourced_seqs"] == ""
