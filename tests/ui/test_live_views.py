"""Live views as a user watches them: an outage shown with its times, a consumer watch that keeps
what changed and says "paused", a stopped view that leaves its table and chart.

Real servers only: the outage is a nats-server stopped and started again on the same port
and store, under a live tail; the consumer's state is read back with plain nats-py.
"""

from __future__ import annotations

import asyncio
import re
import time

import nats
import pytest

from jsmagic.core.errors import JSMagicError
from jsmagic.testing import EmbeddedServer, connected_shell


def _wait(shell, check, timeout: float = 60) -> bool:
    """Run the kernel's loop (cells) until ``check()`` or the timeout."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        shell.run_cell("import asyncio; await asyncio.sleep(0.1)")
    return check()


def header(view) -> str:
    """The header as the frontend has it: the live widget's header HTML."""
    return view.table.widget.children[0].children[0].value


def clock_between(text: str, words: str, before: float, after: float) -> None:
    """``words HH:MM:SS`` is in ``text`` and that time lies between ``before`` and ``after`` (seconds)."""
    m = re.search(re.escape(words) + r" (\d\d):(\d\d):(\d\d)", text)
    assert m, f"{words!r} with a time missing from: {text}"
    shown = [int(x) for x in m.groups()]
    lo, hi = (time.localtime(int(t)) for t in (before, after + 1))
    assert [lo.tm_hour, lo.tm_min, lo.tm_sec] <= shown <= [hi.tm_hour, hi.tm_min, hi.tm_sec] or lo.tm_hour > hi.tm_hour, \
        (text, before, after)


def test_every_live_view_shows_an_outage_with_its_times_and_magics_say_unreachable(tmp_path):
    server = EmbeddedServer(store_dir=tmp_path / "store").start()
    try:
        with connected_shell(server.url, timeout=3) as shell:
            shell.run_line_magic("js_stream", "add OUT --subjects 'out.>'")
            shell.run_cell_magic("js_publish", "out.a", '{"i": 1}\n')
            shell.run_line_magic("js_kv", "add outkv")
            shell.run_line_magic("js_obj", "add outobj")
            shell.run_line_magic("js_consumer", "add OUT worker")
            tail = shell.run_line_magic("js_consume", "OUT --all --follow")
            views = [tail, shell.run_line_magic("js_kv", "watch outkv"), shell.run_line_magic("js_obj", "watch outobj"),
                     shell.run_line_magic("js_consumer", "watch OUT worker --every 0.2")]  # every live view
            assert _wait(shell, lambda: "out.a" in tail.table.html() and all("● live" in header(v) for v in views))

            down_at = time.time()
            server.stop()
            for view in views:
                assert _wait(shell, lambda: "reconnecting since" in header(view)), header(view)
                clock_between(header(view), "reconnecting since", down_at, time.time())
                assert "● live" not in header(view)

            with pytest.raises(JSMagicError) as failed:  # a magic while the server is down
                shell.run_line_magic("js_stream", "info OUT")
            line = failed.value.one_line()
            assert "unreachable" in line and "raise --timeout" not in line and "\n" not in line, line

            server.start()
            up_from = time.time()
            for view in views:
                assert _wait(shell, lambda: "resumed at" in header(view)), header(view)
                clock_between(header(view), "resumed at", up_from, time.time())
                assert "reconnecting since" not in header(view)
            assert _wait(shell, lambda: all("● live" in header(v) for v in views)), [header(v) for v in views]
            shell.run_cell_magic("js_publish", "out.b", '{"i": 2}\n')
            assert _wait(shell, lambda: "out.b" in tail.table.html())
            for view in views:
                view.stop()
                snapshot = view.html()
                assert "stopped at" in snapshot and "resumed at" in snapshot and "● live" not in snapshot
    finally:
        server.cleanup()


def _consumer_info(url: str, stream: str, name: str) -> dict:
    async def main():
        nc = await nats.connect(url)
        try:
            info = await nc.jetstream().consumer_info(stream, name)
            return {"pending": info.num_pending, "paused": bool(getattr(info, "paused", False))}
        finally:
            await nc.close()

    return asyncio.run(main())


def _fetch_nothing(url: str, stream: str, name: str) -> int:
    """What a paused consumer hands out to a plain nats-py fetch (nothing)."""
    async def main():
        nc = await nats.connect(url)
        try:
            sub = await nc.jetstream().pull_subscribe_bind(name, stream)
            try:
                return len(await sub.fetch(1, timeout=1))
            except nats.errors.TimeoutError:
                return 0
        finally:
            await nc.close()

    return asyncio.run(main())


async def _publish_and_pause(url: str, stream: str, n: int, name: str | None = None) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for i in range(n):
            await js.publish(f"{stream.lower()}.x", b'{"i": %d}' % i)
        if name:
            await js.pause_consumer(stream, name, "2099-01-01T00:00:00Z")
    finally:
        await nc.close()


def test_a_consumer_watch_keeps_a_row_per_change_and_says_paused(fresh_server):
    url = fresh_server.url
    with connected_shell(url) as shell:
        shell.run_line_magic("js_stream", "add CW --subjects 'cw.>'")
        shell.run_line_magic("js_consumer", "add CW worker")
        w = shell.run_line_magic("js_consumer", "watch CW worker --every 0.1")
        assert _wait(shell, lambda: w.watcher.checks >= 10)
        assert len(w.df) == 1 and len(w.table) == 1, "an unchanged consumer added rows"
        assert "1 sample ·" in header(w) and "event" not in header(w)

        asyncio.run(_publish_and_pause(url, "CW", 3))
        assert _wait(shell, lambda: len(w.df) and w.df["pending"].iloc[-1] == 3)
        assert _consumer_info(url, "CW", "worker")["pending"] == 3  # the server's own count
        checks = w.watcher.checks
        assert _wait(shell, lambda: w.watcher.checks >= checks + 5)
        assert list(w.df["pending"]) == [0, 3], "a row for each change, and only for a change"

        asyncio.run(_publish_and_pause(url, "CW", 0, name="worker"))
        assert _consumer_info(url, "CW", "worker")["paused"]
        assert _fetch_nothing(url, "CW", "worker") == 0
        assert _wait(shell, lambda: "● paused" in header(w)), header(w)
        assert "2099-01-01 00:00:00 UTC" in header(w)

        w.stop()
        snapshot = w.html()
        assert "stopped at" in snapshot and "<svg" in snapshot and "● " not in snapshot
        assert "2 samples" in snapshot


def test_stopping_a_consumer_watch_replaces_its_widget_by_the_table_and_chart(fresh_server):
    """What the frontend receives: the display id updated with static HTML, no widget view (three ways)."""
    from IPython.core.displaypub import CapturingDisplayPublisher

    with connected_shell(fresh_server.url) as shell:
        shell.run_line_magic("js_stream", "add CS --subjects 'cs.>'")
        shell.run_line_magic("js_consumer", "add CS worker")
        shell.display_pub = CapturingDisplayPublisher()
        for how in ("stop", "button", "close"):
            shell.display_pub.clear_output()
            if how == "close":
                shell.run_line_magic("js_connect", fresh_server.url)
            w = shell.run_line_magic("js_consumer", "watch CS worker --every 0.1")
            assert _wait(shell, lambda: len(w.table) >= 1)
            if how == "stop":
                w.stop()
            elif how == "button":
                w.table.widget.children[0].children[1].click()
            else:
                shell.run_line_magic("js_close", "")
            assert _wait(shell, lambda: not w.running)
            last = shell.display_pub.outputs[-1]
            data = last["data"]
            assert last["update"] and "application/vnd.jupyter.widget-view+json" not in data, (how, last)
            assert "<table" in data["text/html"] and "<svg" in data["text/html"], how
            assert "stopped at" in data["text/html"] and "● live" not in data["text/html"], how
