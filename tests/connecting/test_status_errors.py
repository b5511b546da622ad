"""%js_status tells the truth about a connection: its state first, its last few errors with their times.

And Tab completion in a real kernel answers from the core's cache without running the
kernel's loop from inside the completion request.
"""

from __future__ import annotations

import re
import time

import pytest

from jsmagic.testing import nats_server


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def status_text(shell) -> str:
    return repr(shell.run_line_magic("js_status", ""))


def test_status_says_reconnecting_and_keeps_timed_errors_that_a_reconnect_makes_old(bare_shell, tmp_path):
    with nats_server(store_dir=str(tmp_path / "js")) as s:
        ctx = bare_shell.run_line_magic("js_connect", s.url)
        port = s.port
        assert status_text(bare_shell).startswith(f"Connected to {s.url}")
        s.cleanup()  # the server goes away: nats-py starts reconnecting
        wait_for(lambda: ctx.run(_later(0.1)) or ctx.state == "reconnecting", what="reconnecting")
        wait_for(lambda: ctx.run(_later(0.2)) or len(ctx.recent_errors()) >= 2, what="two failed reconnects")
        text = status_text(bare_shell)
        first, second = text.splitlines()[:2]
        assert first.startswith(f"Reconnecting to {s.url}") and not text.startswith("Connected")
        assert re.match(r"state: reconnecting since \d\d:\d\d:\d\d$", second)
        errors = [line for line in text.splitlines() if re.match(r"  \d\d:\d\d:\d\d ", line)]
        assert 2 <= len(errors) <= 5 and all("(before the last reconnect)" not in e for e in errors)
        assert ctx.last_error and "refused" in ctx.last_error.lower()
    with nats_server(port=port, store_dir=str(tmp_path / "js")) as again:
        wait_for(lambda: ctx.run(_later(0.2)) or ctx.state == "connected", what="reconnected")
        text = status_text(bare_shell)
        assert text.startswith(f"Connected to {again.url}")
        errors = [line for line in text.splitlines() if re.match(r"  \d\d:\d\d:\d\d ", line)]
        assert errors and all(e.endswith("(before the last reconnect)") for e in errors)  # not shown as current
        data = bare_shell.run_line_magic("js_status", "").data
        assert data.last_error is None and len(data.errors) == len(errors)
        bare_shell.run_line_magic("js_close", "")


async def _later(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


@pytest.mark.kernel
def test_tab_in_a_kernel_never_runs_the_loop(kernel, server):
    kernel.run(f"%load_ext jsmagic\nctx = %js_connect {server.url}\n%js_stream add TABBED --subjects 'tabbed.>'")
    kernel.run("import jsmagic.core.runner as r\nruns = []\nplain = r.run\n"
               "def counted(*a, **k):\n    runs.append(1)\n    return plain(*a, **k)\nr.run = counted")

    def offered() -> list[str]:
        msg_id = kernel.kc.complete("%js_stream info TAB", 19)
        reply = kernel.kc.get_shell_msg(timeout=30)
        assert reply["parent_header"]["msg_id"] == msg_id
        return reply["content"]["matches"]

    wait_for(lambda: "TABBED" in offered(), what="TABBED offered")
    assert kernel.run("print(len(runs))").stdout.strip() == "0"  # no loop run inside a completion request
    kernel.run("r.run = plain")


def test_retried_and_suppressed_errors_are_logged(bare_shell, caplog):
    import logging

    from jsmagic.core.errors import ConnectError

    caplog.set_level(logging.DEBUG, logger="jsmagic")
    with pytest.raises(ConnectError, match="no NATS server"):
        bare_shell.run_line_magic("js_connect", "nats://127.0.0.1:1 --timeout 2")
    attempts = [r for r in caplog.records if r.name == "jsmagic.connecting.connection" and "connect attempt" in r.getMessage()]
    assert attempts and "refused" in attempts[0].getMessage().lower()
