"""%%js_publish --fast: fast batch publish (server 2.14, ADR-50 rev 7-9) against the real server."""

import pytest
from nats.js.api import ConsumerConfig

from jsmagic.core.errors import InputError, PublishError
from tests.modern.conftest import stored


def add(shell, name, flags=""):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --storage memory {flags}")


def read_all(nc, stream):
    """Every stored message's (seq, subject, payload), read with the independent client (an ordered pull)."""
    client, js, run = nc

    async def read():
        sub = await js.pull_subscribe(f"{stream}.>", stream=stream, config=ConsumerConfig(inactive_threshold=30))
        out = []
        total = (await js.stream_info(stream)).state.messages
        while len(out) < total:
            for m in await sub.fetch(500, timeout=5):
                out.append((m.metadata.sequence.stream, m.subject, m.data))
                await m.ack()
        await sub.unsubscribe()
        return out

    return run(read())


def test_fast_batch_stores_every_message_in_order(shell, nc, name):
    add(shell, name, "--allow-fast")
    shell.run_cell_magic("js_publish", f"{name}.warmup", "0\n")
    acks = shell.run_cell_magic("js_publish", f"{name}.reading --fast --count 2500", "{{Count}}\n")
    assert len(acks) == 2500 and "error" not in acks.columns
    assert stored(nc, name) == 2501  # the server's own count
    msgs = read_all(nc, name)
    assert [m[2] for m in msgs[1:]] == [str(i).encode() for i in range(1, 2501)]  # every one, in order
    assert [m[0] for m in msgs[1:]] == list(range(2, 2502))
    assert acks["seq"].dropna().tolist() == [2501]  # the batch's ack names its last message
    assert "one fast batch" in acks.summary and "2,500 messages stored in order, the last at seq 2501" in acks.summary


def test_fast_batch_is_refused_where_the_stream_does_not_allow_it(shell, nc, name):
    add(shell, name)
    with pytest.raises(InputError, match=f"stream {name} does not allow fast batch publish.*--allow-fast"):
        shell.run_cell_magic("js_publish", f"{name}.x --fast", "a\nb\n")
    # the server's own refusal (ADR-50 error 10205), when the check is bypassed: nothing stored
    from jsmagic.core.registry import context
    from jsmagic.publishing.fastbatch import publish_fast

    ctx = context()
    with pytest.raises(PublishError, match=r"fast batch of 2 refused: batch publish is disabled \(error 10205\); "
                                           "nothing stored"):
        ctx.run(publish_fast(ctx.nc, [(1, f"{name}.x", b"a", None), (2, f"{name}.x", b"b", None)]))
    with pytest.raises(InputError, match="--fast and --atomic exclude each other"):
        shell.run_cell_magic("js_publish", f"{name}.x --fast --atomic", "a\n")
    assert stored(nc, name) == 0


def test_a_refused_expectation_stops_the_batch_there(shell, nc, name):
    add(shell, name, "--allow-fast")
    with pytest.raises(PublishError, match=r"fast batch of 3 refused: wrong last sequence: 0 \(error 10071\); "
                                           "nothing stored"):
        shell.run_cell_magic("js_publish", f"{name}.x --fast --expect-last-seq 5", "a\nb\nc\n")
    assert stored(nc, name) == 0
    from jsmagic.core.registry import context
    from jsmagic.publishing.fastbatch import publish_fast

    ctx = context()
    messages = [(i, f"{name}.x", str(i).encode(), None) for i in range(1, 7)]
    messages[3] = (4, f"{name}.x", b"4", {"Nats-Expected-Last-Sequence": "99"})  # the 4th is refused
    result = ctx.run(publish_fast(ctx.nc, messages))
    assert result.acked == 3 and stored(nc, name) == 3  # stored in order up to the refusal, nothing after it
    assert [m[2] for m in read_all(nc, name)] == [b"1", b"2", b"3"]
    with pytest.raises(PublishError, match=r"stopped after 3 stored messages: wrong last sequence: 3 \(error 10071"):
        result.raise_for_errors()


def test_python_api_publishes_a_fast_batch(shell, nc, name):
    import jsmagic
    from jsmagic.core.registry import context

    add(shell, name, "--allow-fast")
    acks = context().run(jsmagic.publish(f"{name}.row", [{"n": i} for i in range(300)], fast=True))
    assert len(acks) == 300 and stored(nc, name) == 300
    assert [m[2] for m in read_all(nc, name)] == [b'{"n":%d}' % i for i in range(300)]


def test_msg_ids_are_refused_because_the_ack_hides_duplicates(shell, nc, name):
    """Server 2.15.1 acks a fast batch whose last message is a duplicate with count 2 and the seq of the one before."""
    add(shell, name, "--allow-fast")
    shell.run_cell_magic("js_publish", f"{name}.x --msg-id m-{{{{Count}}}}", "a\n")
    with pytest.raises(InputError, match="--fast does not go with --msg-id.*nothing published"):
        shell.run_cell_magic("js_publish", f"{name}.x --fast --msg-id m-{{{{Count}}}}", "a\nb\n")
    with pytest.raises(InputError, match="--fast does not go with --msg-id"):
        shell.run_cell_magic("js_publish", f"{name}.x --fast -H Nats-Msg-Id:m-1", "a\n")
    assert stored(nc, name) == 1


def test_no_answer_is_unknown_not_refused(shell, nc, name):
    """A batch nobody answers (here a silent core subscriber, no stream) is reported as unknown, never as 'nothing stored'."""
    from jsmagic.core.registry import context
    from jsmagic.publishing.fastbatch import publish_fast

    client, _js, run = nc
    sub = run(client.subscribe(f"{name}.silent"))
    run(client.flush())
    run(client.flush())
    ctx = context()
    messages = [(i, f"{name}.silent", b"x", None) for i in range(1, 4)]
    result = ctx.run(publish_fast(ctx.nc, messages, timeout=0.5))
    assert result.acked == 0 and result.sent == 1 and result.unsent == 2
    with pytest.raises(PublishError, match=r"unknown, stored or not \(check the stream\): no answer to the batch's "
                                           r"first message within 0.5s.*2 not sent"):
        result.raise_for_errors()
    run(sub.unsubscribe())
