"""A connection made in another thread belongs to that thread (docs/event-loop.md).

The kernel (here: an IPython shell connected to the session server, in the main thread)
keeps its current connection when a worker thread runs ``jsmagic.connect(...)`` on a loop of
its own, with or without an alias: the worker's calls with ``ctx=None`` use the worker's
connection, the kernel's magics and API calls keep using the kernel's, and the worker's
names do not show up in the kernel's list.
"""

from __future__ import annotations

import asyncio
import threading

import nats

import jsmagic
from jsmagic.core import registry


async def stream_names(url: str) -> list[str]:
    """The server's own list of streams, read with plain nats-py."""
    nc = await nats.connect(url)
    try:
        return sorted(i.config.name for i in await nc.jetstream().streams_info())
    finally:
        await nc.close()


def in_a_thread(work) -> dict:
    out: dict = {}

    def target():
        try:
            out.update(asyncio.run(work()))
        except BaseException as e:  # noqa: BLE001 - reported by the caller's assert
            out["error"] = repr(e)

    t = threading.Thread(target=target, name="worker")
    t.start()
    t.join(120)
    assert not t.is_alive(), "the worker thread did not finish"
    return out


def test_a_connection_made_in_a_thread_does_not_become_the_kernels_current_one(shell, server, fresh_server):
    kernel_ctx = registry.context()
    kernel_ctx.run(jsmagic.streams.add("THR_KERNEL", subjects="thr.kernel"))
    kernel_loop = kernel_ctx.loop

    async def worker():
        own = await jsmagic.connect(fresh_server.url)               # no alias: the worker's own default
        await jsmagic.streams.add("THR_WORKER", subjects="thr.worker")  # ctx=None: the worker's connection
        named = await jsmagic.connect(fresh_server.url, alias="worker")
        seen = {"own_is_current": jsmagic.context() is named, "names": await jsmagic.streams.names(),
                "own_url": own.url, "kernel_ctx_untouched": own is not kernel_ctx}
        await jsmagic.close(all=True)                               # the worker's connections, not the kernel's
        return seen

    out = in_a_thread(worker)
    assert out == {"own_is_current": True, "names": ["THR_WORKER"], "own_url": fresh_server.url,
                   "kernel_ctx_untouched": True}
    assert asyncio.run(stream_names(fresh_server.url)) == ["THR_WORKER"]
    assert "THR_WORKER" not in asyncio.run(stream_names(server.url))

    # the kernel's current connection is the one it had: same object, same server, same loop, still open
    assert registry.context() is kernel_ctx and registry.current_alias() == "default"
    assert kernel_ctx.connected and kernel_ctx.url == server.url and kernel_ctx.loop is kernel_loop
    assert "worker" not in registry.contexts()
    names = shell.run_line_magic("js_stream", "ls")["name"].tolist()
    assert "THR_KERNEL" in names and "THR_WORKER" not in names
    kernel_ctx.run(jsmagic.streams.rm("THR_KERNEL", force=True))


def test_a_thread_reaches_a_kernel_connection_only_by_naming_it(shell, server, second):
    """ctx=None in a thread that never connected is the thread's own default, never the kernel's current one."""
    kernel_ctx = registry.context()

    async def worker():
        return {"own_default": jsmagic.context() is not kernel_ctx and not jsmagic.context().connected,
                "named": jsmagic.context("second") is second, "listed": sorted(registry.contexts())}

    assert in_a_thread(worker) == {"own_default": True, "named": True, "listed": ["default"]}
    assert registry.context() is kernel_ctx and kernel_ctx.url == server.url
    assert sorted(registry.contexts()) == ["default", "second"]
