"""``%js_check server|meta|message``: verdicts on real servers, values compared with the server's own numbers.

``server`` and ``meta`` read ``$SYS.REQ.SERVER.PING.VARZ|JSZ`` as natscli does, so the
shell connects as a system-account user; the test reads ``/varz`` over HTTP (a monitored
server) or the meta leader's ``JSZ`` with plain nats-py.
"""

from __future__ import annotations

import json
import time
import urllib.request

import orjson
import pandas as pd
import pytest

from jsmagic.testing import close_shell, monitored_server, nats_cluster
from jsmagic.testing import testing_shell as make_shell
from tests.corenats.peers import Peer, wait_until

ACCOUNTS = """
accounts {
  A: { jetstream: enabled, users: [ { user: a, password: apw } ] }
  SYS: { users: [ { user: sys, password: syspw } ] }
}
system_account: SYS
no_auth_user: a
"""


def verdict(df, check):
    row = df[df.check == check]
    assert len(row) == 1, f"no single {check!r} row in {df[['check', 'status', 'detail']].values.tolist()}"
    return row.iloc[0]


def as_sys(url: str) -> str:
    return url.replace("nats://", "nats://sys:syspw@")


def varz(srv) -> dict:
    with urllib.request.urlopen(srv.monitor + "/varz", timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture
def sys_shell():
    with monitored_server(config=ACCOUNTS) as srv:
        sh = make_shell(probe_local=False)
        sh.run_line_magic("js_connect", as_sys(srv.url))
        try:
            yield srv, sh
        finally:
            close_shell(sh)


def test_server_check_against_varz(sys_shell):
    srv, sh = sys_shell
    df = sh.run_line_magic("js_check", "server --conn-warn 5 --conn-critical 10 --subs-warn 100000 --subs-critical 1 "
                                       "--uptime-warn 1h --uptime-critical 1ms --js-required --auth-required --tls-required")
    vz = varz(srv)
    assert verdict(df, "server").value == vz["server_name"] == srv.server_name
    conns = verdict(df, "connections")
    assert conns.value == vz["connections"] == 1 and conns.status == "OK"  # this shell's connection alone
    subs = verdict(df, "subscriptions")  # warn above crit: fewer is worse
    assert subs.value == vz["subscriptions"] and subs.status == "WARN" and subs.threshold == "<= 100000"
    up = verdict(df, "uptime (s)")
    server_up = (pd.Timestamp(vz["now"]) - pd.Timestamp(vz["start"])).total_seconds()
    assert up.status == "WARN" and 0 <= server_up - up.value < 30  # /varz read a moment later
    assert verdict(df, "JetStream enabled").status == "OK" and verdict(df, "authentication required").status == "OK"
    assert verdict(df, "TLS required").status == "CRIT" and not vz.get("tls_required")
    assert df.attrs["status"] == "CRIT"

    df = sh.run_line_magic("js_check", "server --mem-warn 1 --mem-critical 100000000000 --cpu-warn 100000 --cpu-critical 200000")
    mem, vz = verdict(df, "memory (bytes)"), varz(srv)
    assert mem.status == "WARN" and 0.5 < mem.value / vz["mem"] < 2  # RSS moves a little between the two reads
    assert verdict(df, "cpu (%)").status == "OK"
    df = sh.run_line_magic("js_check", "server --cpu-warn 90 --cpu-critical 50")
    assert verdict(df, "cpu (%)").status == "CRIT" and "invalid thresholds" in verdict(df, "cpu (%)").detail
    df = sh.run_line_magic("js_check", "server --conn-critical 1")  # more is worse: 1 connection >= 1
    assert verdict(df, "connections").status == "CRIT"


def test_server_check_needs_the_system_account_and_the_right_name(sys_shell):
    srv, sh = sys_shell
    df = sh.run_line_magic("js_check", "server --name no-such-server")
    assert df.attrs["status"] == "CRIT" and "system account" in verdict(df, "varz").detail
    df = sh.run_line_magic("js_check", "meta --expect 1")  # natscli: a single server has no meta cluster
    assert "no cluster information" in verdict(df, "meta cluster").detail
    user = make_shell(probe_local=False)
    try:
        user.run_line_magic("js_connect", srv.url)  # the no-auth user of account A
        df = user.run_line_magic("js_check", "server --js-required")
        assert verdict(df, "varz").status == "CRIT" and "system account" in verdict(df, "varz").detail
        assert "syspw" not in df.to_string()
        df = user.run_line_magic("js_check", "meta --expect 1")
        assert verdict(df, "jsz").status == "CRIT"
    finally:
        close_shell(user)


def test_message_check_age_content_and_body_timestamp(sys_shell):
    srv, _ = sys_shell
    peer = Peer(srv.url)
    sh = make_shell(probe_local=False)
    try:
        sh.run_line_magic("js_connect", srv.url)
        old = int(time.time()) - 3600

        async def setup():
            js = peer.nc.jetstream()
            await js.add_stream(name="HB", subjects=["hb.>"])
            await js.publish("hb.beat", b"status ok")
            await js.publish("hb.clock", str(old).encode())
            return (await js.get_last_msg("HB", "hb.beat")).seq, (await js.stream_info("HB")).state.last_seq
        beat_seq, last_seq = peer.call(setup)
        df = sh.run_line_magic("js_check", "message HB --subject hb.beat --age-warn 1h --age-critical 2h --content 'ok$'")
        assert df.attrs["status"] == "OK" and verdict(df, "message").value == beat_seq
        assert 0 <= verdict(df, "age (s)").value < 60 and verdict(df, "content").status == "OK"
        df = sh.run_line_magic("js_check", "message HB --subject hb.beat --age-warn 0s --content fail")
        assert verdict(df, "age (s)").status == "WARN" and verdict(df, "content").status == "CRIT"
        df = sh.run_line_magic("js_check", "message HB --subject hb.clock --body-timestamp --age-warn 10m --age-critical 30m")
        age = verdict(df, "age (s)")
        assert age.status == "CRIT" and abs(age.value - (time.time() - old)) < 60
        df = sh.run_line_magic("js_check", "message HB")  # natscli's default subject >: the stream's last message
        assert verdict(df, "message").value == last_seq
        df = sh.run_line_magic("js_check", "message HB --subject hb.beat --body-timestamp")
        assert verdict(df, "age (s)").status == "CRIT" and "invalid timestamp" in verdict(df, "age (s)").detail
        assert verdict(sh.run_line_magic("js_check", "message HB --subject hb.none"), "message").detail == "no message found"
        assert sh.run_line_magic("js_check", "message NOPE --subject x").attrs["status"] == "CRIT"
    finally:
        close_shell(sh)
        peer.close()


def jsz_meta(url: str) -> dict:
    """The meta leader's view, read with plain nats-py (the server's own numbers)."""
    peer = Peer(as_sys(url))
    try:
        async def ask():
            msg = await peer.nc.request("$SYS.REQ.SERVER.PING.JSZ", b'{"leader_only": true}', timeout=5)
            return orjson.loads(msg.data)["data"]["meta_cluster"]
        return peer.call(ask)
    finally:
        peer.close()


def test_meta_check_on_a_cluster_with_a_peer_down():
    with nats_cluster(3, config=ACCOUNTS) as cluster:
        sh = make_shell(probe_local=False)
        try:
            sh.run_line_magic("js_connect", as_sys(cluster.servers[0].url))
            meta = jsz_meta(cluster.servers[0].url)
            df = sh.run_line_magic("js_check", "meta --expect 3 --lag-critical 100 --seen-critical 30s")
            assert df.attrs["status"] == "OK", df
            assert verdict(df, "leader").value == meta["leader"] and verdict(df, "peers").value == len(meta["replicas"]) + 1 == 3
            assert sh.run_line_magic("js_check", "meta --expect 5").attrs["status"] == "CRIT"

            victim = next(s for s in cluster.servers[1:] if s.server_name != meta["leader"])
            cluster.kill(victim)
            found = []

            def reported():  # 2.15.1 marks a killed peer not current after ~10 s; "offline" comes much later
                d = sh.run_line_magic("js_check", "meta --expect 3 --seen-critical 3s")
                found.append(d)
                return verdict(d, "peers not current").value == 1 and verdict(d, "peers unseen").value == 1
            wait_until(reported, timeout=90, what="the killed peer reported not current and unseen")
            df, meta = found[-1], jsz_meta(next(s.url for s in cluster.servers if s is not victim))
            assert verdict(df, "peers not current").detail == verdict(df, "peers unseen").detail == victim.server_name
            assert [r["name"] for r in meta["replicas"] if not r.get("current")] == [victim.server_name]
            assert [r["name"] for r in meta["replicas"] if r["active"] / 1e9 > 3] == [victim.server_name]
            assert verdict(df, "peers offline").value == sum(bool(r.get("offline")) for r in meta["replicas"])
            assert df.attrs["status"] == "CRIT" and verdict(df, "peers").value == 3  # still a configured peer
        finally:
            close_shell(sh)
