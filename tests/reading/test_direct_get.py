"""Batched direct gets (the WorkQueue/Interest read path): byte limits, gaps re-read, old servers.

A message lost on the way (nats-py drops what a subscription cannot hold, as a slow
consumer) used to be skipped for good: the cursor jumped to the last sequence received
plus one.  Each message's ``Nats-Last-Sequence`` names the one sent before it, so a gap
shows, and the read goes on from it.  Here the reply subscription is made small on
purpose (``SUB_PENDING_BYTES``) so that nats-py really drops messages.
"""

from __future__ import annotations

import uuid

import pytest

from jsmagic.core.registry import context
from jsmagic.reading import get


@pytest.fixture
def wq(nc):
    client, js, run = nc
    name = f"DG{uuid.uuid4().hex[:6].upper()}"
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"], retention="workqueue", allow_direct=True))
    for i in range(60):
        run(js.publish(f"{name.lower()}.x", b'{"i":%d,"pad":"%s"}' % (i, b"x" * 20_000)))
    yield name
    run(js.delete_stream(name))


def test_messages_dropped_on_the_way_are_read_again_not_skipped(shell, wq, nc, monkeypatch):
    monkeypatch.setattr(get, "SUB_PENDING_BYTES", 50_000)  # holds two messages: a batch of 60 overflows it
    df = shell.run_line_magic("js_consume", wq)
    assert df["i"].tolist() == list(range(60)) and df["seq"].tolist() == list(range(1, 61))
    client, js, run = nc
    assert run(js.stream_info(wq)).state.messages == 60  # still a read without a consumer


def test_a_batch_asks_for_a_byte_limit(shell, wq, monkeypatch):
    monkeypatch.setattr(get, "MAX_BATCH_BYTES", 100_000)  # about 5 messages a batch
    assert shell.run_line_magic("js_consume", wq)["i"].tolist() == list(range(60))


def test_before_2_11_the_stream_is_read_by_msg_get(shell, wq, monkeypatch):
    assert not get.batched_direct_get("2.10.24") and get.batched_direct_get("2.11.0")
    assert get.batched_direct_get("v2.15.1") and get.batched_direct_get(None)
    monkeypatch.setitem(context().info, "version", "2.10.24")  # what an older server says in its greeting
    df = shell.run_line_magic("js_consume", f"{wq} -n 7")
    assert df["i"].tolist() == list(range(7))
