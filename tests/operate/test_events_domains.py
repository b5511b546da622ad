"""The streams jsmagic creates for itself land on the JetStream the user reaches: a leaf's ``--domain hub``,
an account's ``--api-prefix``.

``%js_events --capture`` and ``%js_consumer dead --capture`` create their stream through the one
stream creator (admin/streams.add_stream, STREAM.CREATE through the connection's API prefix).
Each stream is checked on the server that owns the JetStream, with plain nats-py, and shown to
keep what it was made for.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import nats
import nats.js.api
import pytest

from jsmagic.testing import connected_shell
from jsmagic.testing.topology import hub_and_leaf, imported_jetstream

ADVISORIES = "$JS.EVENT.ADVISORY.>"


@pytest.fixture(scope="module", params=["domain", "prefix"])
def topo(request):
    """(how the user connects, a URL of the server that owns the JetStream)."""
    if request.param == "domain":
        with hub_and_leaf() as t:
            yield t.leaf.url + " --domain hub", t.hub.url
    else:
        with imported_jetstream() as t:
            yield t.app_url + " --api-prefix JS.API --inbox-prefix _INBOX_APP", t.js_url


def owner(url: str, fn):
    """``fn(js)`` run on the owning server with plain nats-py."""
    async def go():
        nc = await nats.connect(url)
        try:
            return await fn(nc.jetstream())
        finally:
            await nc.close()

    return asyncio.run(go())


def wait_for(what: str, check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.2)


def test_events_capture_is_made_on_the_remote_jetstream_and_keeps_its_advisories(topo):
    where, url = topo
    name = f"ADV_{uuid.uuid4().hex[:6]}"
    with connected_shell(where) as sh:
        ev = sh.run_line_magic("js_events", f"--capture {name}")
        ev.stop()
        assert "advisories" in repr(ev) and "advisorys" not in repr(ev)  # "<EventsView 0 advisories, stopped>"
        info = owner(url, lambda js: js.stream_info(name))
        assert info.config.subjects == [ADVISORIES]
        assert "%js_events --capture" in (info.config.description or "")
        # an advisory caused on the owning server is kept there
        owner(url, lambda js: js.add_stream(name=f"S{name}", subjects=[f"s.{name}"]))
        wait_for(f"{name} keeps an advisory", lambda: owner(url, lambda js: js.stream_info(name)).state.messages > 0)
        ev = sh.run_line_magic("js_events", f"--capture {name}")  # found again through the prefix: used as is
        ev.stop()
    assert owner(url, lambda js: js.stream_info(name)).config.subjects == [ADVISORIES]
    owner(url, lambda js: js.delete_stream(name))  # a stream of every advisory would overlap the dead-letter capture below


def test_dead_letter_capture_is_made_on_the_remote_jetstream(topo):
    where, url = topo
    stream = f"D{uuid.uuid4().hex[:6].upper()}"

    async def setup(js):
        await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
        await js.add_consumer(stream, durable_name="w", ack_policy=nats.js.api.AckPolicy.EXPLICIT, max_deliver=1)

    owner(url, setup)
    with connected_shell(where) as sh:
        sh.run_line_magic("js_consumer", f"dead {stream} w --capture")
    info = owner(url, lambda js: js.stream_info(f"DEAD_{stream}_w"))
    assert sorted(info.config.subjects) == sorted([f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.w",
                                                   f"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{stream}.w"])
    assert info.config.max_msgs == 10_000
