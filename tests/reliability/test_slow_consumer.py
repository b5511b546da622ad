"""A replay that reads slower than the server sends is cut off as a slow consumer, and still returns every message once.

nats-server closes a client whose pending outbound bytes pass ``max_pending``, or whose socket
stays full past ``write_deadline`` ("Slow Consumer Detected" in its log); it sends no ``-ERR``
first.  The bulk reader asks for up to 2 × 8 MiB at a time, so a reader held up by a slow
``--decode`` function is cut on a server with ``max_pending: 2MB`` (or ``write_deadline:
"500ms"`` and longer stalls).  It must resume from the sequence after the last one kept with smaller
pulls (not be cut again and again until it gives up), keep every row exactly once, say so in
the summary, and leave no consumer.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest

from jsmagic.core import registry
from jsmagic.testing import connected_shell, nats_server

N, BODY = 20_000, "x" * 1000  # 20 MB: far more than the socket buffers and max_pending hold


def slow_decoder(every: int, stall: float):
    """A ``--decode`` function that stalls on every ``every``-th message (message 0 first)."""

    def decode(data: bytes, headers) -> dict:
        value = json.loads(data)
        if value["i"] % every == 0:
            time.sleep(stall)  # the replay's read loop is blocked meanwhile: the server's bytes pile up
        return value

    return decode


@pytest.mark.parametrize("config, every, stall", [
    ("max_pending: 2MB\nmax_payload: 64KB\n", 2_000, 0.2),  # 10 stalls of 0.2 s
    ('write_deadline: "500ms"\n', 5_000, 1.0),  # 4 stalls of 1 s
], ids=["max_pending", "write_deadline"])
def test_a_slow_consumer_cut_resumes_with_smaller_pulls_and_keeps_every_message_once(capsys, config, every, stall):
    with nats_server(config=config) as server, connected_shell(server.url, bulk_replay=True) as shell:
        ctx = registry.context()

        async def fill():
            await ctx.js.add_stream(name="SLOW", subjects=["slow.>"])
            acks = [await ctx.js.publish_async(f"slow.{i % 5}", json.dumps({"i": i, "p": BODY}).encode())
                    for i in range(N)]
            await asyncio.gather(*acks)
            while (await ctx.js.stream_info("SLOW")).state.messages < N:  # the replay's end bound
                await asyncio.sleep(0.05)

        ctx.run(fill())
        shell.user_ns["slow_decoder"] = slow_decoder(every, stall)
        capsys.readouterr()
        shell.run_cell("df = %js_consume SLOW --decode slow_decoder")
        shown = capsys.readouterr().out  # the summary line under the cell
        df = shell.user_ns["df"]
        assert df["seq"].tolist() == list(range(1, N + 1)), shown  # every message, once, in order
        assert df["i"].tolist() == list(range(N)) and (df["p"] == BODY).all()
        assert "stopped" not in shown and "interrupted" not in shown, shown
        cut = re.search(r"the server cut the bulk connection (\d+) times? as a slow consumer", shown)
        assert cut and "resumed with smaller pulls" in shown, shown
        logged = server.log_file.read_text().count("Slow Consumer Detected")
        assert int(cut.group(1)) == logged  # each cut the summary counts is one the server made
        # 8 MiB → 2 MiB → 512 KiB pulls: by then two in flight fit under max_pending; without the
        # smaller pulls every new connection was cut again until the replay gave up (10 resumes)
        # and returned a quarter short, saying "stopped: no message within the timeout"
        assert 1 <= logged <= 3, shown
        assert ctx.run(ctx.js.consumers_info("SLOW")) == []


def test_a_write_that_finds_the_connection_torn_down_marks_it_closed_so_the_replay_resumes(server):
    """A reset closes the transport at once but reports the loss one loop turn later: a pull
    written in between must leave the wire marked closed (the reader then resumes on a new
    connection) rather than raise out of the replay."""
    from jsmagic.reading.wire.protocol import WireError, open_wire

    with connected_shell(server.url):
        ctx = registry.context()

        async def write_after_reset():
            wire = await open_wire(ctx.options, ctx.nc.connected_url, 5)
            wire.transport.abort()  # what a reset does: closing now, connection_lost scheduled
            with pytest.raises(WireError):
                wire.write(b"PING\r\n")
            marked = wire.rx.closed is not None
            wire.close()
            return marked

        assert ctx.run(write_after_reset())
