"""``%js_consumer next --nak`` returns each message once; a second ``add`` never replaces silently (issue 23, item 14)."""

from __future__ import annotations

import uuid

import pytest

from jsmagic.core.errors import InputError


@pytest.fixture
def stream(nc):
    client, js, run = nc
    name = f"WC{uuid.uuid4().hex[:8].upper()}"
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    for i in range(2):
        run(js.publish(f"{name.lower()}.x", f'{{"i": {i}}}'.encode()))
    yield name, run, js
    run(js.delete_stream(name))


def test_next_nak_returns_each_message_once_per_call(shell, stream):
    name, run, js = stream
    shell.run_line_magic("js_consumer", f"add {name} w")
    df = shell.run_line_magic("js_consumer", f"next {name} w --count 10 --nak --timeout 1")
    assert sorted(df["seq"].tolist()) == [1, 2]
    assert df["delivered"].tolist() == [1, 1]
    info = run(js.consumer_info(name, "w"))  # the server's own view: both nak'd, none acked
    assert info.num_ack_pending + info.num_pending == 2 and info.ack_floor.stream_seq == 0
    again = shell.run_line_magic("js_consumer", f"next {name} w --count 10 --nak --timeout 1")
    assert sorted(again["seq"].tolist()) == [1, 2] and again["delivered"].tolist() == [2, 2]


def test_add_again_is_idempotent_and_other_settings_are_refused_with_the_difference(shell, stream):
    name, run, js = stream
    shell.run_line_magic("js_consumer", f"add {name} w --max-deliver 5 --ack-wait 30s --filter {name.lower()}.x")
    shell.run_line_magic("js_consumer", f"add {name} w --max-deliver 5 --ack-wait 30s --filter {name.lower()}.x")
    with pytest.raises(InputError) as e:
        shell.run_line_magic("js_consumer", f"add {name} w --max-deliver 7 --ack-wait 10s --filter {name.lower()}.x")
    assert "already exists" in str(e.value) and "max_deliver 5 → 7" in str(e.value) and "ack_wait 30s → 10s" in str(e.value)
    assert f"%js_consumer edit {name} w" in e.value.hint
    cfg = run(js.consumer_info(name, "w")).config  # unchanged on the server
    assert cfg.max_deliver == 5 and cfg.ack_wait == 30
