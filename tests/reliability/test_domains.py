"""JetStream domains (a leaf node reaching its hub) and imported API prefixes (two accounts).

Two real topologies from :mod:`jsmagic.testing.topology`: a hub (domain ``hub``) with a
leaf (domain ``leaf``) connected by a leafnode — the user sits on the leaf and says
``--domain hub`` — and one server where account APP uses account JS's JetStream through
``--api-prefix JS.API``.  Every magic must reach the *other* JetStream: a read that went
to the local one would come back empty with no error, a KV put would find no stream.
"""

from __future__ import annotations

import asyncio
import os
import time

import nats
import pytest

from jsmagic.testing import connected_shell
from jsmagic.testing.topology import hub_and_leaf, imported_jetstream

N = 500


async def _setup(url: str) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="HUBS", subjects=["hubs.>"])
        await js.add_stream(name="WQ", subjects=["wq.>"], retention="workqueue", allow_direct=True)
        for i in range(N):
            await nc.publish(f"hubs.{i % 3}", b'{"i":%d}' % i)
        for i in range(20):
            await js.publish(f"wq.{i % 2}", b'{"i":%d}' % i)
        await nc.flush()
        await js.create_key_value(bucket="B")
        await js.create_object_store("OB")
    finally:
        await nc.close()


async def _admin(url: str, fn):
    nc = await nats.connect(url)
    try:
        return await fn(nc.jetstream())
    finally:
        await nc.close()


@pytest.fixture(scope="module", params=["domain", "prefix"])
def topo(request):
    """(how to connect as the user, a URL that owns the JetStream for checks, the expected connect words)."""
    if request.param == "domain":
        with hub_and_leaf() as t:
            asyncio.run(_setup(t.hub.url))
            yield t.leaf.url + " --domain hub", t.hub.url, "domain hub"
    else:
        with imported_jetstream() as t:
            asyncio.run(_setup(t.js_url))
            yield t.app_url + " --api-prefix JS.API --inbox-prefix _INBOX_APP", t.js_url, "API prefix JS.API"


@pytest.fixture
def sh(topo, capsys):
    with connected_shell(topo[0]) as shell:
        yield shell


def test_the_connect_line_names_the_jetstream_the_magics_use(topo, capsys):
    with connected_shell(topo[0]):
        line = capsys.readouterr().out
    assert topo[2] in line, line
    assert "domain leaf" not in line  # the leaf's own domain is not where the magics go


def test_kv_verbs_write_to_the_remote_bucket(sh, topo):
    assert isinstance(sh.run_line_magic("js_kv", "put B k1 v1"), int)
    assert sh.run_line_magic("js_kv", "get B k1") == "v1"
    rev = sh.run_line_magic("js_kv", "put B k1 v2")
    assert sh.run_line_magic("js_kv", f"update B k1 v3 {rev}") == rev + 1
    sh.run_line_magic("js_kv", "del B k1")
    assert sh.run_line_magic("js_kv", "create B k1 again") > rev + 1  # created again over the delete marker
    assert sh.run_line_magic("js_kv", "keys B") == ["k1"]

    async def value(js):
        return (await (await js.key_value("B")).get("k1")).value

    assert asyncio.run(_admin(topo[1], value)) == b"again"  # stored in the hub's / JS account's bucket
    sh.run_line_magic("js_kv", "purge B k1 --force")
    assert sh.run_line_magic("js_kv", "keys B") == []


def test_every_read_path_reaches_the_remote_stream(sh, topo):
    assert len(sh.run_line_magic("js_consume", "HUBS")) == N  # ephemeral consumer
    assert len(sh.run_line_magic("js_consume", "HUBS -s hubs.1 -n 5")) == 5
    assert len(sh.run_line_magic("js_consume", "HUBS --last-per-subject")) == 3
    assert len(sh.run_line_magic("js_consume", "WQ")) == 20  # batched direct get
    df = sh.run_line_magic("js_consume", f"HUBS --durable dd{os.getpid()} --ack")
    assert len(df) == N

    async def durable(js):
        return await js.consumer_info("HUBS", f"dd{os.getpid()}")

    ci = asyncio.run(_admin(topo[1], durable))
    assert ci.num_ack_pending == 0 and ci.num_pending == 0  # the acks reached the remote server
    assert sh.run_line_magic("js_stream", "get HUBS 5")["seq"] == 5
    sh.run_line_magic("js_consumer", "add HUBS nx")
    assert sh.run_line_magic("js_consumer", "next HUBS nx --count 3")["seq"].tolist() == [1, 2, 3]


def test_follow_and_watch_see_remote_writes(sh, topo):
    tail = sh.run_line_magic("js_consume", "HUBS --new --follow")
    watch = sh.run_line_magic("js_kv", "watch B")

    async def write(js):
        for i in range(3):
            await js.publish("hubs.new", b'{"i":-1}')
        await (await js.key_value("B")).put("w", b"1")

    def wait_for(check):
        deadline = time.monotonic() + 10
        while not check() and time.monotonic() < deadline:
            sh.run_cell("import asyncio; await asyncio.sleep(0.1)")
        return check()

    assert wait_for(lambda: tail.running)
    time.sleep(0.5)
    asyncio.run(_admin(topo[1], write))
    assert wait_for(lambda: len(tail.df) == 3), len(tail.df)
    assert wait_for(lambda: "w" in set(watch.df["key"]))
    sh.run_line_magic("js_kv", "unwatch")


def test_object_put_and_get(sh, topo, tmp_path):
    blob = os.urandom(300_000)
    (tmp_path / "blob.bin").write_bytes(blob)
    sh.run_line_magic("js_obj", f"put OB {tmp_path / 'blob.bin'}")
    assert sh.run_line_magic("js_obj", "get OB blob.bin") == blob
    sh.run_line_magic("js_obj", "rm OB blob.bin --force")
    assert sh.run_line_magic("js_obj", "ls OB").empty


def test_without_an_exported_inbox_prefix_reads_work_or_say_what_to_do(tmp_path):
    """Across an account import, push deliveries cannot reach the importer without ``--inbox-prefix``."""
    from jsmagic.core.errors import TimeoutError as JSTimeout

    with imported_jetstream() as t:
        asyncio.run(_setup(t.js_url))
        with connected_shell(t.app_url + " --api-prefix JS.API") as sh:
            (tmp_path / "a.txt").write_bytes(b"hello")
            sh.run_line_magic("js_obj", f"put OB {tmp_path / 'a.txt'}")
            assert sh.run_line_magic("js_obj", "ls OB")["name"].tolist() == ["a.txt"]  # used to wait for ever
            assert sh.run_line_magic("js_obj", "get OB a.txt") == b"hello"
            sh.run_line_magic("js_kv", "put B k v")
            assert sh.run_line_magic("js_kv", "get B k") == "v"
            sh.run_line_magic("config", "JSMagic.timeout = 2")
            with pytest.raises(JSTimeout) as e:
                sh.run_line_magic("js_kv", "keys B")
            assert "--inbox-prefix" in f"{e.value} {e.value.hint}"
