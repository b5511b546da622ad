"""``jsmagic.events`` and ``jsmagic.nats.subscribe`` are async iterators that stop cleanly.

What they yield is compared with what plain nats-py did (a consumer it created, messages it
published); that they stopped is read from the server itself: its monitoring endpoint
(``/connz?subs=1``) lists our connection's subscriptions, and the subject is gone from it
once the loop is left by a cancel or a ``break``.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import nats
import pytest
from nats.js.api import ConsumerConfig

import jsmagic
from jsmagic.testing import monitored_server

NAME = "api-live-core"


@pytest.fixture(scope="module")
def mserver():
    with monitored_server() as s:
        yield s


def subscriptions(server) -> list[str]:
    """Our connection's subscriptions, as the server lists them."""
    with urllib.request.urlopen(f"{server.monitor}/connz?subs=1", timeout=10) as r:
        conns = json.load(r)["connections"] or []
    return sorted(s for c in conns if c.get("name") == NAME for s in c.get("subscriptions_list") or [])


async def until(what, check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def subscribed(server, subject: str, present: bool = True) -> bool:
    return (subject in await asyncio.to_thread(subscriptions, server)) is present


def session(server, body):
    async def main():
        ctx = await jsmagic.connect(server.url, alias="livecore", name=NAME)
        nc = await nats.connect(server.url)
        try:
            return await body(ctx, nc)
        finally:
            await nc.close()
            await jsmagic.close(ctx=ctx)

    return asyncio.run(main())


def test_events_yield_the_advisories_and_a_cancel_unsubscribes(mserver):
    async def body(ctx, nc):
        js = nc.jetstream()
        await js.add_stream(name="EVLIVE", subjects=["evlive.>"])
        seen = []

        async def watch():
            async for event in jsmagic.events(kinds="consumer", stream="EVLIVE", ctx="livecore"):
                seen.append(event)

        task = asyncio.ensure_future(watch())
        await until("the advisory subscription", lambda: subscribed(mserver, "$JS.EVENT.ADVISORY.>"))
        await js.add_consumer("EVLIVE", ConsumerConfig(durable_name="billing"))
        await js.delete_consumer("EVLIVE", "billing")
        await until("two advisories", lambda: asyncio.sleep(0, len(seen) >= 2))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until("the subscription to end", lambda: subscribed(mserver, "$JS.EVENT.ADVISORY.>", present=False))
        await js.delete_stream("EVLIVE")
        return [(e.kind, e.stream, e.consumer) for e in seen[:2]], seen[0].advisory["consumer"]

    kinds, named = session(mserver, body)
    assert kinds == [("consumer.created", "EVLIVE", "billing"), ("consumer.deleted", "EVLIVE", "billing")]
    assert named == "billing"


def test_a_subscribe_left_by_break_unsubscribes(mserver):
    async def body(ctx, nc):
        got = []
        async with jsmagic.nats.subscribe("corelive.>", ctx="livecore") as msgs:
            await until("the subscription", lambda: subscribed(mserver, "corelive.>"))
            for i in range(5):
                await nc.publish(f"corelive.{i}", json.dumps({"i": i}).encode(), headers={"k": str(i)})
            async for m in msgs:
                got.append((m.subject, m.data, m.headers))
                if len(got) == 3:
                    break
        await until("the subscription to end", lambda: subscribed(mserver, "corelive.>", present=False))
        return got

    assert session(mserver, body) == [(f"corelive.{i}", {"i": i}, {"k": str(i)}) for i in range(3)]
