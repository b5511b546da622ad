"""``%js_check``: each verdict provoked on real servers, the measured value compared with plain nats-py's reading."""

from __future__ import annotations

import uuid

import pytest
from nats.js.api import ConsumerConfig, StreamConfig, StreamSource

from jsmagic.health.verdicts import CheckFailed
from jsmagic.testing import close_shell, nats_cluster, nats_server
from jsmagic.testing import testing_shell as make_shell
from tests.corenats.peers import Peer, wait_until


def verdict(df, check):
    row = df[df.check == check]
    assert len(row) == 1, f"no single {check!r} row in {df[['check', 'status']].values.tolist()}"
    return row.iloc[0]


@pytest.fixture
def peer(server):
    p = Peer(server.url)
    yield p
    p.close()


def name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6].upper()}"


def publish(peer, subject, n):
    async def go():
        js = peer.nc.jetstream()
        for i in range(n):
            await js.publish(subject, str(i).encode())
    peer.call(go)


def test_stream_messages_subjects_sources_flags_and_metadata(shell, peer):
    s = name("CK")
    meta = {"io.nats.monitor.msgs-critical": "3", "io.nats.monitor.subjects-warn": "2",
            "io.nats.monitor.subjects-critical": "4"}
    peer.call(lambda: peer.nc.jetstream().add_stream(StreamConfig(name=s, subjects=[f"{s.lower()}.>"], metadata=meta)))
    df = shell.run_line_magic("js_check", f"stream {s}")
    assert df.attrs["status"] == "CRIT" and verdict(df, "messages").status == "CRIT"  # 0 <= 3, from metadata
    assert verdict(df, "messages").source == "metadata io.nats.monitor.msgs-critical"
    publish(peer, f"{s.lower()}.a", 2)
    publish(peer, f"{s.lower()}.b", 1)
    publish(peer, f"{s.lower()}.c", 1)
    state = peer.call(lambda: peer.nc.jetstream().stream_info(s, subjects_filter=">")).state
    df = shell.run_line_magic("js_check", f"stream {s} --msgs-warn 5")
    assert verdict(df, "messages").status == "WARN" and verdict(df, "messages").value == state.messages == 4
    assert verdict(df, "subjects").status == "WARN" and verdict(df, "subjects").value == len(state.subjects) == 3
    df = shell.run_line_magic("js_check", f"stream {s} --msgs-critical 1 --subjects-critical 3 --subjects-warn 1")
    assert verdict(df, "messages").status == "OK" and verdict(df, "messages").source == "flag"  # the flag wins
    assert verdict(df, "subjects").status == "CRIT"
    agg = name("AG")
    peer.call(lambda: peer.nc.jetstream().add_stream(StreamConfig(name=agg, sources=[StreamSource(name=s)])))
    df = shell.run_line_magic("js_check", f"stream {agg} --min-sources 2")
    assert verdict(df, "sources (min)").status == "CRIT" and verdict(df, "sources (min)").value == 1
    df = shell.run_line_magic("js_check", f"stream {agg} --min-sources 1 --max-sources 1 --lag-critical 100")
    assert df.attrs["status"] == "OK", df
    assert shell.run_line_magic("js_check", "stream NOPE_NO").attrs["status"] == "CRIT"


def test_consumer_verdicts_and_fail_on(shell, peer):
    s = name("CC")
    peer.call(lambda: peer.nc.jetstream().add_stream(StreamConfig(name=s, subjects=[f"{s.lower()}.>"])))
    publish(peer, f"{s.lower()}.x", 5)
    cfg = ConsumerConfig(durable_name="WORK", ack_wait=60, metadata={"io.nats.monitor.unprocessed-critical": "3"})
    peer.call(lambda: peer.nc.jetstream().add_consumer(s, cfg))

    async def take_two():
        sub = await peer.nc.jetstream().pull_subscribe_bind("WORK", s)
        return len(await sub.fetch(2, timeout=10))  # delivered, never acked
    assert peer.call(take_two) == 2
    info = peer.call(lambda: peer.nc.jetstream().consumer_info(s, "WORK"))
    df = shell.run_line_magic("js_check", f"consumer {s} WORK --outstanding-ack-critical 2 --last-ack-critical 1h "
                                          "--redelivery-critical 1 --last-delivery-critical 1h")
    assert verdict(df, "unprocessed").status == "CRIT" and verdict(df, "unprocessed").value == info.num_pending == 3
    assert verdict(df, "ack pending").status == "CRIT" and verdict(df, "ack pending").value == info.num_ack_pending == 2
    assert verdict(df, "last ack (s ago)").status == "CRIT" and verdict(df, "last ack (s ago)").detail == "never"
    assert verdict(df, "redelivered").status == "OK" and verdict(df, "last delivery (s ago)").status == "OK"
    with pytest.raises(CheckFailed, match="unprocessed CRIT") as failed:
        shell.run_line_magic("js_check", f"consumer {s} WORK --fail-on crit -o verdicts")
    assert shell.user_ns["verdicts"].attrs["status"] == "CRIT" and failed.value.result is not None
    df = shell.run_line_magic("js_check", f"consumer {s} WORK --unprocessed-critical 10 --fail-on warn")
    assert df.attrs["status"] == "OK"  # the flag raised the metadata's threshold: nothing fails


def test_kv_key_and_values(shell, peer):
    b = name("kb")

    async def make():
        kv = await peer.nc.jetstream().create_key_value(bucket=b, history=1)
        await kv.put("db.host", b"pg1")
        await kv.put("gone", b"x")
        await kv.delete("gone")
    peer.call(make)
    df = shell.run_line_magic("js_check", f"kv {b} --key db.host --values-warn 1 --values-critical 3")
    assert verdict(df, "key db.host").status == "OK" and verdict(df, "values").status == "WARN"
    assert verdict(df, "values").value == 2  # a put and a delete marker: what the bucket's stream holds
    df = shell.run_line_magic("js_check", f"kv {b} --key gone")
    assert verdict(df, "key gone").status == "CRIT" and "deleted" in verdict(df, "key gone").detail
    df = shell.run_line_magic("js_check", f"kv {b} --values-warn 5 --values-critical 2")  # fewer is worse
    assert verdict(df, "values").status == "CRIT"
    assert shell.run_line_magic("js_check", "kv no_such_bucket").attrs["status"] == "CRIT"


LIMITED = """
accounts {
  A: { jetstream: { max_mem: 1M, max_file: 10M, max_streams: 4, max_consumers: 10 }, users: [ { user: a, password: apw } ] }
}
"""


def test_server_account_limits_and_connection():
    with nats_server(config=LIMITED) as srv:
        url = srv.url.replace("nats://", "nats://a:apw@")
        sh = make_shell(probe_local=False)
        peer = Peer(url)
        try:
            sh.run_line_magic("js_connect", url)
            for i in range(2):
                peer.call(lambda i=i: peer.nc.jetstream().add_stream(StreamConfig(name=f"L{i}", subjects=[f"l{i}"])))
            acct = peer.call(lambda: peer.nc.jetstream().account_info())
            df = sh.run_line_magic("js_check", "jetstream --streams-warn 40 --streams-critical 60")
            row = verdict(df, "streams used (%)")
            assert row.status == "WARN" and row.value == acct.streams / acct.limits.max_streams * 100 == 50
            df = sh.run_line_magic("js_check", "jetstream --streams-critical 50")
            assert verdict(df, "streams used (%)").status == "CRIT"
            mem = verdict(df, "memory used (%)")
            assert (mem.status, mem.threshold, mem.source) == ("OK", "< 75", "natscli default")
            df = sh.run_line_magic("js_check", "connection --rtt-warn 30s --req-critical 30s --connect-warn 30s --connect-critical 40s --rtt-critical 40s --req-warn 30s")
            assert df.attrs["status"] == "OK" and 0 < verdict(df, "rtt (s)").value < 30
            assert 0 < verdict(df, "connect (s)").value < 30  # a second connection, with the same credentials
            assert "apw" not in repr(df) and "apw" not in df.to_string()  # secrets never reach output
            df = sh.run_line_magic("js_check", "connection --rtt-critical 0s")
            assert verdict(df, "rtt (s)").status == "CRIT"
        finally:
            peer.close()
            close_shell(sh)


def test_cluster_peers_and_an_offline_replica():
    with nats_cluster(3) as cluster:
        peer = Peer(cluster.servers[0].url)
        sh = make_shell(probe_local=False)
        try:
            peer.call(lambda: peer.nc.jetstream().add_stream(StreamConfig(name="RS", subjects=["rs.>"], num_replicas=3)))
            leader = cluster.leader_of("RS")
            sh.run_line_magic("js_connect", leader.url)
            df = sh.run_line_magic("js_check", "stream RS --peer-expect 3")
            assert verdict(df, "peers").status == "OK" and verdict(df, "replicas offline").status == "OK"
            assert verdict(df, "leader").value == leader.server_name
            assert sh.run_line_magic("js_check", "stream RS --peer-expect 5").attrs["status"] == "CRIT"
            victim = next(s for s in cluster.servers if s is not leader)
            cluster.kill(victim)

            found = []

            def crit():
                d = sh.run_line_magic("js_check", "stream RS --peer-expect 3 --peer-seen-critical 3s")
                found.append(d)
                return d.attrs["status"] == "CRIT"
            wait_until(crit, timeout=60, what="the killed replica reported")
            df = found[-1]
            bad = df[df.status == "CRIT"].check.tolist()
            assert "replicas offline" in bad or "replica last seen (s)" in bad
        finally:
            close_shell(sh)
            peer.close()
