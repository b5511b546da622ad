"""Interop: ``%js_req`` answered by a nats.js responder and by a FastStream responder; ``%js_sub`` sees what they publish."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid

import pytest

from .peers import Peer

NODE_DIR = os.path.join(os.path.dirname(__file__), "node")


def node_peer_ready() -> str | None:
    """None when the nats.js peer can run (installing its package once from the npm registry), else why not."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node/npm not installed"
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "nats")):
        done = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True,
                              text=True, timeout=300)
        if done.returncode:
            return f"npm install failed: {done.stderr.strip()[-300:]}"
    return None


@pytest.fixture
def nodejs(server):
    why = node_peer_ready()
    if why:
        pytest.skip(why)
    prefix = f"js{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen(["node", "peer.mjs", server.url, prefix], cwd=NODE_DIR, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "ready", f"nats.js peer did not start: {line!r} {proc.stderr.read()[-500:]}"
        yield prefix
    finally:
        proc.stdin.close()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_request_answered_by_nats_js_and_sub_sees_its_messages(shell, nodejs):
    df = shell.run_line_magic("js_req", f"{nodejs}.req hello -H trace:t1 --timeout 20s")
    assert df.data[0] == {"from": "nats.js", "got": "hello", "trace": "t1"}
    assert df.headers[0] == {"Peer": "nats.js"} and df.latency_ms[0] > 0
    got = shell.run_line_magic("js_sub", f"{nodejs}.pub -n 4 --timeout 20s")
    assert len(got) == 4 and all(h == {"Peer": "nats.js"} for h in got.headers)
    ns = [d["n"] for d in got.data]
    assert ns == list(range(ns[0], ns[0] + 4))


@pytest.fixture
def faststream(server):
    from faststream.nats import NatsBroker

    prefix = f"fs{uuid.uuid4().hex[:8]}"
    peer = Peer(server.url)
    broker = NatsBroker(server.url)

    @broker.subscriber(f"{prefix}.req")
    async def answer(body: dict) -> dict:
        return {"from": "faststream", "sum": body["a"] + body["b"]}

    async def start():
        await broker.start()

    async def publisher():
        n = 0
        while True:
            n += 1
            await broker.publish({"n": n}, f"{prefix}.pub", headers={"Peer": "faststream"})
            await asyncio.sleep(0.05)

    peer.call(start)
    pub = peer.start(publisher)
    yield prefix
    pub.cancel()
    peer.call(broker.stop)
    peer.close()


def test_request_answered_by_faststream_and_sub_sees_its_messages(shell, faststream):
    df = shell.run_line_magic("js_req", f"""{faststream}.req '{{"a": 20, "b": 22}}' --timeout 20s""")
    assert df.data[0] == {"from": "faststream", "sum": 42}
    got = shell.run_line_magic("js_sub", f"'{faststream}.>' -n 3 --timeout 20s")
    assert len(got) == 3 and set(got.subject) == {f"{faststream}.pub"}
    assert all(h.get("Peer") == "faststream" for h in got.headers)
    ns = [d["n"] for d in got.data]
    assert ns == list(range(ns[0], ns[0] + 3))
