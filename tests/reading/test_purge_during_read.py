"""A stream purged while it is read: the read says SHORT on its first line, or fails (magics, API alike).

The purge is sent by plain nats-py, on its own connection and thread, at the moment the
read keeps its first chunk (a wrapper around the collector's ``add``: the read is held
there until the server answered the purge, so the timing is the same under any load).
Before the check lived in the engine, the magic's frame came back with a third of the rows
and only a "resumed" note, and ``jsmagic.replay`` returned it with a warning; only the
``jsmagic`` command counted the selection and exited 3.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

import nats
import pyarrow.parquet as pq
import pytest
from nats.js.api import StreamConfig

import jsmagic
from jsmagic.core import registry
from jsmagic.core.errors import IncompleteError
from jsmagic.reading import frames

N = 3000


def _fill(url: str) -> str:
    name = f"PURGED{uuid.uuid4().hex[:8].upper()}"

    async def fill():
        nc = await nats.connect(url)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"]))
        acks = [await js.publish_async(f"{name}.x", b'{"i": %d}' % i) for i in range(N)]
        await asyncio.gather(*acks)
        await nc.close()

    asyncio.run(fill())
    return name


def _purge(url: str, stream: str) -> int:
    """Purge ``stream`` from plain nats-py on a thread of its own; how many messages the server removed."""
    out: list[int] = []

    async def purge():
        nc = await nats.connect(url)
        out.append(await nc.jetstream().purge_stream(stream))
        await nc.close()

    t = threading.Thread(target=lambda: asyncio.run(purge()))
    t.start()
    t.join(60)
    return out[0] if out else -1


@pytest.fixture
def purge_at_first_chunk(server, monkeypatch):
    """A fresh stream of N messages, purged by plain nats-py when the read keeps its first chunk."""
    name = _fill(server.url)
    purged: list[int] = []
    add = frames.Collector.add

    def add_then_purge(self, chunk):
        if not purged and len(chunk):
            purged.append(_purge(server.url, name))
        return add(self, chunk)

    monkeypatch.setattr(frames.Collector, "add", add_then_purge)
    yield name, purged


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk reader", "nats-py reader"])
def test_the_magic_says_short_first(shell, purge_at_first_chunk, bulk):
    name, purged = purge_at_first_chunk
    shell.run_line_magic("config", f"JSMagic.bulk_replay = {bulk}")
    try:
        df = shell.run_line_magic("js_consume", f"{name} --batch 100")
    finally:
        shell.run_line_magic("config", "JSMagic.bulk_replay = True")
    assert purged and 0 < purged[0] < N  # the purge came mid-read and removed what was not read yet
    assert 0 < len(df) < N
    assert df.summary.startswith(f"SHORT: {N - len(df):,} of the {N:,} messages"), df.summary
    assert "purged" in df.summary.split(";")[0]


def test_the_api_raises_with_what_arrived(shell, purge_at_first_chunk):
    name, purged = purge_at_first_chunk
    ctx = registry.context()
    with pytest.raises(IncompleteError, match=r"came back short .*SHORT: [\d,]+ of the 3,000 messages") as e:
        ctx.run(jsmagic.replay(name, batch=100, ctx=ctx))
    assert purged and 0 < len(e.value.frame) < N


def test_an_export_says_short_first(shell, purge_at_first_chunk, tmp_path):
    name, purged = purge_at_first_chunk
    path = tmp_path / "out.parquet"
    out = shell.run_line_magic("js_consume", f"{name} --batch 100 --to {path}")
    rows = pq.read_metadata(path).num_rows  # what arrived is kept, in a valid file
    assert purged and 0 < rows < N and out.rows == rows
    assert out.summary.startswith(f"SHORT: {N - rows:,} of the {N:,} messages"), out.summary


def test_a_read_nothing_removed_from_is_not_short(shell, server):
    """The count is the server's, taken before the read: a whole read has no SHORT note."""
    name = _fill(server.url)
    df = shell.run_line_magic("js_consume", f"{name} --batch 100")
    assert len(df) == N and "SHORT" not in df.summary
