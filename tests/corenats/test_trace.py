"""``%js_trace`` through a subject mapping, a 3-node cluster and a hub/leaf pair with JetStream domains.

Every claim of the trace is checked against an independent reading: the stream's message
count and the stream leader from plain nats-py, what a plain subscriber received.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from jsmagic.testing import close_shell, nats_cluster, nats_server
from jsmagic.testing import testing_shell as make_shell
from jsmagic.testing.topology import hub_and_leaf

from .peers import Peer, wait_until

MAPPING = 'mappings { "orig.>": "mapped.>" }'


@pytest.fixture(scope="module")
def mapped():
    with nats_server(config=MAPPING) as s:
        yield s


def shell_on(url: str, extra: str = ""):
    sh = make_shell(probe_local=False)
    sh.run_line_magic("js_connect", f"{url} {extra}".strip())
    return sh


def stored(peer: Peer, stream: str, domain: str | None = None) -> int:
    async def count():
        return (await peer.nc.jetstream(domain=domain).stream_info(stream)).state.messages
    return peer.call(count)



def test_trace_through_a_mapping_stores_delivers_and_names_consumers(mapped):
    peer = Peer(mapped.url)
    sh = shell_on(mapped.url)
    try:
        tag = uuid.uuid4().hex[:6]
        sh.run_line_magic("js_stream", f"add TR{tag} --subjects 'mapped.{tag}.>'")
        sh.run_line_magic("js_consumer", f"add TR{tag} TAKES --filter 'mapped.{tag}.*' --pull")
        sh.run_line_magic("js_consumer", f"add TR{tag} OTHER --filter 'mapped.{tag}.z.>' --pull")
        got = peer.listen(f"mapped.{tag}.x")
        t = sh.run_line_magic("js_trace", f"orig.{tag}.x hello -H trace:abc")
        df = t.df
        assert list(df.event) == ["ingress", "mapping", "jetstream", "egress"] or \
            set(df.event) == {"ingress", "mapping", "jetstream", "egress"}
        assert df[df.event == "ingress"].subject.tolist() == [f"orig.{tag}.x"]
        assert df[df.event == "mapping"].subject.tolist() == [f"mapped.{tag}.x"]
        assert df[df.event == "jetstream"][["stream", "subject"]].values.tolist() == [[f"TR{tag}", f"mapped.{tag}.x"]]
        assert df[df.event == "egress"].kind.tolist() == ["client"]
        assert t.consumers.consumer.tolist() == ["TAKES"]  # OTHER's filter does not take it
        assert t.trace.complete and not t.trace.trace_only
        wait_until(lambda: len(got) == 1, what="the plain subscriber got the message")
        assert got[0].data == b"hello" and got[0].headers.get("trace") == "abc"
        assert stored(peer, f"TR{tag}") == 1
        text = repr(t)
        assert "--J JetStream stream" in text and "mapped to" in text and "--C Client" in text
        # --trace-only: the same path reported, nothing stored, nothing delivered, and it says so first
        only = sh.run_line_magic("js_trace", f"orig.{tag}.x again --trace-only")
        assert repr(only).startswith("TRACE ONLY: nothing was stored or delivered")
        assert "(would store)" in repr(only) and "<b>TRACE ONLY" in only._repr_html_()
        assert set(only.df.event) == {"ingress", "mapping", "jetstream", "egress"}
        peer.call(peer.nc.flush)
        assert stored(peer, f"TR{tag}") == 1 and len(got) == 1
    finally:
        close_shell(sh)
        peer.close()


def test_trace_across_a_cluster_reaches_the_stream_leader():
    with nats_cluster(3) as cluster:
        peer = Peer(cluster.servers[0].url)
        try:
            async def make():
                js = peer.nc.jetstream()
                await js.add_stream(name="CT", subjects=["ct.>"], num_replicas=1)
            peer.call(make)
            leader = cluster.leader_of("CT")
            other = next(s for s in cluster.servers if s is not leader)
            got = peer.listen("ct.x") if peer.nc.connected_url else []
            sh = shell_on(other.url)
            try:
                t = sh.run_line_magic("js_trace", "ct.x hi --timeout 20s")
            finally:
                close_shell(sh)
            df = t.df
            assert t.trace.complete, t.trace.missing
            origin = df[df.hop == "origin"]
            assert set(origin.server) == {other.server_name}
            assert "route" in set(origin[origin.event == "egress"].kind)
            js = df[df.event == "jetstream"]
            assert js.server.tolist() == [leader.server_name] and js.stream.tolist() == ["CT"]
            assert (df[df.hop != "origin"].hop.str.match(r"^\d+(\.\d+)*$")).all()
            wait_until(lambda: stored(peer, "CT") == 1, what="the leader stored it")
            wait_until(lambda: len(got) == 1, what="a subscriber on another server got it")
            assert "--> Route" in repr(t)
        finally:
            peer.close()


def test_trace_from_a_leaf_into_the_hub_domain():
    with hub_and_leaf() as topo:
        hub_peer = Peer(topo.hub.url)
        try:
            async def make():
                js = hub_peer.nc.jetstream()
                await js.add_stream(name="HUBS", subjects=["hubs.>"])
                await js.add_consumer("HUBS", durable_name="READER", filter_subject="hubs.>")
            hub_peer.call(make)
            sh = shell_on(topo.leaf.url, "--domain hub")
            try:
                t = sh.run_line_magic("js_trace", "hubs.one payload --timeout 20s")
            finally:
                close_shell(sh)
            df = t.df
            assert t.trace.complete, t.trace.missing
            origin = df[df.hop == "origin"]
            assert set(origin.domain) == {"leaf"}
            assert "leaf" in set(origin[origin.event == "egress"].kind)
            js = df[df.event == "jetstream"]
            assert js[["stream", "domain"]].values.tolist() == [["HUBS", "hub"]]
            assert t.consumers[["consumer", "domain"]].values.tolist() == [["READER", "hub"]]
            wait_until(lambda: stored(hub_peer, "HUBS") == 1, what="the hub stored it")
            assert "~~> Leaf" in repr(t)
        finally:
            hub_peer.close()


DENY = """
authorization {
  users: [ { user: u, password: upw, permissions: { publish: { deny: ["secret.>"] } } } ]
}
"""


def test_a_denied_publish_is_an_error_row_and_said_first():
    with nats_server(config=DENY) as srv:
        url = srv.url.replace("nats://", "nats://u:upw@")
        peer = Peer(url)
        sh = shell_on(url)
        try:
            got = peer.listen("secret.>")
            t = sh.run_line_magic("js_trace", "secret.plan x")
            ingress = t.df[t.df.event == "ingress"].iloc[0]
            assert ingress.error.startswith("Permissions Violation for Publish") and "secret.plan" in ingress.error
            assert "errors: Permissions Violation" in repr(t).splitlines()[0]
            assert "--X Permissions Violation" in repr(t) and t.trace.delivered_to == 0
            peer.call(peer.nc.flush)
            assert got == []  # an independent subscriber confirms nothing went through
            assert "upw" not in repr(t)
        finally:
            close_shell(sh)
            peer.close()
