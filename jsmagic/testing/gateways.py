"""A super-cluster for tests: two servers, each its own cluster, joined by gateways.

:func:`two_gateways` starts ``east`` and ``west`` (gateway names, which are also their
cluster names), each with a ``gateway`` block that names the other, and waits until a
message published on either reaches a subscriber on the other.  A message that crosses
travels over a gateway connection: the hop that ``%js_trace`` reports with kind
``gateway``.  JetStream is off unless asked (``jetstream=True`` runs each side as a
one-server JetStream cluster of the super-cluster, with its own store).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from typing import Iterator

from ..connecting.server import EmbeddedServer, free_port
from .servers import jetstream_answers


@dataclasses.dataclass
class SuperCluster:
    east: EmbeddedServer
    west: EmbeddedServer


def _gateway_block(name: str, port: int, other: str, other_port: int, jetstream: bool) -> str:
    """The ``gateway`` block; with JetStream also a one-server ``cluster`` (clustered JetStream needs routes)."""
    text = (f'gateway {{\n  name: "{name}"\n  listen: "127.0.0.1:{port}"\n'
            f'  gateways: [ {{ name: "{other}", urls: [ "nats://127.0.0.1:{other_port}" ] }} ]\n}}\n')
    if jetstream:
        route = free_port()
        text += (f'cluster {{\n  name: "{name}"\n  listen: "127.0.0.1:{route}"\n'
                 f'  routes: [ "nats-route://127.0.0.1:{route}" ]\n}}\n')
    return text


async def _crosses(src: str, dst: str, timeout: float) -> bool:
    """Whether a message published on ``src`` reaches a subscriber on ``dst`` within ``timeout``."""
    import nats

    got = asyncio.Event()
    sub_nc = await nats.connect(dst, connect_timeout=2, max_reconnect_attempts=1, allow_reconnect=False)
    pub_nc = await nats.connect(src, connect_timeout=2, max_reconnect_attempts=1, allow_reconnect=False)
    try:
        subject = sub_nc.new_inbox()

        async def on(_msg: object) -> None:
            got.set()
        await sub_nc.subscribe(subject, cb=on)
        await sub_nc.flush()
        await sub_nc.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await pub_nc.publish(subject, b"probe")
            await pub_nc.flush()
            try:
                await asyncio.wait_for(got.wait(), 0.25)
                return True
            except asyncio.TimeoutError:
                continue
        return False
    finally:
        await pub_nc.close()
        await sub_nc.close()


def _wait_gateways(sc: SuperCluster, timeout: float, jetstream: bool) -> None:
    """Both gateway directions carry messages; with JetStream, both servers answer its API (a meta leader exists)."""
    for src, dst in ((sc.east, sc.west), (sc.west, sc.east)):
        if not asyncio.run(_crosses(src.url, dst.url, timeout)):
            raise TimeoutError(f"gateway {src.server_name} -> {dst.server_name} not up in {timeout}s: {src.log_tail()}")
    deadline = time.monotonic() + timeout
    while jetstream and not all(jetstream_answers(s.url) for s in (sc.east, sc.west)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no JetStream meta leader across the gateways in {timeout}s: {sc.east.log_tail()}")
        time.sleep(0.25)


@contextlib.contextmanager
def two_gateways(east: str = "east", west: str = "west", jetstream: bool = False,
                 timeout: float = 30.0) -> Iterator[SuperCluster]:
    """Two servers in clusters ``east`` and ``west`` joined by a gateway each way (a two-cluster super-cluster)."""
    east_port, west_port = free_port(), free_port()
    sc = SuperCluster(
        EmbeddedServer(config=_gateway_block(east, east_port, west, west_port, jetstream), jetstream=jetstream,
                       server_name=f"{east}-{east_port}"),
        EmbeddedServer(config=_gateway_block(west, west_port, east, east_port, jetstream), jetstream=jetstream,
                       server_name=f"{west}-{west_port}"),
    )
    try:
        sc.east.start()
        sc.west.start()
        _wait_gateways(sc, timeout, jetstream)
        yield sc
    finally:
        sc.west.cleanup()
        sc.east.cleanup()
