"""``%js_stream plot`` on bursty data: the bucket size comes from the time span, so every burst shows."""

from __future__ import annotations

import time
import uuid

import pytest


def test_bucket_size_follows_the_time_span(shell):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = f"BURST{uuid.uuid4().hex[:6].upper()}"
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name.lower()}.>'")
    shell.run_line_magic("js_publish", f"{name.lower()}.a x --count 3000")  # a burst
    time.sleep(2.0)
    shell.run_line_magic("js_publish", f"{name.lower()}.b y --count 30")  # and a few, later
    rates = shell.run_line_magic("js_stream", f"plot {name}")
    assert 50 <= len(rates) <= 200, f"{len(rates)} bars"
    assert int(rates["messages"].sum()) == 3030
    assert (rates["messages"] > 0).sum() >= 2  # the late messages have a bar of their own
    plt.close("all")
