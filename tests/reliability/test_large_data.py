"""Slow and large data: 1 MiB payloads, 100k subjects, a stream full to its max-bytes limit.

A server of this module's own allows 2 MB messages (``max_payload: 2MB``).  What a
user checks: every byte of a large payload comes back, 100k subjects are all listed
and replayed, and a stream that discards new messages says which ones it refused.
"""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest

from jsmagic import testing as jt
from jsmagic.core.errors import InputError, PublishError
from jsmagic.testing import nats_server

pytestmark = pytest.mark.slow

MiB = 1 << 20


@pytest.fixture(scope="module")
def big_server():
    with nats_server(config="max_payload: 2MB\n") as s:
        yield s


@pytest.fixture
def sh(big_server):
    shell = jt.testing_shell(probe_local=False)
    shell.run_line_magic("js_connect", big_server.url)
    yield shell
    jt.close_shell(shell)


def name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6].upper()}"


def test_1mib_payloads_round_trip_byte_for_byte(sh):
    s = name("MIB")
    sh.run_line_magic("js_stream", f"add {s} --subjects {s.lower()}.>")
    blobs = [os.urandom(MiB) for _ in range(12)] + [os.urandom(2_000_000 - 200)]  # near the 2 MB limit too
    sh.user_ns["blobs"] = blobs
    acks = sh.run_line_magic("js_publish", f"{s.lower()}.blob --from blobs")
    assert acks["seq"].tolist() == list(range(1, len(blobs) + 1))
    df = sh.run_line_magic("js_consume", f"{s} --decode bytes")
    assert len(df) == len(blobs)
    assert df["size"].tolist() == [len(b) for b in blobs]
    assert [hashlib.sha256(v).digest() for v in df["data"]] == [hashlib.sha256(b).digest() for b in blobs]
    # one byte over the server's limit: refused before anything is sent, in one line
    sh.user_ns["too_big"] = [os.urandom(2 * MiB + 1)]
    with pytest.raises(InputError) as e:
        sh.run_line_magic("js_publish", f"{s.lower()}.blob --from too_big")
    assert "max_payload" in e.value.one_line() and "\n" not in e.value.one_line()
    after = sh.run_line_magic("js_consume", f"{s} --headers-only")
    assert after["seq"].tolist() == list(range(1, len(blobs) + 1))  # nothing of the refused one stored


def test_100k_subjects(sh):
    s = name("SUBJ")
    n = 100_000
    sh.run_line_magic("js_stream", f"add {s} --subjects {s.lower()}.>")
    acks = sh.run_cell_magic("js_publish", f"{s.lower()}.s{{{{Count}}}} --count {n}", '{"v": 1}')
    assert len(acks) == n and acks["seq"].notna().all()
    subjects = sh.run_line_magic("js_stream", f"subjects {s}")
    assert len(subjects) == n and subjects["subject"].is_unique and (subjects["messages"] == 1).all()
    assert set(subjects["subject"]) == {f"{s.lower()}.s{i}" for i in range(1, n + 1)}
    last = sh.run_line_magic("js_consume", f"{s} --last-per-subject")
    assert len(last) == n and last["subject"].is_unique
    some = sh.run_line_magic("js_consume", f"{s} -s {s.lower()}.s99999")
    assert some["subject"].tolist() == [f"{s.lower()}.s99999"]


def test_max_bytes_discard_new_reports_each_refused_message(sh):
    s = name("FULL")
    sh.run_line_magic("js_stream", f"add {s} --subjects {s.lower()}.> --max-bytes 64KB --discard new")
    body = "\n".join('{"i": %d, "pad": "%s"}' % (i, "x" * 80) for i in range(2000))
    with pytest.raises(PublishError) as e:
        sh.run_cell_magic("js_publish", f"{s.lower()}.x -o acks", body)
    line = e.value.one_line()
    assert "\n" not in line and "maximum bytes" in line.lower()
    acks = sh.user_ns["acks"]
    ok, refused = acks[acks["seq"].notna()], acks[acks["error"].notna()]
    assert len(ok) + len(refused) == 2000 and len(ok) > 0 and len(refused) > 0
    assert refused["error"].str.contains("maximum bytes", case=False).all()
    # the accepted ones are exactly what the stream holds, in order; the refused ones are not there
    stored = sh.run_line_magic("js_consume", s)
    assert stored["i"].tolist() == (ok["line"] - 1).tolist()
    assert stored["seq"].tolist() == ok["seq"].astype(int).tolist()
    assert not set(refused["line"] - 1) & set(stored["i"])
    assert f"{len(refused):,} failed" in line or f"{len(refused):,} of 2,000" in line
