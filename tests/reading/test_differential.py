"""The differential harness: every reader and every selection against a plain nats-py reading.

A stream is filled by plain nats-py with what real systems store: user headers named like
the server's own (``Status``, ``Description``, ``Nats-*``), payload keys named like the
columns jsmagic generates, 64-bit integers (beyond int64 too), non-UTF-8 bytes, empty
payloads, and interior deletes.  Then each selection (``--all``, ``-n``, ``--start-seq``,
``--since``, ``--until``, ``--end-seq``, ``-s``, ``--last``, ``--last-per-subject``,
``--headers-only``, a durable) is read by each reader (the bulk wire reader, the nats-py
reader, the get path of a WorkQueue stream), on a server with v1 and one with v2 ack
subjects, and the rows (seq, subject, bytes, headers) are compared with what plain nats-py's
``STREAM.MSG.GET`` returns for the same sequences.  The expected rows are computed from
that independent reading, never from jsmagic.

A second part reads while another client writes: the rows must be a complete, ordered
prefix of the stream that reaches at least the stream's end as it was before the read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid

import nats
import orjson
import pandas as pd
import pytest
from nats.js.api import RetentionPolicy, StreamConfig

from jsmagic.reading.reader import replay
from jsmagic.reading.selection import Selection
from jsmagic.testing import BusyWriter, nats_server
from tests.conftest import close_second, open_second

N = 2400
SUBJECTS = 12
DELETED = {7, 100, 101, 102, 640, 1999}
V2 = "feature_flags { js_ack_fc_v2: true }"


def _payload(i: int) -> bytes:
    if i % 97 == 0:
        return b""
    if i % 89 == 0:
        return b"\xff\xfe not utf-8 \x00"
    body = {"id": 2**63 + i if i % 3 == 0 else i, "seq": -i, "subject": f"p{i}", "time": "noon", "headers": i,
            "size": "L", "ttl": i % 5, "v": i / 7}
    return orjson.dumps(body)


def _headers(i: int) -> dict[str, str] | None:
    if i % 5 == 0:
        return {"Status": "404", "Description": "No Messages", "Nats-Custom": f"c{i}", "X-I": str(i)}
    if i % 7 == 0:
        return {"Status": "408", "X-I": str(i)}
    return None


def _subject(prefix: str, i: int) -> str:
    return f"{prefix}.s{i % SUBJECTS}"


async def _fill(url: str, name: str, retention: RetentionPolicy) -> dict:
    """Create and fill the stream; return the middle message's time for --since/--until."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"], retention=retention, allow_direct=True))
    marks = {}
    for i in range(1, N + 1):
        ack = await js.publish(_subject(name, i), _payload(i), headers=_headers(i))
        assert ack.seq == i
    for seq in sorted(DELETED):
        await js.delete_msg(name, seq)
    marks["mid_seq"] = N // 2
    marks["mid_time"] = await _time_of(nc, name, N // 2)
    await nc.close()
    return marks


async def _time_of(nc, name: str, seq: int) -> dt.datetime:
    resp = await nc.request(f"$JS.API.STREAM.MSG.GET.{name}", orjson.dumps({"seq": seq}), timeout=5)
    return pd.Timestamp(orjson.loads(resp.data)["message"]["time"]).to_pydatetime(warn=False)  # to the microsecond


async def _truth(url: str, name: str) -> dict[int, tuple[str, bytes, dict | None]]:
    """Every stored message by STREAM.MSG.GET (plain nats-py): seq -> (subject, data, headers)."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    info = await js.stream_info(name)
    out = {}
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            m = await js.get_msg(name, seq)
        except nats.js.errors.NotFoundError:
            continue
        out[seq] = (m.subject, m.data or b"", dict(m.headers) if m.headers else None)
    await nc.close()
    return out


def _rows(df, headers_only: bool = False) -> list[tuple]:
    out = []
    for r in df.itertuples(index=False):
        h = dict(r.headers) if isinstance(r.headers, dict) and r.headers else None
        if h is not None:
            h.pop("Nats-Msg-Size", None) if headers_only else None
            h = h or None
        data = b"" if headers_only else (r.data if isinstance(r.data, bytes) else b"" if r.data is None else r.data)
        out.append((int(r.seq), r.subject, data, h))
    return out


def _expected(truth: dict, marks: dict, prefix: str, case: str) -> list[tuple]:
    seqs = sorted(truth)
    rows = [(s, *truth[s]) for s in seqs]
    if case == "all" or case in ("durable", "headers_only"):
        return rows
    if case == "count":
        return rows[:100]
    if case == "start_seq":
        return [r for r in rows if r[0] >= 640]
    if case == "since":
        return [r for r in rows if r[0] >= marks["mid_seq"]]
    if case == "until":
        return [r for r in rows if r[0] <= marks["mid_seq"]]
    if case == "end_seq":
        return [r for r in rows if r[0] <= 1999]
    if case == "subject":
        return [r for r in rows if r[1] == f"{prefix}.s5"]
    if case == "last":
        return rows[-1:]
    if case == "last_per_subject":
        last = {}
        for r in rows:
            last[r[1]] = r
        return sorted(last.values())
    raise AssertionError(case)


def _selection(name: str, marks: dict, case: str, bulk: bool | None) -> Selection:
    kw: dict = {"decode": "bytes", "bulk": bulk, "timeout": 10}
    if case == "count":
        kw["count"] = 100
    elif case == "start_seq":
        kw.update(deliver="start_seq", start_seq=640)
    elif case == "since":
        kw.update(deliver="since", since=marks["mid_time"])
    elif case == "until":
        kw["until"] = marks["mid_time"] + dt.timedelta(microseconds=1)  # the middle message, not the next
    elif case == "end_seq":
        kw["end_seq"] = 1999
    elif case == "subject":
        kw["subjects"] = [f"{name}.s5"]
    elif case in ("last", "last_per_subject"):
        kw["deliver"] = case
    elif case == "headers_only":
        kw["headers_only"] = True
    elif case == "durable":
        kw.update(durable=f"d{uuid.uuid4().hex[:8]}", action="ack")  # acks as it reads: every window (a Limits stream keeps them)
    return Selection(name, **kw)


CASES = ["all", "count", "start_seq", "since", "until", "end_seq", "subject", "last", "last_per_subject",
         "headers_only", "durable"]


@pytest.fixture(scope="module", params=["v1", "v2"])
def world(request):
    """A server (v1 or v2 ack subjects), a jsmagic context on it, and two filled streams with their truth."""
    with nats_server(config=V2 if request.param == "v2" else "") as s:
        ctx = open_second(s.url, alias=f"diff{request.param}")
        streams = {}
        for kind, retention in (("limits", RetentionPolicy.LIMITS), ("workqueue", RetentionPolicy.WORK_QUEUE)):
            name = f"DIFF{kind.upper()}"
            marks = asyncio.run(_fill(s.url, name, retention))
            streams[kind] = (name, marks, asyncio.run(_truth(s.url, name)))
        try:
            yield s, ctx, streams
        finally:
            close_second(ctx)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("reader", ["bulk", "nats-py", "get"])
def test_every_reader_and_selection_matches_plain_nats_py(world, reader, case):
    server, ctx, streams = world
    name, marks, truth = streams["workqueue" if reader == "get" else "limits"]
    if reader == "get" and case == "durable":
        pytest.skip("a durable on a WorkQueue stream consumes it; tests/reading/test_durables.py covers that")
    sel = _selection(name, marks, case, {"bulk": True, "nats-py": False, "get": None}[reader])
    result = ctx.run(replay(sel, ctx=ctx))
    assert not result.timed_out and not result.interrupted, (result.notes, result.method)
    got = _rows(result.frame, headers_only=case == "headers_only")
    want = _expected(truth, marks, name, case)
    if case == "headers_only":
        want = [(s, subj, b"", h) for s, subj, _, h in want]
        sizes = dict(zip(result.frame["seq"].astype(int), result.frame["size"]))
        assert all(sizes[s] == len(truth[s][1]) for s, *_ in want), "headers-only sizes differ from the stored ones"
    assert [r[0] for r in got] == [r[0] for r in want], f"{reader}/{case}: sequences differ ({result.notes})"
    assert got == want, f"{reader}/{case}: a row differs from plain nats-py's"
    if reader == "get":
        assert ctx.run(ctx.js.stream_info(name)).state.messages == len(truth), "the read changed a WorkQueue stream"


@pytest.mark.parametrize("case", ["all", "start_seq", "subject", "last", "last_per_subject"])
@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "nats-py"])
def test_a_read_while_another_client_writes_is_a_complete_prefix(fresh_server, case, bulk):
    url = fresh_server.url
    name = f"BUSY{uuid.uuid4().hex[:6].upper()}"
    marks = asyncio.run(_fill(url, name, RetentionPolicy.LIMITS))
    ctx = open_second(url, alias="busy")
    try:
        rnd = random.Random(7)
        with BusyWriter(url, lambda k: f"{name}.s{rnd.randrange(SUBJECTS + 3)}"):
            before = ctx.run(ctx.js.stream_info(name)).state.last_seq
            result = ctx.run(replay(_selection(name, marks, case, bulk), ctx=ctx))
        truth = asyncio.run(_truth(url, name))
    finally:
        close_second(ctx)
    assert not result.timed_out and not result.interrupted, result.notes
    got = _rows(result.frame)
    assert got, f"{case}: no rows while another client wrote ({result.notes})"
    for seq, subject, data, headers in got:
        assert truth[seq] == (subject, data, headers), f"{case}: seq {seq} differs from the stored message"
    seqs = [r[0] for r in got]
    assert seqs == sorted(set(seqs)), f"{case}: rows duplicated or out of order"
    top = seqs[-1]
    stored = sorted(truth)
    if case == "last":
        assert len(got) == 1 and top >= before, f"--last gave seq {top}, the stream's last before the read was {before}"
    elif case == "last_per_subject":
        last_before = {}
        for s in stored:
            if s <= before:
                last_before[truth[s][0]] = s
        by_subject = {}
        for s, subject, *_ in got:
            by_subject[subject] = s
        missing = sorted(set(last_before) - set(by_subject))
        assert not missing, f"--last-per-subject lost {len(missing)} of {len(last_before)} subjects: {missing[:5]}"
        assert all(by_subject[k] >= v for k, v in last_before.items()), "a subject's row is older than its last before"
    else:
        keep = {"all": lambda s: True, "start_seq": lambda s: s >= 640,
                "subject": lambda s: truth[s][0] == f"{name}.s5"}[case]
        end = max(s for s in stored if keep(s) and s <= before)  # the selection's last message as of the call
        assert top >= end, f"{case}: the read stopped at {top}, before the selection's end as of the call ({end})"
        assert seqs == [s for s in stored if keep(s) and s <= top], f"{case}: not a complete prefix of the stream"
