"""%js_stream browse: pages by get compared with plain nats-py gets; the widget in a real kernel."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import nats.js.errors
import pytest

from jsmagic.core.registry import context
from jsmagic.explore.browse import Browser

DELETED = {10, 11, 12, 13, 14, 15, 50, 99}


@pytest.fixture
def holey(shell, nc):
    """100 messages on .a and .b (every third on .b), with interior deletes; headers on every fifth."""
    _client, js, run = nc
    name = "BRW" + uuid.uuid4().hex[:8].upper()
    run(js.add_stream(name=name, subjects=[f"{name}.>"]))
    for i in range(1, 101):
        headers = {"trace": f"t{i}"} if i % 5 == 0 else None
        run(js.publish(f"{name}.{'b' if i % 3 == 0 else 'a'}", json.dumps({"i": i}).encode(), headers=headers))
    for seq in DELETED:
        run(js.delete_msg(name, seq))
    return name


def plain(run, js, name: str, subject: str | None = None) -> list:
    """Every stored message by plain nats-py gets (deleted ones skipped): (seq, subject, data, headers, time)."""
    info = run(js.stream_info(name))
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            m = run(js.get_msg(name, seq))
        except nats.js.errors.NotFoundError:
            continue
        if subject is None or m.subject == subject:
            out.append((m.seq, m.subject, m.data, m.headers, m.time))
    return out


def seqs(page) -> list[int]:
    return [int(s) for s in page.frame["seq"]]


def test_paging_matches_plain_gets(shell, nc, holey):
    _client, js, run = nc
    stored = [m[0] for m in plain(run, js, holey)]
    b = Browser(holey, page_size=20)
    r = context().run
    assert seqs(r(b.open())) == stored[:20]
    assert seqs(r(b.next())) == stored[20:40]
    assert seqs(r(b.previous())) == stored[:20]
    assert seqs(r(b.previous())) == stored[:20]  # the first page stays
    assert seqs(r(b.last())) == stored[-20:]
    assert seqs(r(b.next())) == stored[-20:]  # the last page stays
    assert seqs(r(b.previous())) == stored[-40:-20]
    assert seqs(r(b.at_seq(12))) == [s for s in stored if s >= 12][:20]  # a deleted sequence: the next one
    sixty = next(m for m in plain(run, js, holey) if m[0] == 60)
    assert seqs(r(b.at_time(sixty[4]))) == [s for s in stored if s >= 60][:20]
    assert b.consume_line() == f"%js_consume {holey} --start-seq 60 -n 20"
    assert run(js.stream_info(holey)).state.consumer_count == 0


def test_a_filter_and_one_message(shell, nc, holey):
    _client, js, run = nc
    on_b = plain(run, js, holey, f"{holey}.b")
    b = Browser(holey, f"{holey}.b", page_size=7)
    r = context().run
    pages = [seqs(r(b.open()))]
    while True:
        before = b.page.start
        page = r(b.next())
        if page.start == before:
            break
        pages.append(seqs(page))
    assert sum(pages, []) == [m[0] for m in on_b]
    assert all(len(p) == 7 for p in pages[:-1])
    assert seqs(r(b.last())) == [m[0] for m in on_b][-7:]
    assert seqs(r(b.previous())) == [m[0] for m in on_b][-14:-7]
    seq, subject, data, headers, _t = on_b[-10]
    m = b.message(seq)
    assert (m["subject"], m["value"], m["headers"]) == (subject, json.loads(data), headers)
    # the %js_consume line reads the same page
    line = b.consume_line()
    assert f"-s {holey}.b" in line
    df = shell.run_cell(line).result
    assert [int(s) for s in df["seq"]] == seqs(b.page)


def test_workqueue_is_browsed_without_a_consumer(shell, nc):
    _client, js, run = nc
    name = "BWQ" + uuid.uuid4().hex[:8].upper()
    run(js.add_stream(name=name, subjects=[f"{name}.>"], retention="workqueue"))
    for i in range(30):
        run(js.publish(f"{name}.job", str(i).encode()))
    b = Browser(name, page_size=10)
    r = context().run
    r(b.open())
    r(b.next())
    r(b.last())
    assert seqs(b.page) == list(range(21, 31)) and b.page.frame["value"].tolist() == list(range(20, 30))
    info = run(js.stream_info(name))
    assert info.state.messages == 30 and info.state.consumer_count == 0


def test_a_jump_past_the_end_says_so_and_keeps_the_page(shell, nc, holey):
    from jsmagic.core.errors import InputError

    b = Browser(holey, page_size=5)
    r = context().run
    before = seqs(r(b.open(seq=30)))
    with pytest.raises(InputError, match="no message at or after sequence 500"):
        r(b.at_seq(500))
    with pytest.raises(InputError, match="stored at or after 2099"):
        r(b.at_time(dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc)))
    assert seqs(b.page) == before
