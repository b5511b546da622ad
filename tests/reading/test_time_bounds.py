"""``--until`` and ``--since`` at the server's nanoseconds: a message at the bound is in the read.

CI once failed the differential harness: ``--until`` one microsecond after message 1,200's
time returned 1..1,199.  The bound went through ``datetime.timestamp() * 1e9``, a float whose
step at today's epoch is 256 ns, so a bound could land before a message stored in the same
microsecond.  The times here are the server's own (``STREAM.MSG.GET``'s RFC 3339 text, to the
nanosecond), read by plain nats-py.
"""

from __future__ import annotations

import datetime as dt

import nats
import orjson
import pandas as pd

from jsmagic.reading.reader import replay
from jsmagic.reading.selection import Selection, bounds_for
from tests.conftest import close_second, open_second

N = 400


async def _fill_and_times(url: str, name: str) -> tuple[object, dict[int, int]]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name=name, subjects=[f"{name}.>"])
    for i in range(N):
        await js.publish(f"{name}.x", b"%d" % i)
    times = {}
    for seq in range(1, N + 1):
        resp = await nc.request(f"$JS.API.STREAM.MSG.GET.{name}", orjson.dumps({"seq": seq}), timeout=5)
        times[seq] = pd.Timestamp(orjson.loads(resp.data)["message"]["time"]).value  # the server's ns
    info = await js.stream_info(name)
    await nc.close()
    return info, times


def _micro_after(ns: int) -> dt.datetime:
    """The message's time cut to the microsecond, plus one microsecond: a bound just after it."""
    return pd.Timestamp(ns, tz="UTC").to_pydatetime(warn=False) + dt.timedelta(microseconds=1)


def test_until_one_microsecond_after_a_message_keeps_it(server, nc):
    _, _, run = nc
    info, times = run(_fill_and_times(server.url, "TBOUND"))
    short = [seq for seq, ns in times.items()
             if bounds_for(Selection("TBOUND", until=_micro_after(ns)), info).until_ns < ns]
    assert not short, f"--until after these messages' times still excluded them: {short[:10]} ({len(short)} of {N})"
    exact = [seq for seq, ns in times.items()
             if bounds_for(Selection("TBOUND", until=pd.Timestamp(ns, tz="UTC")), info).until_ns != ns]
    assert not exact, f"a nanosecond --until was not kept exactly: {exact[:10]}"


def test_a_replay_until_each_of_several_messages_ends_at_that_message(server, nc):
    _, _, run = nc
    _, times = run(_fill_and_times(server.url, "TBOUND2"))
    # the messages whose ns-in-microsecond is largest are the ones a 256 ns float step cut off
    worst = sorted(times, key=lambda s: times[s] % 1000, reverse=True)[:5]
    ctx = open_second(server.url, "tbound")
    try:
        for seq in worst:
            later = [s for s, ns in times.items() if ns < pd.Timestamp(_micro_after(times[seq])).value]
            for bulk in (True, False):
                res = ctx.run(replay(Selection("TBOUND2", until=_micro_after(times[seq]), bulk=bulk), ctx=ctx))
                got = [int(s) for s in res.frame["seq"]]
                assert got == sorted(later), (seq, bulk, got[-3:], sorted(later)[-3:])
    finally:
        close_second(ctx)
