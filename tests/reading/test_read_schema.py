"""One schema per read: every path gives the same column names and exact values as plain nats-py + json.

The stream is read in chunks of a few dozen messages (``--batch``), and the payloads are built
so that a per-chunk decision goes wrong: a ``ttl`` key beside the ``Nats-TTL`` header in some
chunks only, a ``region`` key beside the ``--subject-cols`` token ``region`` in some chunks only,
a ``seq`` key now and then, 64-bit unsigned ids that fit int64 in the first chunks only, and a
key that appears late.  The in-memory frame, ``--where``, ``--to`` Parquet, ``--as arrow``,
``--as polars`` and Dask partitions must all agree with an independent reading.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from nats.js.api import StreamConfig

N = 2400
BIG = 2**63  # ids from here on do not fit int64
GENERATED = {"seq", "subject", "time", "headers", "size", "ttl", "region", "kind"}


def _body(i: int) -> dict:
    body = {"id": i if i <= N // 2 else BIG + i, "ttl": i % 97}
    if 600 < i <= 900:
        body["region"] = f"r{i}"  # named like the --subject-cols token, in some chunks only
    if i % 250 == 0:
        body["seq"] = -i  # named like the stream sequence column
    if i > 2000:
        body["late"] = i * 3  # a key only the last chunks carry
    if i > 1710:
        body["big"] = BIG + 7 * i  # a late key, mid-chunk, beyond int64: null before it, every digit kept
    return body


@pytest.fixture(scope="module")
def stream(server):
    """N messages on NAME.<region>.<kind>; Nats-TTL headers on messages 1001–1300 only."""
    import nats

    name = f"SCH{uuid.uuid4().hex[:8].upper()}"

    async def fill():
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"], allow_msg_ttl=True))
        acks = []
        for i in range(1, N + 1):
            headers = {"Nats-TTL": "1h"} if 1000 < i <= 1300 else None
            subject = f"{name}.{('eu', 'us', 'ap')[i % 3]}.{('new', 'paid')[i % 2]}"
            acks.append(await js.publish_async(subject, json.dumps(_body(i)).encode(), headers=headers))
        await asyncio.gather(*acks)
        await nc.close()

    asyncio.run(fill())
    return name


def truth(url: str, name: str) -> list[dict]:
    """Each message as plain nats-py and json see it, under the rule: a generated name → ``data.<key>``."""
    import nats

    async def read():
        nc = await nats.connect(url)
        js = nc.jetstream()
        sub = await js.pull_subscribe(f"{name}.>", durable=None, stream=name)
        out = []
        while len(out) < N:
            for m in await sub.fetch(500, timeout=5):
                out.append((m.metadata.sequence.stream, m.subject, dict(m.headers or {}), json.loads(m.data)))
                await m.ack()
        await sub.unsubscribe()
        await nc.close()
        return out

    rows = []
    for seq, subject, headers, body in asyncio.run(read()):
        row = {"seq": seq, "subject": subject, "ttl": headers.get("Nats-TTL"),
               "region": subject.split(".")[1], "kind": subject.split(".")[2]}
        row.update({f"data.{k}" if k in GENERATED else k: v for k, v in body.items()})
        rows.append(row)
    return rows


def _plain(v):
    """A cell as a plain Python value (None for any null); ints stay exact, a float stays a float."""
    if v is None or v is pd_NA() or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, np.generic):
        v = v.item()
    return v


def pd_NA():
    import pandas as pd

    return pd.NA


def records(columns: dict[str, list]) -> list[dict]:
    names = list(columns)
    return [{k: _plain(columns[k][i]) for k in names} for i in range(len(columns[names[0]]))]


def check(got_columns: list[str], rows: list[dict], want: list[dict], path: str) -> None:
    names = sorted({k for r in want for k in r})
    assert sorted(set(got_columns) - {"time", "headers", "size"}) == names, f"{path}: column names"
    assert len(rows) == len(want), f"{path}: row count"
    for k in names:
        got_k = [r.get(k) for r in rows]
        want_k = [r.get(k) for r in want]
        bad = [i for i, (a, b) in enumerate(zip(got_k, want_k)) if a != b or type(a) is float and type(b) is int
               and a != b]
        assert not bad, f"{path}: column {k}: {len(bad)} of {len(want)} values differ, e.g. row {bad[0]}: " \
                        f"{got_k[bad[0]]!r} != {want_k[bad[0]]!r}"


@pytest.fixture(scope="module")
def want(server, stream):
    return truth(server.url, stream)


SUBJECT_COLS = "{}.{{region}}.{{kind}}"


def line(stream: str, more: str = "") -> str:
    return f"{stream} --batch 20 --subject-cols '{SUBJECT_COLS.format(stream)}' {more}"


def test_in_memory_frame(shell, stream, want):
    df = shell.run_line_magic("js_consume", line(stream))
    check(list(df.columns), records({c: df[c].tolist() for c in df.columns}), want, "frame")
    assert df["id"].dtype == np.uint64  # ids that outgrew int64 after the first chunks: uint64, every digit
    assert str(df["big"].dtype) == "UInt64"


def test_where(shell, stream, want):
    df = shell.run_line_magic("js_consume", line(stream, '--where "id >= 0"'))
    check(list(df.columns), records({c: df[c].tolist() for c in df.columns}), want, "--where")
    assert df["id"].dtype == np.uint64


def test_to_parquet(shell, stream, want, tmp_path):
    path = tmp_path / "out.parquet"
    shell.run_line_magic("js_consume", line(stream, f"--to {path}"))
    table = pq.read_table(path)
    check(table.column_names, records(table.to_pydict()), want, "--to parquet")
    assert table.schema.field("id").type == pa.uint64()


def test_as_arrow_and_polars(shell, stream, want):
    table = shell.run_line_magic("js_consume", line(stream, "--as arrow"))
    check(table.column_names, records(table.to_pydict()), want, "--as arrow")
    assert table.schema.field("id").type == pa.uint64()
    frame = shell.run_line_magic("js_consume", line(stream))
    assert table.column_names == list(frame.columns)  # the same order too
    pl = shell.run_line_magic("js_consume", line(stream, "--as polars"))
    check(pl.columns, records(pl.to_dict(as_series=False)), want, "--as polars")


def test_dask_partitions(server, stream, want, shell):
    import jsmagic.dask as jd

    ddf = jd.read_stream(stream, servers=server.url, partitions=4, batch=20,
                         subject_cols=SUBJECT_COLS.format(stream))
    got = ddf.compute(scheduler="sync").reset_index(drop=True)
    assert list(ddf.columns) == list(got.columns)  # meta knew every column before compute
    frame = shell.run_line_magic("js_consume", line(stream))
    assert list(got.columns) == list(frame.columns) and dict(got.dtypes) == dict(frame.dtypes)
    check(list(got.columns), records({c: got[c].tolist() for c in got.columns}), want, "dask")


def test_a_partition_with_a_column_its_given_meta_lacks_fails_in_one_line():
    import pandas as pd

    from jsmagic.core.errors import IncompleteError
    from jsmagic.reading.schema import conform

    meta = pd.DataFrame({"seq": pd.Series([], dtype=np.uint64), "id": pd.Series([], dtype=np.uint64)})
    got = conform(pd.DataFrame({"seq": np.array([1], dtype=np.uint64), "id": [5]}), meta)
    assert got["id"].dtype == np.uint64 and got["id"].tolist() == [5]
    with pytest.raises(IncompleteError, match=r"^column late not in the read's meta — leave meta= out"):
        conform(pd.DataFrame({"seq": np.array([1], dtype=np.uint64), "id": [5], "late": [1]}), meta)


def test_a_column_whose_types_clash_is_named_by_every_path(server, shell, nc, tmp_path, capsys):
    """An int that becomes a text mid-read: kept (as objects, or as text in Arrow), and the summary names it."""
    from jsmagic.core.registry import current
    from jsmagic.reading.reader import replay
    from jsmagic.reading.selection import Selection

    _, js, run = nc
    name = f"SCX{uuid.uuid4().hex[:8].upper()}"
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"])))
    for i in range(1, 301):
        run(js.publish(f"{name}.a", json.dumps({"n": i, "amount": i if i <= 150 else f"x{i}"}).encode()))
    sel = Selection(stream=name, batch=10)
    result = shell.run_line_magic("js_consume", f"{name} --batch 10")
    assert result["amount"].tolist() == list(range(1, 151)) + [f"x{i}" for i in range(151, 301)]
    assert "column amount: " in result.summary  # the summary under the frame names the column
    notes = current().run(replay(sel)).notes  # what the engine tells a script
    assert any(n.startswith("column amount: ") for n in notes), notes
    table = shell.run_line_magic("js_consume", f"{name} --batch 10 --as arrow")
    assert table.column("amount").to_pylist() == [str(i) for i in range(1, 151)] + [f"x{i}" for i in range(151, 301)]
    shell.events.trigger("post_execute")  # the cell ends: the summary comes under an Arrow result
    shown = capsys.readouterr().out  # (the kinds are worded as the chunks met them)
    assert re.search(r"; amount: \w+ and \w+ values: written as string", shown), shown
    out = shell.run_line_magic("js_consume", f"{name} --batch 10 --to {tmp_path / 'x.parquet'}")
    assert "amount" in out.conflicts and "column amount: " in repr(out)
    import jsmagic.dask as jd

    with pytest.warns(UserWarning, match=r"column amount: int and (object and )?str values across the read: kept as objects"):
        ddf = jd.read_stream(name, servers=server.url, partitions=3, batch=10)
    assert ddf.compute(scheduler="sync")["amount"].tolist() == result["amount"].tolist()



# -- the same rule without a server: any cut of any mix, every path against a row-by-row reading --------

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ids = st.one_of(st.integers(0, 2**63 - 1), st.integers(2**63, 2**64 - 1))
bodies = st.fixed_dictionaries({"id": ids}, optional={
    "ttl": st.integers(-5, 5), "region": st.sampled_from(["x", "y"]), "seq": st.integers(-9, 9),
    "subject": st.just("s"), "n": st.integers(-(2**53), 2**53)})
messages = st.lists(st.tuples(st.booleans(), bodies), min_size=1, max_size=30)


def _rows(msgs, cuts, where=None, sink=None):
    from jsmagic.reading.frames import Rows, make_chunk
    from jsmagic.reading.shaping import Shape

    rows = Rows()
    rows.shaped("auto", False, Shape(where=where, subject_cols="s.{region}.{kind}"), sink)
    bounds = sorted({c for c in cuts if 0 < c < len(msgs)})
    for a, b in zip([0, *bounds], [*bounds, len(msgs)]):
        part = msgs[a:b]
        chunk = make_chunk(range(a + 1, b + 1), [0] * len(part), [f"s.r{i % 2}.k" for i in range(a, b)],
                           [{"Nats-TTL": "1h"} if ttl else None for ttl, _ in part],
                           [json.dumps(body).encode() for _, body in part])
        rows.add(rows.matching(chunk))
    return rows


def _expected(msgs):
    out = []
    for i, (ttl, body) in enumerate(msgs):
        row = {"seq": i + 1, "subject": f"s.r{i % 2}.k", "region": f"r{i % 2}", "kind": "k"}
        if any(t for t, _ in msgs):
            row["ttl"] = "1h" if ttl else None
        row.update({f"data.{k}" if k in GENERATED else k: v for k, v in body.items()})
        out.append(row)
    names = {k for r in out for k in r}
    return [{k: r.get(k) for k in names} for r in out]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages, st.sets(st.integers(1, 29), max_size=4))
@example([(False, {"id": 1, "ttl": 3}), (True, {"id": 2**63, "ttl": 4})], {1})  # ttl beside Nats-TTL in one chunk
@example([(False, {"id": 1, "region": "x"}), (False, {"id": 2})], {1})  # a payload region in the first chunk only
def test_every_path_of_a_read_names_and_types_columns_as_one(msgs, cuts):
    from jsmagic.reading.results import ArrowSink

    want = _expected(msgs)
    frame = _rows(msgs, cuts).frame()
    check(list(frame.columns), records({c: frame[c].tolist() for c in frame.columns}), want, "frame")
    where = _rows(msgs, cuts, where="seq > 0").frame()
    check(list(where.columns), records({c: where[c].tolist() for c in where.columns}), want, "--where")
    assert list(where.columns) == list(frame.columns) and dict(where.dtypes) == dict(frame.dtypes)
    sink = ArrowSink()
    _rows(msgs, cuts, sink=sink)
    table = sink.close()
    check(table.column_names, records(table.to_pydict()), want, "arrow")
    assert table.column_names == list(frame.columns)


def test_rows_a_where_filter_dropped_do_not_decide_a_type():
    """Only the kept rows count: a negative id the filter dropped does not turn uint64 ids into objects."""
    from jsmagic.reading.frames import Rows, make_chunk
    from jsmagic.reading.shaping import Shape

    rows = Rows()
    rows.shaped("auto", False, Shape(where="id >= 0"), None)
    for a, chunk_ids in ((0, [1, -5]), (2, [BIG + 1, 3])):
        chunk = make_chunk(range(a + 1, a + 3), [0, 0], ["s", "s"], [None, None],
                           [json.dumps({"id": i}).encode() for i in chunk_ids])
        rows.add(rows.matching(chunk))
    df = rows.frame()
    assert df["id"].tolist() == [1, BIG + 1, 3] and df["id"].dtype == np.uint64 and rows.schema.notes() == []
