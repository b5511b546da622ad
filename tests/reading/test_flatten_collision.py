"""``--flatten``: a top-level ``ttl`` and a nested ``data.ttl`` keep their own columns in every chunk.

``ttl`` is a generated column (beside ``Nats-TTL``), so a payload's top-level ``ttl`` is the
column ``data.ttl``; ``--flatten`` also names a nested ``{"data": {"ttl": …}}`` ``data.ttl``.
The second one used to become ``_data.ttl`` only in the chunks where both occurred, so the
top-level value moved between columns mid-read.  Here the nested key appears only in the later
chunks of a read in chunks of 20, and the frame, ``--to`` Parquet and ``--as arrow`` are
compared with the payloads as plain nats-py and json read them.
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid

import pyarrow.parquet as pq
import pytest
from nats.js.api import StreamConfig

N = 200


def _body(i: int) -> dict:
    body = {"ttl": i, "v": i}
    if i > 130:  # the nested key, in the later chunks only
        body["data"] = {"ttl": -i}
    return body


@pytest.fixture
def stream(server):
    import nats

    name = f"FLT{uuid.uuid4().hex[:8].upper()}"

    async def fill():
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"]))
        for i in range(1, N + 1):
            await js.publish(f"{name}.a", json.dumps(_body(i)).encode())
        await nc.close()

    asyncio.run(fill())
    return name


def truth(url: str, name: str) -> dict[int, tuple]:
    """seq → (top-level ttl, nested data.ttl or None), as plain nats-py and json read the stored payloads."""
    import nats

    async def read():
        nc = await nats.connect(url)
        js = nc.jetstream()
        out = {}
        for seq in range(1, N + 1):
            body = json.loads((await js.get_msg(name, seq)).data)
            out[seq] = (body["ttl"], (body.get("data") or {}).get("ttl"))
        await nc.close()
        return out

    return asyncio.run(read())


def _plain(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)


def pairs(columns: dict[str, list]) -> dict[int, tuple]:
    return {int(s): (_plain(a), _plain(b)) for s, a, b in zip(columns["seq"], columns["data.ttl"], columns["_data.ttl"])}


def test_top_level_and_nested_ttl_keep_their_columns_on_every_path(shell, server, stream, tmp_path):
    want = truth(server.url, stream)
    assert sum(b is not None for _, b in want.values()) == N - 130  # the collision: only in the later chunks
    line = f"{stream} --batch 20 --flatten"
    df = shell.run_line_magic("js_consume", line)
    assert pairs({c: df[c].tolist() for c in ("seq", "data.ttl", "_data.ttl")}) == want, "frame"
    path = tmp_path / "out.parquet"
    shell.run_line_magic("js_consume", f"{line} --to {path}")
    assert pairs(pq.read_table(path).to_pydict()) == want, "--to parquet"
    table = shell.run_line_magic("js_consume", f"{line} --as arrow")
    assert pairs(table.to_pydict()) == want, "--as arrow"
    assert table.column_names == list(df.columns)
