"""A bounded bulk read asks the server for its range, not the rest of the stream.

``--end-seq`` and every Dask partition but the last read a range that ends before the
stream does.  The bulk reader asks for what its consumer has pending, two pulls of up to
8 MiB in flight: without a cap the server sent the whole stream's tail after the range,
and a Dask partition shrank its pulls to a few thousand messages (a round trip each) to
keep that waste small.  Counted from outside: the server's own count of the messages it
sent on the bulk connection (``/connz?state=closed``).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid

import nats
import pytest

import jsmagic.testing as jt
from jsmagic.testing import fill_stream, monitored_server

N = 40_000


@pytest.fixture(scope="module")
def monitored():
    with monitored_server() as s:
        yield s


def bulk_out_msgs(server) -> list[int]:
    """Messages the server sent on each closed bulk connection of jsmagic, in the order they closed."""
    with urllib.request.urlopen(f"{server.monitor}/connz?state=closed&limit=1024", timeout=5) as r:
        connz = json.load(r)
    return [c["out_msgs"] for c in connz.get("connections") or [] if c.get("name") == "jsmagic bulk"]


def eventually(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_an_end_seq_read_gets_its_range_from_the_server_not_the_stream(monitored):
    name = f"R{uuid.uuid4().hex[:8].upper()}"

    async def fill():
        nc = await nats.connect(monitored.url)
        await nc.jetstream().add_stream(name=name, subjects=[f"{name}.>"])
        await fill_stream(nc, name, N, lambda k: f"{name}.{k % 3}")
        await nc.close()

    asyncio.run(fill())
    sh = jt.testing_shell(probe_local=False)
    try:
        sh.run_line_magic("js_connect", monitored.url)
        before = len(bulk_out_msgs(monitored))
        df = sh.run_line_magic("js_consume", f"{name} --start-seq 1001 --end-seq 2000")
        assert df["seq"].tolist() == list(range(1001, 2001))
        assert df["i"].tolist() == list(range(1000, 2000))
        sent = eventually(lambda: bulk_out_msgs(monitored)[before:])
        assert len(sent) == 1, sent  # one bulk connection, no resume
        # the range and the statuses that end its pulls; not the 38,000 messages after it
        assert 1000 <= sent[0] <= 1010, f"the server sent {sent[0]:,} messages for a range of 1,000"
    finally:
        sh.run_line_magic("unload_ext", "jsmagic")
