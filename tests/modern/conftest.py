"""Fixtures for the server 2.11/2.12 features: a unique name, raw API calls through the independent client."""

import json
import uuid

import pytest


@pytest.fixture
def name():
    return "M" + uuid.uuid4().hex[:8].upper()


def raw(nc, suffix, body=None):
    """One JetStream API request with the independent client; the answer as a dict."""
    client, _js, run = nc
    msg = run(client.request("$JS.API." + suffix, json.dumps(body).encode() if body is not None else b"", timeout=5))
    return json.loads(msg.data)


def stored(nc, stream):
    """How many messages ``stream`` holds, as the server says."""
    return raw(nc, f"STREAM.INFO.{stream}")["state"]["messages"]


def wait_for(predicate, timeout=15.0):
    """Poll ``predicate`` for up to ``timeout`` s while the shell's connection loop runs (watches are fed by it)."""
    import asyncio
    import time

    from jsmagic.core.registry import context

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        context().run(asyncio.sleep(0.1))
    return False
