"""docs/event-loop.md, claim by claim: jsmagic leaves the process as it found it.

Each test checks what another library or the user's own code would notice: asyncio's
classes and functions, the loop's class, the garbage collector, the ``asyncio`` logger's
filters, the options nats-py keeps; and that the API, ``read_stream`` and a magic work from
plain ``asyncio.run``, from a thread and from a running loop (a real kernel: test_kernel_loop).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading

import nats
import pytest

import jsmagic
import jsmagic.dask as jd
from jsmagic.connecting.connection import connect_kwargs
from jsmagic.connecting.options import resolve
from jsmagic.core.context import JSContext


def asyncio_as_shipped() -> dict:
    """What nest_asyncio's apply() would change, process-wide."""
    policy = asyncio.get_event_loop_policy()
    return {
        "Task": asyncio.Task, "Future": asyncio.Future, "run": asyncio.run,
        "get_event_loop": asyncio.get_event_loop, "patched": hasattr(asyncio, "_nest_patched"),
        "policy.get_event_loop": type(policy).get_event_loop,
        "loop methods": {m: getattr(asyncio.SelectorEventLoop, m) for m in ("run_until_complete", "run_forever", "_run_once")},
    }


@pytest.fixture(scope="module")
def stream(server):
    async def fill():
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(name="LOOPS", subjects=["loops.>"])
        for i in range(300):
            await js.publish(f"loops.{i % 3}", b'{"i": %d}' % i)
        await nc.close()

    asyncio.run(fill())
    return "LOOPS"


def test_import_and_extension_patch_nothing():
    before = asyncio_as_shipped()
    import jsmagic.magics  # noqa: F401 - every module the extension loads

    assert asyncio_as_shipped() == before
    assert asyncio.Task.__module__ == "_asyncio"  # the C Task (nest_asyncio's apply swaps in the Python one)


def test_api_from_plain_asyncio_run_leaves_gc_asyncio_and_loggers_as_found(server, stream):
    before = asyncio_as_shipped()
    filters = list(logging.getLogger("asyncio").filters)

    async def main(gc_on: bool):
        (gc.enable if gc_on else gc.disable)()
        ctx = await jsmagic.connect(server.url, alias="loops")
        df = await jsmagic.replay(stream, ctx=ctx)
        state = gc.isenabled()
        await jsmagic.close(ctx=ctx)
        return len(df), state

    try:
        assert asyncio.run(main(True)) == (300, True)
        assert asyncio.run(main(False)) == (300, False)  # off before: off after (not switched on by us)
    finally:
        gc.enable()
    assert asyncio_as_shipped() == before
    assert logging.getLogger("asyncio").filters == filters


def test_concurrent_replays_restore_the_collector_once_the_last_ends(server, stream):
    async def main():
        ctx = await jsmagic.connect(server.url, alias="loops2")
        seen = []

        async def watch():  # during the replays the collector is off; after both, on again
            while not done.is_set():
                seen.append(gc.isenabled())
                await asyncio.sleep(0)

        done = asyncio.Event()
        w = asyncio.ensure_future(watch())
        frames = await asyncio.gather(*(jsmagic.replay(stream, ctx=ctx) for _ in range(3)))
        done.set()
        await w
        await jsmagic.close(ctx=ctx)
        return [len(f) for f in frames], seen

    assert gc.isenabled()
    sizes, seen = asyncio.run(main())
    assert sizes == [300, 300, 300] and False in seen
    assert gc.isenabled()


def test_a_synchronous_call_on_a_running_loop_patches_only_that_loop_and_only_meanwhile(server):
    before = asyncio_as_shipped()
    other_classes = []

    def other_thread():  # a loop made elsewhere while the nested run is in progress
        loop = asyncio.new_event_loop()
        other_classes.append(type(loop))
        loop.close()

    async def inner(loop):
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        await asyncio.sleep(0.01)
        return type(loop)

    async def cell():  # what a sync magic does inside a Jupyter cell
        loop = asyncio.get_running_loop()
        plain = type(loop)
        ctx = JSContext("loops3")
        ctx.run(ctx.connect(resolve({"servers": [server.url]})))  # nested run_until_complete on the running loop
        during = ctx.run(inner(loop))
        ctx.run(ctx.close())
        return plain, during, type(loop)

    plain, during, after = asyncio.run(cell())
    assert during is not plain and issubclass(during, plain)  # re-entrant while the call ran: this loop only
    assert after is plain  # put back when it returned
    assert other_classes == [plain]  # other loops never patched
    assert asyncio_as_shipped() == before


def test_nats_py_keeps_the_options_it_was_connected_with(server):
    async def main():
        ctx = JSContext("loops4")
        opts = resolve({"servers": [server.url]})
        await ctx.connect(opts)
        asked = connect_kwargs(opts, 5)
        kept = {k: ctx.nc.options[k] for k in ("max_reconnect_attempts", "reconnect_time_wait", "allow_reconnect")}
        await ctx.close()
        return asked, kept

    asked, kept = asyncio.run(main())
    assert kept == {k: asked[k] for k in kept}  # nothing changed behind nats-py's back after connecting
    assert kept["max_reconnect_attempts"] == -1  # and a kernel still reconnects for ever


def test_api_and_read_stream_from_a_thread(server, stream):
    out: dict = {}

    def work():
        try:
            async def main():
                ctx = await jsmagic.connect(server.url, alias="thread")
                df = await jsmagic.replay(stream, ctx=ctx)
                await jsmagic.close(ctx=ctx)
                return len(df)

            out["api"] = asyncio.run(main())
            out["dask"] = len(jd.read_stream(stream, servers=server.url, partitions=3).compute(scheduler="sync"))
        except BaseException as e:  # noqa: BLE001 - reported by the assert below
            out["error"] = repr(e)

    t = threading.Thread(target=work)
    t.start()
    t.join(120)
    assert out == {"api": 300, "dask": 300}


def test_read_stream_inside_a_running_loop(server, stream):
    async def cell():  # a Jupyter cell before any magic ran: a loop runs, nothing is re-entrant
        ddf = jd.read_stream(stream, servers=server.url, partitions=2)
        return len(ddf.compute(scheduler="sync"))  # the synchronous scheduler reads right here too

    assert asyncio.run(cell()) == 300


def test_synchronous_use_in_a_thread_gets_its_own_loop_not_ipythons(server, stream):
    """With the extension loaded, IPython's loop is the provider's: another thread must not borrow it."""
    from jsmagic.core import runner

    out: dict = {}

    def work():
        try:
            ctx = JSContext("sync-thread")
            ctx.run(ctx.connect(resolve({"servers": [server.url]})))
            out["loop is own"] = ctx.loop is not main_loop
            out["messages"] = ctx.run(ctx.js.stream_info(stream)).state.messages
            ctx.run(ctx.close())
        except BaseException as e:  # noqa: BLE001 - reported by the assert below
            out["error"] = repr(e)

    async def kernel_like():  # the main thread's loop runs (a cell), as IPython's does
        t = threading.Thread(target=work)
        t.start()
        while t.is_alive():
            await asyncio.sleep(0.01)

    main_loop = asyncio.new_event_loop()
    runner.set_loop_provider(lambda: main_loop)
    try:
        main_loop.run_until_complete(asyncio.wait_for(kernel_like(), 60))
    finally:
        runner.set_loop_provider(None)
        main_loop.close()
    assert out == {"loop is own": True, "messages": 300}
