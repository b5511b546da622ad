"""%js_connect / %js_status / %js_close in an IPython shell, against real servers."""

import json
import socket
import threading

import psutil
import pytest
from IPython.core.error import UsageError

import jsmagic
from jsmagic.core.config import settings
from jsmagic.core.errors import ConnectError, JetStreamDisabledError
from jsmagic.connecting.server import EmbeddedServer
from jsmagic.testing import nats_server


def test_explicit_url_connects_and_js_works(bare_shell, server, capsys):
    ctx = bare_shell.run_line_magic("js_connect", f"{server.url} --name analysis")
    line = capsys.readouterr().out
    assert f"Connected to {server.url}" in line
    assert "v2.15.1" in line and "JetStream on" in line
    assert ctx is jsmagic.context() and ctx.connected
    info = ctx.run(ctx.js.account_info())
    assert info.streams >= 0


def test_environment_url_is_used(bare_shell, server, monkeypatch, capsys):
    monkeypatch.setenv("NATS_URL", server.url)
    ctx = bare_shell.run_line_magic("js_connect", "")
    assert ctx.options.source == "env"
    assert f"Connected to {server.url}" in capsys.readouterr().out


def test_nats_cli_context_file_is_used(bare_shell, server, tmp_path, monkeypatch):
    xdg = tmp_path / "cfg"
    (xdg / "nats" / "context").mkdir(parents=True)
    (xdg / "nats" / "context" / "lab.json").write_text(json.dumps({"url": server.url, "description": "lab"}))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    ctx = bare_shell.run_line_magic("js_connect", "--context lab")
    assert ctx.options.source == "context lab" and ctx.connected


def test_nothing_configured_starts_embedded_server_and_close_stops_it(bare_shell, capsys):
    ctx = bare_shell.run_line_magic("js_connect", "")
    out = capsys.readouterr().out
    assert "embedded nats-server" in out
    pid = ctx.server.pid
    assert psutil.pid_exists(pid) and ctx.jetstream_enabled
    bare_shell.run_line_magic("js_close", "")
    assert "embedded server stopped" in capsys.readouterr().out
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert ctx.nc is None and ctx.state == "closed"


def test_embedded_store_keeps_streams_across_restarts(bare_shell, tmp_path):
    store = tmp_path / "js-data"
    ctx = bare_shell.run_line_magic("js_connect", f"--embedded --store {store}")
    ctx.run(ctx.js.add_stream(name="KEEP", subjects=["keep.>"]))
    ctx.run(ctx.js.publish("keep.a", b"1"))
    bare_shell.run_line_magic("js_close", "")
    ctx = bare_shell.run_line_magic("js_connect", f"--embedded --store {store}")
    info = ctx.run(ctx.js.stream_info("KEEP"))
    assert info.state.messages == 1


def test_magics_connect_on_first_use(bare_shell, server, monkeypatch):
    monkeypatch.setenv("NATS_URL", server.url)
    ctx = jsmagic.context()
    assert ctx.nc is None
    js = ctx.run(ctx.jetstream())
    assert js is ctx.js and ctx.connected and ctx.options.source == "env"


def test_reconnect_replaces_the_connection(bare_shell, server):
    with nats_server() as other:
        ctx = bare_shell.run_line_magic("js_connect", other.url)
        old = ctx.nc
        bare_shell.run_line_magic("js_connect", server.url)
        assert old.is_closed and ctx.nc is not old and ctx.url == server.url


def test_failed_connect_keeps_the_working_connection(bare_shell, server):
    ctx = bare_shell.run_line_magic("js_connect", server.url)
    nc = ctx.nc
    port = EmbeddedServer().port  # a free port where nothing listens
    with pytest.raises(ConnectError, match="connection refused"):
        bare_shell.run_line_magic("js_connect", f"nats://127.0.0.1:{port}")
    assert ctx.nc is nc and nc.is_connected
    assert ctx.run(ctx.js.account_info()) is not None


def test_silent_server_times_out_with_one_line(bare_shell):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    port = listener.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    try:
        with pytest.raises(ConnectError) as e:
            bare_shell.run_line_magic("js_connect", f"nats://127.0.0.1:{port} --timeout 1")
        assert "timed out" in str(e.value) or "no answer" in str(e.value)
        assert "\n" not in e.value.one_line()
    finally:
        listener.close()


def test_server_without_jetstream_is_reported(bare_shell, capsys):
    server = EmbeddedServer(jetstream=False).start()
    try:
        ctx = bare_shell.run_line_magic("js_connect", server.url)
        assert "JetStream off" in capsys.readouterr().out
        with pytest.raises(JetStreamDisabledError, match="not enabled"):
            ctx.run(ctx.jetstream())
    finally:
        server.cleanup()


def test_status_shows_account_and_background(shell):
    ctx = jsmagic.context()
    import asyncio

    entry = ctx.spawn(asyncio.sleep(60), "sleeper", describe=lambda: "just sleeping")
    status = shell.run_line_magic("js_status", "")
    text = repr(status)
    assert "state: connected" in text
    assert "account: streams" in text
    assert entry.name in text and "just sleeping" in text
    shell.run_line_magic("js_close", "")
    assert entry.task.cancelled() and not ctx.background


def test_bad_flag_is_a_usage_error(bare_shell):
    with pytest.raises(UsageError):
        bare_shell.run_line_magic("js_connect", "--no-such-flag")


def test_help_is_generated_from_arguments(bare_shell):
    doc = bare_shell.find_line_magic("js_connect").__doc__
    for flag in ("--creds", "--tls-ca", "--embedded", "--store", "--domain"):
        assert flag in doc


def test_config_traits(bare_shell):
    bare_shell.run_line_magic("config", "JSMagic.timeout = 2.5")
    bare_shell.run_line_magic("config", "JSMagic.display_limit = 7")
    assert settings().timeout == 2.5 and settings().display_limit == 7
    bare_shell.run_line_magic("config", "JSMagic.timeout = -1")  # refused (logged by %config)
    assert settings().timeout == 2.5


def test_autostart_off_gives_clear_error(bare_shell):
    bare_shell.run_line_magic("config", "JSMagic.autostart_embedded = False")
    from jsmagic.core.errors import NotConnectedError

    with pytest.raises(NotConnectedError, match="autostart is off"):
        bare_shell.run_line_magic("js_connect", "")


def test_errors_render_as_one_line_or_full_on_request(bare_shell):
    port = EmbeddedServer().port
    with pytest.raises(ConnectError) as e:
        bare_shell.run_line_magic("js_connect", f"nats://127.0.0.1:{port}")
    lines = e.value._render_traceback_()
    assert len(lines) == 1 and "ConnectError: no NATS server" in lines[0]
    bare_shell.run_line_magic("config", "JSMagic.short_errors = False")
    assert len(e.value._render_traceback_()) > 3


def test_top_level_await_in_terminal_ipython_uses_the_same_connection(bare_shell, server):
    """No kernel loop runs here: magics and `await` must still share IPython's asyncio loop."""
    bare_shell.user_ns["ctx"] = ctx = bare_shell.run_line_magic("js_connect", server.url)
    result = bare_shell.run_cell("info = await ctx.js.account_info()\nsame = ctx.nc.client_id")
    assert result.success, result.error_in_exec
    assert bare_shell.user_ns["info"].streams >= 0
    assert bare_shell.user_ns["same"] == ctx.nc.client_id
    bare_shell.run_line_magic("js_status", "")  # a magic after the await: still the one connection
    assert ctx.connected and ctx.nc.client_id == bare_shell.user_ns["same"]


def test_a_server_started_from_a_short_lived_thread_outlives_the_thread():
    """Linux ties the death signal to the forking *thread*: starting servers must not depend on it."""
    import time

    started = []
    t = threading.Thread(target=lambda: started.append(EmbeddedServer().start()))
    t.start()
    t.join()
    server = started[0]
    try:
        time.sleep(0.5)
        assert server.running(), "the server died with the thread that started it"
    finally:
        server.cleanup()


def test_free_ports_stay_out_of_the_range_client_connections_take():
    """A chosen port lies below the ephemeral range and is never handed out twice.

    CI lost a cluster test to a route port that a client connection took between the
    choice and the server's bind (ports the OS picks come from the ephemeral range).
    """
    from pathlib import Path

    from jsmagic.connecting.server import free_port

    lo = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports), "a port was handed out twice"
    assert max(ports) < lo, f"a port inside the ephemeral range (from {lo}): {max(ports)}"
