"""Names in messages: no internal consumers offered (issue 23, item 17)."""

from __future__ import annotations

import uuid

import pytest
from nats.js import api

from jsmagic.core.errors import NotFoundError


def test_consumer_did_you_mean_leaves_out_jsmagic_internal_consumers(shell, nc):
    _, js, run = nc
    name = f"WN{uuid.uuid4().hex[:8].upper()}"
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    run(js.add_consumer(name, api.ConsumerConfig(durable_name="jsmagic_3f2a1b9c0d1e", ack_policy="none")))
    run(js.add_consumer(name, api.ConsumerConfig(durable_name="worker", ack_policy="explicit")))
    with pytest.raises(NotFoundError) as e:
        shell.run_line_magic("js_consumer", f"info {name} jsmagic3f2a1b9c0d1")
    assert "jsmagic_" not in (e.value.hint or ""), e.value.hint  # not offered as a match
    with pytest.raises(NotFoundError) as e:
        shell.run_line_magic("js_consumer", f"info {name} zzz")
    assert "worker" in e.value.hint and "jsmagic_" not in e.value.hint, e.value.hint  # nor listed
    with pytest.raises(NotFoundError) as e:
        shell.run_line_magic("js_consumer", f"info {name} wroker")
    assert e.value.hint == "did you mean 'worker'?"
    run(js.delete_stream(name))


def test_a_plain_server_is_named_by_host_and_port_not_its_56_character_id(bare_shell, tmp_path):
    import socket
    import subprocess
    import time

    from jsmagic.connecting.server import free_port, server_binary

    port = free_port()
    proc = subprocess.Popen([server_binary(), "-p", str(port), "-js", "-sd", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        ctx = bare_shell.run_line_magic("js_connect", f"nats://127.0.0.1:{port}")
        server_id = ctx.server_info["server_id"]
        assert len(server_id) == 56 and ctx.server_info.get("server_name") == server_id  # what the server reports
        line = ctx.connection_line()
        assert f"(server 127.0.0.1:{port} v" in line and server_id not in line, line
        bare_shell.run_line_magic("js_close", "")
    finally:
        proc.terminate()
        proc.wait(10)


def test_closing_the_current_connection_switches_to_the_open_one_and_says_so(bare_shell, capsys):
    import jsmagic
    from jsmagic import testing as jt

    with jt.nats_server() as first, jt.nats_server() as second:
        bare_shell.run_line_magic("js_connect", first.url)  # default
        bare_shell.run_line_magic("js_connect", f"{second.url} --alias other")
        bare_shell.run_line_magic("js_use", "default")
        capsys.readouterr()
        bare_shell.run_line_magic("js_close", "")
        said = capsys.readouterr().out
        assert f"now using [other] {second.url}" in said, said
        assert jsmagic.context().alias == "other" and jsmagic.context().server is None
        bare_shell.run_line_magic("js_stream", "ls")  # the next magic runs on the open one
        assert jsmagic.context().url == second.url and jsmagic.contexts()["default"].nc is None  # no embedded server
        bare_shell.run_line_magic("js_close", "--all")


def test_a_consumer_never_active_says_never_and_counts_have_plurals(shell, nc):
    _, js, run = nc
    name = f"WL{uuid.uuid4().hex[:8].upper()}"
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    run(js.publish(f"{name.lower()}.x", b"{}"))
    shell.run_line_magic("js_consumer", f"add {name} w")
    assert run(js.consumer_info(name, "w")).delivered.last_active is None  # the server: never delivered
    report = shell.run_line_magic("js_consumer", f"info {name} w")
    assert "NaT" not in repr(report) and report["State"]["last active"] == "never"
    listing = shell.run_line_magic("js_consumer", f"ls {name}")
    assert listing.summary == f"1 consumer on {name}" and "NaT" not in repr(listing) and "never" in repr(listing)
    got = shell.run_line_magic("js_consumer", f"next {name} w")
    assert got.summary == f"1 message from {name} > w, acked"
    run(js.delete_stream(name))
