"""What a publish says about re-runs: --msg-id's window, a late re-run, an interrupted publish (issue 23, items 17-18)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest


@pytest.fixture
def stream(nc):
    client, js, run = nc
    name = f"WP{uuid.uuid4().hex[:8].upper()}"
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"], duplicate_window=1.0))
    yield name, (lambda: run(js.stream_info(name)).state.messages)
    run(js.delete_stream(name))


def test_msg_id_help_names_the_duplicate_window(shell):
    doc = " ".join(shell.find_line_magic("js_publish").__doc__.split())
    assert "within the stream's duplicate window (2 min by default)" in doc


def test_a_rerun_after_the_duplicate_window_warns_and_one_within_it_does_not(shell, stream):
    name, count = stream
    line = f"{name.lower()}.x --msg-id m-{{{{Count}}}} --count 3"
    first = shell.run_cell_magic("js_publish", line, '{"a": 1}')
    again = shell.run_cell_magic("js_publish", line, '{"a": 1}')
    ended = time.monotonic()
    assert count() == 3 and again["duplicate"].all()  # within the window: the server stored none twice
    assert "warning" not in first.summary and "warning" not in again.summary
    while time.monotonic() - ended < 1.6:  # past the stream's 1 s window
        time.sleep(0.1)
    late = shell.run_cell_magic("js_publish", line, '{"a": 1}')
    assert count() == 6 and not late["duplicate"].any()  # the server's own count: stored again
    assert f"beyond its duplicate window (1s)" in late.summary and "warning: --msg-id m-{{Count}}" in late.summary


@pytest.mark.kernel
def test_an_interrupted_publish_says_what_is_stored_and_how_to_rerun(kernel, server, nc):
    _, js, run = nc
    name = f"WI{uuid.uuid4().hex[:8].upper()}"
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}")
    box = {}
    cell = f"%%js_publish {name.lower()}.x --count 3000000\n{{\"n\": {{{{Count}}}}}}"
    worker = threading.Thread(target=lambda: box.setdefault("res", kernel.run(cell, timeout=120, allow_error=True)))
    worker.start()
    deadline = time.monotonic() + 60
    while run(js.stream_info(name)).state.messages < 20_000 and time.monotonic() < deadline:
        time.sleep(0.1)
    kernel.interrupt()
    worker.join(90)
    res = box["res"]
    stored = run(js.stream_info(name)).state.messages  # the server's own count
    text = res.error["evalue"]
    assert res.status == "error" and 0 < stored < 3_000_000
    assert "nothing is left on the server" not in text, text
    assert f"{stored:,} messages stored (stream {name})" in text, text
    assert "rerun with --msg-id" in text and "duplicate window (2 min by default)" in text, text
    run(js.delete_stream(name))
