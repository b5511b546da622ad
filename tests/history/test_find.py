"""``%js_stream find SUBJECT`` against the server's own subject counts (STREAM.INFO subjects_filter)."""

from __future__ import annotations

import asyncio
import time

import pytest
from nats.js.api import StreamConfig, StreamSource, SubjectTransform

from jsmagic.admin.find import intersect

PAD = 262  # more than one STREAM.LIST page (256 a page)


async def _server_count(js, stream: str, subject: str) -> int:
    return sum(((await js.stream_info(stream, subjects_filter=subject)).state.subjects or {}).values())


@pytest.fixture(scope="module")
def topology(server):
    import nats

    loop = asyncio.new_event_loop()
    nc = loop.run_until_complete(nats.connect(server.url))
    js = nc.jetstream()
    tag = f"f{time.monotonic_ns() % 10**8}"
    names = {k: f"{k}_{tag}" for k in ("NEW", "PAID", "INV", "MIRROR", "AGG")}

    async def build():
        await js.add_stream(name=names["NEW"], subjects=[f"{tag}.orders.*.new"], storage="memory")
        await js.add_stream(name=names["PAID"], subjects=[f"{tag}.orders.eu.paid"], storage="memory")
        await js.add_stream(name=names["INV"], subjects=[f"{tag}.invoices.>"], storage="memory")
        for i in range(5):
            await js.publish(f"{tag}.orders.eu.new", b"n")
        for i in range(3):
            await js.publish(f"{tag}.orders.us.new", b"n")
        for i in range(4):
            await js.publish(f"{tag}.orders.eu.paid", b"p")
        for i in range(2):
            await js.publish(f"{tag}.invoices.eu.x", b"i")
        await js.add_stream(StreamConfig(name=names["MIRROR"], mirror=StreamSource(name=names["NEW"]),
                                         storage="memory"))
        await js.add_stream(StreamConfig(name=names["AGG"], storage="memory", sources=[
            StreamSource(name=names["NEW"], subject_transforms=[
                SubjectTransform(src=f"{tag}.orders.*.new", dest=f"agg{tag}.{{{{wildcard(1)}}}}.new")]),
            StreamSource(name=names["PAID"], filter_subject=f"{tag}.orders.eu.paid")]))
        for i in range(PAD):
            await js.add_stream(name=f"PAD{i:03d}_{tag}", subjects=[f"{tag}.pad.{i}"], storage="memory")
            if i < 5:
                await js.publish(f"{tag}.pad.{i}", b"x" * (i + 1))
        await js.create_key_value(bucket=f"kv{tag}", storage="memory")
        await (await js.key_value(f"kv{tag}")).put("a", b"1")
        deadline = time.monotonic() + 30
        while ((await js.stream_info(names["MIRROR"])).state.messages < 8
               or (await js.stream_info(names["AGG"])).state.messages < 12):
            assert time.monotonic() < deadline, "sourcing did not complete"
            await asyncio.sleep(0.05)

    loop.run_until_complete(build())
    yield tag, names, js, loop.run_until_complete
    for n in [*names.values(), *(f"PAD{i:03d}_{tag}" for i in range(PAD)), f"KV_kv{tag}"]:
        loop.run_until_complete(js.delete_stream(n))
    loop.run_until_complete(nc.close())
    loop.close()


def _check_counts(df, js, on_loop, subject: str) -> None:
    for stream, n in zip(df["stream"], df["messages"]):
        assert n == on_loop(_server_count(js, stream, subject)), stream


def test_overlapping_wildcards_mirror_and_transformed_source(shell, topology):
    tag, names, js, on_loop = topology
    q = f"{tag}.orders.eu.>"
    df = shell.run_line_magic("js_stream", f"find {q}")
    assert set(df["stream"]) == {names["NEW"], names["PAID"], names["MIRROR"], names["AGG"]}
    _check_counts(df, js, on_loop, q)
    got = dict(zip(df["stream"], df["messages"]))
    assert got[names["NEW"]] == 5 and got[names["MIRROR"]] == 5 and got[names["PAID"]] == 4
    assert got[names["AGG"]] == 4  # from PAID through its filter; NEW's land transformed under agg…
    via = dict(zip(df["stream"], df["via"]))
    assert via[names["MIRROR"]] == f"mirror of {names['NEW']}"
    assert f"source {names['PAID']} (filter {tag}.orders.eu.paid)" in via[names["AGG"]]

    wild = f"{tag}.*.eu.*"
    df = shell.run_line_magic("js_stream", f"find '{wild}'")
    assert {names["NEW"], names["PAID"], names["INV"], names["MIRROR"], names["AGG"]} == set(df["stream"])
    _check_counts(df, js, on_loop, wild)

    moved = f"agg{tag}.eu.>"
    df = shell.run_line_magic("js_stream", f"find {moved}")
    assert list(df["stream"]) == [names["AGG"]]
    assert int(df["messages"][0]) == 5 == on_loop(_server_count(js, names["AGG"], moved))
    assert "→" in df["via"][0]


def test_more_than_one_page_of_streams_and_hidden_ones(shell, topology):
    tag, names, js, on_loop = topology
    q = f"{tag}.pad.>"
    df = shell.run_line_magic("js_stream", f"find {q}")
    assert len(df) == PAD
    _check_counts(df, js, on_loop, q)
    assert int(df["messages"].sum()) == 5
    kv = f"$KV.kv{tag}.>"
    assert len(shell.run_line_magic("js_stream", f"find {kv}")) == 0
    df = shell.run_line_magic("js_stream", f"find {kv} --all")
    assert list(df["stream"]) == [f"KV_kv{tag}"] and list(df["messages"]) == [1]


def test_intersect():
    assert intersect("a.*.c", "a.b.>") == "a.b.c"
    assert intersect("a.>", "a") is None
    assert intersect(">", "x.y") == "x.y"
    assert intersect("a.*", "a.b.c") is None
    assert intersect("a.b", "a.c") is None


def test_bad_subject(shell):
    with pytest.raises(Exception, match="bad subject"):
        shell.run_line_magic("js_stream", "find 'a..b'")
