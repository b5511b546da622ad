"""Errors that used to be swallowed where a bug or an interrupt would hide.

* The publish check listed the streams and turned ANY failure into "skip the checks": with
  a wrong ``--domain`` the publish went out unchecked, into the local account's stream.
* Deleting the ephemeral consumer swallowed a cancellation: an interrupt during the delete
  was lost and the replay reported itself complete.
* Tab completion swallowed Ctrl-C (and hid bugs without a word).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading

import pytest

from jsmagic.core.config import JSMagic, use_settings
from jsmagic.core.errors import JSMagicError
from jsmagic.core.registry import context
from jsmagic.testing import connected_shell
from tests.reading.test_consume import stop_server


def test_a_publish_whose_stream_list_fails_says_so_and_sends_nothing(fresh_server):
    import nats

    async def stored() -> int:
        client = await nats.connect(fresh_server.url)
        try:
            return (await client.jetstream().stream_info("CAPT")).state.messages
        finally:
            await client.close()

    with connected_shell(fresh_server.url) as shell:
        shell.run_line_magic("js_stream", "add CAPT --subjects 'capt.>'")
        shell.run_line_magic("config", "JSMagic.timeout = 1")
        fresh_server.proc.send_signal(signal.SIGSTOP)  # the listing gets no answer
        try:
            with pytest.raises(JSMagicError) as e:
                shell.run_line_magic("js_publish", "capt.x hello")
        finally:
            fresh_server.proc.send_signal(signal.SIGCONT)
        assert str(e.value).startswith("could not list the streams to check where the subjects go")
        assert "nothing was published" in str(e.value) and "\n" not in str(e.value)
        shell.run_cell("import asyncio; await asyncio.sleep(1)")
    assert asyncio.run(stored()) == 0  # and nothing was sent behind the user's back


@pytest.mark.parametrize("bulk", [False, True], ids=["nats-py", "bulk"])
def test_an_interrupt_during_the_consumer_delete_is_not_lost(fresh_server, monkeypatch, bulk):
    import nats

    from jsmagic.connecting.options import resolve
    from jsmagic.reading import reader, session
    from jsmagic.reading.reader import Selection, replay

    module, attr = session, "delete"  # both readers delete through the consumer session
    real_delete, real_expected = getattr(module, attr), reader.expected
    counting = []

    async def expected(*args, **kwargs):  # the selection is counted before the read, on a consumer of its own
        counting.append(True)
        try:
            return await real_expected(*args, **kwargs)
        finally:
            counting.clear()

    async def pause_then_delete(*args, **kwargs):  # the server stops answering as we delete the read's consumer
        if not counting:
            stop_server(fresh_server)
        return await real_delete(*args, **kwargs)

    monkeypatch.setattr(module, attr, pause_then_delete)
    monkeypatch.setattr(reader, "expected", expected)
    use_settings(JSMagic(probe_local=False, timeout=5.0))  # each delete attempt waits 5 s: the interrupt comes first

    async def scenario():
        ctx = context()
        await ctx.connect(resolve({"servers": [fresh_server.url]}))
        await ctx.js.add_stream(name="DEL", subjects=["del.>"])
        await ctx.js.publish("del.a", b"1")
        task = asyncio.ensure_future(replay(Selection("DEL", bulk=bulk)))
        await asyncio.sleep(1.0)  # read done, waiting for the delete's answer
        task.cancel()
        result = await asyncio.wait_for(task, 5)
        fresh_server.proc.send_signal(signal.SIGCONT)
        await ctx.close()
        return result

    try:
        result = asyncio.run(scenario())
    finally:
        fresh_server.proc.send_signal(signal.SIGCONT)
    assert result.interrupted and len(result.frame) == 1

    async def consumers():
        nc = await nats.connect(fresh_server.url)
        try:
            for _ in range(50):
                if (await nc.jetstream().stream_info("DEL")).state.consumer_count == 0:
                    return 0
                await asyncio.sleep(0.1)
            return 1
        finally:
            await nc.close()

    assert asyncio.run(consumers()) == 0  # the shielded delete still happened


def test_completion_lets_ctrl_c_through_and_reports_a_bug(shell, monkeypatch):
    from jsmagic.core import namecache
    from jsmagic.ui import completion

    waiting = threading.Event()

    async def slow():  # a lookup the user gives up on: Ctrl-C while it waits
        waiting.set()
        await asyncio.sleep(120)

    async def buggy():
        raise RuntimeError("a bug in a lookup")

    def ctrl_c_once_it_waits():  # not after a fixed delay: on a loaded machine that can come after the bound
        if waiting.wait(60):
            os.kill(os.getpid(), signal.SIGINT)

    completion.clear_cache()
    monkeypatch.setattr(namecache, "_lookup", lambda kind, args: slow)
    monkeypatch.setattr(namecache, "LOOKUP_TIMEOUT", 60.0)  # the lookup's bound (1 s) must not end the wait first
    threading.Thread(target=ctrl_c_once_it_waits, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        completion.names("stream")
    completion.clear_cache()
    monkeypatch.setattr(namecache, "_lookup", lambda kind, args: buggy)
    assert completion.names("stream") == []
    assert context().last_error == "completion of stream names failed: RuntimeError: a bug in a lookup"
