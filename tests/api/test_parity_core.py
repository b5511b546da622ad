"""Core NATS, micro services, traces and advisories: ``%js_pub|sub|req|svc|trace|events`` say what
``jsmagic.nats.*``, ``jsmagic.micro.*``, ``jsmagic.trace`` and ``jsmagic.events`` say (one service
under both), and both say what independent clients see.

The independent side is plain nats-py on a loop of its own thread (:class:`tests.corenats.peers.Peer`):
a subscriber that receives what was published, responders that count their requests, nats.micro
services with their own statistics, ``stream_info`` for what a stream stored.
"""

from __future__ import annotations

import asyncio
import json
import uuid
import warnings

import pandas as pd
import pytest
from nats import micro

import jsmagic
from jsmagic.core import registry
from jsmagic.services.common import ReadWarning
from tests.corenats.peers import Peer, wait_until


@pytest.fixture
def peer(server):
    p = Peer(server.url)
    yield p
    p.close()


@pytest.fixture
def ctx(shell):
    return registry.context()


def tag(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"



def test_pub_magic_and_api_reach_a_plain_subscriber_alike(shell, ctx, peer):
    s = tag("ppub.")
    got = peer.listen(f"{s}.*")
    shell.user_ns["who"] = "lab"
    shell.run_line_magic("js_pub", f"{s}.m 'n={{{{Count}}}} {{=who}}' --count 3 -H src:x")
    assert ctx.run(jsmagic.nats.publish(f"{s}.a", "n={{Count}} lab", count=3, headers={"src": "x"})) == 3
    shell.run_line_magic("js_pub", f"{s}.m '{{{{Count}}}}' --raw")
    ctx.run(jsmagic.nats.publish(f"{s}.a", "{{Count}}", raw=True))
    wait_until(lambda: len(got) == 8, what="8 messages at the plain subscriber")
    by = {k: [(m.data, m.headers) for m in got if m.subject == f"{s}.{k}"] for k in "ma"}
    assert by["m"] == by["a"] == [(f"n={i} lab".encode(), {"src": "x"}) for i in (1, 2, 3)] + [(b"{{Count}}", None)]


def start_ticker(peer: Peer, subject: str, sent: list):
    """Publish ``{"i": n}`` every 20 ms until cancelled (what the subscriptions must see)."""
    async def tick():
        n = 0
        while True:
            sent.append(n)  # before it leaves: a cancel during the flush must not drop a delivered one from `sent`
            await peer.nc.publish(subject, json.dumps({"i": n}).encode())
            await peer.nc.flush()
            n += 1
            await asyncio.sleep(0.02)

    return peer.start(tick)


def test_sub_n_magic_and_api_get_what_was_sent(shell, ctx, peer):
    s = tag("psub.")
    sent: list = []
    ticker = start_ticker(peer, f"{s}.t", sent)
    try:
        by_magic = shell.run_line_magic("js_sub", f"'{s}.>' -n 5 --timeout 20s")
        by_api = ctx.run(jsmagic.nats.collect(f"{s}.>", 5, timeout="20s"))
    finally:
        ticker.cancel()
    for df in (by_magic, by_api):
        got = [d["i"] for d in df.data]
        assert len(got) == 5 and got == list(range(got[0], got[0] + 5)) and set(got) <= set(sent)
        assert list(df.subject) == [f"{s}.t"] * 5
    assert list(by_magic.columns) == list(by_api.columns)
    assert by_magic.summary == f"5 messages on {s}.>"


def test_a_short_sub_and_request_say_so_once_in_the_magic_and_warn_in_the_api(shell, ctx, peer):
    s = tag("pshort.")

    async def responder():
        async def cb(m):
            await m.respond(b"only one")
        await peer.nc.subscribe(f"{s}.q", cb=cb)
        await peer.nc.flush()  # twice: one flush's PING can overtake the SUB (nats-py 2.16)
        await peer.nc.flush()

    peer.call(responder)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReadWarning)  # the magic says it on its summary line, once
        sub = shell.run_line_magic("js_sub", f"{s}.none -n 3 --timeout 0.3s")
        req = shell.run_line_magic("js_req", f"{s}.q hi --replies 3 --timeout 0.5s")
    with pytest.warns(ReadWarning) as warned:
        api_sub = ctx.run(jsmagic.nats.collect(f"{s}.none", 3, timeout=0.3))
        api_req = ctx.run(jsmagic.nats.request(f"{s}.q", "hi", replies=3, timeout="0.5s"))
    assert len(sub) == len(api_sub) == 0 and len(req) == len(api_req) == 1
    assert list(req.data) == list(api_req.data) == ["only one"]
    notes = api_sub.attrs["notes"] + api_req.attrs["notes"]
    assert len(notes) == 2 and [str(w.message).split(": ", 1)[1] for w in warned] == notes
    assert sub.summary.startswith(api_sub.attrs["notes"][0]) and req.summary.startswith(api_req.attrs["notes"][0])


def test_request_scatter_gather_alike_and_counted_by_the_responders(shell, ctx, peer):
    s = tag("preq.")
    seen = {"r1": 0, "r2": 0}

    async def responders():
        for name in seen:
            async def cb(m, name=name):
                seen[name] += 1
                await m.respond(json.dumps({"by": name, "got": m.data.decode()}).encode())
            await peer.nc.subscribe(f"{s}.q", cb=cb)
        await peer.nc.flush()  # twice: one flush's PING can overtake the SUBs (nats-py 2.16)
        await peer.nc.flush()

    peer.call(responders)
    shell.user_ns["body"] = "hello"
    by_magic = shell.run_line_magic("js_req", f"{s}.q '{{=body}}' --replies 0 --timeout 1s -H k:v")
    by_api = ctx.run(jsmagic.nats.request(f"{s}.q", "hello", replies=0, timeout="1s", headers={"k": "v"}))
    for df in (by_magic, by_api):
        assert sorted((d["by"], d["got"]) for d in df.data) == [("r1", "hello"), ("r2", "hello")]
    assert list(by_magic.columns) == list(by_api.columns)
    assert seen == {"r1": 2, "r2": 2}  # each responder answered each request once


@pytest.fixture
def calc(peer):
    """Two instances of a nats.micro service on the peer; their own statistics are the independent count."""
    name = tag("pcalc_")

    async def start():
        async def add(req):
            a = json.loads(req.data)
            await req.respond(json.dumps(a["a"] + a["b"]).encode())
        out = []
        for _ in range(2):
            svc = await micro.add_service(peer.nc, name=name, version="2.0.0", description="adds")
            await svc.add_endpoint(name="add", subject=f"{name}.add", handler=add)
            out.append(svc)
        await peer.nc.flush()
        return out

    services = peer.call(start)
    yield name, services

    async def stop():
        for svc in services:
            await svc.stop()
    peer.call(stop)


def test_svc_magic_and_api_agree_with_the_services_own_counts(shell, ctx, calc):
    name, services = calc
    for _ in range(4):
        assert ctx.run(jsmagic.nats.request(f"{name}.add", '{"a": 1, "b": 2}')).data[0] == 3
    ids = sorted(svc.id for svc in services)
    for verb in ("ls", "info", "stats"):
        by_magic = shell.run_line_magic("js_svc", f"{verb} {name} --timeout 2s")
        by_api = ctx.run(getattr(jsmagic.micro, verb)(name, timeout="2s"))
        order = ["id", "endpoint"] if "endpoint" in by_api else ["id"]
        pd.testing.assert_frame_equal(by_magic.sort_values(order).reset_index(drop=True),
                                      pd.DataFrame(by_api).sort_values(order).reset_index(drop=True))
        assert sorted(by_api.id) == ids
        assert by_magic.summary.startswith(by_api.attrs["notes"][0])  # "2 answers within 2s" first
    own = {svc.id: svc.stats().endpoints[0].num_requests for svc in services}
    assert dict(zip(by_api.id, by_api.num_requests)) == own and sum(own.values()) == 4
    ping = shell.run_line_magic("js_svc", f"ping {name} --timeout 2s")
    assert sorted(ping.id) == sorted(ctx.run(jsmagic.micro.ping(name, timeout="2s")).id) == ids


def test_trace_magic_and_api_report_the_same_path_and_the_stream_stores_alike(shell, ctx, peer):
    s = tag("ptr")
    stream = s.upper()
    shell.run_line_magic("js_stream", f"add {stream} --subjects '{s}.>'")
    got = peer.listen(f"{s}.x")

    def messages() -> int:
        return peer.call(lambda: peer.nc.jetstream().stream_info(stream)).state.messages

    hops = ["server", "event", "kind", "subject", "stream", "error"]
    by_magic = shell.run_line_magic("js_trace", f"{s}.x hi --trace-only")
    by_api = ctx.run(jsmagic.trace(f"{s}.x", "hi", trace_only=True))
    pd.testing.assert_frame_equal(by_magic.df[hops].reset_index(drop=True), by_api.hops[hops].reset_index(drop=True))
    assert messages() == 0 and got == []  # trace only: nothing stored, nothing delivered
    assert by_api.trace_only and by_api.delivered_to == 1 and set(by_api.hops.event) >= {"ingress", "jetstream", "egress"}
    by_magic = shell.run_line_magic("js_trace", f"{s}.x hi -H k:v")
    by_api = ctx.run(jsmagic.trace(f"{s}.x", "hi", headers={"k": "v"}))
    pd.testing.assert_frame_equal(by_magic.df[hops].reset_index(drop=True), by_api.hops[hops].reset_index(drop=True))
    wait_until(lambda: len(got) == 2, what="both traced messages at the plain subscriber")
    assert messages() == 2 and by_api.stored_in == [stream] and [m.data for m in got] == [b"hi", b"hi"]
    assert all(m.headers and m.headers.get("k") == "v" for m in got)


def pump(ctx, predicate, what: str, timeout: float = 30.0):
    """Let the shell's loop run (a live view reads only while it does) until ``predicate()``."""
    wait_until(lambda: ctx.run(asyncio.sleep(0.05)) or predicate(), timeout=timeout, what=what)


def test_live_sub_and_events_views_see_what_the_api_and_plain_clients_see(shell, ctx, peer):
    s = tag("plive.")
    stream = tag("PEV").upper()
    view = shell.run_line_magic("js_sub", f"'{s}.>'")
    live = jsmagic.nats.subscribe(f"{s}.>", count=4)
    ev_view = shell.run_line_magic("js_events", f"--kinds stream -s {stream}")
    ev_live = jsmagic.events(kinds="stream", stream=stream)
    plain = peer.listen(f"$JS.EVENT.ADVISORY.STREAM.*.{stream}")
    try:
        ctx.run(live.start())
        ctx.run(ev_live.start())

        async def provoke():
            for i in range(4):
                await peer.nc.publish(f"{s}.k{i}", json.dumps({"i": i}).encode())
            js = peer.nc.jetstream()
            await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
            await js.delete_stream(stream)
            await peer.nc.flush()

        peer.call(provoke)

        async def take(it, n):
            return [await asyncio.wait_for(it.__anext__(), 30) for _ in range(n)]

        msgs = ctx.run(take(live, 4))
        wait_until(lambda: len(plain) == 2, what="2 stream advisories at the plain subscriber")
        events = ctx.run(take(ev_live, 2))
        pump(ctx, lambda: len(view.df) == 4 and len(ev_view.df) == 2, "both live views")
    finally:
        view.stop()
        ev_view.stop()
        ctx.run(live.aclose())
        ctx.run(ev_live.aclose())
    assert [m.data for m in msgs] == list(view.df.data) == [{"i": i} for i in range(4)]
    assert [m.subject for m in msgs] == list(view.df.subject) == [f"{s}.k{i}" for i in range(4)]
    kinds = ["stream.created", "stream.deleted"]
    assert [e.kind for e in events] == list(ev_view.df.kind) == kinds
    assert [e.advisory["type"] for e in events] == list(ev_view.df.advisory.map(lambda a: a["type"])) \
        == [json.loads(m.data)["type"] for m in plain]
