"""``%js_sub`` live in a real kernel: rows arrive while the kernel is idle, a queue group splits the work,
and stopping (button, ``.stop()``, ``%js_close``) leaves a static snapshot in the notebook."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from jsmagic.testing import KernelSession

from .peers import Peer, wait_until


@pytest.fixture(scope="module")
def jk(server, tmp_path_factory):
    with KernelSession.isolated(tmp_path_factory.mktemp("livesub")) as k:
        k.run(f"%load_ext jsmagic\n%js_connect {server.url}")
        yield k


@pytest.fixture
def peer(server):
    p = Peer(server.url)
    yield p
    p.close()


def kernel_wait(kernel, expr, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kernel.value(expr):
            return
        kernel.drain_iopub(0.2)
    raise AssertionError(f"never true: {expr}")


def test_live_sub_rows_while_idle_then_snapshot(jk, peer):
    s = f"live.{uuid.uuid4().hex[:8]}"
    res = jk.run(f"w = %js_sub '{s}.>'")
    assert any("application/vnd.jupyter.widget-view+json" in d for d in res.data)

    async def send():
        for i in range(30):
            await peer.nc.publish(f"{s}.k{i % 3}", json.dumps({"i": i}).encode(), headers={"src": "peer"})
        await peer.nc.flush()

    peer.call(send)
    kernel_wait(jk, "len(w.df) == 30")
    assert jk.value("[d['i'] for d in w.df.data]") == list(range(30))
    assert jk.value("w.df.headers.tolist()") == [{"src": "peer"}] * 30
    assert f"sub {s}.>" in jk.run("%js_status").all_text
    stopped = jk.run("w.stop()")
    updates = [m["content"] for m in stopped.messages if m["msg_type"] == "update_display_data"]
    final = updates[-1]["data"]
    assert "application/vnd.jupyter.widget-view+json" not in final  # static: no "model not found" when saved
    assert "stopped" in final["text/html"] and f"{s}.k2" in final["text/html"] and "{&quot;i&quot;:29}" in final["text/html"]
    kernel_wait(jk, "not w.running")

    # after the stop nothing more arrives: a plain subscriber proves the messages were sent
    seen = []

    async def watch_and_send():
        async def cb(m):
            seen.append(m)
        await peer.nc.subscribe(f"{s}.>", cb=cb)
        await peer.nc.publish(f"{s}.late", b"x")
        await peer.nc.flush()

    peer.call(watch_and_send)
    wait_until(lambda: seen, what="the late message at the plain subscriber")
    jk.drain_iopub(0.5)
    assert jk.value("len(w.df)") == 30


def test_queue_group_splits_messages_and_close_stops(jk, peer):
    s = f"work.{uuid.uuid4().hex[:8]}"
    jk.run(f"q = %js_sub {s} --queue workers")
    theirs = []

    async def member_and_send():
        async def cb(m):
            theirs.append(m.data)
        await peer.nc.subscribe(s, queue="workers", cb=cb)
        await peer.nc.flush()
        for i in range(200):
            await peer.nc.publish(s, str(i).encode())
        await peer.nc.flush()

    peer.call(member_and_send)
    mine_count = lambda: jk.value("len(q.df)")  # noqa: E731
    wait_until(lambda: mine_count() + len(theirs) == 200, timeout=30, what="200 messages split between members")
    mine = jk.value("[int(d) for d in q.df.data]")
    assert mine and theirs  # both members got work (each message went to exactly one)
    assert sorted(mine + [int(d) for d in theirs]) == list(range(200))
    out = jk.run("%js_close").stdout
    assert re.search(r"\b\d+ background tasks? stopped", out), out
    assert jk.value("(q.running, q.table.status)") == [False, "stopped"]
