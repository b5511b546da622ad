"""The bulk reader's frame parser against byte streams built to trip it.

Frames are serialised the way nats-server writes them, mixed with PING, INFO, ``-ERR``,
status messages and other subscriptions' messages, and fed to :func:`parse` in random
pieces (an op cut anywhere waits for the next piece).  What comes out must be every data
message of our subscription, in order, byte for byte, and every status and PING.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from jsmagic.reading.frames import SEP
from jsmagic.reading.wire.parse import AckFormat, Names, message_headers, parse

HEAD = b"$JS.ACK.S.c."
payload = st.one_of(st.binary(max_size=30), st.sampled_from([b"", b"\r\n", b"\r\nMSG a 1 b 3\r\n", b"],[", b"\r\nHMSG x 1 2 3\r\n"]))
subject = st.sampled_from([b"a", b"orders.eu", b"x.y.z", b"MSG", b"s" * 40])
header = st.one_of(st.none(), st.sampled_from([b"NATS/1.0\r\nA: 1\r\n\r\n", b"NATS/1.0\r\nK: v w\r\nK: last\r\n\r\n"]))
data_msg = st.tuples(st.just("data"), subject, header, payload)
other = st.sampled_from([("ping",), ("info",), ("other sid",), ("status", b"408 Request Timeout"),
                         ("status", b"409 Batch Completed"), ("status", b"100 Idle Heartbeat")])
ops = st.lists(st.one_of(data_msg, data_msg, data_msg, other), max_size=40)


def wire(ops) -> tuple[bytes, list, list, int]:
    out, expected, statuses, pings = [], [], [], 0
    for i, op in enumerate(ops):
        if op[0] == "data":
            _, subj, hdr, body = op
            reply = HEAD + b"1.%d.%d.17000000000%02d.0" % (i + 1, i + 1, i)
            if hdr is None:
                out.append(b"MSG %s 7 %s %d\r\n%s\r\n" % (subj, reply, len(body), body))
            else:
                out.append(b"HMSG %s 7 %s %d %d\r\n%s%s\r\n" % (subj, reply, len(hdr), len(hdr) + len(body), hdr, body))
            expected.append((subj, i + 1, hdr, body))
        elif op[0] == "ping":
            out.append(b"PING\r\n")
            pings += 1
        elif op[0] == "info":
            out.append(b'INFO {"server_id":"x"}\r\n')
        elif op[0] == "other sid":
            out.append(b"MSG a 8 r 3\r\nabc\r\n")
        else:
            block = b"NATS/1.0 " + op[1] + b"\r\n\r\n"
            out.append(b"HMSG _INBOX.x 7 %d %d\r\n%s\r\n" % (len(block), len(block), block))
            statuses.append(op[1].split(b" ")[0].decode())
    return b"".join(out), expected, statuses, pings


@settings(max_examples=300, deadline=None, database=None)
@given(ops=ops, cuts=st.lists(st.integers(0, 2000), max_size=6))
def test_every_message_comes_out_byte_for_byte_however_the_stream_is_cut(ops, cuts):
    stream, expected, statuses, pings = wire(ops)
    got, got_status, got_pings, pending, ack = [], [], 0, b"", None
    bounds = sorted({c % (len(stream) + 1) for c in cuts} | {len(stream)})
    start = 0
    for end in bounds:
        pending += stream[start:end]
        start = end
        used, fr = parse(pending, b"7")
        got_status += [st.code for _, st in fr.statuses]
        got_pings += fr.pings
        if len(fr):
            ack = ack or AckFormat(fr.first(pending, "reply"))
            seqs = ack.numbers(fr, pending)[:, 1].tolist()
            payloads = fr.joined(pending).split(SEP) if fr.joined(pending).count(SEP) == len(fr) - 1 else None
            sizes = fr.sizes().tolist()
            bodies = list(fr.pieces(pending, "payload"))
            assert [len(b) for b in bodies] == sizes
            if payloads is not None:
                assert payloads == bodies
            headers = [bytes(h) or None for h in fr.pieces(pending, "header")]
            got += list(zip(fr.pieces(pending, "subject"), seqs, headers, bodies))
        pending = pending[used:]
    assert pending == b""
    assert got == expected
    assert got_status == statuses and got_pings == pings


@settings(max_examples=100, deadline=None, database=None)
@given(subjects=st.lists(st.one_of(st.sampled_from([b"o.eu", b"o.us", b"o.eu\xff", b"o.e", b"s" * 64, b"s" * 63 + b"t"]),
                                   st.binary(min_size=1, max_size=70).map(lambda b: b.replace(b" ", b"_")
                                                                       .replace(b"\r", b"_").replace(b"\n", b"_"))),
                         min_size=1, max_size=120))
@example(subjects=[b"o.e", b"o.e\x00"] * 20)  # equal zero-padded bytes: only the lengths tell them apart
def test_subject_column_equals_one_decode_per_message(subjects):
    """The batched subject column (shared strings, grouped by hash) is exactly each subject decoded."""
    data = b"".join(b"MSG %s 7 %s1.%d.1.1.0 1\r\nx\r\n" % (s, HEAD, i) for i, s in enumerate(subjects))
    used, fr = parse(data, b"7")
    assert used == len(data) and len(fr) == len(subjects)
    assert Names().column(fr, data) == [s.decode("utf-8", "surrogateescape") for s in subjects]


def test_headers_read_like_nats_py():
    assert message_headers(b"NATS/1.0\r\nK: v w\r\nK: last\r\nBad Name: x\r\n\r\n") == {"K": "last"}
    assert message_headers(b"NATS/1.0\r\n\r\n") is None
