"""``seq`` has one dtype in every result of a read: uint64, the server's type for stream sequences.

The frame, ``--to`` Parquet (as pyarrow reads the file back), ``--as arrow``, ``--as polars``
and Dask partitions are compared with the sequences plain nats-py reads, and with each other.
"""

from __future__ import annotations

import asyncio
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from nats.js.api import StreamConfig

N = 300


@pytest.fixture(scope="module")
def stream(server):
    """N messages with two interior deletes (the sequences are not 1..N)."""
    import nats

    name = f"SEQ{uuid.uuid4().hex[:8].upper()}"

    async def fill():
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"]))
        acks = [await js.publish_async(f"{name}.a", b'{"n": %d}' % i) for i in range(N)]
        await asyncio.gather(*acks)
        for seq in (7, 150):
            await js.delete_msg(name, seq)
        await nc.close()

    asyncio.run(fill())
    return name


@pytest.fixture(scope="module")
def plain_seqs(server, stream):
    """The stream sequences as plain nats-py reads them."""
    import nats

    async def read():
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        sub = await js.pull_subscribe(f"{stream}.>", durable=None, stream=stream)
        out = []
        while len(out) < N - 2:
            for m in await sub.fetch(100, timeout=5):
                out.append(m.metadata.sequence.stream)
                await m.ack()
        await sub.unsubscribe()
        await nc.close()
        return out

    return asyncio.run(read())


def test_the_frame_holds_seq_as_uint64(shell, stream, plain_seqs):
    df = shell.run_line_magic("js_consume", f"{stream} --batch 50")
    assert df["seq"].dtype == np.uint64
    assert df["seq"].tolist() == plain_seqs


def test_parquet_holds_seq_as_the_frame_does(shell, stream, plain_seqs, tmp_path):
    for more in ("", "--batch 50"):  # one row group, several
        path = tmp_path / f"out{len(more)}.parquet"
        shell.run_line_magic("js_consume", f"{stream} {more} --to {path}")
        table = pq.read_table(path)
        assert table.schema.field("seq").type == pa.uint64()
        assert table.column("seq").to_pylist() == plain_seqs
        assert table.to_pandas()["seq"].dtype == np.uint64  # read back into pandas: the frame's dtype


def test_an_empty_export_holds_seq_as_uint64(shell, stream, tmp_path):
    path = tmp_path / "empty.parquet"
    shell.run_line_magic("js_consume", f"{stream} --start-seq {10 * N} --to {path}")
    assert pq.read_table(path).schema.field("seq").type == pa.uint64()


def test_arrow_and_polars_hold_seq_as_uint64(shell, stream, plain_seqs):
    table = shell.run_line_magic("js_consume", f"{stream} --batch 50 --as arrow")
    assert table.schema.field("seq").type == pa.uint64()
    assert table.column("seq").to_pylist() == plain_seqs
    import polars as pl

    frame = shell.run_line_magic("js_consume", f"{stream} --batch 50 --as polars")
    assert frame.schema["seq"] == pl.UInt64
    assert frame["seq"].to_list() == plain_seqs


def test_dask_partitions_hold_seq_as_uint64(server, stream, plain_seqs):
    import jsmagic.dask as jd

    ddf = jd.read_stream(stream, servers=server.url, partitions=3)
    assert ddf.dtypes["seq"] == np.uint64  # meta, before compute
    got = ddf.compute(scheduler="sync")
    assert got["seq"].dtype == np.uint64
    assert got["seq"].tolist() == plain_seqs
