"""jsmagic.dask.read_stream on a LocalCluster of 2 worker processes equals the single-kernel replay."""

from __future__ import annotations

import asyncio
import json
import secrets

import cloudpickle
import nats
import pandas as pd
import pytest

from jsmagic.testing import nats_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, Client(lc) as client:
        yield client


def _fill(url: str, token: str, stream: str, n: int) -> None:
    async def go():
        nc = await nats.connect(url, token=token)
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{stream}.>"])
        for i in range(1, n + 1):
            body = {"id": i, "amount": i * 1.5, "region": ("eu", "us")[i % 2]}
            if i > n - 10:
                body["late"] = "x"  # a key only the last partition sees
            await js.publish(f"{stream}.{body['region']}.new", json.dumps(body).encode())
        await nc.close()

    asyncio.run(go())


def test_partitioned_replay_equals_single_replay_and_keeps_secrets_out_of_the_graph(cluster, tmp_path, monkeypatch, shell):
    import jsmagic.dask as jd

    token = "tk" + secrets.token_hex(12)
    with nats_server(config=f'authorization {{ token: "{token}" }}') as srv:
        _fill(srv.url, token, "DORD", 1000)
        xdg = tmp_path / "xdg"  # a nats context read by each worker: the token never enters the graph
        (xdg / "nats" / "context").mkdir(parents=True)
        (xdg / "nats" / "context" / "dprod.json").write_text(json.dumps({"url": srv.url, "token": token}))
        monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
        cluster.run(lambda: __import__("os").environ.__setitem__("XDG_CONFIG_HOME", str(xdg)))

        ddf = jd.read_stream("DORD", partitions=4, context="dprod", subject_cols="DORD.{region}.{kind}")
        assert ddf.npartitions == 4 and "late" in ddf.columns  # meta from the first and the last messages
        assert token.encode() not in cloudpickle.dumps(ddf.__dask_graph__())
        got = ddf.compute().reset_index(drop=True)

        shell.run_line_magic("js_connect", f"--context dprod")
        single = shell.run_line_magic("js_consume", "DORD --subject-cols 'DORD.{region}.{kind}'")
        single = pd.DataFrame(single)
        assert got["seq"].tolist() == list(range(1, 1001))  # nothing missing or repeated
        assert list(got.columns) == list(single.columns)
        assert dict(got.dtypes) == dict(single.dtypes)
        pd.testing.assert_frame_equal(got.drop(columns=["headers"]), single.drop(columns=["headers"]))
        assert ddf.groupby("region").amount.sum().compute().to_dict() == single.groupby("region").amount.sum().to_dict()

        part = jd.read_stream("DORD", partitions=2, context="dprod", start_seq=101, end_seq=300, where="amount > 200")
        assert part.compute()["seq"].tolist() == list(range(134, 301))

        async def state():
            nc = await nats.connect(srv.url, token=token)
            js = nc.jetstream()
            info = await js.stream_info("DORD")
            consumers = await js.consumers_info("DORD")
            await nc.close()
            return info.state.messages, [c.name for c in consumers]

        assert asyncio.run(state()) == (1000, [])  # the stream is unchanged, no consumer left
        shell.run_line_magic("js_close", "")  # before this server stops
