"""Schedules of server 2.14 (ADR-51 rev 3-7): source sampling, rollup, a cron time zone — fired by the real server."""

import base64
import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from jsmagic.core.errors import InputError
from tests.modern.conftest import raw, stored, wait_for


def add(shell, name, flags="--allow-schedules"):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --storage memory {flags}")


def count(nc, name, subject):
    """How many messages ``subject`` holds, as the server counts them."""
    info = raw(nc, f"STREAM.INFO.{name}", {"subjects_filter": subject})
    return info["state"].get("subjects", {}).get(subject, 0)


def last(nc, name, subject):
    """The last message on ``subject`` (seq, payload, headers), read with the independent client."""
    msg = raw(nc, f"STREAM.MSG.GET.{name}", {"last_by_subj": subject})["message"]
    lines = base64.b64decode(msg.get("hdrs", "")).decode().split("\r\n")[1:]
    headers = dict(line.split(": ", 1) for line in lines if ": " in line)
    return msg["seq"], base64.b64decode(msg.get("data", "")), headers


def test_a_sampling_schedule_fires_the_last_message_of_its_source(shell, nc, name):
    add(shell, name)
    shell.run_cell_magic("js_publish", f"{name}.sched.t --schedule-every 1s --schedule-source {name}.sensor "
                                       f"--schedule-dest {name}.sampled", "fallback\n")
    pending = shell.run_line_magic("js_stream", f"schedules {name}")
    assert pending["source"].tolist() == [f"{name}.sensor"]
    assert wait_for(lambda: count(nc, name, f"{name}.sampled") >= 1)
    assert last(nc, name, f"{name}.sampled")[1] == b"fallback"  # no reading yet: the schedule's own body
    client, _js, run = nc
    for i in range(3):
        run(client.request(f"{name}.sensor", json.dumps({"t": 20 + i}).encode(), headers={"Unit": "C"}, timeout=5))
    assert wait_for(lambda: last(nc, name, f"{name}.sampled")[1] == b'{"t": 22}')  # the latest reading, sampled
    _seq, _data, headers = last(nc, name, f"{name}.sampled")
    assert headers["Unit"] == "C" and headers["Nats-Scheduler"] == f"{name}.sched.t"


def test_a_rollup_schedule_keeps_only_its_latest_firing(shell, nc, name):
    import jsmagic
    from jsmagic.core.registry import context

    add(shell, name)
    context().run(jsmagic.publish(f"{name}.sched.rolled", "tick\n", schedule_every="1s", schedule_rollup=True,
                                  schedule_dest=f"{name}.latest"))
    shell.run_cell_magic("js_publish", f"{name}.sched.kept --schedule-every 1s --schedule-dest {name}.all", "tick\n")
    assert wait_for(lambda: count(nc, name, f"{name}.latest") >= 1)
    first_seq = last(nc, name, f"{name}.latest")[0]
    assert wait_for(lambda: count(nc, name, f"{name}.all") >= 3 and last(nc, name, f"{name}.latest")[0] > first_seq)
    assert count(nc, name, f"{name}.latest") == 1  # it fired again, and replaced what it fired before
    assert last(nc, name, f"{name}.latest")[2]["Nats-Rollup"] == "sub"
    assert shell.run_line_magic("js_stream", f"schedules {name}").set_index("subject").loc[
        f"{name}.sched.rolled", "rollup"] == "sub"


def test_a_cron_line_is_read_in_its_time_zone(shell, nc, name):
    add(shell, name)
    hour = datetime.now(timezone.utc).astimezone(ZoneInfo("Asia/Tokyo")).hour  # UTC+9 all year: never the UTC hour
    cron = f"* * {hour},{(hour + 1) % 24} * * *"  # every second of this hour (and the next) in Tokyo
    shell.run_cell_magic("js_publish", f"{name}.sched.tokyo --schedule-cron '{cron}' --schedule-time-zone Asia/Tokyo "
                                       f"--schedule-dest {name}.tokyo", "konnichiwa\n")
    shell.run_cell_magic("js_publish", f"{name}.sched.utc --schedule-cron '{cron}' --schedule-dest {name}.utc", "hello\n")
    assert wait_for(lambda: count(nc, name, f"{name}.tokyo") >= 2)
    assert last(nc, name, f"{name}.tokyo")[2]["Nats-Schedule-Next"].endswith("+09:00")  # next firing, Tokyo time
    assert count(nc, name, f"{name}.utc") == 0  # the same line read in UTC: not this hour
    zones = shell.run_line_magic("js_stream", f"schedules {name}").set_index("subject")["time_zone"]
    assert zones[f"{name}.sched.tokyo"] == "Asia/Tokyo"


def test_schedule_refusals_send_nothing(shell, nc, name):
    add(shell, name)
    cases = [
        ("--schedule-every 1s --schedule-time-zone UTC", "--schedule-time-zone goes with --schedule-cron"),
        ("--schedule-cron '0 0 9 * * *' --schedule-time-zone Mars/Olympus", "bad --schedule-time-zone 'Mars/Olympus'"),
        ("--schedule-cron '0 0 9 * * *' --schedule-time-zone +02:00", "bad --schedule-time-zone"),
        (f"--schedule-every 1s --schedule-source '{name}.*'", "bad --schedule-source.*no wildcards"),
        ("--schedule-every 1s --schedule-source elsewhere.t", "must be another subject of stream"),
        (f"--schedule-every 1s --schedule-source {name}.due", "must be another subject of stream"),
    ]
    for flags, error in cases:
        with pytest.raises(InputError, match=error):
            shell.run_cell_magic("js_publish", f"{name}.sched.x {flags} --schedule-dest {name}.due", "x\n")
    with pytest.raises(InputError, match="go with a schedule"):
        shell.run_cell_magic("js_publish", f"{name}.x --schedule-rollup", "x\n")
    assert stored(nc, name) == 0
    # the server agrees: an unknown zone, a zone on @every, a rollup other than sub are refused (2.15.1's error codes)
    client, _js, run = nc
    for headers, code in (({"Nats-Schedule": "0 0 9 * * *", "Nats-Schedule-Time-Zone": "Mars/Olympus"}, 10223),
                          ({"Nats-Schedule": "@every 1s", "Nats-Schedule-Time-Zone": "UTC"}, 10189),
                          ({"Nats-Schedule": "@every 1s", "Nats-Schedule-Rollup": "all"}, 10192)):
        answer = run(client.request(f"{name}.sched.raw", b"x", headers={**headers, "Nats-Schedule-Target": f"{name}.due"},
                                    timeout=5))
        assert json.loads(answer.data)["error"]["err_code"] == code
    assert stored(nc, name) == 0
