"""Kernel interrupts (the notebook's stop button) in a real kernel, at scale.

During a 1M replay, a 100k publish and a watch start: the kernel stays usable, the
partial result is returned, and nothing is left behind.  "Nothing" is counted on the
server (consumers on the stream, our connection's subscriptions in ``/connz``) and in
the kernel (asyncio tasks of jsmagic/nats-py, the context's background entries).
Existing tests (test_consume, test_publish) interrupt small jobs; these add volume and
the start-up window (the server paused with SIGSTOP while the consumer is created).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import threading
import time
import urllib.request
import uuid

import nats
import pytest

from jsmagic.testing import fill_stream, monitored_server

from .test_leaks import TASKS_CELL

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

N_REPLAY = 1_000_000
N_PUBLISH = 100_000


@pytest.fixture(scope="module")
def monitored():
    """A server of this module's own with its HTTP monitoring port (connections, subscriptions)."""
    with monitored_server() as s:
        yield s


@pytest.fixture(scope="module")
def big_stream(monitored):
    """A stream of 1M small JSON messages ``{"i": k}``, filled pipelined."""
    name = "BIG1M"

    async def fill():  # chunks of 50k, each stored before the next: fast, and never outruns the store
        nc = await nats.connect(monitored.url)
        js = nc.jetstream()
        await js.add_stream(name=name, subjects=["big1m.>"])
        await fill_stream(nc, name, N_REPLAY, lambda i: "big1m.x")
        await nc.close()

    asyncio.run(fill())
    return name


async def _js(url, fn):
    nc = await nats.connect(url)
    try:
        return await fn(nc.jetstream())
    finally:
        await nc.close()


def stream_state(server, stream: str):
    """(messages, consumers) of ``stream``, asked by an independent client."""

    async def go(js):
        st = (await js.stream_info(stream)).state
        return st.messages, st.consumer_count

    return asyncio.run(_js(server.url, go))


def delivered(server, stream: str) -> int:
    """How far the stream's consumers have delivered (0 when there is none yet)."""

    async def go(js):
        return max([c.delivered.stream_seq or 0 for c in await js.consumers_info(stream)] or [0])

    return asyncio.run(_js(server.url, go))


def server_subs(server, name: str) -> list[str]:
    """The subscriptions the server holds for our kernel's connection (named ``name``)."""
    with urllib.request.urlopen(f"{server.monitor}/connz?subs=1&limit=1024", timeout=5) as r:
        conns = [c for c in json.load(r).get("connections") or [] if c.get("name") == name]
    assert len(conns) == 1, conns
    return sorted(conns[0].get("subscriptions_list") or [])


def kernel_state(kernel) -> dict:
    return json.loads(kernel.run(TASKS_CELL).stdout)


def connect(kernel, server) -> str:
    name = f"intr-{uuid.uuid4().hex[:8]}"
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url} --name {name}\n%config JSMagic.progress_after = 0.2")
    return name


def interrupt_when(kernel, ready, settle: float = 0.3, timeout: float = 60) -> threading.Thread:
    """A thread that interrupts the kernel ``settle`` s after ``ready()`` first returns true."""

    def go():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if ready():
                    break
            time.sleep(0.02)
        time.sleep(settle)
        kernel.interrupt()

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


SETTLE = 20.0  # seconds the clean-up after an interrupt may take (a loaded machine), well inside the
#              consumers' inactive thresholds (60 s for a watch, 120 s for a read): a consumer left still fails


def assert_nothing_left(kernel, server, name, subs_before, state_before):
    """Polled until SETTLE: the deletes and unsubscribes after an interrupt finish once the server answers."""
    deadline = time.monotonic() + SETTLE
    while True:
        subs, state = server_subs(server, name), kernel_state(kernel)
        settled = state["background"] == 0 and sorted(state["tasks"]) == sorted(state_before["tasks"])
        if (subs == subs_before and settled) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert subs == subs_before, "a subscription was left on the server"
    assert state["background"] == 0
    assert sorted(state["tasks"]) == sorted(state_before["tasks"]), "a task was left in the kernel"


def consumers_left(server, stream: str) -> int:
    """The stream's consumers once ours are deleted (polled until SETTLE), asked by an independent client."""
    deadline = time.monotonic() + SETTLE
    while (count := stream_state(server, stream)[1]) and time.monotonic() < deadline:
        time.sleep(0.2)
    return count


def test_interrupt_1m_replay(kernel, monitored, big_stream):
    name = connect(kernel, monitored)
    subs_before, state_before = server_subs(monitored, name), kernel_state(kernel)
    watcher = interrupt_when(kernel, lambda: delivered(monitored, big_stream) >= 100_000, settle=0.0)
    started = time.monotonic()
    # --batch 5000: two pulls of 5,000 in flight, whichever reader runs (the bulk reader's default
    # pulls are 8 MiB each, so what is still on the wire at the interrupt would not be bounded here)
    res = kernel.run(f"%js_consume {big_stream} --batch 5000 -o part", timeout=120, allow_error=True)
    watcher.join()
    took = time.monotonic() - started
    # the cell fails (Run All stops there), saying what was kept and where
    assert res.status == "error" and "Interrupted:" in res.error_text and "kept in part" in res.error_text
    assert "Traceback" not in res.error_text
    n, ordered = json.loads(kernel.run(
        "import json; print(json.dumps([len(part), part['seq'].tolist() == list(range(1, len(part) + 1)) "
        "and part['i'].tolist() == list(range(len(part)))]))"
    ).stdout)
    # about what had arrived: the server had delivered 100k, of which two pull batches (10k) may be on
    # the wire and some in nats-py's queue; before the fix up to 10 batches (50k) received were dropped
    assert 75_000 <= n < N_REPLAY and ordered
    # the progress display's last line is the true count, and says it was interrupted
    last = [m["content"]["data"]["text/plain"] for m in res.messages  # the bar's last update, or the only line
            if m["msg_type"] in ("update_display_data", "display_data") and "text/plain" in m["content"]["data"]
            and m["content"]["data"]["text/plain"].startswith("replaying")][-1]
    assert f"{big_stream}: {n:,} messages in" in last and last.endswith("— interrupted"), last
    assert "interrupted" in kernel.run("print(part.summary)").stdout
    assert stream_state(monitored, big_stream) == (N_REPLAY, 0)  # nothing removed, no consumer left
    assert_nothing_left(kernel, monitored, name, subs_before, state_before)
    assert kernel.run(f"again = %js_consume {big_stream} --start-seq 999998\nprint(len(again))").stdout.strip() == "3"
    print(f"1M replay interrupted after {took:.1f}s with {n:,} rows kept (seq 1..{n:,}, no gap)")


def test_interrupt_100k_publish(kernel, monitored):
    stream = f"PUB{uuid.uuid4().hex[:6].upper()}"
    asyncio.run(_js(monitored.url, lambda js: js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])))
    name = connect(kernel, monitored)
    subs_before, state_before = server_subs(monitored, name), kernel_state(kernel)
    kernel.run(f"body = '\\n'.join('{{\"i\": %d}}' % i for i in range({N_PUBLISH}))")
    watcher = interrupt_when(kernel, lambda: stream_state(monitored, stream)[0] >= 20_000, settle=0.05)
    res = kernel.run(f"get_ipython().run_cell_magic('js_publish', '{stream.lower()}.x -o acks', body)",
                     timeout=120, allow_error=True)
    watcher.join()
    assert res.status == "error" and "Interrupted:" in res.error_text and "kept in acks" in res.error_text
    acked, sent, summary = json.loads(kernel.run(
        "import json; print(json.dumps([int(acks.seq.notna().sum()), len(acks), acks.summary]))"
    ).stdout)
    stored, consumers = stream_state(monitored, stream)
    assert summary.startswith("interrupted") and f"{N_PUBLISH - sent:,} not sent" in summary
    assert 0 < acked <= stored <= sent < N_PUBLISH  # every ack is stored; nothing beyond what was sent
    # the stored messages are exactly the first `stored` lines, once each
    ids = kernel.run(f"s = %js_consume {stream}\nprint(s['i'].tolist() == list(range(len(s))), len(s))").stdout.split()
    assert ids == ["True", str(stored)]
    assert_nothing_left(kernel, monitored, name, subs_before, state_before)
    assert "1 message" in kernel.run(f"%js_publish {stream.lower()}.x '{{\"i\": -1}}'").all_text
    print(f"100k publish interrupted: sent {sent:,}, acked {acked:,}, stored {stored:,}, not sent {N_PUBLISH - sent:,}")


def run_queued(kernel, first: str, then: str, ready, settle: float = 0.0) -> tuple[dict, dict]:
    """Queue two cells as Run All does (stop on error), interrupt the first once ``ready()``: both replies."""
    watcher = interrupt_when(kernel, ready, settle=settle)
    ids = [kernel.kc.execute(first, stop_on_error=True), kernel.kc.execute(then, stop_on_error=True)]
    replies = {}
    deadline = time.monotonic() + 120
    while len(replies) < 2 and time.monotonic() < deadline:
        msg = kernel.kc.get_shell_msg(timeout=120)
        if msg["parent_header"].get("msg_id") in ids:
            replies[msg["parent_header"]["msg_id"]] = msg["content"]
    watcher.join()
    with contextlib.suppress(Exception):  # drop the queued cells' iopub traffic
        while True:
            kernel.kc.get_iopub_msg(timeout=0.5)
    return replies[ids[0]], replies[ids[1]]


def test_an_interrupt_stops_run_all_mid_replay_and_mid_publish(kernel, monitored, big_stream):
    """Kernel -> Interrupt during a replay, then during a publish: the cell fails, the next one never runs."""
    name = connect(kernel, monitored)
    subs_before, state_before = server_subs(monitored, name), kernel_state(kernel)
    first, second = run_queued(kernel, f"%js_consume {big_stream}", "ran_after_replay = True",
                               lambda: delivered(monitored, big_stream) >= 50_000)
    assert first["status"] == "error" and first["ename"] == "InterruptedWithResult", first
    assert second["status"] == "aborted", "the cell queued after the interrupted replay ran"
    kept = json.loads(kernel.run("import jsmagic, json; print(json.dumps([len(jsmagic.last_result()), "
                                 "'ran_after_replay' in dir()]))").stdout)
    assert 0 < kept[0] < N_REPLAY and kept[1] is False
    assert stream_state(monitored, big_stream) == (N_REPLAY, 0)

    stream = f"RUNALL{uuid.uuid4().hex[:6].upper()}"
    asyncio.run(_js(monitored.url, lambda js: js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])))
    first, second = run_queued(kernel, f"%%js_publish {stream.lower()}.x --count {N_PUBLISH}\n{{\"n\": {{{{Count}}}}}}",
                               "ran_after_publish = True", lambda: stream_state(monitored, stream)[0] >= 5_000)
    assert first["status"] == "error" and first["ename"] == "InterruptedWithResult", first
    assert second["status"] == "aborted", "the cell queued after the interrupted publish ran"
    acked, ran = json.loads(kernel.run("print(json.dumps([int(jsmagic.last_result().seq.notna().sum()), "
                                       "'ran_after_publish' in dir()]))").stdout)
    assert 0 < acked <= stream_state(monitored, stream)[0] < N_PUBLISH and ran is False
    assert_nothing_left(kernel, monitored, name, subs_before, state_before)


@contextlib.contextmanager
def paused(server):
    """SIGSTOP the server (requests queue up unanswered) until the block ends."""
    os.kill(server.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.pid, signal.SIGCONT)


def run_interrupted_while_paused(kernel, server, code: str):
    """Run ``code`` with the server paused, interrupt it, resume the server; return the cell result."""
    with paused(server):
        watcher = interrupt_when(kernel, lambda: True, settle=1.0)
        res = kernel.run(code, timeout=60, allow_error=True)
        watcher.join()
    return res  # the server now answers what was queued (the create, then our delete): callers poll for it


def test_interrupt_replay_while_the_server_does_not_answer(kernel, monitored, big_stream):
    name = connect(kernel, monitored)
    subs_before, state_before = server_subs(monitored, name), kernel_state(kernel)
    res = run_interrupted_while_paused(kernel, monitored, f"%js_consume {big_stream} -o early")
    assert res.status == "error" or "Interrupted" in res.stdout
    assert "Traceback" not in res.stdout
    assert consumers_left(monitored, big_stream) == 0, "the consumer created after the interrupt was left"
    assert_nothing_left(kernel, monitored, name, subs_before, state_before)
    assert kernel.run(f"x = %js_consume {big_stream} -n 2\nprint(len(x))").stdout.strip() == "2"


def test_interrupt_kv_watch_start_while_the_server_does_not_answer(kernel, monitored):
    bucket = f"kvi_{uuid.uuid4().hex[:6]}"
    name = connect(kernel, monitored)
    kernel.run(f"%js_kv add {bucket}\n%js_kv put {bucket} a 1")
    subs_before, state_before = server_subs(monitored, name), kernel_state(kernel)
    res = run_interrupted_while_paused(kernel, monitored, f"w = %js_kv watch {bucket}")
    assert res.status == "error" and "Traceback" not in res.stdout
    assert_nothing_left(kernel, monitored, name, subs_before, state_before)
    consumers = consumers_left(monitored, f"KV_{bucket}")
    assert consumers == 0, "the watch's consumer, created after the interrupt, was left (60 s inactive threshold)"
    # the kernel still works: a new watch starts and sees the value
    kernel.run(f"w = %js_kv watch {bucket}")
    deadline = time.monotonic() + 30
    while kernel.run("print(len(w.df))").stdout.strip() != "1":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    kernel.run("w.stop()")


def test_a_second_interrupt_during_clean_up_never_raises_inside_the_connection(kernel, monitored):
    """Ctrl-C twice: the first stops a publish waiting for acks, the second lands in its clean-up.

    Once 20k messages are stored the server is paused (acks stop), then the kernel is
    interrupted, and again while the publish waits out its grace period for acks on the
    way.  The runner must not raise KeyboardInterrupt wherever the interpreter is (it
    could be nats-py's reader): the cell ends with jsmagic's own one-line interrupted
    result, and the connection keeps working once the server answers again.
    """
    stream = f"TWO{uuid.uuid4().hex[:6].upper()}"
    asyncio.run(_js(monitored.url, lambda js: js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])))
    name = connect(kernel, monitored)
    subs_before, state_before = server_subs(monitored, name), kernel_state(kernel)
    kernel.run(f"body = '\\n'.join('{{\"i\": %d}}' % i for i in range({N_PUBLISH}))")
    done = threading.Event()

    def pause_then_interrupt_twice():
        deadline = time.monotonic() + 60
        while stream_state(monitored, stream)[0] < 20_000 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(monitored.pid, signal.SIGSTOP)
        try:
            time.sleep(0.5)
            kernel.interrupt()  # the publish stops sending and waits (up to 2 s) for acks on their way
            time.sleep(0.5)
            kernel.interrupt()  # ... and this one lands in that wait
            done.wait(30)
        finally:
            os.kill(monitored.pid, signal.SIGCONT)

    t = threading.Thread(target=pause_then_interrupt_twice, daemon=True)
    t.start()
    res = kernel.run(f"acks = get_ipython().run_cell_magic('js_publish', '{stream.lower()}.x', body)",
                     timeout=120, allow_error=True)
    done.set()
    t.join()
    assert "KeyboardInterrupt" not in res.all_text, res.all_text[-2000:]
    assert "Traceback" not in res.all_text
    assert "Interrupted" in (res.stdout if res.status == "ok" else res.error_text)
    time.sleep(1.0)  # the server answers what was queued
    assert "1 message" in kernel.run(f"%js_publish {stream.lower()}.x '{{\"i\": -1}}'").all_text
    assert_nothing_left(kernel, monitored, name, subs_before, state_before)
