"""``%js_trace`` across a gateway: two clusters (``east``, ``west``) of a super-cluster.

The trace's claims are compared with independent readings: what a plain subscriber on the
other cluster received, the stream's count and its placement from plain nats-py.
"""

from __future__ import annotations

from jsmagic.testing import close_shell
from jsmagic.testing.gateways import two_gateways

from .peers import Peer, wait_until
from .test_trace import shell_on, stored


def test_trace_crosses_the_gateway_to_a_subscriber_in_the_other_cluster():
    with two_gateways() as sc:
        peer = Peer(sc.west.url)
        sh = shell_on(sc.east.url)
        try:
            got = peer.listen("gw.x")
            t = sh.run_line_magic("js_trace", "gw.x hi --timeout 20s")
            df = t.df
            assert t.trace.complete, t.trace.missing
            origin, hop = df[df.hop == "origin"], df[df.hop == "1"]
            assert set(origin.server) == {sc.east.server_name} and set(origin.cluster) == {"east"}
            out = origin[origin.event == "egress"]
            assert out.kind.tolist() == ["gateway"] and sc.west.server_name in out.connection.iloc[0]
            assert set(hop.server) == {sc.west.server_name} and set(hop.cluster) == {"west"}
            assert hop[hop.event == "ingress"].kind.tolist() == ["gateway"]
            assert hop[hop.event == "egress"].kind.tolist() == ["client"] and t.trace.delivered_to == 1
            assert "==> Gateway" in repr(t)
            wait_until(lambda: len(got) == 1, what="the subscriber in west got it")

            t = sh.run_line_magic("js_trace", "gw.x hi --trace-only --timeout 20s")
            assert t.trace.complete and "gateway" in set(t.df[t.df.hop == "origin"].kind)
            assert t.trace.delivered_to == 1  # would deliver...
            east = Peer(sc.east.url)
            try:
                east.call(lambda: east.nc.publish("gw.x", b"marker"))  # same path, after the traced one
                east.call(east.nc.flush)
            finally:
                east.close()
            wait_until(lambda: len(got) == 2, what="the marker crossed")
            assert [m.data for m in got] == [b"hi", b"marker"]  # ...but delivered nothing
        finally:
            close_shell(sh)
            peer.close()


def test_trace_reaches_a_stream_placed_in_the_other_cluster():
    with two_gateways(jetstream=True) as sc:
        peer = Peer(sc.east.url)
        sh = shell_on(sc.east.url)
        try:
            async def make():
                js = peer.nc.jetstream()
                await js.add_stream(name="GW", subjects=["gws.>"], placement={"cluster": "west"})
                return (await js.stream_info("GW")).cluster
            placed = peer.call(make)
            assert placed.name == "west" and placed.leader == sc.west.server_name
            t = sh.run_line_magic("js_trace", "gws.a hi --timeout 20s")
            df = t.df
            assert t.trace.complete, t.trace.missing
            assert df[(df.hop == "origin") & (df.event == "egress")].kind.tolist() == ["gateway"]
            js = df[df.event == "jetstream"]
            assert js.server.tolist() == [sc.west.server_name] and js.stream.tolist() == ["GW"]
            assert t.trace.stored_in == ["GW"]
            wait_until(lambda: stored(peer, "GW") == 1, what="west stored it")
        finally:
            close_shell(sh)
            peer.close()


def test_every_trace_across_the_gateway_hears_from_the_far_side():
    """The far server must know the fresh trace destination before it reports (interest-only gateways, 2.9+).

    Without the trace-only scout about one trace in ten lost the far side's document on
    2.15.1 (the interest for a new inbox travels on another connection than the message).
    """
    with two_gateways() as sc:
        peer = Peer(sc.west.url)
        sh = shell_on(sc.east.url)
        try:
            got = peer.listen("gw.many")
            incomplete = []
            for i in range(30):
                t = sh.run_line_magic("js_trace", "gw.many x --timeout 10s" + (" --trace-only" if i % 2 else ""))
                if not t.trace.complete or set(t.df.server) != {sc.east.server_name, sc.west.server_name}:
                    incomplete.append((i, t.trace.missing))
            assert incomplete == []
            wait_until(lambda: len(got) == 15, what="the 15 real messages delivered in west")
            assert all(m.data == b"x" for m in got)
        finally:
            close_shell(sh)
            peer.close()
