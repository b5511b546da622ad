"""Progress of a filtered read follows what was read, and its last line says read and kept (issue 23, item 15)."""

from __future__ import annotations

import asyncio
import re
import uuid

import nats
import pytest

from jsmagic.testing import fill_stream

pytestmark = pytest.mark.kernel
N = 60_000


def test_where_progress_counts_read_and_kept(kernel, server):
    s = f"FP{uuid.uuid4().hex[:6].upper()}"

    async def fill():
        nc = await nats.connect(server.url)
        await nc.jetstream().add_stream(name=s, subjects=[f"{s.lower()}.>"])
        await fill_stream(nc, s, N, lambda i: f"{s.lower()}.x")
        info = await nc.jetstream().stream_info(s)
        await nc.close()
        return info.state.messages

    stored = asyncio.run(fill())
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}\n%config JSMagic.progress_after = 0.001")
    res = kernel.run(f"df = %js_consume {s} --batch 500 --where 'i % 50 == 0'\nprint(len(df))")
    kept = int(res.stdout.split()[-1])
    assert kept == stored // 50 == 1_200
    updates = [m["content"]["data"]["text/plain"] for m in res.messages if m["msg_type"] == "update_display_data"]
    assert updates, "no progress line"
    last = updates[-1]
    assert re.match(rf"replaying {s}: {stored:,} read, {kept:,} kept in (?:[\d.]+s .*|under 0\.1s )— done$", last), last
    # while working, the percent and the time left follow what was read (kept is 2% of it)
    labels = [c["data"]["state"]["value"] for c in kernel.comm_log
              if c.get("type") == "comm_msg" and "read (" in str(c.get("data", {}).get("state", {}).get("value", ""))]
    percents = [int(p) for label in labels for p in re.findall(r"read \((\d+)%\)", label)]
    if not percents:
        pytest.skip("the read ended before the bar refreshed once (nothing to check while working)")
    assert max(percents) > 10, labels
