"""Over a websocket URL the replay falls back to the nats-py reader, returns the same rows, and says so.

A real nats-server with a websocket listener serves one stream on both ports.  The shell
connects with ``ws://`` (nats-py's websocket transport, aiohttp) and replays it into a
frame, to Parquet and as Arrow; then it connects with ``nats://`` (the bulk reader) and
replays it again.  The frames must be equal, byte for byte in the payloads, and the
websocket replay's summary line must say that the bulk reader was not used and why.
"""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from jsmagic.core import registry
from jsmagic.testing import connected_shell
from jsmagic.testing.servers import websocket_server

pytest.importorskip("aiohttp")  # nats-py's ws:// transport: in the test extra

NOTE = "bulk reader not used (connected over websocket, which it does not speak): read through nats-py"
PAYLOADS = [b"", b"\x00\xff\r\nMSG x 1 2\r\n", b'{"i": 1, "s": "a"}', b"plain text", b"\x80" * 300, b'{"i": 2}']


def test_a_websocket_replay_falls_back_returns_the_same_frame_and_says_so(tmp_path, capsys):
    with websocket_server() as server, connected_shell(server.ws_url, bulk_replay=True) as shell:
        ctx = registry.context()
        assert str(ctx.nc.connected_url.scheme) == "ws"

        async def fill():
            await ctx.js.add_stream(name="WS", subjects=["ws.>"])
            for i in range(60):
                headers = {"Trace-Id": f"t{i}", "K": "v"} if i % 3 == 0 else None
                await ctx.js.publish(f"ws.s{i % 7}", PAYLOADS[i % len(PAYLOADS)], headers=headers)
            await ctx.js.delete_msg("WS", 10)  # a gap

        ctx.run(fill())
        capsys.readouterr()
        shell.run_cell("df = %js_consume WS")
        shown = capsys.readouterr().out  # the summary line the user sees under the cell
        assert NOTE in shown and "ephemeral consumer (deleted)" in shown, shown
        over_ws = shell.user_ns["df"]
        assert NOTE in over_ws.summary and len(over_ws) == 59

        export = shell.run_line_magic("js_consume", f"WS --to {tmp_path / 'ws.parquet'}")
        assert NOTE in repr(export) and export.rows == 59
        table = shell.run_line_magic("js_consume", "WS --as arrow")
        assert table.num_rows == 59
        capsys.readouterr()
        shell.run_cell("t = %js_consume WS --as arrow")
        assert NOTE in capsys.readouterr().out  # printed: an Arrow table has no summary of its own
        raw_ws = shell.run_line_magic("js_consume", "WS --decode bytes")
        assert NOTE in raw_ws.summary
        assert raw_ws["data"].tolist() == [PAYLOADS[i % len(PAYLOADS)] for i in range(60) if i != 9]
        assert raw_ws["headers"].iloc[0] == {"Trace-Id": "t0", "K": "v"} and raw_ws["headers"].iloc[1] is None
        assert ctx.run(ctx.js.consumers_info("WS")) == []

        shell.run_line_magic("js_connect", server.url)  # the same server over nats://: the bulk reader
        ctx = registry.context()
        over_nats = shell.run_line_magic("js_consume", "WS")
        assert "bulk reader not used" not in over_nats.summary
        pd.testing.assert_frame_equal(pd.DataFrame(over_ws), pd.DataFrame(over_nats))
        raw_nats = shell.run_line_magic("js_consume", "WS --decode bytes")
        pd.testing.assert_frame_equal(pd.DataFrame(raw_ws), pd.DataFrame(raw_nats))
        parquet = pq.read_table(tmp_path / "ws.parquet")
        assert parquet.column("seq").to_pylist() == over_nats["seq"].tolist() == table.column("seq").to_pylist()
        assert table.column("subject").to_pylist() == over_nats["subject"].tolist()
        assert ctx.run(ctx.js.consumers_info("WS")) == []


def test_a_websocket_url_without_aiohttp_says_which_extra_to_install(monkeypatch):
    from jsmagic.testing import shell_session

    monkeypatch.setitem(__import__("sys").modules, "aiohttp", None)  # as on a machine without it
    with shell_session() as shell:
        result = shell.run_cell("%js_connect ws://127.0.0.1:1")
    message = str(result.error_in_exec)
    assert "\n" not in message and "ws:// or wss:// server URL needs the aiohttp package" in message
    assert "pip install 'jsmagic[websocket]'" in message
