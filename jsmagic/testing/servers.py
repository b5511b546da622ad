"""Real nats-server processes for tests: one server, one with monitoring, one with websocket, a routed cluster, a fast fill."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Callable, Iterator

from ..connecting.server import EmbeddedServer, free_port

def jetstream_answers(url: str, subject: str = "$JS.API.INFO") -> bool:
    """Whether the JetStream API ``subject`` answers on ``url`` without an error (one short connection)."""
    import nats

    async def ok() -> bool:
        try:
            nc = await nats.connect(url, connect_timeout=1, max_reconnect_attempts=1, allow_reconnect=False)
        except Exception:
            return False
        try:
            reply = await nc.request(subject, b"", timeout=1)
            return b'"error"' not in reply.data
        except Exception:
            return False
        finally:
            await nc.close()

    return asyncio.run(ok())




@contextlib.contextmanager
def nats_server(config: str = "", **kwargs: Any) -> Iterator[EmbeddedServer]:
    """A running JetStream server for the duration of a ``with`` block."""
    server = EmbeddedServer(config=config, **kwargs).start()
    try:
        yield server
    finally:
        server.cleanup()


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


@contextlib.contextmanager
def websocket_server(**kwargs: Any) -> Iterator[EmbeddedServer]:
    """A JetStream server that also takes websocket clients: ``server.ws_url`` is ``ws://127.0.0.1:PORT``.

    The same server answers on ``server.url`` (``nats://``), so a test can read one stream both ways.
    """
    port = free_port()
    config = kwargs.pop("config", "")
    block = f'websocket {{\n  listen: "127.0.0.1:{port}"\n  no_tls: true\n}}\n'
    with nats_server(config=block + config, **kwargs) as server:
        server.ws_url = f"ws://127.0.0.1:{port}"
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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = [s.url for s in self.servers if s.running()]
            if all(jetstream_answers(u) for u in running):
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
