"""Every KV and object write reaches the *other* JetStream: a leaf's ``--domain hub``, an account's ``--api-prefix``.

nats-py's ``KeyValue`` publishes to ``$KV.<bucket>.<key>`` whatever the domain or prefix:
from the leaf, or from the importing account, that subject reaches no stream.  Each write
is checked on the server that owns the bucket, with plain nats-py.
"""

from __future__ import annotations

import asyncio
import time

import nats
import pytest

from jsmagic.testing import connected_shell
from jsmagic.testing.topology import hub_and_leaf, imported_jetstream


async def _setup(url: str) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.create_key_value(bucket="TTLB", history=5)
        await js.create_object_store("OBW")
    finally:
        await nc.close()


async def _owner(url: str, fn):
    nc = await nats.connect(url)
    try:
        return await fn(nc.jetstream())
    finally:
        await nc.close()


@pytest.fixture(scope="module", params=["domain", "prefix"])
def topo(request):
    """(how the user connects, a URL of the server that owns the JetStream)."""
    if request.param == "domain":
        with hub_and_leaf() as t:
            asyncio.run(_setup(t.hub.url))
            yield t.leaf.url + " --domain hub", t.hub.url
    else:
        with imported_jetstream() as t:
            asyncio.run(_setup(t.js_url))
            yield t.app_url + " --api-prefix JS.API --inbox-prefix _INBOX_APP", t.js_url


def history(url: str, key: str) -> list[tuple[str, bytes]]:
    """The key's records on the owning server: (operation, value), oldest first."""
    async def read(js):
        kv = await js.key_value("TTLB")
        try:
            return [(e.operation or "PUT", e.value or b"") for e in await kv.history(key)]
        except nats.js.errors.NoKeysError:
            return []

    return asyncio.run(_owner(url, read))


def test_ttl_create_purge_and_revert_write_to_the_remote_bucket(topo):
    where, owner = topo
    with connected_shell(where) as sh:
        sh.run_line_magic("js_kv", "edit TTLB --marker-ttl 1s")  # per-key TTL on (server 2.11+)
        rev = sh.run_line_magic("js_kv", "create TTLB short soon-gone --ttl 60s")
        assert isinstance(rev, int)
        assert history(owner, "short") == [("PUT", b"soon-gone")]
        sh.run_line_magic("js_kv", "put TTLB k v1")
        sh.run_line_magic("js_kv", "put TTLB k v2")
        first = sh.run_line_magic("js_kv", "history TTLB k")["revision"].min()
        sh.run_line_magic("js_kv", f"revert TTLB k {first}")
        assert [v for _, v in history(owner, "k")] == [b"v1", b"v2", b"v1"]
        sh.run_line_magic("js_kv", "purge TTLB k --ttl 60s --force")
        assert history(owner, "k") == [("PURGE", b"")]
        # the purge marker carries its TTL on the owning server
        async def marker(js):
            msg = await js.get_last_msg("KV_TTLB", "$KV.TTLB.k")
            return (msg.headers or {}).get("Nats-TTL")

        assert asyncio.run(_owner(owner, marker)) in ("60", "60s")


def test_object_writes_reach_the_remote_store(topo, tmp_path):
    where, owner = topo
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01" * 40_000)
    with connected_shell(where) as sh:
        sh.run_line_magic("js_obj", f"put OBW {blob}")
        names = asyncio.run(_owner(owner, lambda js: _names(js)))
        assert names == ["blob.bin"]
        sh.run_line_magic("js_obj", "rm OBW blob.bin --force")
        deadline = time.monotonic() + 10
        while asyncio.run(_owner(owner, lambda js: _names(js))) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert asyncio.run(_owner(owner, lambda js: _names(js))) == []


async def _names(js) -> list[str]:
    store = await js.object_store("OBW")
    try:
        return [o.name for o in await store.list() if not o.deleted]
    except nats.js.errors.NotFoundError:
        return []


def test_an_object_removed_remotely_is_marked_deleted_and_its_chunks_purged(topo, tmp_path):
    """``%js_obj rm`` writes the deleted meta record (admin/objwrite.py) where the bucket lives, as nats-py reads it."""
    where, owner = topo
    blob = tmp_path / "gone.bin"
    blob.write_bytes(b"\x07" * 300_000)  # 3 chunks
    with connected_shell(where) as sh:
        sh.run_line_magic("js_obj", f"put OBW {blob}")
        assert asyncio.run(_owner(owner, lambda js: js.stream_info("OBJ_OBW"))).state.messages >= 4
        sh.run_line_magic("js_obj", "rm OBW gone.bin --force")

    async def after(js):
        store = await js.object_store("OBW")
        info = await store.get_info("gone.bin", show_deleted=True)
        si = await js.stream_info("OBJ_OBW", subjects_filter="$O.OBW.C.>")
        return info, si.state.subjects or {}

    info, chunks = asyncio.run(_owner(owner, after))
    assert info.deleted and info.size == 0 and info.chunks == 0 and not info.digest
    assert chunks == {}  # every chunk of every removed object purged


def test_buckets_made_compacted_and_removed_remotely(topo):
    """``%js_kv add/compact/rm`` and ``%js_obj add/rm`` act on the JetStream that owns the buckets."""
    where, owner = topo
    with connected_shell(where) as sh:
        sh.run_line_magic("js_kv", "add RKV --history 3")
        sh.run_line_magic("js_obj", "add ROB")
        for i in range(3):
            sh.run_line_magic("js_kv", f"put RKV k{i} v{i}")
            sh.run_line_magic("js_kv", f"put RKV k{i} w{i}")
        sh.run_line_magic("js_kv", "del RKV k0")
        sh.run_line_magic("js_kv", "compact RKV --force")

        async def kv_state(js):
            si = await js.stream_info("KV_RKV", subjects_filter="$KV.RKV.>")
            return si.config.max_msgs_per_subject, si.state.subjects or {}

        history, subjects = asyncio.run(_owner(owner, kv_state))
        assert history == 3
        assert subjects == {"$KV.RKV.k0": 1, "$KV.RKV.k1": 2, "$KV.RKV.k2": 2}  # k0: its recent delete marker kept
        assert asyncio.run(_owner(owner, lambda js: js.stream_info("OBJ_ROB"))).config.name == "OBJ_ROB"
        sh.run_line_magic("js_kv", "rm RKV --force")
        sh.run_line_magic("js_obj", "rm ROB --force")

    async def gone(js):
        names = [s.config.name for s in await js.streams_info()]
        return "KV_RKV" not in names and "OBJ_ROB" not in names

    assert asyncio.run(_owner(owner, gone))
