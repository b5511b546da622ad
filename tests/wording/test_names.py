"""Names in messages: no internal consumers offered (issue 23, item 17)."""

from __future__ import annotations

import uuid

import pytest
from nats.js import api

from jsmagic.core.errors import NotFoundError


def test_consumer_did_you_mean_leaves_out_jsmagic_internal_consumers(shell, nc):
    _, js, run = nc
    name = f"WN{uuid.uuid4().hex[:8].upper()}"
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    run(js.add_consumer(name, api.ConsumerConfig(durable_name="jsmagic_3f2a1b9c0d1e", ack_policy="none")))
    run(js.add_consumer(name, api.ConsumerConfig(durable_name="worker", ack_policy="explicit")))
    with pytest.raises(NotFoundError) as e:
        shell.run_line_magic("js_consumer", f"info {name} jsmagic3f2a1b9c0d1")
    assert "jsmagic_" not in (e.value.hint or ""), e.value.hint  # not offered as a match
    with pytest.raises(NotFoundError) as e:
        shell.run_line_magic("js_consumer", f"info {name} zzz")
    assert "worker" in e.value.hint and "jsmagic_" not in e.value.hint, e.value.hint  # nor listed
    with pytest.raises(NotFoundError) as e:
        shell.run_line_magic("js_consumer", f"info {name} wroker")
    assert e.value.hint == "did you mean 'worker'?"
    run(js.delete_stream(name))
