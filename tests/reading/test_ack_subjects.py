"""The one ack-subject parser (:mod:`jsmagic.reading.acks`) and the one status rule (:mod:`jsmagic.reading.status`).

Ack subjects of every form a server sends (v1: 9 tokens; v2 of ``js_ack_fc_v2``: 11 tokens,
and 12 with the optional trailing token) are read one at a time, as a list of str (the
nats-py puller) and as spans of a receive buffer (the bulk wire reader), and compared with
nats-py's own reading of the same subject (``Msg.metadata``).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nats.aio.msg import Msg

from jsmagic.reading.acks import AckFormat, AckSubjectError, parse_ack
from jsmagic.reading.frames import SEP
from jsmagic.reading.status import server_status
from jsmagic.reading.wire.parse import parse

name = st.text(st.sampled_from("ABCxyz019_-"), min_size=1, max_size=12)
number = st.integers(0, 2**63 - 1)
numbers = st.tuples(number, number, number, number, number)
form = st.sampled_from(["v1", "v2", "v2+token"])
domain = st.one_of(st.just("_"), name)
token = st.text(st.sampled_from("abcXYZ0123456789"), min_size=1, max_size=22)


def subject(form: str, stream: str, consumer: str, nums, dom: str = "_", account: str = "szMpdrwD",
            tail: str = "9Qx") -> str:
    body = ".".join(str(n) for n in nums)
    if form == "v1":
        return f"$JS.ACK.{stream}.{consumer}.{body}"
    return f"$JS.ACK.{dom}.{account}.{stream}.{consumer}.{body}" + (f".{tail}" if form == "v2+token" else "")


def nats_py(reply: str):
    """nats-py's own reading of an ack subject (its Msg.metadata), the independent reference."""
    return Msg(None, subject="x", reply=reply).metadata


def test_the_subjects_a_2_15_server_sends_with_and_without_the_feature_flag():
    v2 = parse_ack("$JS.ACK._.szMpdrwD.S.d.1.2.3.1796624115313544144.7")
    assert (v2.stream, v2.consumer, v2.domain, v2.account) == ("S", "d", "", "szMpdrwD")
    assert (v2.delivered, v2.stream_seq, v2.consumer_seq, v2.timestamp_ns, v2.pending) == (1, 2, 3, 1796624115313544144, 7)
    v1 = parse_ack("$JS.ACK.S.d.1.2.3.1796624115313544144.7")
    assert v1[:7] == v2[:7] and (v1.domain, v1.account) == ("", "")
    assert parse_ack("$JS.ACK.hub.acc.S.d.4.5.6.7.8.tok").domain == "hub"


@settings(max_examples=300, deadline=None, database=None)
@given(form=form, stream=name, consumer=name, nums=numbers, dom=domain, account=name, tail=token)
def test_one_subject_reads_like_nats_py(form, stream, consumer, nums, dom, account, tail):
    reply = subject(form, stream, consumer, nums, dom, account, tail)
    ack, md = parse_ack(reply), nats_py(reply)
    assert (ack.stream, ack.consumer) == (md.stream, md.consumer) == (stream, consumer)
    assert (ack.delivered, ack.stream_seq, ack.consumer_seq, ack.pending) == (
        md.num_delivered, md.sequence.stream, md.sequence.consumer, md.num_pending)
    assert (ack.delivered, ack.stream_seq, ack.consumer_seq, ack.timestamp_ns, ack.pending) == nums
    assert ack.domain == ("" if form == "v1" else md.domain)
    assert parse_ack(reply.encode()) == ack


@settings(max_examples=150, deadline=None, database=None)
@given(form=form, stream=name, consumer=name, dom=domain, rows=st.lists(st.tuples(numbers, token), min_size=1, max_size=60))
def test_a_consumers_subjects_in_bulk_read_like_one_by_one(form, stream, consumer, dom, rows):
    """As a list of str (the nats-py puller) and as spans of a wire buffer (the bulk reader)."""
    replies = [subject(form, stream, consumer, nums, dom, tail=tail) for nums, tail in rows]
    expected = [list(nums) for nums, _ in rows]
    fmt = AckFormat(replies[0])
    assert fmt.numbers_of(replies).tolist() == expected
    assert [fmt.drained(r) for r in replies] == [nums[4] == 0 for nums, _ in rows]
    data = b"".join(b"MSG a.b 7 %s 2\r\nxy\r\n" % r.encode() for r in replies)
    used, fr = parse(data, b"7")
    assert used == len(data) and len(fr) == len(replies) and fr.joined(data) == SEP.join([b"xy"] * len(replies))
    assert AckFormat(fr.first(data, "reply")).numbers(fr, data).tolist() == expected


@pytest.mark.parametrize("reply", [
    "$JS.ACK.S.d.1.2.3.4",                       # 8 tokens
    "$JS.ACK.x.S.d.1.2.3.4.5",                   # 10 tokens
    "$JS.ACK._.h.S.d.1.2.3.4.5.t.u",             # 13 tokens
    "$JS.ACK.S.d.1.two.3.4.5",                   # not a number
    "_INBOX.abc.def",                            # not an ack subject
])
def test_an_unknown_form_fails_loudly(reply):
    with pytest.raises(AckSubjectError):
        parse_ack(reply)
    with pytest.raises(AckSubjectError):
        AckFormat(reply).numbers_of([reply])


def test_bulk_subjects_that_change_form_mid_consumer_fail_loudly():
    v1 = subject("v1", "S", "d", (1, 2, 3, 4, 5))
    v2 = subject("v2", "S", "d", (1, 2, 3, 4, 5))
    with pytest.raises(AckSubjectError):
        AckFormat(v1).numbers_of([v1, v2])
    with pytest.raises(AckSubjectError):
        AckFormat(v2).numbers_of([v2] * 8 + [v1])


def test_the_status_rule_looks_at_the_frame_not_at_the_header():
    stored = {"Status": "404", "Description": "Not Found", "Content-Type": "text/html"}
    ack = subject("v2", "S", "d", (1, 2, 3, 4, 5))
    assert server_status(ack, stored) is None                                   # a pull's stored message
    assert server_status(ack.encode(), stored) is None
    assert server_status(None, {**stored, "Nats-Stream": "S", "Nats-Sequence": "4"}) is None  # a direct get's
    st = server_status(None, {"Status": "404", "Description": "No Messages"})  # the server's own
    assert (st.code, st.description) == ("404", "No Messages")
    assert server_status("_INBOX.fc", {"Status": "100", "Description": "FlowControl Request"}).code == "100"
    assert server_status(None, {"Status": "204", "Description": "EOB", "Nats-Last-Sequence": "3"}).code == "204"


def test_the_wire_reader_keeps_a_stored_message_with_its_own_status_header():
    """A stored HTTP response (``Status: 404`` header, empty payload) between two statuses of the server."""
    ack = subject("v1", "S", "d", (1, 5, 1, 1700000000000000000, 0)).encode()
    own = b"NATS/1.0\r\nStatus: 404\r\nDescription: Not Found\r\n\r\n"
    timeout = b"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\n\r\n"
    done = b"NATS/1.0 404 No Messages\r\n\r\n"
    data = (b"HMSG _INBOX.x 7 %d %d\r\n%s\r\n" % (len(timeout), len(timeout), timeout)
            + b"HMSG s.http 7 %s %d %d\r\n%s\r\n" % (ack, len(own), len(own), own)
            + b"HMSG _INBOX.x 7 %d %d\r\n%s\r\n" % (len(done), len(done), done))
    used, fr = parse(data, b"7")
    assert used == len(data) and len(fr) == 1
    assert [(st.code, st.description) for _, st in fr.statuses] == [("408", "Request Timeout"), ("404", "No Messages")]
    assert fr.statuses[0][1].headers["Nats-Pending-Messages"] == "1"
    assert fr.pieces(data, "header") == [own] and fr.pieces(data, "payload") == [b""]
