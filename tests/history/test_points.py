"""Points in time to the nanosecond: a time copied from a frame keeps its nanoseconds on the way to the server."""

from __future__ import annotations

import pandas as pd

from jsmagic.core.units import epoch_ns, parse_when, rfc3339_ns


def test_a_time_from_a_frame_keeps_its_nanoseconds():
    stamp = pd.Timestamp(1796635539253222708, unit="ns", tz="UTC")
    assert epoch_ns(parse_when(stamp.isoformat())) == 1796635539253222708
    assert epoch_ns(parse_when("2026-12-07T09:22:46.1234567Z")) % 1000 == 700
    assert epoch_ns(parse_when("2026-12-07T09:22:46.123456Z")) % 1000 == 0


def test_rfc3339_ns_is_exact():
    assert rfc3339_ns(1796635539253222708) == "2026-12-07T09:25:39.253222708Z"
    assert rfc3339_ns(0) == "1970-01-01T00:00:00.000000000Z"
    ns = 1796635539253222709
    assert pd.Timestamp(rfc3339_ns(ns)).value == ns


def test_since_at_a_messages_own_nanosecond_starts_with_it(shell, nc):
    import time

    from .independent import replay_all

    client, js, on_loop = nc
    stream = f"PT{time.monotonic_ns()}"

    async def fill():
        await js.add_stream(name=stream, subjects=[f"{stream}.>"])
        for i in range(20):
            await js.publish(f"{stream}.x", b"%d" % i)

    on_loop(fill())
    records = on_loop(replay_all(client, js, stream, f"{stream}.>"))
    try:
        for r in records[3:8]:
            at = pd.Timestamp(r[2], unit="ns", tz="UTC")
            df = shell.run_line_magic("js_consume", f"{stream} --since {at.isoformat()}")
            assert int(df["seq"].min()) == r[0]
            later = (at + pd.Timedelta(1, "ns")).isoformat()
            assert int(shell.run_line_magic("js_consume", f"{stream} --since {later}")["seq"].min()) == r[0] + 1
    finally:
        on_loop(js.delete_stream(stream))
