"""A publish across a server restart waits for the reconnect and goes on (issue 23, item 18).

The server is killed under a ``--count 200000`` publish and is back about a second later.
With ``--msg-id`` every message ends up stored exactly once (the server's own count); without
it the messages whose acks the cut swallowed are "unknown", and the error says how many are
stored, how many unknown, and that a rerun with --msg-id is exact.
"""

from __future__ import annotations

import asyncio
import threading
import time

import nats
import pytest

from jsmagic.core.errors import PublishError
from jsmagic.testing import EmbeddedServer, connected_shell

N = 200_000


def _stream_state(url: str, name: str):
    async def ask():
        nc = await nats.connect(url)
        try:
            return (await nc.jetstream().stream_info(name)).state
        finally:
            await nc.close()
    return asyncio.run(ask())


def _cut_when(server: EmbeddedServer, name: str, at_least: int, box: dict) -> threading.Thread:
    """Kill the server once the stream holds ``at_least`` messages; start it again 0.8 s later."""
    def cut():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if _stream_state(server.url, name).messages >= at_least:
                    break
            except Exception:  # noqa: BLE001 - the server is busy: ask again
                pass
            time.sleep(0.05)
        server.kill()
        box["cut_at"] = time.monotonic()
        time.sleep(0.8)
        server.start()
        box["back_at"] = time.monotonic()
    t = threading.Thread(target=cut)
    t.start()
    return t


@pytest.fixture
def restartable(tmp_path):
    server = EmbeddedServer(store_dir=tmp_path / "store").start()

    async def setup():
        nc = await nats.connect(server.url)
        await nc.jetstream().add_stream(name="R", subjects=["r.>"])
        await nc.close()

    asyncio.run(setup())
    yield server
    server.cleanup()


def test_with_msg_id_every_message_is_stored_once_across_a_restart(restartable):
    server, box = restartable, {}
    with connected_shell(server.url) as shell:
        shell.run_line_magic("config", "JSMagic.timeout = 10")
        cutter = _cut_when(server, "R", 20_000, box)
        acks = shell.run_cell_magic("js_publish", "r.x --count 200000 --msg-id m-{{Count}}", '{"n": {{Count}}}')
        cutter.join()
    assert "cut_at" in box, "the publish ended before the cut"
    state = _stream_state(server.url, "R")
    assert state.messages == N and state.last_seq == N  # every message once: the server's own count
    assert len(acks) == N and acks["seq"].notna().all()


def test_without_msg_id_the_error_says_stored_and_unknown(restartable):
    server, box = restartable, {}
    with connected_shell(server.url) as shell:
        shell.run_line_magic("config", "JSMagic.timeout = 10")
        cutter = _cut_when(server, "R", 20_000, box)
        try:
            acks = shell.run_cell_magic("js_publish", "r.x --count 200000", '{"n": {{Count}}}')
            err = None
        except PublishError as e:
            err, acks = e, e.result
        cutter.join()
    state = _stream_state(server.url, "R")
    assert len(acks) == N, "the publish stopped instead of going on after the reconnect"
    if err is None:  # the cut swallowed no ack: then everything is stored, once
        assert state.messages == N
        return
    text = str(err)
    unknown = int(acks["error"].str.startswith("unknown").sum())
    stored = int(acks["seq"].notna().sum())
    assert stored + unknown == N and unknown > 0
    assert f"{stored:,} of {N:,} messages stored" in text and f"{unknown:,} unknown" in text, text
    assert f"stream R holds {state.messages:,}" in text, text  # the server's own count, said
    assert stored <= state.messages <= stored + unknown
    assert "--msg-id" in err.hint and "exact" in err.hint, err.hint
