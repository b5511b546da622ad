"""Leaks: after ``%js_close`` and ``%unload_ext jsmagic`` nothing of jsmagic is left.

Counted from outside, like bigquery-magics' socket test: the server's own connection
list (``/connz``, with subscriptions), the kernel process's sockets, threads and open
files (psutil), its child processes (the embedded nats-server), and, inside the kernel,
the asyncio tasks that belong to jsmagic or nats-py.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid

import psutil
import pytest

from jsmagic.core.context import JSContext
from jsmagic.core.errors import AuthError, TLSError
from jsmagic.connecting.options import resolve
from jsmagic.testing import monitored_server, nats_server

from .conftest import users_config

#: run in the kernel: the live asyncio tasks of jsmagic or nats-py, and the context's background
TASKS_CELL = """
import asyncio, json, sys, jsmagic.core.runner
_r = sys.modules["jsmagic.core.registry"]
def _origin(t):
    coro = t.get_coro()
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    return f"{t.get_name()} {getattr(coro, '__qualname__', '')} {code.co_filename if code else ''}"
_live = [_origin(t) for t in asyncio.all_tasks(jsmagic.core.runner.current_loop()) if not t.done()]
print(json.dumps({
    "tasks": [o for o in _live if "jsmagic" in o or "/nats/" in o],
    "background": sum(len(c.background) for c in _r.contexts().values()),
}))
"""


@pytest.fixture(scope="module")
def monitored():
    """A server of this module's own with its HTTP monitoring port (connections, subscriptions)."""
    with monitored_server() as s:
        yield s


def server_connections(server, name: str) -> list[dict]:
    """The server's view: client connections called ``name``, with their subscriptions."""
    with urllib.request.urlopen(f"{server.monitor}/connz?subs=1&limit=1024", timeout=5) as r:
        connz = json.load(r)
    return [c for c in connz.get("connections") or [] if c.get("name") == name]


def sockets_to(pid: int, port: int) -> list:
    """Open TCP connections of process ``pid`` to ``port`` on loopback."""
    return [c for c in psutil.Process(pid).net_connections(kind="tcp") if c.raddr and c.raddr.port == port]


def nats_children(pid: int) -> list[psutil.Process]:
    """Live nats-server processes started by ``pid``."""
    out = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "nats-server" in child.name() and child.status() != psutil.STATUS_ZOMBIE:
                out.append(child)
        except psutil.NoSuchProcess:
            pass
    return out


def kernel_tasks(kernel) -> dict:
    return json.loads(kernel.run(TASKS_CELL).stdout)


def eventually(check, timeout: float = 5.0):
    """Poll ``check()`` until it returns something empty (closing is asynchronous); return the last value."""
    deadline = time.monotonic() + timeout
    value = check()
    while value and time.monotonic() < deadline:
        time.sleep(0.1)
        value = check()
    return value


def busy_session(kernel, url: str, name: str) -> None:
    """Connect and open what a session opens: a subscription, a background task, a registered watch."""
    kernel.run(f"%js_connect {url} --name {name}")
    kernel.run(
        "import asyncio, jsmagic\n"
        "ctx = jsmagic.context()\n"
        "sub = await ctx.nc.subscribe('leaks.>')\n"
        "ctx.spawn(asyncio.sleep(3600), 'sleeper')\n"
        "ctx.register('watch', 'watch', stop=lambda: None)\n"
        "await ctx.nc.flush()"
    )


def assert_all_gone(kernel, server, name: str) -> None:
    assert eventually(lambda: server_connections(server, name)) == [], "the server still lists our connection"
    assert eventually(lambda: sockets_to(kernel.pid, server.port)) == [], "the kernel still has a socket open"
    state = kernel_tasks(kernel)
    assert state == {"tasks": [], "background": 0}, state


@pytest.mark.kernel
@pytest.mark.slow
def test_close_and_unload_leave_no_socket_task_subscription_or_server(kernel, monitored):
    name = f"leaks-{uuid.uuid4().hex[:8]}"
    kernel.run("%load_ext jsmagic")
    for ending in ("%js_close", "%unload_ext jsmagic"):
        busy_session(kernel, monitored.url, name)
        # the counters see what is open (so that zero afterwards means something)
        conns = server_connections(monitored, name)
        assert len(conns) == 1 and "leaks.>" in conns[0].get("subscriptions_list", []), conns
        assert len(sockets_to(kernel.pid, monitored.port)) == 1
        busy = kernel_tasks(kernel)
        assert busy["background"] == 2 and any("jsmagic:sleeper" in t for t in busy["tasks"]), busy
        kernel.run(ending)
        assert_all_gone(kernel, monitored, name)
        if ending == "%unload_ext jsmagic":
            kernel.run("%load_ext jsmagic")

    # the embedded server: a child process while connected, gone after close and after unload
    for ending in ("%js_close", "%unload_ext jsmagic"):
        kernel.run("%js_connect --embedded")
        port = int(kernel.run("print(jsmagic.context().server.port)").stdout)
        assert len(nats_children(kernel.pid)) == 1 and len(sockets_to(kernel.pid, port)) == 1
        kernel.run(ending)
        assert eventually(lambda: nats_children(kernel.pid)) == [], "the embedded nats-server still runs"
        assert sockets_to(kernel.pid, port) == []
        assert kernel_tasks(kernel) == {"tasks": [], "background": 0}
        if ending == "%unload_ext jsmagic":
            kernel.run("%load_ext jsmagic")


def _usage(pid: int) -> dict:
    proc = psutil.Process(pid)
    return {"fds": proc.num_fds(), "threads": proc.num_threads(), "rss": proc.memory_info().rss}


CYCLE_CELL = """
for _ in range({n}):
    get_ipython().run_line_magic("js_connect", "{url} --name {name}")
    await jsmagic.context().nc.subscribe("cycle.>")
    get_ipython().run_line_magic("js_close", "")
import gc; gc.collect()
"""


@pytest.mark.kernel
@pytest.mark.slow
def test_fifty_connect_close_cycles_do_not_grow_files_threads_or_memory(kernel, monitored):
    name = f"cycles-{uuid.uuid4().hex[:8]}"
    kernel.run("%load_ext jsmagic\nimport jsmagic")
    kernel.run(CYCLE_CELL.format(n=5, url=monitored.url, name=name))  # warm up imports and caches
    before = _usage(kernel.pid)
    res = kernel.run(CYCLE_CELL.format(n=50, url=monitored.url, name=name), timeout=180)
    assert res.stdout.count("Connected to") == 50 and res.stdout.count("Closed") == 50
    after = _usage(kernel.pid)
    grown = {k: after[k] - before[k] for k in before}
    print(f"50 connect/close cycles: before {before}, after {after}, growth {grown}")
    assert grown["fds"] <= 2, grown
    assert grown["threads"] <= 1, grown
    assert grown["rss"] < 16 * 2**20, grown
    assert_all_gone(kernel, monitored, name)


def test_failed_connects_leave_nothing_open(tls_server, pki, auth):
    """Refused logins and failed TLS handshakes (20 each) close their sockets and tasks."""
    import asyncio

    with nats_server(config=users_config(auth)) as users:
        attempts = [
            ({"servers": users.url, "user": "alice", "password": "not-the-password"}, AuthError, users.port),
            (
                {"servers": tls_server.url, "tls_ca": pki.wrong_ca, "tls_cert": pki.client_cert, "tls_key": pki.client_key},
                TLSError,
                tls_server.port,
            ),
        ]

        async def go() -> tuple[dict, dict, list]:
            ctx = JSContext()
            for line, error, _ in attempts:
                with pytest.raises(error):
                    await ctx.connect(resolve(line, env={}))
            before = _usage(psutil.Process().pid)
            for _ in range(20):
                for line, error, _ in attempts:
                    with pytest.raises(error):
                        await ctx.connect(resolve(line, env={}))
            await asyncio.sleep(0.3)
            after = _usage(psutil.Process().pid)
            me = asyncio.current_task()
            left = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
            return before, after, left

        loop = asyncio.new_event_loop()
        try:
            before, after, left = loop.run_until_complete(go())
        finally:
            loop.close()
        assert left == [], left
        assert after["fds"] - before["fds"] <= 1, (before, after)
        for _, _, port in attempts:
            assert sockets_to(psutil.Process().pid, port) == []
