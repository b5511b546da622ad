"""``%js_kv view|get --at``, ``--revision`` and ``%js_kv diff``, compared with a plain nats-py replay of the bucket."""

from __future__ import annotations

import asyncio
import time

import pandas as pd
import pytest

from jsmagic.history import kvtime, snapshot
from jsmagic.magics.base import run

from .independent import kv_diff, kv_state, replay_all


def _ts(ns: int) -> pd.Timestamp:
    return pd.Timestamp(ns, unit="ns", tz="UTC")


def _seen(df: pd.DataFrame) -> dict[str, tuple]:
    return {k: (int(r), v) for k, r, v in zip(df["key"], df["revision"], df["value"])}


async def _fill_story(js, bucket: str) -> None:
    """Writes, rewrites, deletes, a purge, and a stored message that carries its own Status header."""
    kv = await js.create_key_value(bucket=bucket, history=64, direct=True)
    for i in range(12):
        await kv.put(f"cfg.k{i}", f"v{i}.1".encode())
    await kv.put("cfg.k1", b"v1.2")
    await kv.delete("cfg.k2")
    await kv.put("cfg.k3", b"v3.2")
    await js.publish(f"$KV.{bucket}.cfg.http", b"stored reply",
                     headers={"Status": "404", "Description": "No Messages"})  # a row, not the server's 404
    await kv.put("cfg.k2", b"v2.back")
    await kv.purge("cfg.k4")
    await kv.put("cfg.k1", b"v1.3")
    await kv.delete("cfg.k5")
    await kv.put("cfg.new", b"late")


@pytest.fixture
def story(shell, nc):
    client, js, on_loop = nc
    bucket = f"tt_story_{time.monotonic_ns()}"
    on_loop(_fill_story(js, bucket))
    records = on_loop(replay_all(client, js, f"KV_{bucket}", f"$KV.{bucket}.>"))
    yield bucket, records
    on_loop(js.delete_key_value(bucket))


def _points(records) -> list[int]:
    """Every write's own time (included: at or before), a nanosecond before it, and midpoints between writes."""
    times = [r[2] for r in records]
    mids = [(a + b) // 2 for a, b in zip(times, times[1:])]
    return sorted({times[0] - 1, *times, *(t - 1 for t in times), *mids, times[-1] + 10**9})


def test_view_at_every_point_matches_a_replay_filtered_by_time(story):
    bucket, records = story
    prefix = f"$KV.{bucket}."
    for ns in _points(records):
        df = run(kvtime.view_at(bucket, at=_ts(ns), decode="bytes"))
        assert _seen(df) == kv_state(records, prefix, upto_ns=ns), f"at {ns}"
        assert list(df["key"]) == sorted(df["key"])
    # the stored message with its own Status header is a value, not the server's "no message"
    assert b"stored reply" in set(run(kvtime.view_at(bucket, decode="bytes"))["value"])


def test_between_two_writes_of_the_same_key_the_older_value_shows(story):
    bucket, records = story
    k1 = [r for r in records if r[1].endswith(".cfg.k1")]
    assert len(k1) == 3
    between = (k1[1][2] + k1[2][2]) // 2
    assert run(kvtime.get_at(bucket, "cfg.k1", at=_ts(between), decode="bytes")).value == b"v1.2"
    assert run(kvtime.get_at(bucket, "cfg.k1", at=_ts(k1[0][2]), decode="bytes")).value == b"v1.1"
    with pytest.raises(Exception, match="no key 'cfg.k1'"):
        run(kvtime.get_at(bucket, "cfg.k1", at=_ts(k1[0][2] - 1)))
    deleted = [r for r in records if r[1].endswith(".cfg.k5")][-1]
    with pytest.raises(Exception, match="deleted"):
        run(kvtime.get_at(bucket, "cfg.k5", at=_ts(deleted[2])))


def test_view_at_a_revision_matches_the_replay_up_to_that_sequence(story):
    bucket, records = story
    prefix = f"$KV.{bucket}."
    for seq in range(0, records[-1][0] + 2):
        df = run(kvtime.view_at(bucket, revision=seq, decode="bytes"))
        assert _seen(df) == kv_state(records, prefix, upto_seq=seq), f"revision {seq}"


def test_a_purge_is_said_on_the_first_line_of_an_older_view(story):
    bucket, records = story
    purged_at = [r for r in records if r[1].endswith(".cfg.k4")][-1][0]
    before = run(kvtime.view_at(bucket, revision=purged_at - 1))
    assert before.attrs["notes"] and "removed" in before.attrs["notes"][0]
    assert "cfg.k4" not in set(before["key"])  # its value was purged: the server cannot show it, and says so


def test_diff_matches_the_replay(story):
    bucket, records = story
    prefix = f"$KV.{bucket}."
    times = [r[2] for r in records]
    for t1, t2 in [(times[5], None), (times[11], times[15]), (times[0] - 1, times[-1]), (times[13], times[13])]:
        df = run(kvtime.diff(bucket, _ts(t1), None if t2 is None else _ts(t2), decode="bytes"))
        got = {}
        for row in df.itertuples():
            rev_old = None if pd.isna(row.old_revision) else int(row.old_revision)
            got[row.key] = (("changed", rev_old, int(row.new_revision)) if row.change == "changed"
                            else (row.change, rev_old if row.change == "deleted" else int(row.new_revision)))
        assert got == kv_diff(records, prefix, t1, t2), (t1, t2)


def test_the_magics(shell, story):
    bucket, records = story
    prefix = f"$KV.{bucket}."
    t = records[9][2]
    when = _ts(t).isoformat()
    df = shell.run_line_magic("js_kv", f"view {bucket} --at {when} --decode bytes")
    assert _seen(df) == kv_state(records, prefix, upto_ns=t)
    assert f"{len(df):,} key{'' if len(df) == 1 else 's'} in {bucket} as of revision {records[9][0]}" in df.summary
    assert df.summary.startswith("1 message up to seq")  # the purge of cfg.k4 leads the summary
    df = shell.run_line_magic("js_kv", f"view {bucket} --revision 3 --decode bytes")
    assert _seen(df) == kv_state(records, prefix, upto_seq=3)
    assert shell.run_line_magic("js_kv", f"get {bucket} cfg.k3 --at {when}") == "v3.1"
    d = shell.run_line_magic("js_kv", f"diff {bucket} {when}")
    assert set(d["key"]) == set(kv_diff(records, prefix, t))
    with pytest.raises(Exception, match="bad time"):
        shell.run_line_magic("js_kv", f"view {bucket} --at yesterdayish")


@pytest.mark.parametrize("method", ["multi_last", "auto"])
def test_more_than_1024_keys(shell, nc, monkeypatch, method):
    """2,600 keys: multi_last in groups (the server answers 1,024 subjects a request) with batches cut by
    max_bytes every few messages, and the read ``auto`` chooses (a replay: cheaper for so many keys)."""
    client, js, on_loop = nc
    bucket = f"tt_many_{time.monotonic_ns()}"

    async def fill():
        await js.create_key_value(bucket=bucket, history=8, direct=True)
        for i in range(2600):
            await client.publish(f"$KV.{bucket}.k{i:05d}", b"first-%d" % i)
        await client.flush()
        while (await js.stream_info(f"KV_{bucket}")).state.messages < 2600:
            await asyncio.sleep(0.05)
        for i in range(0, 2600, 3):
            await client.publish(f"$KV.{bucket}.k{i:05d}", b"second-%d" % i)
        for i in range(1, 2600, 50):
            await client.publish(f"$KV.{bucket}.k{i:05d}", b"", headers={"KV-Operation": "DEL"})
        await client.flush()
        while (await js.stream_info(f"KV_{bucket}")).state.messages < 2600 + 867 + 52:
            await asyncio.sleep(0.05)

    on_loop(fill())
    records = on_loop(replay_all(client, js, f"KV_{bucket}", f"$KV.{bucket}.>"))
    prefix = f"$KV.{bucket}."
    mid = records[3000][2]
    try:
        df = run(kvtime.view_at(bucket, at=_ts(mid), decode="bytes", method=method))
        assert ("groups of" if method == "multi_last" else "replayed up to") in df.attrs["method"]
        assert _seen(df) == kv_state(records, prefix, upto_ns=mid)
        monkeypatch.setattr(snapshot, "MAX_BATCH_BYTES", 600)  # a batch ends every ~40 messages: paged by EOB
        now = run(kvtime.view_at(bucket, decode="bytes", method=method))
        assert _seen(now) == kv_state(records, prefix)
        if method == "auto":
            assert "the last message of each subject" in now.attrs["method"]
        d = run(kvtime.diff(bucket, _ts(mid), method=method))
        assert {k: c for k, c in zip(d["key"], d["change"])} == {k: v[0] for k, v in
                                                                  kv_diff(records, prefix, mid).items()}
    finally:
        on_loop(js.delete_key_value(bucket))
