"""--to Parquet (file and hive dataset), filters while reading, columns from subjects/headers, --as arrow/polars."""

from __future__ import annotations

import json
import os
import uuid

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from nats.js.api import StreamConfig

from jsmagic.core.errors import InputError


@pytest.fixture
def orders(nc):
    """25 orders on NAME.<region>.<kind>, trace-id headers; a key ``coupon`` appears at 21, ``amount`` is text at 15."""
    _, js, run = nc
    name = f"X{uuid.uuid4().hex[:8].upper()}"
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"])))
    for i in range(1, 26):
        region, kind = ("eu", "us", "ap")[i % 3], ("new", "paid")[i % 2]
        body = {"id": i, "amount": i * 10, "price": i + 0.5, "region": region}
        if i == 15:
            body["amount"] = "lots"
        if i > 20:
            body["coupon"] = f"C{i}"
        run(js.publish(f"{name}.{region}.{kind}", json.dumps(body).encode(), headers={"trace-id": f"t{i}"}))
    return name


def consume(shell, line):
    return shell.run_line_magic("js_consume", line)


def test_to_parquet_file_typed_one_row_group_per_chunk_drift_kept(shell, orders, tmp_path, nc):
    path = tmp_path / "orders.parquet"
    out = consume(shell, f"{orders} --batch 1 --to {path}")  # batch 1: several small chunks (10 with nats-py)
    _, js, run = nc
    assert run(js.consumers_info(orders)) == [] and run(js.stream_info(orders)).state.messages == 25
    assert out.rows == 25 and (out.first_seq, out.last_seq) == (1, 25) and out.bytes == path.stat().st_size
    assert f"→ {path}: 25 rows; seq 1–25" in repr(out) and f"; {out.parts} row groups" in repr(out)
    assert "column amount: " in repr(out) and "written as string" in repr(out)
    assert os.listdir(tmp_path) == ["orders.parquet"]  # no temporary segment left
    pf = pq.ParquetFile(path)
    assert pf.num_row_groups == out.parts >= 3  # one per chunk, kept through the merge of the drifted segments
    schema = pf.schema_arrow
    assert schema.field("seq").type == pa.uint64() and schema.field("size").type == pa.int64()
    assert schema.field("id").type == pa.int64() and schema.field("price").type == pa.float64()
    assert schema.field("subject").type == pa.string() and schema.field("time").type == pa.timestamp("ns", tz="UTC")
    assert schema.field("amount").type == pa.string()  # int beside "lots": kept as text, nothing lost
    t = pf.read().to_pandas()
    assert t["seq"].tolist() == list(range(1, 26))
    assert t["amount"].tolist()[13:16] == ["140", "lots", "160"]
    assert t["coupon"].isna().sum() == 20 and t["coupon"].iloc[-1] == "C25"  # late key: null before it
    memory = consume(shell, orders)
    assert t["price"].tolist() == memory["price"].tolist() and t["id"].tolist() == memory["id"].tolist()


def test_to_dataset_partitioned_read_by_duckdb(shell, orders, tmp_path):
    lake = tmp_path / "lake" / "orders"
    lake.parent.mkdir()
    out = consume(shell, f"{orders} --end-seq 14 --subject-cols '{orders}.{{reg}}.{{kind}}' --to {lake} --partition-by reg")
    assert out.rows == 14 and "partitioned by reg" in repr(out)
    assert sorted(os.listdir(lake)) == ["reg=ap", "reg=eu", "reg=us"]
    rows = duckdb.sql(f"select reg, count(*), sum(amount) from read_parquet('{lake}/**/*.parquet', hive_partitioning=true) "
                      "group by reg order by reg").fetchall()
    df = consume(shell, f"{orders} --end-seq 14")
    expect = df.groupby("region")["amount"].agg(["count", "sum"])
    assert rows == [(r, int(expect.loc[r, "count"]), int(expect.loc[r, "sum"])) for r in ("ap", "eu", "us")]
    drift = tmp_path / "lake" / "drift"  # chunks of 10: a type clash and a late key across part files
    out = consume(shell, f"{orders} --batch 1 --to {drift} --partition-by region")
    assert out.rows == 25 and "column amount: " in repr(out)
    got = duckdb.sql(f"select id, amount, coupon from read_parquet('{drift}/**/*.parquet', hive_partitioning=true) "
                     "order by id").fetchall()
    assert [r[0] for r in got] == list(range(1, 26)) and got[14][1] == "lots" and got[13][1] == "140"
    assert [r[2] for r in got][19:21] == [None, "C21"]
    with pytest.raises(InputError, match="exists and is not an empty directory"):
        consume(shell, f"{orders} --to {lake} --partition-by region")
    with pytest.raises(InputError, match="is a directory"):
        consume(shell, f"{orders} --to {lake}")


def test_filters_combine_with_count_deliver_options_and_to(shell, orders, tmp_path):
    assert consume(shell, f"{orders} --where 'id > 20'")["id"].tolist() == [21, 22, 23, 24, 25]
    assert consume(shell, f"{orders} --where \"region == 'eu' and price > 5\" -n 2 --batch 1")["id"].tolist() == [6, 9]
    assert consume(shell, f"{orders} --start-seq 10 --where 'seq % 5 == 0'")["seq"].tolist() == [10, 15, 20, 25]
    assert consume(shell, f"{orders} --grep '\"amount\": \"lots\"'")["seq"].tolist() == [15]
    assert consume(shell, f"{orders} --header trace-id=t7 --header TRACE-ID=t7")["id"].tolist() == [7]
    assert consume(shell, f"{orders} -s '{orders}.eu.>' --grep 'id\": 1[0-9],'")["id"].tolist() == [12, 15, 18]
    out = consume(shell, f"{orders} --where 'id >= 3' -n 4 --to {tmp_path / 'f.parquet'}")
    assert out.rows == 4 and pq.read_table(tmp_path / "f.parquet")["id"].to_pylist() == [3, 4, 5, 6]
    with pytest.raises(InputError, match="--where: .*nosuch"):
        consume(shell, f"{orders} --where 'nosuch > 1'")
    with pytest.raises(InputError, match="expected K=V"):
        consume(shell, f"{orders} --header trace-id")


def test_columns_from_subjects_and_headers(shell, orders):
    df = consume(shell, f"{orders} --subject-cols '{orders}.{{reg}}.{{kind}}' --header-cols trace-id -n 3")
    assert list(df.columns[5:8]) == ["reg", "kind", "trace-id"]
    assert df["reg"].tolist() == ["us", "ap", "eu"] and df["kind"].tolist() == ["paid", "new", "paid"]
    assert df["trace-id"].tolist() == ["t1", "t2", "t3"]
    odd = consume(shell, f"{orders} --subject-cols 'other.{{a}}' -n 1")
    assert odd["a"].isna().all()  # a subject that does not fit gives nulls
    with pytest.raises(InputError, match="names no token"):
        consume(shell, f"{orders} --subject-cols 'a.b'")


def test_results_as_arrow_polars_and_config_default(shell, orders):
    import polars as pl

    table = consume(shell, f"{orders} --as arrow")
    assert isinstance(table, pa.Table) and table.num_rows == 25 and table["seq"].to_pylist() == list(range(1, 26))
    assert table.schema.field("amount").type == pa.string()
    frame = consume(shell, f"{orders} --as polars --where 'id > 15'")
    assert isinstance(frame, pl.DataFrame) and frame["amount"].dtype == pl.Int64 and frame.height == 10
    shell.run_line_magic("config", "JSMagic.result_type = 'polars'")
    try:
        assert isinstance(consume(shell, f"{orders} -n 2"), pl.DataFrame)
        assert isinstance(consume(shell, f"{orders} -n 2 --as pandas"), pd.DataFrame)
        shell.run_line_magic("config", "JSMagic.result_type = 'pandas'")
        shell.run_line_magic("config", "JSMagic.arrow_dtypes = True")
        df = consume(shell, f"{orders} --where 'id <= 20'")
        assert isinstance(df["price"].dtype, pd.ArrowDtype) and df["id"].tolist() == list(range(1, 21))
    finally:
        shell.run_line_magic("config", "JSMagic.result_type = 'pandas'")
        shell.run_line_magic("config", "JSMagic.arrow_dtypes = False")


def test_python_api_takes_the_same_filters_and_columns(shell, orders):
    import jsmagic
    from jsmagic.magics.base import run

    df = run(jsmagic.replay(orders, where="id > 20", grep="C2[45]", subject_cols=f"{orders}.{{reg}}.{{kind}}"))
    assert df["id"].tolist() == [24, 25] and df["reg"].tolist() == ["eu", "us"]


def test_to_on_a_workqueue_stream_reads_by_get_and_changes_nothing(shell, nc, tmp_path):
    from nats.js.api import RetentionPolicy

    _, js, run = nc
    name = f"W{uuid.uuid4().hex[:8].upper()}"
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"], retention=RetentionPolicy.WORK_QUEUE,
                                   allow_direct=True)))
    for i in range(1, 13):
        run(js.publish(f"{name}.{('a', 'b', 'c')[i % 3]}", json.dumps({"id": i}).encode()))
    one = consume(shell, f"{name} -s {name}.a --where 'id > 3' --to {tmp_path / 'one.parquet'}")
    assert one.rows == 3 and pq.read_table(tmp_path / "one.parquet")["id"].to_pylist() == [6, 9, 12]
    two = consume(shell, f"{name} -s {name}.a -s {name}.b --to {tmp_path / 'two.parquet'}")  # merged in stream order
    assert two.rows == 8 and pq.read_table(tmp_path / "two.parquet")["id"].to_pylist() == [1, 3, 4, 6, 7, 9, 10, 12]
    assert run(js.stream_info(name)).state.messages == 12 and run(js.consumers_info(name)) == []
