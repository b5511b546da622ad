"""docs/event-loop.md in a real Jupyter kernel: top-level ``await`` before any magic, then magics, then threads."""

from __future__ import annotations

import asyncio

import nats
import pytest

pytestmark = pytest.mark.kernel

STATE = (
    "import asyncio, gc, logging\n"
    "print(type(asyncio.get_running_loop()).__module__, asyncio.Task.__module__, hasattr(asyncio, '_nest_patched'),"
    " gc.isenabled(), logging.getLogger('asyncio').filters)"
)
PLAIN = "asyncio.unix_events _asyncio False True []"


def test_await_read_stream_magics_and_threads_in_one_kernel(kernel, server):
    async def fill():
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(name="KLOOP", subjects=["kloop.>"])
        for i in range(200):
            await js.publish("kloop.a", b'{"i": %d}' % i)
        await nc.close()

    asyncio.run(fill())
    # before any magic ran: the async API with top-level await, and the synchronous read_stream
    r = kernel.run(f"import jsmagic\nctx = await jsmagic.connect({server.url!r})\nprint(len(await jsmagic.replay('KLOOP')))")
    assert r.stdout.strip() == "200"
    r = kernel.run(f"import jsmagic.dask as jd\nprint(len(jd.read_stream('KLOOP', servers={server.url!r}, partitions=2).compute()))")
    assert r.stdout.strip() == "200", r.all_text
    assert kernel.run(STATE).stdout.strip() == PLAIN
    # a magic runs on the kernel's own loop (re-entered for the call), and leaves it as it was
    r = kernel.run("%load_ext jsmagic\ndf = %js_consume KLOOP\nprint(len(df))")
    assert r.stdout.strip().endswith("200"), r.all_text
    assert kernel.run(STATE).stdout.strip() == PLAIN
    # asyncio.run in a cell still says what it says in any Jupyter kernel: nothing patched it
    r = kernel.run("try:\n    asyncio.run(asyncio.sleep(0))\nexcept RuntimeError as e:\n    print(e)")
    assert "cannot be called from a running event loop" in r.stdout
    # a thread: its own loop for the API and for read_stream, while the magics' connection stays usable
    r = kernel.run(
        "import threading\nout = []\n"
        "def work():\n"
        "    async def main():\n"
        f"        c = await jsmagic.connect({server.url!r}, alias='t')\n"
        "        n = len(await jsmagic.replay('KLOOP', ctx=c))\n"
        "        await jsmagic.close(ctx=c)\n"
        "        return n\n"
        "    out.append(asyncio.run(main()))\n"
        f"    out.append(len(jd.read_stream('KLOOP', servers={server.url!r}).compute(scheduler='sync')))\n"
        "    from jsmagic.core.context import JSContext\n"  # synchronous use in a thread: its own loop, not the kernel's
        "    from jsmagic.connecting.options import resolve\n"
        "    c = JSContext('sync-thread')\n"
        f"    c.run(c.connect(resolve({{'servers': [{server.url!r}]}})))\n"
        "    out.append(c.run(c.js.stream_info('KLOOP')).state.messages)\n"
        "    c.run(c.close())\n"
        "t = threading.Thread(target=work); t.start(); t.join(120)\n"
        "df = %js_consume KLOOP -n 5\nprint(out, len(df))"
    )
    assert r.stdout.strip().endswith("[200, 200, 200] 5"), r.all_text
    assert kernel.run(STATE).stdout.strip() == PLAIN
