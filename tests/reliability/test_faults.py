"""Faults on a single server: a restart in the middle of a replay and of a KV watch.

The server is really stopped (SIGTERM) and started again on the same port and store;
jsmagic's connection must find it again by itself.  What a user checks afterwards:
the replay has every sequence exactly once (or failed with one line), no consumer is
left on the stream, the watch shows "reconnecting" and then equals the bucket.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import nats
import pytest

from jsmagic.core.config import settings
from jsmagic.reading.reader import Selection, replay
from jsmagic.core.registry import context
from jsmagic.core.errors import JSMagicError
from jsmagic import testing as jt
from jsmagic.testing import KernelSession, nats_server

pytestmark = pytest.mark.slow

N_REPLAY = 200_000


async def fill(url: str, stream: str, n: int, subjects: int = 1) -> None:
    """Create ``stream`` and store ``n`` small JSON messages, pipelined (no per-message round trip)."""
    nc = await nats.connect(url)
    prefix = stream.lower()
    await nc.jetstream().add_stream(name=stream, subjects=[f"{prefix}.>"])
    await jt.fill_stream(nc, stream, n, lambda i: f"{prefix}.s{i % subjects}")
    await nc.close()


@pytest.fixture
def restartable():
    """A server of this test's own (it is stopped and started again), filled with 200k messages."""
    with nats_server() as s:
        asyncio.run(fill(s.url, "REPLAY", N_REPLAY))
        yield s


def restart_mid_replay(server, at: int, downtime: float):
    """A progress callback that stops the server once ``at`` messages arrived, and starts it later.

    The stop is synchronous (so the fault surely lands mid-replay); the start is scheduled
    on the loop, i.e. from the main thread (a server started from a short-lived thread
    would die with it: PR_SET_PDEATHSIG follows the thread).
    """
    fired: list[int] = []

    def progress(done: int, want):
        if done >= at and not fired:
            fired.append(done)
            server.stop()
            asyncio.get_running_loop().call_later(downtime, server.start)

    return progress, fired


def consumers_and_subs(ctx, stream: str) -> tuple[int, int]:
    """Consumers on the stream (server side) and the client's live subscriptions."""

    async def go():
        return (await ctx.js.stream_info(stream)).state.consumer_count

    return ctx.run(go()), len(ctx.nc._subs)


@pytest.mark.parametrize("downtime,timeout", [(1.0, None), (4.0, 1.0)], ids=["short-outage", "outage-beyond-timeout"])
def test_server_restart_during_200k_replay(restartable, downtime, timeout):
    with jt.connected_shell(restartable.url):
        ctx = context()
        subs_before = len(ctx.nc._subs)
        progress, fired = restart_mid_replay(restartable, at=50_000, downtime=downtime)
        try:
            result = ctx.run(replay(Selection("REPLAY", timeout=timeout), progress))
        except JSMagicError as e:  # the other allowed outcome: one clear line
            assert "\n" not in e.one_line() and fired
            result = None
        assert fired and fired[0] < N_REPLAY, "the restart did not land mid-replay"
        outcome = f"complete, {len(result.frame):,} rows" if result is not None else "one-line error"
        print(f"replay restart at {fired[0]:,} of {N_REPLAY:,}, {downtime}s down: {outcome}")
        assert restartable.running()
        if result is not None:
            seqs = result.frame["seq"]
            assert len(seqs) == N_REPLAY and seqs.is_unique and seqs.is_monotonic_increasing
            assert seqs.iloc[0] == 1 and seqs.iloc[-1] == N_REPLAY  # no gap: unique, ordered, 1..N
            assert result.frame["i"].iloc[-1] == N_REPLAY - 1 and result.frame["i"].is_unique
            assert not result.interrupted and not result.timed_out
            assert result.bulk == settings().bulk_replay  # the reader this run tests (JSMAGIC_BULK_REPLAY)
        consumers, subs = consumers_and_subs(ctx, "REPLAY")
        assert consumers == 0
        assert subs == subs_before
        assert ctx.background == {}


# ---- KV watch across a restart, while it is still catching up -------------------------------------


def value_of(kernel, expr):
    res = kernel.run(f"import json as _j; print(_j.dumps({expr}, default=str))")
    return json.loads(res.stdout.strip().splitlines()[-1])


def wait_for(kernel, expr, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value_of(kernel, expr):
            return
        kernel.drain_iopub(0.2)
    raise AssertionError(f"never true: {expr} (last: {value_of(kernel, 'len(w.events)')})")


async def kv_writes(url: str, bucket: str, items, deletes=()) -> None:
    """Pipelined puts (and deletes) from another process than the kernel."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    futs = [await js.publish_async(f"$KV.{bucket}.{k}", str(v).encode()) for k, v in items]
    await asyncio.gather(*futs)
    kv = await js.key_value(bucket)
    for key in deletes:
        await kv.delete(key)
    await nc.close()


@pytest.mark.kernel
def test_server_restart_during_kv_watch_catch_up(tmp_path):
    """Extends tests/test_kv_watch.py (restart while idle): here the restart hits a watch still
    reading a backlog, and keys are deleted before and after it."""
    backlog = 30_000
    with nats_server() as srv, KernelSession(env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, cwd=str(tmp_path)) as k:
        b = f"kvr_{uuid.uuid4().hex[:6]}"
        k.run(f"%load_ext jsmagic\n%js_connect {srv.url}\n%js_kv add {b} --history 64")
        asyncio.run(kv_writes(srv.url, b, [(f"k{i % 500}", i) for i in range(backlog)], deletes=["k1", "k2"]))
        k.run(f"w = %js_kv watch {b} --history\nhid = w.table._header.model_id")
        header_id = value_of(k, "hid")
        seen_before = value_of(k, "len(w.events)")
        srv.restart(downtime=1.5)
        k.drain_iopub(0.5)
        asyncio.run(kv_writes(srv.url, b, [(f"k{i % 500}", i) for i in range(backlog, backlog + 1000)], deletes=["k3"]))
        total = backlog + 2 + 1000 + 1
        wait_for(k, f"len(w.events) == {total}", timeout=60)
        k.drain_iopub(0.5)
        # no revision missed or repeated, across the restart
        assert value_of(k, f"list(w.events.revision) == list(range(1, {total + 1}))") is True
        assert value_of(k, "w.table.status") == "live"
        headers = [
            m["data"]["state"]["value"] for m in k.comm_log
            if m.get("comm_id") == header_id and "value" in m.get("data", {}).get("state", {})
        ]
        assert any("reconnecting" in h for h in headers), "the widget never showed the outage"
        assert "live" in headers[-1]
        # the final table equals the bucket
        k.run(f"v = %js_kv view {b}\nd = w.df[w.df.operation == 'PUT']")
        assert value_of(k, "len(v)") == 499  # k1 and k2 were put again after the restart; k3 deleted
        assert value_of(k, "d[['key','value','revision']].values.tolist() == v[['key','value','revision']].values.tolist()") is True
        assert value_of(k, "sorted(w.df[w.df.operation == 'DEL'].key)") == ["k3"]
        assert value_of(k, "sorted(w.events[w.events.operation == 'DEL'].key)") == ["k1", "k2", "k3"]
        print(f"kv watch restart: {seen_before:,} of {backlog + 2:,} events seen when the server stopped")
        k.run("w.stop()")
        deadline = time.monotonic() + 5  # the stop deletes the consumer right after the cell
        while (left := asyncio.run(consumer_count(srv.url, f"KV_{b}"))) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left == 0, "a watch consumer survived the restart and the stop"


async def consumer_count(url: str, stream: str) -> int:
    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info(stream)).state.consumer_count
    finally:
        await nc.close()
