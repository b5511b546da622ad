"""Every listing pages to the end: the server answers 256 names at a time.

A server of its own with 260 KV buckets, 260 object stores (520 streams, three pages
of ``STREAM.LIST``), a stream with 260 consumers, and a stream whose name sorts last:
``%js_kv ls``, ``%js_obj ls``, ``%js_stream ls``, ``%js_consumer ls`` and the
did-you-mean hints must see all of them (nats-py's ``streams_info()`` is one page).
"""

from __future__ import annotations

import asyncio

import nats
import pytest
from nats.js.api import ConsumerConfig, KeyValueConfig, ObjectStoreConfig, StorageType

from jsmagic.core.errors import NotFoundError
from jsmagic.testing import connected_shell, nats_server

N = 260


@pytest.fixture(scope="module")
def crowded():
    with nats_server() as server:
        async def fill():
            nc = await nats.connect(server.url)
            js = nc.jetstream()
            mem = StorageType.MEMORY
            await asyncio.gather(*(js.create_key_value(KeyValueConfig(bucket=f"b{i:03d}", storage=mem))
                                   for i in range(N)))
            await asyncio.gather(*(js.create_object_store(f"o{i:03d}", config=ObjectStoreConfig(storage=mem))
                                   for i in range(N)))
            await js.add_stream(name="ZZ_LAST_STREAM", subjects=["zz.>"], storage=mem)
            await asyncio.gather(*(js.add_consumer("ZZ_LAST_STREAM", ConsumerConfig(durable_name=f"c{i:03d}"))
                                   for i in range(N)))
            await nc.close()

        asyncio.run(fill())
        with connected_shell(server.url) as shell:
            yield shell


def test_every_listing_has_every_item(crowded):
    assert len(crowded.run_line_magic("js_kv", "ls")) == N
    assert len(crowded.run_line_magic("js_obj", "ls")) == N
    assert len(crowded.run_line_magic("js_stream", "ls")) == 2 * N + 1
    assert len(crowded.run_line_magic("js_consumer", "ls ZZ_LAST_STREAM")) == N


def test_did_you_mean_looks_at_every_page(crowded):
    for magic, line, meant in [("js_consume", "ZZ_LAST_STREEM", "ZZ_LAST_STREAM"),
                               ("js_stream", "info ZZ_LAST_STREEM", "ZZ_LAST_STREAM"),
                               ("js_kv", "keys b259x", "b259"),
                               ("js_consumer", "info ZZ_LAST_STREAM c259x", "c259")]:
        with pytest.raises(NotFoundError) as e:
            crowded.run_line_magic(magic, line)
        assert meant in str(e.value), (line, str(e.value))
