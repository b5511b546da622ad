"""%js_consumer pause/resume, --pause, priority groups (pinned, overflow), unpin, next --group (server 2.11)."""

import pytest

from jsmagic.admin import priority
from jsmagic.core.errors import InputError, NotFoundError
from jsmagic.core.registry import context
from tests.modern.conftest import raw


def setup(shell, name, n=4):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --storage memory")
    shell.run_cell_magic("js_publish", f"{name}.job", "\n".join(f"job {i}" for i in range(n)))


def test_pause_resume_and_add_paused(shell, nc, name, capsys):
    setup(shell, name)
    shell.run_line_magic("js_consumer", f"add {name} w --pause 1h")
    assert raw(nc, f"CONSUMER.INFO.{name}.w")["paused"] is True
    assert shell.run_line_magic("js_consumer", f"ls {name}")["paused"].tolist() == [True]
    assert "Pause" in shell.run_line_magic("js_consumer", f"info {name} w")
    empty = shell.run_line_magic("js_consumer", f"next {name} w --timeout 0.5")
    assert len(empty) == 0  # a paused consumer delivers nothing
    shell.run_line_magic("js_consumer", f"resume {name} w")
    assert "is delivering" in capsys.readouterr().out
    assert len(shell.run_line_magic("js_consumer", f"next {name} w --count 2")) == 2
    shell.run_line_magic("js_consumer", f"pause {name} w 10m")
    assert "paused until" in capsys.readouterr().out
    assert raw(nc, f"CONSUMER.INFO.{name}.w")["paused"] is True


def test_pinned_group_failover_and_unpin(shell, nc, name):
    setup(shell, name, 6)
    shell.run_line_magic("js_consumer", f"add {name} p --pinned-groups jobs --pinned-ttl 30s")
    cfg = raw(nc, f"CONSUMER.INFO.{name}.p")["config"]
    assert cfg["priority_policy"] == "pinned_client" and cfg["priority_groups"] == ["jobs"]
    assert cfg["priority_timeout"] == 30 * 10**9
    first = shell.run_line_magic("js_consumer", f"next {name} p --group jobs")
    assert first["data"].tolist() == ["job 0"] and first.attrs["pin_id"]
    again = shell.run_line_magic("js_consumer", f"next {name} p --group jobs")
    assert again.attrs["pin_id"] == first.attrs["pin_id"]  # the notebook keeps its pin
    ctx = context()
    msgs, pin, why = ctx.run(priority.pull_group(name, "p", "jobs", remember=False, pin_id="someone-else", timeout=0.5))
    assert msgs == [] and why == "another worker holds the pin"
    report = shell.run_line_magic("js_consumer", f"info {name} p")
    assert report["Priority groups"]["group jobs"] == f"pinned to {first.attrs['pin_id']}"
    shell.run_line_magic("js_consumer", f"unpin {name} p jobs")
    msgs, pin, why = ctx.run(priority.pull_group(name, "p", "jobs", remember=False, timeout=2))
    assert len(msgs) == 1 and pin and pin != first.attrs["pin_id"]  # the other worker took over
    for m in msgs:
        ctx.run(m.ack())


def test_overflow_group_and_refusals(shell, nc, name):
    setup(shell, name, 3)
    shell.run_line_magic("js_consumer", f"add {name} o --overflow-groups jobs")
    assert raw(nc, f"CONSUMER.INFO.{name}.o")["config"]["priority_policy"] == "overflow"
    ctx = context()
    msgs, _, why = ctx.run(priority.pull_group(name, "o", "jobs", min_pending=10, timeout=0.5))
    assert msgs == []  # only 3 pending: an overflow worker is not needed yet
    msgs, _, _ = ctx.run(priority.pull_group(name, "o", "jobs", min_pending=2, timeout=2))
    assert len(msgs) == 1
    got = shell.run_line_magic("js_consumer", f"next {name} o --group jobs --min-pending 1")
    assert got["data"].tolist() == ["job 1"]
    with pytest.raises(InputError, match="one priority policy"):
        shell.run_line_magic("js_consumer", f"add {name} x --pinned-groups a --overflow-groups b")
    with pytest.raises(InputError, match="bad pause time"):
        shell.run_line_magic("js_consumer", f"pause {name} o whenever")
    with pytest.raises(NotFoundError):
        shell.run_line_magic("js_consumer", f"unpin {name} nope jobs")
    assert sorted(c["name"] for c in raw(nc, f"CONSUMER.LIST.{name}")["consumers"]) == ["o"]
