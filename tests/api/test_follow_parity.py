"""``%js_consume --follow`` and ``jsmagic.follow`` are one reader: the same stream followed both ways
while plain nats-py publishes, each sees exactly what nats-py published, once, in order.

The magic's live table reads through ``jsmagic.services.messages.follower`` /
``start_follow``, the reader ``async for chunk in jsmagic.follow(...)`` iterates, so that
the two cannot drift.
"""

from __future__ import annotations

import ast
import asyncio
import json
import time
from pathlib import Path

import nats

from jsmagic.testing import connected_shell


def _wait(shell, check, timeout: float = 60) -> bool:
    """Run the kernel's loop (cells) until ``check()`` or the timeout."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        shell.run_cell("import asyncio; await asyncio.sleep(0.1)")
    return check()


def _publish(url: str, values: range) -> list[int]:
    """Publish ``{"i": v}`` on fp.<v % 3> with plain nats-py (a JetStream ack each); the sequences stored."""

    async def main():
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            return [(await js.publish(f"fp.{v % 3}", json.dumps({"i": v}).encode())).seq for v in values]
        finally:
            await nc.close()

    return asyncio.run(main())


def _stream(url: str, action: str) -> int:
    async def main():
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            if action == "add":
                await js.add_stream(name="FP", subjects=["fp.>"])
                return 0
            return (await js.stream_info("FP")).state.consumer_count
        finally:
            await nc.close()

    return asyncio.run(main())


def test_the_magics_follow_and_jsmagic_follow_see_exactly_what_nats_py_published(server):
    _stream(server.url, "add")
    history = _publish(server.url, range(0, 5))
    with connected_shell(server.url) as shell:
        tail = shell.run_line_magic("js_consume", "FP --follow")
        shell.run_cell(
            "import asyncio, jsmagic\n"
            "api_frames = []\n"
            "async def _collect():\n"
            "    async for chunk in jsmagic.follow('FP'):\n"
            "        api_frames.append(chunk)\n"
            "async def _start():\n"
            "    return asyncio.ensure_future(_collect())\n"
            "api_task = await _start()\n"
        ).raise_error()
        ns = shell.user_ns
        api_rows = lambda: sum(len(f) for f in ns["api_frames"])  # noqa: E731
        assert _wait(shell, lambda: len(tail.df) == 5 and api_rows() == 5), (len(tail.df), api_rows())
        assert _stream(server.url, "count") == 2  # one consumer each, both running

        live = []
        for start in range(5, 45, 10):  # published while both follow, between turns of the kernel's loop
            live += _publish(server.url, range(start, start + 10))
            shell.run_cell("import asyncio; await asyncio.sleep(0.05)")
        assert _wait(shell, lambda: len(tail.df) >= 45 and api_rows() >= 45), (len(tail.df), api_rows())
        for _ in range(5):  # nothing more arrives (no repeat)
            shell.run_cell("import asyncio; await asyncio.sleep(0.1)")

        import pandas as pd

        api = pd.concat(ns["api_frames"], ignore_index=True)
        published = history + live
        assert tail.df["seq"].tolist() == published, tail.df["seq"].tolist()
        assert api["seq"].tolist() == published, api["seq"].tolist()
        assert tail.df["i"].tolist() == api["i"].tolist() == list(range(45))
        assert tail.df["subject"].tolist() == api["subject"].tolist() == [f"fp.{v % 3}" for v in range(45)]
        assert tail.describe().startswith("following FP: 45 messages, running"), tail.describe()

        tail.stop()
        shell.run_cell("api_task.cancel()")
        assert _wait(shell, lambda: not tail.running and ns["api_task"].done())
        deadline = time.monotonic() + 30
        while _stream(server.url, "count") and time.monotonic() < deadline:  # both consumers deleted
            shell.run_cell("import asyncio; await asyncio.sleep(0.1)")
        assert _stream(server.url, "count") == 0


def test_the_follow_reader_is_made_in_one_place():
    """``LiveReplay(...)`` is built only by ``services.messages.follower``: no view builds a reader of its own."""
    pkg = Path(__file__).resolve().parents[2] / "jsmagic"
    made = {p.relative_to(pkg).as_posix(): node.lineno for p in pkg.rglob("*.py")
            for node in ast.walk(ast.parse(p.read_text())) if isinstance(node, ast.Call)
            and ast.unparse(node.func).split(".")[-1] == "LiveReplay"}
    assert list(made) == ["services/messages.py"], made
