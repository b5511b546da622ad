"""The live KV watch in a real kernel: updates while idle, what the frontend received, stop, restart.

Puts come from the test process (another process than the kernel) while the kernel is
idle; the widget's state is then read from a later cell and from the comm messages the
frontend got.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import pytest

from jsmagic.testing import KernelSession
from jsmagic.ui.livetable import LiveTable


@pytest.fixture(scope="module")
def jk(server, tmp_path_factory):
    """One real kernel for this module, connected to the session server."""
    with KernelSession.isolated(tmp_path_factory.mktemp("kvwatch")) as k:
        k.run(f"%load_ext jsmagic\n%js_connect {server.url}")
        yield k


def put_many(nc, bucket, items):
    """Put (key, value) pairs from this process, pipelined; returns the acks' revisions."""
    client, js, run = nc

    async def go():
        acks = await asyncio.gather(*(js.publish(f"$KV.{bucket}.{k}", str(v).encode()) for k, v in items))
        return [a.seq for a in acks]

    return run(go())


def value_of(kernel, expr):
    """Evaluate ``expr`` in the kernel and return it (JSON round trip)."""
    res = kernel.run(f"import json as _j; print(_j.dumps({expr}, default=str))")
    return json.loads(res.stdout.strip().splitlines()[-1])


def comm_html(kernel, model_id):
    """The last HTML value the frontend received for a widget model."""
    values = [
        m["data"]["state"]["value"]
        for m in kernel.comm_log
        if m.get("comm_id") == model_id and "state" in m.get("data", {}) and "value" in m["data"]["state"]
    ]
    return values[-1] if values else None


def wait_for(kernel, expr, timeout=10.0):
    """Poll ``expr`` in the kernel until true (the kernel stays idle between polls)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value_of(kernel, expr):
            return True
        kernel.drain_iopub(0.2)
    raise AssertionError(f"never true: {expr}")


def test_watch_updates_while_idle_and_frontend_sees_final_state(jk, nc):
    b = f"kvw_{uuid.uuid4().hex[:8]}"
    jk.run(f"%js_kv add {b} --history 3\n%js_kv put {b} a 1\n%js_kv put {b} gone x")
    res = jk.run(f"w = %js_kv watch {b}\nprint(w.table._table.model_id, w.table._header.model_id)")
    table_id, header_id = res.stdout.split()
    assert any("application/vnd.jupyter.widget-view+json" in d for d in res.data)
    assert any("text/html" in d and "jsmagic-live" in d["text/html"] for d in res.data)  # static fallback
    # another process writes while the kernel is idle
    put_many(nc, b, [(f"k{i % 50}", i) for i in range(500)] + [("a", 99)])
    client, js, run = nc
    kvh = run(js.key_value(b))
    run(kvh.delete("gone"))
    jk.drain_iopub(1.5)
    html = comm_html(jk, table_id)
    assert html is not None and ">k49<" in html and ">499<" in html and ">99<" in html
    assert "line-through" in html  # the deleted key shown as such
    header = comm_html(jk, header_id)
    seen = value_of(jk, "w.table.events")  # revisions overwritten before the watch read them are gone (history 3)
    assert f"{seen:,} events" in header and "live" in header and "52 rows" in header  # a, gone (deleted), k0..k49
    # a later cell reads the same state; it equals %js_kv view of the bucket
    jk.run(f"v = %js_kv view {b}\nd = w.df")
    same = value_of(
        jk,
        "d[d.operation == 'PUT'][['key','value','revision']].values.tolist()"
        " == v[['key','value','revision']].values.tolist() and len(v) == 51",
    )
    assert same is True
    assert value_of(jk, "len(w.events)") == seen
    assert value_of(jk, "w.events.revision.is_monotonic_increasing and w.events.revision.is_unique") is True
    assert value_of(jk, "w.df.set_index('key').loc['gone','operation']") == "DEL"
    # stopping re-sends the displayed output: a saved notebook shows the final, stopped table
    stopped = jk.run("w.stop()")
    updates = [m["content"] for m in stopped.messages if m["msg_type"] == "update_display_data"]
    assert updates and "stopped" in updates[-1]["data"]["text/html"] and ">k49<" in updates[-1]["data"]["text/html"]


def test_watch_updates_while_another_cell_awaits(jk, nc):
    b = f"kvw_{uuid.uuid4().hex[:8]}"
    jk.run(f"%js_kv add {b}\nw = %js_kv watch {b}\nimport asyncio")
    timer = threading.Timer(0.5, put_many, args=(nc, b, [(f"k{i}", i) for i in range(20)]))
    timer.start()
    try:
        out = jk.run("await asyncio.sleep(2.0)\nprint(w.table.events, len(w.df))").stdout.split()
    finally:
        timer.join()
    assert out == ["20", "20"]
    jk.run("w.stop()")


def test_events_are_capped_by_config(jk, nc):
    b = f"kvw_{uuid.uuid4().hex[:8]}"
    jk.run(f"%js_kv add {b} --history 64\n%config JSMagic.events_cap = 10\nc = %js_kv watch {b}")
    try:
        put_many(nc, b, [("k", i) for i in range(50)])
        wait_for(jk, "c.table.events == 50")
        assert value_of(jk, "list(c.events.value)") == list(range(40, 50))
    finally:
        jk.run("%config JSMagic.events_cap = 100000\nc.stop()")


def test_updates_revision_no_deletes_and_patterns(jk, nc):
    b = f"kvw_{uuid.uuid4().hex[:8]}"
    jk.run(f"%js_kv add {b} --history 5")
    revs = put_many(nc, b, [("db.host", "pg1"), ("db.port", 1), ("users.a", 1), ("users.a.b", 2)])
    jk.run(
        f"u = %js_kv watch {b} --updates\nr = %js_kv watch {b} --revision {revs[2]}\n"
        f"n = %js_kv watch {b} users.* --no-deletes"
    )
    put_many(nc, b, [("db.host", "pg2"), ("users.b", 3)])
    client, js, run = nc
    run(run(js.key_value(b)).delete("users.a"))
    wait_for(jk, "len(u.events) == 3 and len(r.events) == 5 and n.table.events == 3")
    assert value_of(jk, "list(u.events.key)") == ["db.host", "users.b", "users.a"]  # nothing existing
    assert value_of(jk, "int(r.events.revision.min())") == revs[2]
    assert value_of(jk, "sorted(n.df.key)") == ["users.b"]  # users.a deleted and dropped; users.a.b not matched
    jk.run("%js_kv unwatch")


def test_stop_and_unwatch_end_tasks_and_consumers(jk, nc):
    b = f"kvw_{uuid.uuid4().hex[:8]}"
    jk.run(f"%js_kv add {b}")
    count_tasks = "len([t for t in asyncio.all_tasks() if t.get_name().startswith('jsmagic:kv watch')])"
    jk.run("import asyncio")
    base = value_of(jk, count_tasks)
    jk.run(f"w1 = %js_kv watch {b}\nw2 = %js_kv watch {b}\nw3 = %js_kv watch {b}")
    assert value_of(jk, count_tasks) == base + 3
    client, js, run = nc
    assert run(js.stream_info(f"KV_{b}")).state.consumer_count == 3
    status = jk.run("%js_status").result
    assert status.count(f"kv watch {b}") == 3
    jk.run("w1.stop()")
    jk.drain_iopub(0.3)
    assert value_of(jk, count_tasks) == base + 2
    assert value_of(jk, "w1.table.status") == "stopped"
    out = jk.run("n = %js_kv unwatch").stdout
    assert "Stopped 2 watches." in out
    assert value_of(jk, count_tasks) == base
    assert run(js.stream_info(f"KV_{b}")).state.consumer_count == 0
    assert f"kv watch {b}" not in jk.run("%js_status").result


def test_watch_ends_when_bucket_is_deleted(jk):
    b = f"kvw_{uuid.uuid4().hex[:8]}"
    jk.run(f"%js_kv add {b}\ng = %js_kv watch {b}\n%js_kv rm {b} --force")
    wait_for(jk, "not g.running", timeout=15)
    assert value_of(jk, "(g.table.status, g.table.note)") == ["stopped", "bucket deleted"]


def test_close_stops_watches(server, tmp_path):
    with KernelSession.isolated(tmp_path) as k:
        b = f"kvw_{uuid.uuid4().hex[:8]}"
        k.run(f"%load_ext jsmagic\n%js_connect {server.url}\n%js_kv add {b}\nw = %js_kv watch {b}")
        out = k.run("%js_close").stdout
        assert "1 background task stopped" in out
        assert value_of(k, "(w.running, w.table.status)") == [False, "stopped"]


def test_server_restart_resumes_without_gaps(tmp_path, fresh_server, nc_factory):
    with KernelSession.isolated(tmp_path) as k:
        b = "restart"
        k.run(f"%load_ext jsmagic\n%js_connect {fresh_server.url}\n%js_kv add {b} --history 64")
        k.run(f"w = %js_kv watch {b} --history\nhid = w.table._header.model_id")
        header_id = value_of(k, "hid")
        with nc_factory(fresh_server.url) as c:
            put_many(c, b, [(f"k{i % 8}", i) for i in range(200)])  # 50 revisions per key: all kept
        wait_for(k, "len(w.events) == 200")
        fresh_server.restart(downtime=1.0)
        k.drain_iopub(0.5)
        with nc_factory(fresh_server.url) as c:
            put_many(c, b, [(f"k{i % 8}", i) for i in range(200, 400)])
        wait_for(k, "len(w.events) == 400", timeout=20)
        k.drain_iopub(0.5)
        assert value_of(k, "list(w.events.revision) == list(range(1, 401))") is True
        assert value_of(k, "w.table.status") == "live"
        headers = [
            m["data"]["state"]["value"] for m in k.comm_log
            if m.get("comm_id") == header_id and "value" in m.get("data", {}).get("state", {})
        ]
        assert any("reconnecting" in h for h in headers)
        assert "live" in headers[-1]
        k.run(f"v = %js_kv view {b}\nd = w.df")
        assert value_of(k, "d[['key','value','revision']].values.tolist() == v[['key','value','revision']].values.tolist()") is True


@pytest.fixture
def nc_factory():
    """Short-lived independent clients (the restart test needs one per server life)."""
    import contextlib

    import nats

    @contextlib.contextmanager
    def make(url):
        loop = asyncio.new_event_loop()
        client = loop.run_until_complete(nats.connect(url))
        try:
            yield client, client.jetstream(), loop.run_until_complete
        finally:
            loop.run_until_complete(client.close())
            loop.close()

    return make


# ---- the generic widget, without NATS -------------------------------------------------------
def test_live_table_throttles_coalesces_and_never_lags():
    async def go():
        t = LiveTable(["key", "value"], key="key", title="t", max_render_rate=5)
        start = time.monotonic()
        while time.monotonic() - start < 1.0:
            for i in range(1000):
                t.upsert((f"k{i % 10}", i))
            await asyncio.sleep(0.01)
        t.upsert(("k0", "last"))
        await asyncio.sleep(0.4)
        return t

    t = asyncio.run(go())
    assert t.renders <= 8  # ~1 s at 5/s, plus the trailing render
    assert ">last<" in t._table.value  # the final state is shown
    assert "background:#fff3b0" in t._table.value.split(">last<")[0].rsplit("<tr", 1)[1]  # highlighted
    assert len(t) == 10 and t.df.set_index("key").loc["k0", "value"] == "last"


def test_live_table_tail_mode_stop_and_static_html():
    stopped = []
    t = LiveTable(["subject", "data"], title="tail", tail=3, on_stop=lambda: stopped.append(1))
    for i in range(10):
        t.append((f"s{i}", f"<b>{i}</b>"))
    assert t.rows() == [("s7", "<b>7</b>"), ("s8", "<b>8</b>"), ("s9", "<b>9</b>")]
    t.stop()
    t.stop()
    assert stopped == [1] and t.status == "stopped" and t._button.disabled
    bundle = t._repr_mimebundle_()
    assert "&lt;b&gt;9&lt;/b&gt;" in bundle["text/html"] and "stopped" in bundle["text/html"]
    assert "s6" not in bundle["text/html"]
