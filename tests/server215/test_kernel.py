"""The 2.10–2.15 stream verbs in a real Jupyter kernel: what a notebook user runs and sees."""

from __future__ import annotations

import json

import nats
import pytest

pytestmark = pytest.mark.kernel


def server_config(url: str, name: str) -> dict:
    import asyncio

    async def ask():
        nc = await nats.connect(url)
        try:
            return json.loads((await nc.request(f"$JS.API.STREAM.INFO.{name}", b"", timeout=5)).data)["config"]
        finally:
            await nc.close()

    return asyncio.run(ask())


def test_limits_promotion_and_sourcing_in_a_kernel(kernel, server):
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}")
    kernel.run("%js_stream add K_JOBS --subjects 'kjobs.>' --retention workqueue --max-consumers 10 "
               "--limit-consumer-inactive 5m --limit-consumer-max-pending 200")
    cfg = server_config(server.url, "K_JOBS")
    assert cfg["max_consumers"] == 10
    assert cfg["consumer_limits"] == {"inactive_threshold": 300 * 10**9, "max_ack_pending": 200}
    r = kernel.run("%js_stream info K_JOBS")
    assert "consumer inactive threshold: 5m" in r.result and "consumer max ack pending: 200" in r.result

    kernel.run("%js_stream add K_DONE --source K_JOBS")
    kernel.run("%js_publish kjobs.a '{\"n\": {{Count}}}' --count 20")
    r = kernel.run("src = %js_stream sourcing K_JOBS\nprint(list(src['for_stream']), list(src['ack_policy']))")
    assert r.stdout.strip() == "['K_DONE'] ['flow_control']"
    r = kernel.run("%js_stream sourcing K_JOBS")
    assert "1 sourcing consumer on K_JOBS (workqueue)" in r.all_text

    kernel.run("%js_stream add K_COPY --mirror K_DONE")
    kernel.run("%js_stream edit K_COPY --no-mirror --subjects 'kcopy.>'")
    assert "mirror" not in server_config(server.url, "K_COPY")
    r = kernel.run("%js_publish kcopy.x '{\"n\": 1}'")
    assert "K_COPY" in r.all_text
