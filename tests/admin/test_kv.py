"""%js_kv verbs against a real bucket on the session server, as a user types them."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from IPython.core.error import UsageError

from jsmagic.core.errors import ConflictError, ForceRequiredError, InputError, NotFoundError
from jsmagic.core.registry import context


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


def test_destructive_verbs_print_their_sentence_and_keep_data_under_o(shell, bucket, nc, capsys):
    kv(shell, f"put {bucket} k v1")
    kv(shell, f"put {bucket} k v2")
    capsys.readouterr()
    assert kv(shell, f"del {bucket} k -o gone") is None
    assert capsys.readouterr().out == f"deleted k from {bucket}\n"
    gone = shell.user_ns["gone"]
    assert (gone.key, gone.value, gone.revision) == ("k", "v2", 2)  # what was current when deleted
    kv(shell, f"put {bucket} p x")
    kv(shell, f"put {bucket} p y")
    capsys.readouterr()
    assert kv(shell, f"purge {bucket} p --force -o n") is None
    assert capsys.readouterr().out == f"purged p from {bucket}\n"
    assert shell.user_ns["n"] == 2  # revisions removed
    client, js, run = nc
    held = run(js.stream_info(f"KV_{bucket}")).state.messages
    assert kv(shell, f"rm {bucket} --force -o values") is None
    assert capsys.readouterr().out == f"deleted bucket {bucket}\n"
    assert shell.user_ns["values"] == held


def test_add_says_it_in_units_and_keeps_plain_numbers(shell, capsys):
    name = f"kv_{uuid.uuid4().hex[:8]}"
    assert kv(shell, f"add {name} --ttl 1h --max-value-size 1KB -o b") is None
    assert capsys.readouterr().out == f"Created bucket {name} (history 1, ttl 1h, file)\n"
    b = shell.user_ns["b"]
    assert (b.ttl, b.max_value_size, b.max_bucket_size, b.bytes, b.direct) == (3600, 1000, -1, 0, True)
    shown = kv(shell, f"info {name}")
    assert (shown["ttl"], shown["max_value_size"], shown["size"]) == ("1h", "1000 B", "0 B")
    ls = kv(shell, "ls").set_index("bucket").loc[name]
    assert (ls["ttl"], ls["max_bucket_size"]) == ("1h", "unlimited")  # the table reads as before
    kv(shell, f"rm {name} --force")


def test_only_value_verbs_take_a_cell_and_help_lists_every_verb(shell, bucket):
    shell.run_cell_magic("js_kv", f"create {bucket} c", "from the cell\n")
    shell.run_cell_magic("js_kv", f"update {bucket} c 1", "again\n")
    assert kv(shell, f"get {bucket} c") == "again"
    with pytest.raises(UsageError, match="takes no cell body"):
        shell.run_cell_magic("js_kv", f"get {bucket} c", "x\n")
    assert kv(shell, f"get {bucket} c --output got") == "again"  # -o/--output NAME, like every magic
    assert shell.user_ns["got"] == "again"
    with pytest.raises(UsageError, match="not a variable name"):
        kv(shell, f"get {bucket} c -o got.txt")
    doc = shell.find_line_magic("js_kv").__doc__
    for verb in ("add", "put", "get", "update", "create", "del", "purge", "history", "keys", "view", "ls",
                 "info", "rm", "watch", "unwatch"):
        assert f"js_kv {verb}" in doc
    assert "--output NAME" in doc


def test_every_core_verb_goes_to_the_context_it_is_given(shell, second):
    """``ctx=`` routes a verb to that connection; the current one (default) never sees the bucket."""
    from jsmagic.admin import kv as core

    run, b = second.run, "routed"
    assert run(core.add(b, history=3, ttl=60, ctx=second)).ttl == 60
    assert b in run(core.buckets(ctx=second)) and b not in run(core.buckets())
    assert isinstance(raises_in_cell(shell, f"info {b}"), NotFoundError)
    assert run(core.put(b, "a.x", {"n": 1}, ctx=second)) == 1
    assert run(core.create(b, "a.y", "text", ctx=second)) == 2
    assert run(core.update(b, "a.x", {"n": 2}, last=1, ctx=second)) == 3
    assert run(core.get(b, "a.x", ctx=second)).value == {"n": 2}
    assert run(core.keys(b, "a.*", ctx=second)) == ["a.x", "a.y"]
    view = run(core.view(b, ctx=second))
    assert view["key"].tolist() == ["a.x", "a.y"] and view.attrs["interrupted"] is False
    assert run(core.history(b, "a.x", ctx=second))["revision"].tolist() == [1, 3]
    ls = run(core.ls(ctx=second)).set_index("bucket").loc[b]
    assert (ls["values"], ls["ttl"]) == (3, 60) and ls["bytes"] > 0  # plain numbers
    assert run(core.delete(b, "a.y", ctx=second)).value == "text"
    assert run(core.purge(b, "a.x", force=True, ctx=second)) == 2
    assert run(core.info(b, ctx=second)).values == 3  # a.y and its delete marker, a.x's purge marker
    assert run(core.rm(b, force=True, ctx=second)) == 3
    assert run(core.buckets(ctx=second)) == []


def test_the_core_watch_lives_on_its_context_and_stops_with_it(shell, second):
    import asyncio

    from jsmagic.admin import kv as core
    from jsmagic.admin.kvwatch import KVWatcher

    run, rows = second.run, []
    run(core.add("watched", ctx=second))
    run(core.put("watched", "a", 1, ctx=second))
    w = run(KVWatcher("watched", on_row=lambda key, row: rows.append((key, row and row[2])), ctx=second).start())
    assert [e.name.split("#")[0] for e in second.background.values()] == ["kv watch watched"]
    assert not context().background  # nothing on the current connection

    async def changes():
        await core.put("watched", "b", 2, ctx=second)
        await core.delete("watched", "a", ctx=second)
        while w.count < 3:
            await asyncio.sleep(0.02)

    run(asyncio.wait_for(changes(), 10))
    assert rows == [("a", 1), ("b", 2), ("a", 3)]
    assert w.df.set_index("key")["operation"].to_dict() == {"a": "DEL", "b": "PUT"}
    assert w.events["revision"].tolist() == [1, 2, 3] and w.status == "live"
    run(second.close())  # the connection's close ends its watch
    assert not w.running and w.status == "stopped"
