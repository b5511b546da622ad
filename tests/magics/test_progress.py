"""Progress in a real kernel: a widget bar while working, and a last line that tells the truth.

The last line replaces the bar through its display id (a saved notebook keeps the line, not
a widget it cannot show) and carries the true final count: the rows of the frame, the
messages acknowledged, and "done" or "interrupted".
"""

from __future__ import annotations

import asyncio
import re
import uuid

import nats
import pytest

from jsmagic.testing import fill_stream

pytestmark = pytest.mark.kernel

WIDGET = "application/vnd.jupyter.widget-view+json"
N = 30_000


def progress_messages(res) -> list[dict]:
    """The progress display: its first showing and every update (on its display id)."""
    return [m["content"] for m in res.messages if m["msg_type"] == "update_display_data"
            or m["msg_type"] == "display_data" and m["content"].get("transient", {}).get("display_id")]


def test_the_last_progress_line_is_the_true_count(kernel, server):
    stream = f"PROG{uuid.uuid4().hex[:6].upper()}"

    async def fill():
        nc = await nats.connect(server.url)
        await nc.jetstream().add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
        await fill_stream(nc, stream, N, lambda i: f"{stream.lower()}.x")
        await nc.close()

    asyncio.run(fill())
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}\n%config JSMagic.progress_after = 0.001")
    res = kernel.run(f"df = %js_consume {stream} --batch 500\nprint(len(df))")
    shown = progress_messages(res)
    assert shown and WIDGET in shown[0]["data"], "no progress bar widget was shown"
    assert "replaying" in shown[0]["data"]["text/plain"]
    last = shown[-1]
    assert WIDGET not in last["data"], "the bar was left as a widget (a saved notebook shows 'model not found')"
    line = last["data"]["text/plain"]
    assert re.match(rf"replaying {stream}: {N:,} messages in [\d.]+s .*— done$", line), line
    assert res.stdout.strip() == str(N)
    assert "msgs" not in line
    # assigned, the frame is not displayed: its summary line still is, once
    summaries = [d["text/html"] for d in res.data if f"{stream}: " in d.get("text/html", "")]
    assert len(summaries) == 1 and f"{stream}: {N:,} rows; seq 1–{N}" in summaries[0]

    res = kernel.run(f"%%js_publish {stream.lower()}.y --count 2000 -o acks\n{{\"k\": {{{{Count}}}}}}")
    line = progress_messages(res)[-1]["data"]["text/plain"]
    assert re.match(r"acknowledged: 2,000 messages in (?:[\d.]+s .*|under 0\.1s )— done$", line), line  # never "0.0s"
