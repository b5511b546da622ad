"""Core NATS from a shell: %js_pub, %js_sub -n, %js_req (scatter-gather), checked by a plain nats-py peer."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from jsmagic.core.errors import InputError, NotFoundError, TimeoutError as JSTimeout

from .peers import Peer, wait_until


@pytest.fixture
def peer(server):
    p = Peer(server.url)
    yield p
    p.close()


def subj(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:8]}"


def test_pub_reaches_a_plain_subscriber_with_headers_and_templates(shell, peer):
    s = subj("greet")
    got = []

    async def sub():
        async def cb(m):
            got.append(m)
        return await peer.nc.subscribe(f"{s}.*", cb=cb)

    peer.call(sub)
    peer.call(peer.nc.flush)
    shell.run_line_magic("js_pub", f"{s}.joe 'n={{{{Count}}}}' --count 3 -H source:lab")
    wait_until(lambda: len(got) == 3, what="3 messages")
    assert [m.data for m in got] == [b"n=1", b"n=2", b"n=3"]
    assert all(m.subject == f"{s}.joe" and m.headers == {"source": "lab"} for m in got)
    shell.run_cell_magic("js_pub", f"{s}.cell", '{"id": 7}\n')
    wait_until(lambda: len(got) == 4, what="the cell's message")
    assert got[-1].data == b'{"id": 7}'


def test_pub_refuses_wildcards_and_leaves_nothing(shell):
    with pytest.raises(InputError, match="wildcard"):
        shell.run_line_magic("js_pub", "orders.* x")


def test_sub_n_collects_what_a_plain_client_publishes(shell, peer):
    s = subj("sensors")

    async def publisher():
        n = 0
        while n < 400:  # until the test has its messages (the subscription may start late under load)
            n += 1
            await peer.nc.publish(f"{s}.t1", json.dumps({"n": n}).encode(), headers={"unit": "C"})
            await asyncio.sleep(0.05)

    fut = peer.start(publisher)
    try:
        df = shell.run_line_magic("js_sub", f"'{s}.*' -n 3 --timeout 20s")
    finally:
        fut.cancel()
    assert len(df) == 3 and list(df.subject) == [f"{s}.t1"] * 3
    ns = [d["n"] for d in df.data]
    assert ns == list(range(ns[0], ns[0] + 3))  # consecutive: nothing skipped, decoded JSON
    assert all(h == {"unit": "C"} for h in df.headers)
    assert df.time.is_monotonic_increasing


def test_sub_short_read_says_so_first(shell):
    s = subj("quiet")
    df = shell.run_line_magic("js_sub", f"{s} -n 5 --timeout 0.5s")
    assert len(df) == 0
    assert df.summary.startswith("only 0 messages of 5 arrived")


def test_request_one_reply_with_latency_and_headers(shell, peer):
    s = subj("calc")

    async def responder():
        async def cb(m):
            a = json.loads(m.data)
            await m.respond(json.dumps({"sum": a["a"] + a["b"], "trace": m.headers.get("trace")}).encode())
        return await peer.nc.subscribe(s, cb=cb)

    peer.call(responder)
    peer.call(peer.nc.flush)
    df = shell.run_line_magic("js_req", f"""{s} '{{"a": 1, "b": 2}}' -H trace:abc""")
    assert len(df) == 1 and df.data[0] == {"sum": 3, "trace": "abc"}
    assert 0 < df.latency_ms[0] < 20_000
    assert df.summary.startswith("1 reply")


def test_scatter_gather_replies_and_short_note(shell, peer):
    s = subj("census")

    async def members():
        for i in range(3):
            async def cb(m, i=i):
                await m.respond(f"member-{i}".encode())
            await peer.nc.subscribe(s, cb=cb)

    peer.call(members)
    peer.call(peer.nc.flush)
    df = shell.run_line_magic("js_req", f"{s} hi --replies 3 --timeout 20s")
    assert sorted(df.data) == ["member-0", "member-1", "member-2"]
    df = shell.run_line_magic("js_req", f"{s} hi --replies 0 --timeout 1s")
    assert sorted(df.data) == ["member-0", "member-1", "member-2"]
    df = shell.run_line_magic("js_req", f"{s} hi --replies 5 --timeout 1s")
    assert len(df) == 3 and df.summary.startswith("only 3 of 5 replies arrived within 1s")


def test_request_nobody_answers_is_an_error(shell, peer):
    with pytest.raises(NotFoundError, match="no responders"):
        shell.run_line_magic("js_req", f"{subj('nobody')} hi --timeout 5s")
    s = subj("silent")

    async def silent():
        async def cb(m):
            return None  # receives, never answers
        return await peer.nc.subscribe(s, cb=cb)

    peer.call(silent)
    peer.call(peer.nc.flush)
    with pytest.raises(JSTimeout, match="no reply"):
        shell.run_line_magic("js_req", f"{s} hi --timeout 0.5s")


def test_subscription_says_reconnecting_and_resumes_after_a_server_restart(fresh_server):
    import nats as nats_py

    from jsmagic.connecting.options import resolve
    from jsmagic.core.context import JSContext
    from jsmagic.corenats.subscriber import Subscriber

    async def go():
        ctx = JSContext("restart-sub")
        await ctx.connect(resolve({"servers": [fresh_server.url]}))
        statuses = []
        sub = await Subscriber("rs.>", on_status=lambda s, n: statuses.append(s), ctx=ctx).start()

        async def send(data):
            plain = await nats_py.connect(fresh_server.url)
            await plain.publish("rs.x", data)
            await plain.flush()
            await plain.close()

        async def until(cond, what, timeout=30):
            deadline = asyncio.get_running_loop().time() + timeout
            while not cond():
                assert asyncio.get_running_loop().time() < deadline, what
                await asyncio.sleep(0.05)

        await send(b"before")
        await until(lambda: sub.count == 1, "first message")
        await asyncio.get_running_loop().run_in_executor(None, lambda: fresh_server.restart(downtime=1.0))
        await until(lambda: "reconnecting" in statuses and ctx.state == "connected", "reconnected")
        await until(lambda: sub.status == "live", "live again")
        for _ in range(100):  # the resubscription reaches the new server a moment after the reconnect
            await send(b"after")
            if sub.count > 1:
                break
            await asyncio.sleep(0.1)
        await until(lambda: sub.count > 1, "a message after the restart")
        sub.stop()
        await until(lambda: not sub.running, "stopped")
        data = list(sub.df.data)
        await ctx.close()
        return statuses, data

    statuses, data = asyncio.run(go())
    assert statuses[0] == "reconnecting" and statuses[-1] == "stopped" and "live" in statuses
    assert data[0] == "before" and data[1] == "after"
