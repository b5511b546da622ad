"""%js_kv verbs against a real bucket on the session server, as a user types them."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from IPython.core.error import UsageError

from jsmagic.core.errors import ConflictError, ForceRequiredError, InputError, NotFoundError


@pytest.fixture
def bucket(shell):
    """A fresh bucket name (created by the test through %js_kv add)."""
    name = f"kv_{uuid.uuid4().hex[:8]}"
    shell.run_line_magic("js_kv", f"add {name} --history 5")
    return name


def kv(shell, line):
    return shell.run_line_magic("js_kv", line)


def raises_in_cell(shell, line):
    """Run a line as a cell and return the error the user saw (the cell must fail)."""
    result = shell.run_cell(f"%js_kv {line}")
    assert result.error_in_exec is not None or result.error_before_exec is not None
    return result.error_in_exec or result.error_before_exec


def test_add_creates_bucket_with_direct_get_and_options(shell, nc):
    name = f"kv_{uuid.uuid4().hex[:8]}"
    assert kv(shell, f"add {name} --history 3 --ttl 1h --max-value-size 1KB --storage memory") is None
    info = kv(shell, f"info {name}")
    assert info["history"] == 3 and info["ttl"] == "1h" and info["storage"] == "memory"
    client, js, run = nc
    si = run(js.stream_info(f"KV_{name}"))
    assert si.config.allow_direct is True
    assert si.config.max_msg_size == 1000
    assert si.config.max_age == 3600
    assert name in set(kv(shell, "ls")["bucket"])
    assert kv(shell, f"info {name}")["bucket"] == name


def test_put_get_round_trip_decodes_json_text_bytes(shell, bucket, nc):
    assert kv(shell, f"put {bucket} db.host postgres.local") == 1
    assert kv(shell, f"get {bucket} db.host") == "postgres.local"
    kv(shell, f"put {bucket} db.port 5432")
    assert kv(shell, f"get {bucket} db.port") == 5432
    shell.user_ns["cfg"] = {"pool": [1, 2], "tls": True}
    kv(shell, f"put {bucket} app.cfg --from cfg")
    assert kv(shell, f"get {bucket} app.cfg") == {"pool": [1, 2], "tls": True}
    shell.user_ns["blob"] = b"\xff\x00\xfe"
    kv(shell, f"put {bucket} app.blob --from blob")
    assert kv(shell, f"get {bucket} app.blob") == b"\xff\x00\xfe"
    # another client sees exactly what was stored
    client, js, run = nc
    kvh = run(js.key_value(bucket))
    assert run(kvh.get("db.host")).value == b"postgres.local"


def test_cell_body_is_the_value(shell, bucket):
    shell.run_cell_magic("js_kv", f"put {bucket} settings.json", '{"theme": "dark", "size": 12}\n')
    assert kv(shell, f"get {bucket} settings.json") == {"theme": "dark", "size": 12}


def test_get_prints_revision_and_time(shell, bucket, capsys):
    kv(shell, f"put {bucket} a 1")
    kv(shell, f"put {bucket} a 2")
    capsys.readouterr()
    assert kv(shell, f"get {bucket} a") == 2
    out = capsys.readouterr().out
    assert "revision 2" in out and "T" in out  # an ISO time
    assert kv(shell, f"get {bucket} a --revision 1") == 1


def test_update_and_create_are_optimistic(shell, bucket):
    rev = kv(shell, f"put {bucket} db.host pg1")
    assert kv(shell, f"update {bucket} db.host pg2 {rev}") == rev + 1
    err = raises_in_cell(shell, f"update {bucket} db.host pg3 {rev}")
    assert isinstance(err, ConflictError)
    assert f"revision {rev + 1}" in str(err) and "\n" not in err.one_line()
    assert kv(shell, f"get {bucket} db.host") == "pg2"  # state intact
    err = raises_in_cell(shell, f"create {bucket} db.host other")
    assert isinstance(err, ConflictError) and "already exists" in str(err)
    assert kv(shell, f"create {bucket} db.port 5432") > 0
    # create works again after a delete
    kv(shell, f"del {bucket} db.port")
    kv(shell, f"create {bucket} db.port 6543")
    assert kv(shell, f"get {bucket} db.port") == 6543


def test_del_keeps_history_purge_needs_force(shell, bucket):
    kv(shell, f"put {bucket} k v1")
    kv(shell, f"put {bucket} k v2")
    kv(shell, f"del {bucket} k")
    assert isinstance(raises_in_cell(shell, f"get {bucket} k"), NotFoundError)
    hist = kv(shell, f"history {bucket} k")
    assert list(hist["operation"]) == ["PUT", "PUT", "DEL"]
    assert list(hist["value"][:2]) == ["v1", "v2"]
    assert list(hist.columns) == ["revision", "operation", "value", "time"]
    assert hist["revision"].is_monotonic_increasing
    assert isinstance(hist["time"].dtype, pd.DatetimeTZDtype)
    kv(shell, f"put {bucket} p x")
    err = raises_in_cell(shell, f"purge {bucket} p")
    assert isinstance(err, ForceRequiredError)
    assert kv(shell, f"get {bucket} p") == "x"
    kv(shell, f"purge {bucket} p --force")
    assert "p" not in kv(shell, f"keys {bucket}")
    assert list(kv(shell, f"history {bucket} p")["operation"]) == ["PURGE"]


def test_keys_filters_with_nats_wildcards_on_the_server(shell, bucket):
    for key in ["users.a", "users.b", "users.a.b", "usersx", "admins.a"]:
        kv(shell, f"put {bucket} {key} 1")
    assert kv(shell, f"keys {bucket} users.*") == ["users.a", "users.b"]
    assert kv(shell, f"keys {bucket} users.>") == ["users.a", "users.a.b", "users.b"]
    assert kv(shell, f"keys {bucket} *.a") == ["admins.a", "users.a"]
    assert kv(shell, f"keys {bucket}") == ["admins.a", "users.a", "users.a.b", "users.b", "usersx"]
    assert isinstance(raises_in_cell(shell, f"keys {bucket} users*"), InputError)


def test_view_is_current_state_sorted_without_deleted(shell, bucket):
    kv(shell, f"put {bucket} b 2")
    kv(shell, f"put {bucket} a 1")
    kv(shell, f"put {bucket} b 3")
    kv(shell, f"put {bucket} gone x")
    kv(shell, f"del {bucket} gone")
    df = kv(shell, f"view {bucket}")
    assert list(df.columns) == ["key", "value", "revision", "time"]
    assert list(df["key"]) == ["a", "b"] and list(df["value"]) == [1, 3]
    assert list(df["revision"]) == [2, 3]
    assert len(kv(shell, f"view {bucket} a")) == 1
    empty = f"kv_{uuid.uuid4().hex[:8]}"
    kv(shell, f"add {empty}")
    assert len(kv(shell, f"view {empty}")) == 0


def test_view_reads_more_than_1024_keys_and_leaves_no_consumer(shell, bucket, nc):
    client, js, run = nc

    async def fill():
        acks = [js.publish(f"$KV.{bucket}.k{i:05d}", str(i).encode()) for i in range(3000)]
        import asyncio

        await asyncio.gather(*acks)

    run(fill())
    df = kv(shell, f"view {bucket}")
    assert len(df) == 3000 and df["value"].sum() == sum(range(3000))
    assert run(js.stream_info(f"KV_{bucket}")).state.consumer_count == 0


def test_rm_needs_force_and_unknown_bucket_says_did_you_mean(shell, bucket):
    err = raises_in_cell(shell, f"rm {bucket}")
    assert isinstance(err, ForceRequiredError)
    assert bucket in set(kv(shell, "ls")["bucket"])
    err = raises_in_cell(shell, f"get {bucket}x a")
    assert isinstance(err, NotFoundError) and f"did you mean '{bucket}'" in str(err)
    kv(shell, f"rm {bucket} --force")
    assert bucket not in set(kv(shell, "ls")["bucket"])


def test_bad_input_is_one_line_and_changes_nothing(shell, bucket):
    assert isinstance(raises_in_cell(shell, f"put {bucket} bad..key v"), InputError)
    assert isinstance(raises_in_cell(shell, f"put {bucket} k"), InputError)  # no value
    assert isinstance(raises_in_cell(shell, f"put {bucket} k v --from nothere"), InputError)
    with pytest.raises(UsageError):
        kv(shell, "frobnicate x")
    with pytest.raises(UsageError):
        kv(shell, f"add {bucket} --history lots")
    assert kv(shell, f"keys {bucket}") == []


def test_out_stores_result_and_literal_dollar(shell, bucket):
    kv(shell, f"put {bucket} price $5")  # no IPython expansion of $x
    assert kv(shell, f"get {bucket} price -o p") == "$5"
    assert shell.user_ns["p"] == "$5"
