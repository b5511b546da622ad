"""%%js_publish --ttl / --ttl-col / --atomic / --schedule-*: against the real server, refusals store nothing."""

import base64
import json

import pandas as pd
import pytest

from jsmagic.core.errors import InputError, PublishError
from tests.modern.conftest import raw, stored, wait_for


def add(shell, name, flags=""):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --storage memory {flags}")



def test_ttl_messages_expire_and_per_row_ttl(shell, nc, name):
    add(shell, name, "--allow-msg-ttl")
    shell.run_cell_magic("js_publish", f"{name}.session --ttl 1s", "a\nb\n")
    shell.user_ns["df"] = pd.DataFrame({"user": ["ann", "bob"], "ttl": ["1s", "1h"]})
    acks = shell.run_line_magic("js_publish", f"{name}.login --from df --ttl-col ttl")
    assert list(acks["seq"]) == [3, 4]
    msg = raw(nc, f"STREAM.MSG.GET.{name}", {"seq": 4})["message"]
    assert b"Nats-TTL: 3600s" in base64.b64decode(msg["hdrs"])
    assert json.loads(base64.b64decode(msg["data"])) == {"user": "bob"}  # the TTL column is a header, not data
    assert wait_for(lambda: stored(nc, name) == 1)  # the three 1s messages expired, the 1h one stays


def test_ttl_refusals_send_nothing(shell, nc, name):
    add(shell, name)
    with pytest.raises(InputError, match=f"stream {name} does not allow per-message TTL.*nothing published"):
        shell.run_cell_magic("js_publish", f"{name}.x --ttl 2s", "a\n")
    with pytest.raises(InputError, match="bad --ttl"):
        shell.run_cell_magic("js_publish", f"{name}.x --ttl 500ms", "a\n")
    shell.run_line_magic("js_stream", f"edit {name} --subject-del-markers-ttl 1m")
    with pytest.raises(InputError, match="shorter than stream .*delete-marker TTL"):
        shell.run_cell_magic("js_publish", f"{name}.x --ttl 2s", "a\n")
    assert stored(nc, name) == 0


def test_atomic_batch_all_or_nothing(shell, nc, name):
    add(shell, name, "--allow-batch")
    acks = shell.run_cell_magic("js_publish", f"{name}.order --atomic", '{"order": 1}\n{"line": 1}\n{"line": 2}\n')
    assert list(acks["seq"]) == [1, 2, 3] and acks["batch"].nunique() == 1 and set(acks["batch_count"]) == {3}
    assert "one atomic batch" in acks.summary
    # a failed expectation refuses the whole batch: nothing of it is stored
    with pytest.raises(PublishError, match="atomic batch of 2 refused: wrong last sequence.*nothing stored"):
        shell.run_cell_magic("js_publish", f"{name}.order --atomic --expect-last-seq 1", "a\nb\n")
    assert stored(nc, name) == 3
    # over the limit: refused before sending, unless --split (which says it is no longer atomic as a whole)
    with pytest.raises(InputError, match="more than one atomic batch may hold"):
        shell.run_cell_magic("js_publish", f"{name}.bulk --atomic --count 1001", "x\n")
    assert stored(nc, name) == 3
    acks = shell.run_cell_magic("js_publish", f"{name}.bulk --atomic --split --count 1001", "x\n")
    assert acks["batch"].nunique() == 2 and "the whole publish not" in acks.summary
    assert stored(nc, name) == 1004


def test_atomic_refused_by_a_stream_without_batches(shell, nc, name):
    add(shell, name)
    with pytest.raises(InputError, match="does not allow atomic batch publish.*--allow-batch"):
        shell.run_cell_magic("js_publish", f"{name}.order --atomic", "a\nb\n")
    assert stored(nc, name) == 0


def test_schedule_fires_once_into_its_target(shell, nc, name):
    add(shell, name, "--allow-schedules --allow-msg-ttl")
    shell.run_cell_magic("js_publish", f"{name}.schedules.r1 --schedule-after 1s --schedule-dest {name}.due "
                                       "--schedule-ttl 60s", "call Ann\n")
    pending = shell.run_line_magic("js_stream", f"schedules {name}")
    assert list(pending["subject"]) == [f"{name}.schedules.r1"] and pending["target"][0] == f"{name}.due"
    assert wait_for(lambda: raw(nc, f"STREAM.INFO.{name}", {"subjects_filter": f"{name}.due"})["state"]
                    .get("subjects", {}).get(f"{name}.due") == 1)
    assert wait_for(lambda: len(shell.run_line_magic("js_stream", f"schedules {name}")) == 0)


def test_schedule_refusals(shell, nc, name):
    add(shell, name)
    with pytest.raises(InputError, match="does not allow message schedules"):
        shell.run_cell_magic("js_publish", f"{name}.s --schedule-every 1m --schedule-dest {name}.due", "x\n")
    with pytest.raises(InputError, match="needs --schedule-dest"):
        shell.run_cell_magic("js_publish", f"{name}.s --schedule-after 1m", "x\n")
    with pytest.raises(InputError, match=f"stream {name} does not allow message schedules"):
        shell.run_line_magic("js_stream", f"schedules {name}")
    assert stored(nc, name) == 0


def test_consume_shows_ttl_schedule_and_counter_columns(shell, nc, name):
    add(shell, name, "--allow-msg-ttl --allow-schedules")
    shell.run_cell_magic("js_publish", f"{name}.plain", "a\n")
    shell.run_cell_magic("js_publish", f"{name}.s --ttl 1h", "b\n")
    shell.run_cell_magic("js_publish", f"{name}.sched --schedule-every 1h --schedule-dest {name}.due", "c\n")
    df = shell.run_line_magic("js_consume", name)
    shown = lambda col: [v if isinstance(v, str) else None for v in df[col]]  # noqa: E731 - missing: NaN/None
    assert shown("ttl") == [None, "3600s", None]
    assert shown("schedule") == [None, None, "@every 3600s"]
    assert df["schedule_target"].tolist()[2] == f"{name}.due"
    assert "incr" not in df.columns  # only the headers that occur get a column
    counters = name + "C"
    shell.run_line_magic("js_stream", f"add {counters} --subjects '{counters}.>' --storage memory --allow-counter")
    shell.run_line_magic("js_counter", f"incr {counters}.views 5")
    shell.run_line_magic("js_counter", f"decr {counters}.views 2")
    df = shell.run_line_magic("js_consume", counters)
    assert df["incr"].tolist() == ["+5", "-2"] and df["val"].tolist() == ["5", "3"]


def test_repeating_and_timed_schedules(shell, nc, name):
    add(shell, name, "--allow-schedules")
    shell.run_cell_magic("js_publish", f"{name}.sched.every --schedule-every 1s --schedule-dest {name}.tick", "tick\n")
    shell.run_cell_magic("js_publish", f"{name}.sched.cron --schedule-cron '* * * * * *' --schedule-dest {name}.cron",
                         "cron\n")
    shell.run_cell_magic("js_publish", f"{name}.sched.at --schedule-at 2000-01-01T00:00:00Z --schedule-dest {name}.late",
                         "late\n")
    fired = lambda subject: raw(nc, f"STREAM.INFO.{name}", {"subjects_filter": subject})["state"].get(  # noqa: E731
        "subjects", {}).get(subject, 0)
    assert wait_for(lambda: fired(f"{name}.tick") >= 2 and fired(f"{name}.cron") >= 2)  # they repeat
    assert wait_for(lambda: fired(f"{name}.late") == 1)  # a time in the past fires at once, once
    pending = shell.run_line_magic("js_stream", f"schedules {name}")
    assert sorted(pending["schedule"]) == ["* * * * * *", "@every 1s"]  # the repeating ones stay


def test_an_atomic_batch_goes_to_one_stream(shell, nc, name):
    add(shell, name, "--allow-batch")
    other = name + "B"
    add(shell, other, "--allow-batch")
    shell.user_ns["rows"] = pd.DataFrame({"subject": [f"{name}.a", f"{other}.b"], "x": [1, 2]})
    with pytest.raises(InputError, match=f"stored in one stream, these subjects go to {name}, {other}"):
        shell.run_line_magic("js_publish", "--from rows --subject-col subject --atomic")
    assert stored(nc, name) == 0 and stored(nc, other) == 0
