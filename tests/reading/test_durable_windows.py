"""``%js_consume --durable``: every delivered row is settled, and a read is not held at max_ack_pending.

Item 6 of issue 21: the rows a ``--where``/``--grep``/``--header`` filter dropped were neither
acked nor given back: they sat ack pending, used up deliveries, and a WorkQueue kept messages
nobody would get.  Now a consuming read (``--ack``/``--term``) acks them ("seen, not wanted"),
any other read naks them back.  Item 7: ``-n 500`` on a durable whose max_ack_pending is 100
returned 100 rows in silence; ``--ack`` now acks window by window and returns all 500, and a
read that leaves its rows pending says how many more wait.

Every figure is checked against the server (``js.consumer_info``, ``js.stream_info``) and
plain nats-py pulls, never against jsmagic.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import nats.js.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy

from jsmagic.core import registry
from jsmagic.core.errors import InputError
from jsmagic.reading.reader import replay
from jsmagic.reading.selection import Selection
from jsmagic.ui.replay import replay_summary

FILTERS = {  # the same 10 of 30 messages (kind == "a") each way
    "where": "--where \"kind == 'a'\"",
    "grep": "--grep '\"kind\":\"a\"'",
    "header": "--header kind=a",
}


def _stream(run, js, retention: RetentionPolicy, count: int, kinds: str = "abb"):
    name = f"DW{uuid.uuid4().hex[:6].upper()}"
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"], retention=retention))
    for i in range(count):
        kind = kinds[i % len(kinds)]
        run(js.publish(f"{name.lower()}.x", b'{"i":%d,"kind":"%s"}' % (i, kind.encode()), headers={"kind": kind}))
    return name


@pytest.fixture
def streams(nc):
    client, js, run = nc
    made: list[str] = []

    def make(retention=RetentionPolicy.LIMITS, count=30, kinds="abb"):
        made.append(_stream(run, js, retention, count, kinds))
        return made[-1]

    yield make
    for name in made:
        run(js.delete_stream(name))


def _pull(run, js, stream: str, durable: str, batch: int, timeout: float = 2.0) -> list:
    """What a plain nats-py pull on the durable gets right now (acked, so the test leaves nothing pending)."""
    async def go():
        sub = await js.pull_subscribe_bind(durable, stream)
        try:
            msgs = await sub.fetch(batch, timeout=timeout)
        except asyncio.TimeoutError:  # nats.errors.TimeoutError, or the plain asyncio one nats-py's batch fetch
            msgs = []  # raises when its no-wait probe was answered too late to send a second pull (under load)
        for m in msgs:
            await m.ack_sync()
        await sub.unsubscribe()
        return [(m.metadata.sequence.stream, m.metadata.num_delivered) for m in msgs]
    return run(go())


def _a_seqs(run, js, stream: str) -> list[int]:
    """The kind == 'a' sequences, read by plain nats-py (direct get needs no consumer)."""
    info = run(js.stream_info(stream))
    return [s for s in range(info.state.first_seq, info.state.last_seq + 1)
            if run(js.get_msg(stream, s)).headers.get("kind") == "a"]


@pytest.mark.parametrize("retention", [RetentionPolicy.LIMITS, RetentionPolicy.WORK_QUEUE], ids=["limits", "workqueue"])
@pytest.mark.parametrize("how", list(FILTERS))
def test_a_filtered_ack_read_acks_what_it_dropped(shell, nc, streams, retention, how):
    client, js, run = nc
    name = streams(retention)
    wanted = _a_seqs(run, js, name)
    df = shell.run_line_magic("js_consume", f"{name} --durable w --ack {FILTERS[how]}")
    assert df["seq"].tolist() == wanted and len(wanted) == 10
    ci = run(js.consumer_info(name, "w"))
    assert (ci.num_ack_pending, ci.num_pending, ci.ack_floor.stream_seq) == (0, 0, 30)
    assert f"20 messages that did not match --{how} were acked on w (seen, not wanted" in df.summary
    left = run(js.stream_info(name)).state.messages
    if retention == RetentionPolicy.WORK_QUEUE:
        assert left == 0 and "the WorkQueue stream removed them" in df.summary
    else:
        assert left == 30 and "the stream keeps them" in df.summary


def test_a_filtered_term_read_terms_its_rows_and_acks_the_rest(shell, nc, streams):
    client, js, run = nc
    name = streams(RetentionPolicy.LIMITS)
    df = shell.run_line_magic("js_consume", f"{name} --durable t --term --where \"kind == 'a'\"")
    ci = run(js.consumer_info(name, "t"))
    assert (ci.num_ack_pending, ci.num_pending, ci.ack_floor.stream_seq) == (0, 0, 30)
    assert _pull(run, js, name, "t", 30) == []  # nothing comes back: termed and acked
    assert len(df) == 10 and "term sent for 10 messages" in df.summary
    assert "20 messages that did not match --where were acked on t (seen, not wanted; the stream keeps them)" in df.summary


@pytest.mark.parametrize("retention", [RetentionPolicy.LIMITS, RetentionPolicy.WORK_QUEUE], ids=["limits", "workqueue"])
def test_max_deliver_1_loses_nothing_to_a_filter(shell, nc, streams, retention):
    """Once delivered, a message of a --max-deliver 1 durable is never delivered again: it must be settled now."""
    client, js, run = nc
    name = streams(retention)
    df = shell.run_line_magic("js_consume", f"{name} --durable once --max-deliver 1 --ack --where \"kind == 'a'\"")
    assert len(df) == 10
    ci = run(js.consumer_info(name, "once"))
    assert (ci.num_ack_pending, ci.ack_floor.stream_seq) == (0, 30)
    assert run(js.stream_info(name)).state.messages == (0 if retention == RetentionPolicy.WORK_QUEUE else 30)
    # a new message after the read is the durable's next one: nothing stuck in front of it
    run(js.publish(f"{name.lower()}.x", b'{"i":30,"kind":"b"}'))
    assert _pull(run, js, name, "once", 10) == [(31, 1)]


def test_a_read_that_gives_back_what_max_deliver_will_not_redeliver_says_so(shell, nc, streams):
    client, js, run = nc
    name = streams(RetentionPolicy.LIMITS)
    df = shell.run_line_magic("js_consume", f"{name} --durable once --max-deliver 1 --where \"kind == 'a'\"")
    assert len(df) == 10
    run(js.publish(f"{name.lower()}.x", b'{"i":30,"kind":"b"}'))
    assert _pull(run, js, name, "once", 30) == [(31, 1)]  # the 20 nak'ed back are not delivered again
    assert "20 messages that did not match --where were nak'ed back to once" in df.summary
    assert "20 of those nak'ed back reached max_deliver (1): once will not deliver them again" in df.summary


@pytest.mark.parametrize("action", ["--nak", "--in-progress", ""], ids=["nak", "in-progress", "no-action"])
def test_a_filtered_read_that_consumes_nothing_gives_the_rest_back_at_once(shell, nc, streams, action):
    """--nak / no action: the dropped rows are nak'ed back, deliverable at once (not after the 30 s ack wait)."""
    client, js, run = nc
    name = streams(RetentionPolicy.WORK_QUEUE)
    wanted = _a_seqs(run, js, name)
    df = shell.run_line_magic("js_consume", f"{name} --durable peek {action} --where \"kind == 'a'\"")
    assert df["seq"].tolist() == wanted
    got = _pull(run, js, name, "peek", 30)
    dropped = sorted(set(range(1, 31)) - set(wanted))
    if action == "--nak":  # every row is back, each delivered a second time
        assert sorted(got) == [(s, 2) for s in range(1, 31)]
    else:  # the kept rows stay pending for their ack wait; the dropped ones came back at once
        assert sorted(got) == [(s, 2) for s in dropped]
    assert run(js.stream_info(name)).state.messages == 30 - len(got)  # the pull acked them, nothing else
    assert "20 messages that did not match --where were nak'ed back to peek" in df.summary


def test_ack_reads_past_max_ack_pending_window_by_window(shell, nc, streams):
    client, js, run = nc
    name = streams(RetentionPolicy.WORK_QUEUE, count=900)
    run(js.add_consumer(name, ConsumerConfig(durable_name="big", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=100)))
    truth = list(range(1, 901))  # every message, in order (checked against plain nats-py's pull below)
    df = shell.run_line_magic("js_consume", f"{name} --durable big -n 500 --ack")
    assert df["seq"].tolist() == truth[:500]
    assert df.summary.startswith(f"{name}: 500 rows; seq 1–500") and "ack sent for 500 messages" in df.summary
    ci = run(js.consumer_info(name, "big"))
    assert (ci.ack_floor.stream_seq, ci.num_ack_pending, ci.num_pending) == (500, 0, 400)
    assert run(js.stream_info(name)).state.first_seq == 501  # the WorkQueue removed exactly what was acked
    assert [s for s, _ in _pull(run, js, name, "big", 100)] == truth[500:600]


def test_a_filtered_ack_read_over_a_backlog_larger_than_the_window(shell, nc, streams):
    """400 non-matching messages in front of the matches, a window of 100: naking them would hand the same 100 back forever."""
    client, js, run = nc
    name = streams(RetentionPolicy.LIMITS, count=400, kinds="b")  # 400 'b', then 20 'a'
    for i in range(20):
        run(js.publish(f"{name.lower()}.x", b'{"i":%d,"kind":"a"}' % (400 + i), headers={"kind": "a"}))
    run(js.add_consumer(name, ConsumerConfig(durable_name="late", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=100)))
    df = shell.run_line_magic("js_consume", f"{name} --durable late --ack -n 5 --where \"kind == 'a'\"")
    assert df["seq"].tolist() == [401, 402, 403, 404, 405]
    ci = run(js.consumer_info(name, "late"))
    assert ci.ack_floor.stream_seq == 405  # everything up to the 5th match is settled
    assert ci.num_pending + ci.num_ack_pending == 15  # the rest of the matches wait (some nak'ed back past -n)


def test_a_read_that_leaves_rows_pending_says_how_many_more_wait(shell, nc, streams):
    client, js, run = nc
    name = streams(RetentionPolicy.LIMITS, count=900)
    run(js.add_consumer(name, ConsumerConfig(durable_name="win", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=100)))
    df = shell.run_line_magic("js_consume", f"{name} --durable win -n 500")
    assert df["seq"].tolist() == list(range(1, 101))
    first = df.summary
    assert first.startswith(f"{name}: 100 rows; seq 1–100"), first
    assert ("800 more messages wait on win: a read without --ack or --term stops at its max_ack_pending (100)"
            in first), first
    assert "\n" not in first
    ci = run(js.consumer_info(name, "win"))
    assert (ci.num_ack_pending, ci.num_pending) == (100, 800)  # left pending, as a read without an action does


def test_an_interrupted_ack_read_acked_only_rows_it_returns(shell, nc, streams):
    """Cancelled mid-read: every row the server removed as acked is in the partial frame, and counted."""
    client, js, run = nc
    name = streams(RetentionPolicy.WORK_QUEUE, count=900)
    run(js.add_consumer(name, ConsumerConfig(durable_name="cut", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=50,
                                             ack_wait=1.0)))

    async def go():
        task = None

        def progress(done, total):
            if done >= 300 and task is not None:
                task.cancel()

        task = asyncio.ensure_future(replay(Selection(name, durable="cut", action="ack", batch=10), progress))
        return await task

    result = registry.context().run(go())
    assert result.interrupted and 300 <= len(result.frame) < 900
    deadline = time.monotonic() + 20  # rows read but not acked come back after the 1 s ack wait
    while run(js.consumer_info(name, "cut")).num_ack_pending and time.monotonic() < deadline:
        run(asyncio.sleep(0.2))
    acked = {s for s in range(1, 901) if not _exists(run, js, name, s)}  # the WorkQueue removed what was acked
    assert acked <= set(result.frame["seq"].tolist()) and len(acked) == result.acknowledged > 0


def _exists(run, js, stream: str, seq: int) -> bool:
    try:
        run(js.get_msg(stream, seq))
        return True
    except nats.js.errors.NotFoundError:
        return False


def test_an_ack_read_stops_before_a_payload_its_strict_decode_refuses(shell, nc, streams):
    """Acks go out as rows arrive: a payload that --decode json refuses must not cost the rows acked before it."""
    client, js, run = nc
    name = streams(RetentionPolicy.WORK_QUEUE, count=40)
    run(js.publish(f"{name.lower()}.x", b"not json"))  # seq 41
    for i in range(9):
        run(js.publish(f"{name.lower()}.x", b'{"i":%d}' % (41 + i)))
    run(js.add_consumer(name, ConsumerConfig(durable_name="strict", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=10)))
    df = shell.run_line_magic("js_consume", f"{name} --durable strict --ack --decode json --batch 10")
    kept = df["seq"].tolist()
    assert kept == list(range(1, len(kept) + 1)) and 30 <= len(kept) < 41
    left = run(js.stream_info(name)).state
    assert (left.first_seq, left.messages) == (len(kept) + 1, 50 - len(kept))  # removed: exactly the rows returned
    assert f"stopped at seq {len(kept) + 1}: message seq 41 is not JSON" in df.summary
    assert re.search(r"the \d+ messages? delivered from there were nak'ed back to strict, none acked", df.summary)
    ci = run(js.consumer_info(name, "strict"))
    assert ci.ack_floor.stream_seq == len(kept) and ci.num_ack_pending + ci.num_pending == 50 - len(kept)
    with pytest.raises(InputError, match="message seq 41 is not JSON"):  # nothing to return: the error itself
        shell.run_line_magic("js_consume", f"{name} --durable strict --ack --decode json --batch 10")
    assert run(js.stream_info(name)).state.messages == 50 - len(kept)  # and nothing acked


def test_an_ack_read_that_fails_midway_returns_every_row_it_acked(shell, nc, streams):
    """The durable is deleted under a read that has acked windows already: those rows are not lost with the error."""
    client, js, run = nc
    name = streams(RetentionPolicy.WORK_QUEUE, count=900)
    run(js.add_consumer(name, ConsumerConfig(durable_name="gone", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=50)))

    async def go():
        ctx = registry.context()
        deleting = []

        def progress(done, total):
            if done >= 300 and not deleting:
                deleting.append(asyncio.ensure_future((ctx.js).delete_consumer(name, "gone")))

        result = await replay(Selection(name, durable="gone", action="ack", batch=10, timeout=2), progress)
        await asyncio.gather(*deleting)
        return result

    result = registry.context().run(go())
    assert result.failed and 300 <= len(result.frame) < 900, result.failed
    assert f"; durable consumer gone; failed: {result.failed}" in replay_summary(result)  # said on its first line
    acked = {s for s in range(1, 901) if not _exists(run, js, name, s)}  # the WorkQueue removed what was acked
    assert 0 < len(acked) and acked <= set(result.frame["seq"].tolist())
    with pytest.raises(Exception, match="not found|no responders|timeout|deleted"):
        run(js.consumer_info(name, "gone"))


def test_an_ack_read_goes_through_a_window_of_one(shell, nc, streams):
    """max_ack_pending 1 (a strictly ordered worker): each row is acked before the next is delivered."""
    client, js, run = nc
    name = streams(RetentionPolicy.WORK_QUEUE, count=30)
    run(js.add_consumer(name, ConsumerConfig(durable_name="one", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=1)))
    started = time.monotonic()
    df = shell.run_line_magic("js_consume", f"{name} --durable one --ack --timeout 5")
    assert df["seq"].tolist() == list(range(1, 31)) and "stopped" not in df.summary
    assert time.monotonic() - started < 5  # not one idle timeout
    assert run(js.stream_info(name)).state.messages == 0
