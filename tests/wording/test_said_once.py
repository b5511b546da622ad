"""Each cell says what it did once, in order, and nothing stale (issue 23, item 16), in a real kernel."""

from __future__ import annotations

import uuid

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.kernel

OUTPUTS = ("stream", "execute_result", "display_data", "update_display_data")


def shown(res) -> list[str]:
    """Every piece of output the cell left, in order, as text (html when it has no plain text)."""
    out = []
    for m in res.messages:
        kind, c = m["msg_type"], m["content"]
        if kind == "stream":
            out.extend(line for line in c["text"].splitlines() if line.strip())
        elif kind in OUTPUTS:
            out.append(c["data"].get("text/plain") or c["data"].get("text/html", ""))
    return out


def test_each_magic_says_it_once(kernel, server, tmp_path):
    s = f"ONCE{uuid.uuid4().hex[:6].upper()}"
    kernel.run("%load_ext jsmagic")
    res = kernel.run(f"%js_connect {server.url}")
    assert len(shown(res)) == 1 and shown(res)[0].startswith("Connected to"), shown(res)  # no <JSContext …>
    kernel.run("ctx = %js_connect " + server.url)
    assert "JSContext" in kernel.run("ctx").result  # still the value, shown in a later cell
    kernel.run(f"%js_stream add {s} --subjects '{s.lower()}.>'")
    kernel.run(f"%%js_publish {s.lower()}.x --count 3\n{{\"a\": {{{{Count}}}}}}")

    res = kernel.run(f"%js_publish nowhere{s}.x 'hi'", allow_error=True)  # refused, nothing sent
    assert res.error and shown(res) == [], shown(res)  # no "0 messages in 0.0s — failed" above the error

    (tmp_path / "lake").mkdir()
    res = kernel.run(f"%js_consume {s} --to lake/{s}.parquet")
    lines = shown(res)
    assert len(lines) == 1 and "3 rows" in lines[0], lines  # the --to summary once
    assert "1 row group" in lines[0] and "(s)" not in lines[0] and "0.0 MB" not in lines[0]

    res = kernel.run(f"%js_consume {s} --new --follow")
    assert not any("<Follow" in line for line in shown(res)), shown(res)
    kernel.run(f"f = %js_consume {s} --new --follow")
    assert "<Follow" in kernel.run("f").result  # the value still shows in a later cell

    res = kernel.run(f"%js_stream backup {s} bk")
    lines = shown(res)
    assert lines and lines[-1].startswith(f"Backed up stream {s}: 3 messages") and not any("Backup(" in x for x in lines)
    kernel.run("%js_close --all")  # the two tails stopped: their consumers leave the server
    kernel.run(f"%js_connect {server.url}\n%js_stream rm {s} --force")


def test_polars_footer_comes_under_the_result(kernel, server):
    pytest.importorskip("polars")
    s = f"POL{uuid.uuid4().hex[:6].upper()}"
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}")
    kernel.run(f"%js_stream add {s} --subjects '{s.lower()}.>'")
    kernel.run(f"%%js_publish {s.lower()}.x --count 2\n{{\"a\": {{{{Count}}}}}}")
    res = kernel.run(f"%js_consume {s} --as polars -n 1")
    kinds = [m["msg_type"] for m in res.messages if m["msg_type"] in OUTPUTS]
    assert kinds == ["execute_result", "display_data"], kinds  # the frame, then its footer; no stdout above it
    assert res.stdout == ""
    footer = res.data[-1]["text/html"]
    assert f"{s}: 1 row; seq 1–1" in footer and "1 rows" not in footer


def test_interrupted_export_last_line_is_what_the_file_holds(kernel, server, tmp_path):
    import asyncio
    import threading
    import time

    import nats

    from jsmagic.testing import fill_stream

    s = f"INT{uuid.uuid4().hex[:6].upper()}"
    n = 200_000

    async def fill():
        nc = await nats.connect(server.url)
        await nc.jetstream().add_stream(name=s, subjects=[f"{s.lower()}.>"])
        await fill_stream(nc, s, n, lambda i: f"{s.lower()}.x")
        await nc.close()

    asyncio.run(fill())
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}\n%config JSMagic.progress_after = 0.001")
    watcher = threading.Thread(target=lambda: (time.sleep(1.5), kernel.interrupt()))
    watcher.start()
    res = kernel.run(f"%js_consume {s} --batch 100 --to {tmp_path}/{s}.parquet", allow_error=True)
    watcher.join()
    if res.status != "error":
        pytest.skip("the export finished before the interrupt came (a fast machine): nothing to check")
    rows = pq.read_metadata(tmp_path / f"{s}.parquet").num_rows  # what the file holds
    last = [m["content"]["data"]["text/plain"] for m in res.messages if m["msg_type"] == "update_display_data"
            or m["msg_type"] == "display_data" and "exporting" in m["content"]["data"].get("text/plain", "")][-1]
    assert 0 < rows < n and last.startswith(f"exporting {s}: {rows:,} messages in ") and "interrupted" in last, \
        (rows, last)
