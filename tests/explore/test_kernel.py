"""In a real kernel: the browser widget pages on a click and leaves a snapshot; an interrupted schema fails its cell."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from .test_browse import holey, plain  # noqa: F401 - the fixture and the plain nats-py reading

pytestmark = pytest.mark.kernel


@pytest.fixture
def jk(kernel, server):
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}")
    return kernel


def value_of(kernel, expr: str):
    return json.loads(kernel.run(f"import json as _j\nprint(_j.dumps({expr}))").stdout.strip().splitlines()[-1])


def test_widget_renders_pages_and_leaves_a_snapshot(jk, nc, holey):
    _client, js, run = nc
    stored = [m[0] for m in plain(run, js, holey)]
    res = jk.run(f"v = %js_stream browse {holey} -n 10 --seq 20")
    assert res.status == "ok", res.error_text
    assert any("application/vnd.jupyter.widget-view+json" in d for d in res.data)  # a widget view
    assert any("text/html" in d and "jsmagic-browse" in d["text/html"] for d in res.data)  # its static fallback
    assert value_of(jk, "[int(s) for s in v.page.seq]") == [s for s in stored if s >= 20][:10]
    # a button click runs on the kernel's loop while it is idle
    jk.run("v.buttons[2].click()")  # next ▶
    deadline = time.monotonic() + 30
    while value_of(jk, "int(v.page.seq.iloc[0])") == 20 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert value_of(jk, "[int(s) for s in v.page.seq]") == [s for s in stored if s >= 20][10:20]
    after = [s for s in stored if s >= 20]
    # a sequence typed into its box (a deleted one: the page starts at the next stored message)
    jk.run("v.seq_box.value = '12'")
    deadline = time.monotonic() + 30
    while value_of(jk, "int(v.page.seq.iloc[0])") != 16 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert value_of(jk, "[int(s) for s in v.page.seq]") == [s for s in stored if s >= 12][:10]
    jk.run("v.seq_box.value = '30'")
    while value_of(jk, "int(v.page.seq.iloc[0])") != after[10] and time.monotonic() < deadline:
        time.sleep(0.2)
    jk.run(f"v.pick({after[15]})")
    line = value_of(jk, "v.browser.consume_line()")
    assert line == f"%js_consume {holey} --start-seq {after[10]} -n 10"
    stopped = jk.run("v.stop()")
    updates = [m["content"] for m in stopped.messages if m["msg_type"] == "update_display_data"]
    assert updates, "stopping must replace the output"
    data = updates[-1]["data"]
    assert "application/vnd.jupyter.widget-view+json" not in data  # static: no "model not found" when saved
    html = data["text/html"]
    assert "stopped" in html and f">{after[19]}<" in html and f"seq {after[15]}</b>" in html and line in html


def test_interrupted_schema_fails_the_cell_and_keeps_what_was_read(jk, nc):
    import threading

    client, js, run = nc
    name = "INT" + uuid.uuid4().hex[:8].upper()
    run(js.add_stream(name=name, subjects=[f"{name}.>"]))
    n = 100_000
    for i in range(n):
        run(client.publish(f"{name}.x", json.dumps({"i": i}).encode()))
    run(client.flush())
    deadline = time.monotonic() + 120
    while run(js.stream_info(name)).state.messages < n and time.monotonic() < deadline:
        time.sleep(0.1)
    jk.run("%config JSMagic.bulk_replay = False")  # the slower reader: the interrupt lands mid-read

    def interrupt_once_reading():
        for _ in range(400):
            if run(js.stream_info(name)).state.consumer_count:
                break
            time.sleep(0.025)
        time.sleep(0.3)
        jk.interrupt()

    watcher = threading.Thread(target=interrupt_once_reading)
    watcher.start()
    res = jk.run(f"%js_stream schema {name}", timeout=120, allow_error=True)
    watcher.join()
    assert res.status == "error" and "Interrupted:" in res.error_text and "jsmagic.last_result()" in res.error_text
    kept = value_of(jk, "[jsmagic.last_result().messages, jsmagic.last_result().summary.startswith('SHORT')]"
                    .replace("jsmagic.", "__import__('jsmagic')."))
    assert 0 < kept[0] < n and kept[1] is True
    deadline = time.monotonic() + 30
    while run(js.stream_info(name)).state.consumer_count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run(js.stream_info(name)).state.consumer_count == 0
