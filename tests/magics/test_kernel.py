"""The shared context in a real Jupyter kernel: what a notebook user sees."""

import json
import os
import signal
import time

import psutil
import pytest

pytestmark = pytest.mark.kernel


def server_connections(pid: int, port: int) -> int:
    """Open TCP connections from process ``pid`` to a server on ``port``."""
    return sum(1 for c in psutil.Process(pid).net_connections("tcp") if c.raddr and c.raddr.port == port and c.status == "ESTABLISHED")


def test_connect_then_await_on_the_same_connection(kernel, server):
    r = kernel.run(f"%load_ext jsmagic\nctx = %js_connect {server.url}")
    assert f"Connected to {server.url}" in r.stdout and not r.stderr.strip()
    r = kernel.run("cid = ctx.nc.client_id\ninfo = await ctx.js.account_info()\nprint(info.streams >= 0, cid)")
    assert r.stdout.startswith("True")
    # a magic afterwards still uses that connection: one socket, same client id
    r = kernel.run("import jsmagic\nprint(jsmagic.context().nc.client_id == cid, jsmagic.context() is ctx)")
    assert r.stdout.strip() == "True True"
    assert server_connections(kernel.pid, server.port) == 1


def test_environment_and_context_file_in_a_kernel(tmp_path, server):
    from jsmagic.testing import KernelSession

    with KernelSession(env={"NATS_URL": server.url, "XDG_CONFIG_HOME": str(tmp_path)}) as k:
        r = k.run("%load_ext jsmagic\nctx = %js_connect\nprint(ctx.options.source)")
        assert r.stdout.strip().endswith("env")
    xdg = tmp_path / "cfg"
    (xdg / "nats" / "context").mkdir(parents=True)
    (xdg / "nats" / "context" / "class.json").write_text(json.dumps({"url": server.url}))
    (xdg / "nats" / "context.txt").write_text("class")
    with KernelSession(env={"XDG_CONFIG_HOME": str(xdg)}) as k:
        r = k.run("%load_ext jsmagic\nctx = %js_connect\nprint(ctx.options.source)")
        assert r.stdout.strip().endswith("context class")


def test_background_task_runs_while_the_kernel_is_idle(kernel, server):
    kernel.run(f"%load_ext jsmagic\nctx = %js_connect {server.url}")
    kernel.run(
        "import asyncio\nticks = []\n"
        "async def ticker():\n    while True:\n        ticks.append(1)\n        await asyncio.sleep(0.05)\n"
        "b = ctx.spawn(ticker(), 'ticker', describe=lambda: f'{len(ticks)} ticks')"
    )
    time.sleep(1.0)  # the kernel is idle: nothing executes
    r = kernel.run("print(len(ticks))")
    assert int(r.stdout) >= 10
    r = kernel.run("%js_status")
    assert "ticker#" in r.result and "ticks" in r.result and "account: streams" in r.result


def test_embedded_fallback_and_unload_leaves_nothing(kernel):
    r = kernel.run("%load_ext jsmagic\nctx = %js_connect\nport = ctx.server.port; spid = ctx.server.pid\nprint(port, spid)")
    assert "embedded nats-server" in r.stdout
    port, spid = map(int, r.stdout.split("\n")[-2].split())
    assert psutil.pid_exists(spid) and server_connections(kernel.pid, port) == 1
    kernel.run("import asyncio\nctx.spawn(asyncio.sleep(3600), 'long')")
    kernel.run("%unload_ext jsmagic")
    time.sleep(0.3)
    assert server_connections(kernel.pid, port) == 0
    assert not psutil.pid_exists(spid) or psutil.Process(spid).status() == psutil.STATUS_ZOMBIE
    r = kernel.run(
        "import asyncio\nprint(sum(1 for t in asyncio.all_tasks() if t.get_name().startswith('jsmagic:')))"
    )
    assert r.stdout.strip() == "0"
    kids = [p for p in psutil.Process(kernel.pid).children(recursive=True) if "nats-server" in p.name()]
    assert kids == []


def test_embedded_server_dies_when_the_kernel_is_killed(kernel):
    r = kernel.run("%load_ext jsmagic\nctx = %js_connect --embedded\nprint(ctx.server.pid)")
    spid = int(r.stdout.strip().split("\n")[-1])
    assert psutil.pid_exists(spid)
    os.kill(kernel.pid, signal.SIGKILL)
    deadline = time.time() + 10
    while time.time() < deadline and psutil.pid_exists(spid):
        try:
            if psutil.Process(spid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    alive = psutil.pid_exists(spid) and psutil.Process(spid).status() != psutil.STATUS_ZOMBIE
    assert not alive, "embedded nats-server outlived its kernel"


def test_errors_are_one_line_in_a_notebook(kernel):
    from jsmagic.connecting.server import free_port

    r = kernel.run(f"%load_ext jsmagic\n%js_connect nats://127.0.0.1:{free_port()}", allow_error=True)
    assert r.status == "error"
    assert len(r.error["traceback"]) == 1
    assert r.error["traceback"][0].startswith("ConnectError: no NATS server at nats://127.0.0.1:")
    assert not r.stderr.strip(), "nats-py must not print tracebacks into the cell"
    r = kernel.run("%js_connect --context nope", allow_error=True)
    assert r.error["traceback"] == [r.error["traceback"][0]] and "ConfigError: no nats context 'nope'" in r.error["traceback"][0]
    r = kernel.run("%js_connect --bogus", allow_error=True)
    assert r.status == "error"
    assert r.stderr.strip() == "UsageError: %js_connect: unrecognized arguments: --bogus — see %js_connect? for every option"


def test_close_stops_tasks_and_connection(kernel, server):
    kernel.run(f"%load_ext jsmagic\nctx = %js_connect {server.url}\nimport asyncio\nb = ctx.spawn(asyncio.sleep(3600), 'long')")
    r = kernel.run("%js_close")
    assert "1 background task stopped" in r.stdout
    time.sleep(0.2)
    assert server_connections(kernel.pid, server.port) == 0
    r = kernel.run("print(b.task.cancelled(), ctx.state)")
    assert r.stdout.strip() == "True closed"


def test_user_without_password_is_prompted_without_echo(kernel):
    from jsmagic.testing import nats_server

    conf = "authorization { users = [ {user: ada, password: 'l0velace-9'} ] }"
    with nats_server(config=conf) as s:
        r = kernel.run(f"%load_ext jsmagic\nctx = %js_connect {s.url} --user ada", stdin=["l0velace-9"])
        assert r.prompts == [{"prompt": "NATS password for ada: ", "password": True}]
        assert f"Connected to {s.url}" in r.stdout
        assert "l0velace-9" not in r.all_text
        # a frontend that cannot prompt (nbclient, papermill) gets one clear line instead
        r = kernel.run(f"%js_connect {s.url} --user ada", allow_error=True)
        assert r.error["traceback"] == ["InputError: no password for user 'ada' — give --password, or set NATS_PASSWORD"]
