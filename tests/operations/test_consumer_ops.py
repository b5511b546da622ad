"""%js_consumer operations against a real server: add flags, edit, copy, reset, report, dead letters, watch."""

import asyncio
import json
import time
import uuid

import pytest

from jsmagic.core.errors import ForceRequiredError, NotFoundError
from jsmagic.core.registry import context


@pytest.fixture
def name():
    return "C" + uuid.uuid4().hex[:6].upper()


def fill(shell, nc, name, n, subjects=("a", "b")):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name.lower()}.>'")
    _client, js, run = nc
    for i in range(n):
        run(js.publish(f"{name.lower()}.{subjects[i % len(subjects)]}", json.dumps({"i": i}).encode()))


def test_add_flags_edit_copy_reset_report(shell, nc, name):
    fill(shell, nc, name, 10, ("a", "b", "c"))
    _client, js, run = nc
    low = name.lower()
    shell.run_line_magic("js_consumer", f"add {name} w --filter {low}.a --filter {low}.b --backoff 1s,5s "
                                        "--max-deliver 3 --inactive-threshold 1h --replay original --headers-only")
    c = run(js.consumer_info(name, "w")).config
    assert sorted(c.filter_subjects) == [f"{low}.a", f"{low}.b"] and c.backoff == [1, 5]
    assert c.inactive_threshold == 3600 and c.replay_policy == "original" and c.headers_only
    shell.run_line_magic("js_consumer", f"add {name} q --push --target dlv.{low} --deliver-group workers")
    assert run(js.consumer_info(name, "q")).config.deliver_group == "workers"

    dry = shell.run_line_magic("js_consumer", f"edit {name} w --max-deliver 5 --description hi --dry-run")
    assert set(dry["setting"]) == {"max_deliver", "description"}
    assert run(js.consumer_info(name, "w")).config.max_deliver == 3  # nothing sent
    done = shell.run_line_magic("js_consumer", f"edit {name} w --max-deliver 5 --filter {low}.c")
    changed = done.set_index("setting")
    assert changed.loc["max_deliver", "old"] == "3" and changed.loc["max_deliver", "new"] == "5"
    after = run(js.consumer_info(name, "w")).config
    assert after.max_deliver == 5 and after.filter_subject == f"{low}.c" and not after.filter_subjects

    shell.run_line_magic("js_consumer", f"copy {name} w w2")
    assert run(js.consumer_info(name, "w2")).config.filter_subject == f"{low}.c"

    shell.run_line_magic("js_consumer", f"add {name} r")
    shell.run_line_magic("js_consumer", f"next {name} r --count 6")
    assert run(js.consumer_info(name, "r")).num_pending == 4
    shell.run_line_magic("js_consumer", f"reset {name} r 3")
    assert run(js.consumer_info(name, "r")).num_pending == 8  # sequences 3..10 again

    rep = shell.run_line_magic("js_consumer", f"report {name}").set_index("name")
    assert set(rep.index) == {"w", "w2", "q", "r"}
    assert rep.loc["r", "pending"] == 8 and rep.loc["w", "pending"] == 3 and not rep.loc["q", "pull"]
    assert list(rep.loc["r", ["redelivered", "waiting", "paused"]]) == [0, 0, False]

    from jsmagic.ui import completion  # Tab offers the consumers after the new verbs, nothing after report

    completion.clear_cache()
    assert sorted(completion.candidates("js_consumer", ["watch", name])) == ["q", "r", "w", "w2"]
    assert completion.candidates("js_stream", ["report"]) == [] and "backup" in completion.candidates("js_stream", [])


def test_dead_letters_both_reasons_with_payloads_and_republish(shell, nc, name):
    fill(shell, nc, name, 4)
    _client, js, run = nc
    shell.run_line_magic("js_consumer", f"add {name} w --max-deliver 2 --ack-wait 1s")
    with pytest.raises(NotFoundError, match="--capture"):
        shell.run_line_magic("js_consumer", f"dead {name} w")
    shell.run_line_magic("js_consumer", f"dead {name} w --capture")
    shell.run_line_magic("js_consumer", f"next {name} w --count 1 --term")      # seq 1: terminated
    shell.run_line_magic("js_consumer", f"next {name} w --count 1 --nak")       # seq 2: 1st delivery
    shell.run_line_magic("js_consumer", f"next {name} w --count 1 --nak")       # seq 2 again: 2nd = max
    shell.run_line_magic("js_consumer", f"next {name} w --count 2 --ack")       # 3, 4 fine
    deadline = time.monotonic() + 10
    while True:
        df = shell.run_line_magic("js_consumer", f"dead {name} w")
        if len(df) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    df = df.sort_values("seq", ignore_index=True)
    assert list(df["seq"]) == [1, 2]
    assert list(df["reason"]) == ["terminated", "max deliveries"]
    assert list(df["data"]) == [{"i": 0}, {"i": 1}] and list(df["deliveries"]) == [1, 2]
    assert df["subject"].tolist() == [f"{name.lower()}.a", f"{name.lower()}.b"]
    assert df["time"].notna().all()

    with pytest.raises(ForceRequiredError, match="would publish 2 dead letter"):
        shell.run_line_magic("js_consumer", f"dead {name} w --republish {name.lower()}.retry")
    shell.run_line_magic("js_consumer", f"dead {name} w --republish {name.lower()}.retry --force")
    shell.run_line_magic("js_consumer", f"dead {name} w --republish {name.lower()}.retry --force")  # deduplicated
    subjects = shell.run_line_magic("js_stream", f"subjects {name}").set_index("subject")
    assert subjects.loc[f"{name.lower()}.retry", "messages"] == 2
    again = shell.run_line_magic("js_consumer", f"next {name} w --count 2")
    assert sorted(d["i"] for d in again["data"]) == [0, 1]


def _until(ctx, cond, what: str, timeout: float = 30.0) -> None:
    """Poll ``cond`` on the kernel's loop (the watch samples there) until it holds or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        ctx.run(asyncio.sleep(0.05))


def test_watch_series_shows_pending_rise_after_publish(shell, nc, name):
    fill(shell, nc, name, 3)
    shell.run_line_magic("js_consumer", f"add {name} w")
    w = shell.run_line_magic("js_consumer", f"watch {name} w --every 0.1")
    ctx = context()
    _until(ctx, lambda: len(w.df) and w.df["pending"].iloc[-1] == 3, "the watch never showed pending 3")
    assert w.running
    _client, js, run = nc
    for i in range(5):
        run(js.publish(f"{name.lower()}.a", b"{}"))
    shell.run_line_magic("js_consumer", f"next {name} w --count 2 --no-ack")

    def last() -> tuple:
        r = w.df.iloc[-1]
        return r["pending"], r["ack_pending"], r["delivered_seq"], r["ack_floor_seq"]

    _until(ctx, lambda: last() == (6, 2, 2, 0), "the watch never showed the publish and the fetch")
    df = w.df
    assert df["pending"].iloc[0] == 3 and (df["pending"] > 3).any()  # pending rose after the publish
    assert df["time"].is_monotonic_increasing
    assert w.watcher.checks >= len(df) >= 2  # a row per change; every sample is counted
    assert "<svg" in w.html() and "pending 6" in w.html()
    w.stop()
    _until(ctx, lambda: not w.running, "the watch did not stop")
    assert w.table.status == "stopped"
    n, checks = len(w.df), w.watcher.checks
    ctx.run(asyncio.sleep(0.3))  # three sampling intervals: nothing may come
    assert (len(w.df), w.watcher.checks) == (n, checks)  # stopped means stopped


def test_watch_survives_a_server_restart(fresh_server):
    from jsmagic.testing import close_shell, testing_shell

    sh = testing_shell(probe_local=False)
    sh.run_line_magic("js_connect", fresh_server.url)
    try:
        sh.run_line_magic("js_stream", "add WR --subjects 'wr.>'")  # file storage: kept over the restart
        sh.run_line_magic("js_publish", "wr.x '{\"n\": 1}'")
        sh.run_line_magic("js_consumer", "add WR w")
        w = sh.run_line_magic("js_consumer", "watch WR w --every 0.1")
        ctx = context()
        ctx.run(asyncio.sleep(0.3))
        fresh_server.stop()
        seen = set()
        deadline = time.monotonic() + 10
        while w.watcher.status != "reconnecting" and time.monotonic() < deadline:
            ctx.run(asyncio.sleep(0.1))
        seen.add(w.watcher.status)
        before = len(w.df)
        fresh_server.start()
        deadline = time.monotonic() + 30
        while w.watcher.status != "live" and time.monotonic() < deadline:
            ctx.run(asyncio.sleep(0.2))
        sh.run_line_magic("js_publish", "wr.x '{\"n\": 2}'")
        ctx.run(asyncio.sleep(0.5))
        assert "reconnecting" in seen and w.running
        assert len(w.df) > before and w.df["pending"].iloc[-1] == 2  # the series goes on after the restart
        w.stop()
    finally:
        close_shell(sh)
