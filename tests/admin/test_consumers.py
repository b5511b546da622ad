"""%js_consumer against a real server: counts as the server reports them."""

import time
import uuid

import pytest
from IPython.core.error import UsageError

from jsmagic.admin import consumers
from jsmagic.core.errors import ForceRequiredError, InputError, NotFoundError
from jsmagic.core.registry import context

from ..conftest import close_second, open_second


@pytest.fixture
def stream(shell, nc):
    """A stream with 10 messages on two subjects (.a x6, .b x4)."""
    name = "C" + uuid.uuid4().hex[:8].upper()
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>'")
    _client, js, run = nc
    for i, subject in enumerate("abaababaab"):
        run(js.publish(f"{name}.{subject}", f'{{"i": {i}}}'.encode()))
    return name


def server_consumer(nc, stream, name):
    _client, js, run = nc
    return run(js.consumer_info(stream, name))


def test_add_ls_info(shell, nc, stream):
    shell.run_line_magic("js_consumer", f"add {stream} worker --pull --deliver all --ack explicit "
                                        f"--filter {stream}.a --max-deliver 5 --ack-wait 30s")
    shell.run_line_magic("js_consumer", f"add {stream} tail --deliver new --ack none")
    ci = server_consumer(nc, stream, "worker")
    assert ci.config.ack_wait == 30 and ci.config.max_deliver == 5 and ci.config.filter_subject == f"{stream}.a"

    df = shell.run_line_magic("js_consumer", f"ls {stream}")
    assert df["name"].tolist() == ["tail", "worker"]
    rows = df.set_index("name")
    assert rows.loc["worker", "pending"] == 6 and rows.loc["tail", "pending"] == 0
    assert rows.loc["worker", "deliver_policy"] == "all" and rows.loc["tail", "ack_policy"] == "none"
    assert rows.loc["worker", "filter"] == f"{stream}.a" and bool(rows.loc["worker", "durable"])

    assert df.summary == f"2 consumers on {stream}"
    core = context().run(consumers.list_consumers(stream))  # the core: the same rows, no footer
    assert core.equals(df) and not hasattr(core, "summary")

    info = shell.run_line_magic("js_consumer", f"info {stream} worker")
    assert info["Configuration"]["ack wait"] == "30s"
    assert info["State"]["pending"] == 6  # numbers, for code that checks them
    assert info["State"]["last delivered"].stream_seq == info["State"]["ack floor"].stream_seq == 0
    assert info.raw.name == "worker" and info.raw.num_pending == 6


def test_next_with_ack_then_nak_changes_counts_as_server_reports(shell, nc, stream):
    shell.run_line_magic("js_consumer", f"add {stream} worker --ack-wait 30s")
    got = shell.run_line_magic("js_consumer", f"next {stream} worker --count 3")
    assert got["seq"].tolist() == [1, 2, 3] and got["data"].tolist() == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert got.summary == f"3 messages from {stream} > worker, acked"
    ci = server_consumer(nc, stream, "worker")
    assert ci.num_pending == 7 and ci.num_ack_pending == 0 and ci.ack_floor.stream_seq == 3

    nakd = shell.run_line_magic("js_consumer", f"next {stream} worker --count 2 --nak")
    assert nakd["seq"].tolist() == [4, 5] and nakd["delivered"].tolist() == [1, 1]
    assert nakd.summary == f"2 messages from {stream} > worker, nak'd (to be redelivered)"
    again = shell.run_line_magic("js_consumer", f"next {stream} worker --count 2 --no-ack")
    assert again["seq"].tolist() == [4, 5] and again["delivered"].tolist() == [2, 2]
    ci = server_consumer(nc, stream, "worker")
    assert ci.num_redelivered == 2 and ci.num_ack_pending == 2

    termed = shell.run_line_magic("js_consumer", f"next {stream} worker --count 1 --term")
    assert termed["seq"].tolist() == [6]  # 4 and 5 wait for their ack (30s) before redelivery
    ci = server_consumer(nc, stream, "worker")
    assert ci.num_ack_pending == 2 and ci.num_pending == 4


def test_next_batch_is_clamped_to_max_ack_pending(shell, nc, stream):
    shell.run_line_magic("js_consumer", f"add {stream} small --max-ack-pending 3 --ack-wait 30s")
    started = time.monotonic()
    got = shell.run_line_magic("js_consumer", f"next {stream} small --count 10")  # acked: 4 rounds
    assert len(got) == 10 and time.monotonic() - started < 5  # no batch waited out its timeout (5 s each)
    left = shell.run_line_magic("js_consumer", f"next {stream} small --count 10 --timeout 2")
    assert left.empty
    shell.run_line_magic("js_consumer", f"add {stream} small2 --max-ack-pending 3 --ack-wait 30s")
    pending = shell.run_line_magic("js_consumer", f"next {stream} small2 --count 10 --no-ack")
    assert len(pending) == 3  # the server hands out no more than max_ack_pending un-acked
    assert server_consumer(nc, stream, "small2").num_ack_pending == 3


def test_next_without_acks_says_how_many_more_wait_behind_max_ack_pending(shell, nc, stream):
    """Rows left un-acked hold the consumer at max_ack_pending: a short frame says so (issue 21, item 7's twin)."""
    shell.run_line_magic("js_consumer", f"add {stream} held --max-ack-pending 3 --ack-wait 30s")
    pending = shell.run_line_magic("js_consumer", f"next {stream} held --count 10 --no-ack")
    ci = server_consumer(nc, stream, "held")
    assert len(pending) == 3 and (ci.num_ack_pending, ci.num_pending) == (3, 7)
    assert pending.summary == (f"3 messages from {stream} > held, left un-acked; 7 more wait: rows left un-acked "
                               "hold held at its max_ack_pending (3); ack, nak or term them to go on")


def test_rm_refuses_with_counts_then_deletes(shell, nc, stream, capsys):
    shell.run_line_magic("js_consumer", f"add {stream} worker")
    with pytest.raises(ForceRequiredError, match="would delete consumer worker .*10 pending"):
        shell.run_line_magic("js_consumer", f"rm {stream} worker")
    assert server_consumer(nc, stream, "worker").num_pending == 10
    capsys.readouterr()
    assert shell.run_line_magic("js_consumer", f"rm {stream} worker --force -o removed") is None
    assert capsys.readouterr().out == f"Deleted consumer worker on {stream} (10 pending, 0 awaiting ack).\n"
    assert shell.user_ns["removed"] == consumers.ConsumerRemoval(stream, "worker", 10, 0)
    assert shell.run_line_magic("js_consumer", f"ls {stream}").empty


def test_bad_input(shell, stream):
    shell.run_line_magic("js_consumer", f"add {stream} worker")
    with pytest.raises(NotFoundError, match="did you mean 'worker'"):
        shell.run_line_magic("js_consumer", f"info {stream} wroker")
    with pytest.raises(NotFoundError, match="unknown stream"):
        shell.run_line_magic("js_consumer", f"ls {stream}X")
    with pytest.raises(InputError, match="bad --deliver"):
        shell.run_line_magic("js_consumer", f"add {stream} x --deliver sometime")
    with pytest.raises(InputError, match="push consumer needs --target"):
        shell.run_line_magic("js_consumer", f"add {stream} x --push")
    with pytest.raises(UsageError):
        shell.run_line_magic("js_consumer", f"next {stream} worker --ack --nak")


def test_deliver_by_sequence_and_completion(shell, nc, stream):
    from IPython.core.completer import provisionalcompleter

    shell.run_line_magic("js_consumer", f"add {stream} from7 --deliver 7")
    assert server_consumer(nc, stream, "from7").num_pending == 4
    line = f"%js_consumer next {stream} fr"
    with provisionalcompleter():
        offered = {c.text for c in shell.Completer.completions(line, len(line))}
    assert "from7" in offered


@pytest.mark.kernel
def test_interrupted_next_keeps_what_arrived_and_leaves_no_subscription(kernel, server):
    stream = "K" + uuid.uuid4().hex[:8].upper()
    kernel.run(f"%load_ext jsmagic\nctx = %js_connect {server.url}\n%js_stream add {stream}\n"
               f"%js_consumer add {stream} worker\n"
               f"for i in range(3): await ctx.js.publish('{stream}', b'%d' % i)\n"
               "subs_before = len(ctx.nc._subs)")
    import threading

    timer = threading.Timer(2.0, kernel.interrupt)
    timer.start()
    res = kernel.run(f"df = %js_consumer next {stream} worker --count 10 --timeout 60", timeout=30, allow_error=True)
    timer.join()
    assert res.status == "ok" and "interrupted" in res.stdout + (res.result or "")
    assert kernel.run("len(df), df['seq'].tolist()").result == "(3, [1, 2, 3])"
    assert kernel.run("len(ctx.nc._subs) == subs_before").result == "True"
    info = kernel.run(f"(await ctx.js.consumer_info('{stream}', 'worker')).num_ack_pending").result
    assert info == "0"  # what arrived was acked


def test_every_core_verb_goes_to_the_context_it_is_given(shell, fresh_server):
    """``ctx=`` routes a verb (and its acks) to that connection; the current one is not touched."""
    second = open_second(fresh_server.url)
    try:
        run = second.run
        stream = "C" + uuid.uuid4().hex[:8].upper()
        run(second.js.add_stream(name=stream, subjects=[f"{stream}.>"]))
        for i in range(4):
            run(second.js.publish(f"{stream}.a", b"%d" % i))
        ci = run(consumers.add_consumer(stream, "worker", ack_wait="30s", ctx=second))
        assert ci.config.ack_wait == 30 and ci.num_pending == 4
        assert run(consumers.consumer_names(stream, ctx=second)) == ["worker"]
        with pytest.raises(NotFoundError, match="unknown stream"):
            shell.run_line_magic("js_consumer", f"ls {stream}")  # the current connection has no such stream
        assert run(consumers.list_consumers(stream, ctx=second))["pending"].tolist() == [4]
        got = run(consumers.next_messages(stream, "worker", count=3, ctx=second))
        assert got["seq"].tolist() == [1, 2, 3]
        assert got.attrs == {"ack_policy": "explicit", "interrupted": False}
        info = run(consumers.consumer_info(stream, "worker", ctx=second))  # acked on the second connection
        assert info.ack_floor.stream_seq == 3 and info.num_ack_pending == 0 and info.num_pending == 1
        assert run(consumers.remove_consumer(stream, "worker", force=True, ctx=second)).pending == 1
        assert run(consumers.consumer_names(stream, ctx=second)) == []
    finally:
        close_second(second)
