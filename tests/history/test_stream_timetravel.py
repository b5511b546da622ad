"""``%js_consume --last-per-subject --at|--up-to-seq`` and ``%js_stream diff``, compared with a plain nats-py replay."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from .independent import last_per_subject, replay_all


def _ts(ns: int) -> str:
    return pd.Timestamp(ns, unit="ns", tz="UTC").isoformat()


async def _fill(js, stream: str, direct: bool) -> None:
    await js.add_stream(name=stream, subjects=[f"{stream}.>"], allow_direct=direct)
    for i in range(60):
        await js.publish(f"{stream}.dev{i % 7}.temp", b'{"i": %d}' % i)
        if i % 9 == 0:
            await js.publish(f"{stream}.dev{i % 5}.state", b'{"on": %d}' % (i % 2))


@pytest.fixture(params=[True, False], ids=["direct", "no-direct"])
def devices(request, shell, nc):
    client, js, on_loop = nc
    stream = f"TT{'D' if request.param else 'N'}{time.monotonic_ns()}"
    on_loop(_fill(js, stream, request.param))
    yield stream, on_loop(replay_all(client, js, stream, f"{stream}.>")), request.param
    on_loop(js.delete_stream(stream))


def _rows(df: pd.DataFrame) -> dict[str, int]:
    return {s: int(q) for s, q in zip(df["subject"], df["seq"])}


def test_last_per_subject_at_a_time_and_up_to_a_seq(shell, devices):
    stream, records, direct = devices
    for k in (0, 5, 17, 40, len(records) - 1):
        t = records[k][2]
        df = shell.run_line_magic("js_consume", f"{stream} --last-per-subject --at {_ts(t)}")
        assert _rows(df) == {s: r[0] for s, r in last_per_subject(records, upto_ns=t).items()}
        assert list(df["seq"]) == sorted(df["seq"])
        assert ("batched direct get" in df.summary) == direct, df.summary
        if not direct:
            assert "allow_direct is false" in df.summary
        before = shell.run_line_magic("js_consume", f"{stream} --last-per-subject --at {_ts(t - 1)}")
        assert _rows(before) == {s: r[0] for s, r in last_per_subject(records, upto_ns=t - 1).items()}
    seq = records[30][0]
    df = shell.run_line_magic("js_consume", f"{stream} --last-per-subject --up-to-seq {seq} -s '{stream}.*.temp'")
    want = {s: r[0] for s, r in last_per_subject(records, upto_seq=seq).items() if s.endswith(".temp")}
    assert _rows(df) == want
    assert {"i"} <= set(df.columns)  # decoded as a replay decodes


def test_stream_diff_per_subject(shell, devices):
    stream, records, direct = devices
    t1, t2 = records[10][2], records[50][2]
    df = shell.run_line_magic("js_stream", f"diff {stream} {_ts(t1)} {_ts(t2)} -s '{stream}.*.temp'")
    a, b = last_per_subject(records, upto_ns=t1), last_per_subject(records, upto_ns=t2)
    want = {s: ("added" if s not in a else "changed") for s in b if s.endswith(".temp") and a.get(s) != b[s]}
    assert dict(zip(df["subject"], df["change"])) == want
    for row in df.itertuples():
        assert int(row.new_seq) == b[row.subject][0]


def test_bad_combinations_say_what_to_do(shell, devices):
    stream, _, _ = devices
    with pytest.raises(Exception, match="go with --last-per-subject"):
        shell.run_line_magic("js_consume", f"{stream} --at 1h")
    with pytest.raises(Exception, match="do not combine with --until"):
        shell.run_line_magic("js_consume", f"{stream} --last-per-subject --at 1h --until 5m")
