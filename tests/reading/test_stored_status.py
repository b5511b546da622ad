"""A stored message with its own ``Status`` header is a row, never the end of a read.

An HTTP response kept in a stream carries ``Status: 404`` and ``Description: Not Found``
headers, maybe with an empty body.  The server's own status messages (404 no messages, 204
end of batch, 408) look the same to anything that reads only the header; the direct-get
read of a WorkQueue or Interest stream used to stop at such a message (3 of 10 rows).  Each
read here is compared with plain nats-py's STREAM.MSG.GET reading of the stream.
"""

from __future__ import annotations

import uuid

import pytest

from jsmagic.core.errors import ForceRequiredError, NotFoundError

HTTP = {"Status": "404", "Description": "Not Found", "Content-Type": "text/html"}


def _name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


def fill(nc, name: str, retention: str, direct: bool) -> None:
    """10 messages; 4 is a stored 404 response with a body, 7 one with an empty body."""
    client, js, run = nc
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"], retention=retention, allow_direct=direct))
    if retention == "interest":  # an interest stream keeps messages only while a consumer is interested
        run(js.add_consumer(name, durable_name="keeper", ack_policy="explicit"))
    for i in range(1, 11):
        headers = {**HTTP, "X-Seq": str(i)} if i in (4, 7) else {"X-Seq": str(i)}
        body = b"" if i == 7 else b"<html>%d</html>" % i
        run(js.publish(f"{name.lower()}.http", body, headers=headers))


def truth(nc, name: str) -> list[tuple]:
    """(seq, subject, payload, headers) of every stored message, by STREAM.MSG.GET."""
    client, js, run = nc
    out = []
    for seq in range(1, run(js.stream_info(name)).state.last_seq + 1):
        m = run(js.get_msg(name, seq))
        out.append((m.seq, m.subject, m.data or b"", m.headers))
    return out


def rows(df) -> list[tuple]:
    return [(int(r.seq), r.subject, r.data or b"", r.headers) for r in df.itertuples()]


@pytest.mark.parametrize("direct", [True, False], ids=["direct-get", "stream-msg-get"])
@pytest.mark.parametrize("retention", ["workqueue", "interest"])
def test_a_consumerless_read_returns_every_row_with_its_headers(shell, nc, retention, direct):
    client, js, run = nc
    name = _name("SS")
    fill(nc, name, retention, direct)
    try:
        want = truth(nc, name)
        assert want[3][3]["Status"] == "404" and want[6][2] == b""
        df = shell.run_line_magic("js_consume", f"{name} --decode bytes")
        assert rows(df) == want
        assert [c.name for c in run(js.consumers_info(name))] == (["keeper"] if retention == "interest" else [])
        assert run(js.stream_info(name)).state.messages == 10  # read without taking anything away
        assert rows(shell.run_line_magic("js_consume", f"{name} --decode bytes --start-seq 4 -n 4")) == want[3:7]
    finally:
        run(js.delete_stream(name))


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "nats-py"])
def test_a_consumer_read_returns_every_row_with_its_headers(shell, nc, bulk):
    client, js, run = nc
    name = _name("SL")
    fill(nc, name, "limits", True)
    shell.run_line_magic("config", f"JSMagic.bulk_replay = {bulk}")
    try:
        df = shell.run_line_magic("js_consume", f"{name} --decode bytes")
        assert rows(df) == truth(nc, name)
        tail = shell.run_line_magic("js_consume", f"{name} --decode bytes --start-seq 7")
        assert rows(tail) == truth(nc, name)[6:]
    finally:
        shell.run_line_magic("config", "JSMagic.bulk_replay = True")
        run(js.delete_stream(name))


def test_a_purge_counts_past_a_stored_404(shell, nc):
    """The purge refusal counts by one batched direct get: a stored 404 at ``--seq`` is not 'nothing there'."""
    client, js, run = nc
    name = _name("SP")
    fill(nc, name, "limits", True)
    try:
        with pytest.raises(ForceRequiredError, match=r"would purge 3 messages"):
            shell.run_line_magic("js_stream", f"purge {name} --seq 4")
        assert run(js.stream_info(name)).state.messages == 10
    finally:
        run(js.delete_stream(name))


def test_a_priority_group_pull_returns_a_stored_404(shell, nc):
    client, js, run = nc
    name = _name("SG")
    fill(nc, name, "limits", True)
    try:
        shell.run_line_magic("js_consumer", f"add {name} p --pinned-groups jobs --pinned-ttl 30s")
        got = shell.run_line_magic("js_consumer", f"next {name} p --group jobs --count 5 --decode bytes")
        assert got["seq"].tolist() == [1, 2, 3, 4, 5]
        assert got["headers"][3].items() >= {**HTTP, "X-Seq": "4"}.items() and got["data"][3] == b"<html>4</html>"
        assert run(js.consumer_info(name, "p")).ack_floor.stream_seq == 5
    finally:
        run(js.delete_stream(name))


def test_consumer_next_returns_stored_404s(shell, nc):
    """``%js_consumer next`` pulls through jsmagic's puller: nats-py's ``fetch`` took a stored message's
    own ``Status: 404`` for the end of the batch (and dropped it)."""
    client, js, run = nc
    name = _name("SN")
    fill(nc, name, "limits", True)
    try:
        shell.run_line_magic("js_consumer", f"add {name} worker")
        got = shell.run_line_magic("js_consumer", f"next {name} worker --count 10 --timeout 2 --decode bytes")
        assert rows(got.assign(headers=[{k: v for k, v in h.items()} for h in got["headers"]])) == truth(nc, name)
        assert run(js.consumer_info(name, "worker")).ack_floor.stream_seq == 10  # each one acked
    finally:
        run(js.delete_stream(name))


@pytest.mark.parametrize("direct", [True, False], ids=["direct-get", "stream-msg-get"])
def test_getting_one_stored_404_by_sequence_or_subject(shell, nc, direct):
    """``%js_stream get``: nats-py's direct get took the empty-bodied stored 404 for 'no message'."""
    client, js, run = nc
    name = _name("SO")
    fill(nc, name, "limits", direct)
    try:
        want = truth(nc, name)[6]
        got = shell.run_line_magic("js_stream", f"get {name} 7 --decode bytes")
        assert (got["seq"], got["subject"], got["data"]) == want[:3] and got["size"] == 0
        assert got["headers"] == {k: v for k, v in want[3].items() if not k.startswith("Nats-")}
        last = shell.run_line_magic("js_stream", f"get {name} --last-for {name.lower()}.http --decode bytes")
        assert last["seq"] == 10 and last["data"] == b"<html>10</html>"
        run(js.publish(f"{name.lower()}.last", b"", headers=HTTP))  # the last on its subject is a stored 404
        last = shell.run_line_magic("js_stream", f"get {name} --last-for {name.lower()}.last")
        assert last["seq"] == 11 and last["headers"] == HTTP and last["size"] == 0
        with pytest.raises(NotFoundError):
            shell.run_line_magic("js_stream", f"get {name} 99")
    finally:
        run(js.delete_stream(name))
