"""A replay whose consumer lands on a replica that is still catching up.

An R3 stream is filled while one follower is stopped (SIGSTOP); right after it resumes, it
holds fewer messages than the leader for a moment, and an R1 consumer placed on it counts
only those (0 or a few thousand of 200,000 were seen).  A replay that trusted that count
returned short without a word: ``test_kill_stream_leader_mid_replay[follower]`` did, through
the member a previous test had just restarted.  What a user checks: every message comes back,
and the summary says the replay waited.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import uuid
from typing import Any

import nats
import nats.errors
import nats.js.errors
import orjson
import pandas as pd
import pytest

from jsmagic import testing as jt
from jsmagic.core.registry import context
from jsmagic.reading.reader import Selection, replay
from jsmagic.reading.replicas import pending_seen
from jsmagic.testing import nats_cluster

pytestmark = pytest.mark.slow

N = 200_000


@pytest.fixture(scope="module")
def cluster():
    with nats_cluster(3) as c:
        yield c


def fill_with_a_follower_stopped(cluster, streams: list[str], n: int = N, subject=None, create=None):
    """R3 ``streams`` filled with ``n`` messages each while one follower is stopped (SIGSTOP; still stopped after).

    ``subject(prefix, i)`` names message i (default: ``<prefix>.x`` for all); ``create(js, stream)``
    makes each stream (default: one on ``<prefix>.>``, ``prefix`` the stream's name in lower case).
    """
    subject = subject or (lambda p, i: f"{p}.x")
    create = create or (lambda js, stream: js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"], num_replicas=3))

    async def go():
        nc = await nats.connect(cluster.urls)
        js = nc.jetstream()
        for stream in streams:
            await create(js, stream)
        leaders = {(await js.stream_info(s)).cluster.leader for s in streams}
        await nc.close()
        follower = next(s for s in cluster.servers if s.server_name not in leaders)
        nc = await nats.connect([s.url for s in cluster.servers if s is not follower])
        follower.proc.send_signal(signal.SIGSTOP)
        try:
            for stream in streams:
                await jt.fill_stream(nc, stream, n, lambda i, p=stream.lower(): subject(p, i), chunk=20_000, timeout=60)
        except BaseException:
            follower.proc.send_signal(signal.SIGCONT)
            raise
        finally:
            await nc.close()
        return follower

    return asyncio.run(go())


async def raw_consumer(js, stream: str, name: str):
    """A plain nats-py consumer create; None when the cluster does not make it now.

    Right after the follower resumes, the cluster may answer 503 "temporarily unavailable"
    or not answer at all (a fresh clone's quiet run failed here, in this helper, not in a
    replay): this probe then simply has no consumer.
    """
    try:
        return await js.add_consumer(stream, name=name, ack_policy="none", mem_storage=True, num_replicas=1,
                                     inactive_threshold=60.0, timeout=20)
    except (nats.js.errors.ServiceUnavailableError, nats.errors.TimeoutError):
        return None


async def lagging_consumer(js, stream: str, follower):
    """Create consumers (sent at once) until one lands on ``follower`` while it is behind:
    ``(its name, the pending count its create answered)``."""
    for attempt in range(5):
        names = [f"lag{attempt}_{k}" for k in range(8)]
        infos = [ci for ci in await asyncio.gather(*(raw_consumer(js, stream, n) for n in names)) if ci is not None]
        short = [ci for ci in infos if ci.cluster.leader == follower.server_name and ci.num_pending < N]
        for ci in infos:  # the others go (a busy cluster may not answer: their inactive threshold ends them)
            if not short or ci.name != short[0].name:
                with contextlib.suppress(nats.errors.Error):
                    await js.delete_consumer(stream, ci.name)
        if short:
            return short[0].name, short[0].num_pending
    return None, None  # the follower caught up first


def test_replays_right_after_a_follower_resumes_have_every_message(cluster):
    exercised = 0  # replays that found their consumer on the follower still behind, and waited
    for _ in range(3):  # a round whose consumers all missed the lagging follower proves nothing: again
        stream = f"LG{uuid.uuid4().hex[:6].upper()}"
        follower = fill_with_a_follower_stopped(cluster, [stream])
        with jt.connected_shell(cluster.url):
            ctx = context()

            async def at_once():
                follower.proc.send_signal(signal.SIGCONT)
                replays = [replay(Selection(stream, bulk=k % 2 == 0, timeout=20)) for k in range(4)]  # both readers
                return await asyncio.gather(lagging_consumer(ctx.js, stream, follower), *replays)

            (name, reported), *results = ctx.run(at_once())
            # wherever each consumer landed, every replay has every message, and none says it is short
            for result in results:
                assert len(result.frame) == N and result.frame["seq"].is_monotonic_increasing, result.notes
                assert not any(n.startswith("SHORT") for n in result.notes)
            waited = [n for r in results for n in r.notes if n.startswith("waited for")]
            print(f"replays that waited for {follower.server_name}: {len(waited)}; a raw consumer counted {reported}")
            exercised += len(waited)
            if name is None:
                continue
            # the guard itself, on a consumer known to have counted short on the lagging follower
            assert reported < N  # what any client reading this consumer would have trusted
            info = ctx.run(ctx.js.stream_info(stream))
            notes: list[str] = []
            assert ctx.run(pending_seen(ctx, Selection(stream), info, name, reported, notes)) == N
            assert notes and f"its consumer saw {reported:,} of {N:,}" in notes[0]
            assert follower.server_name in notes[0]
            with contextlib.suppress(nats.errors.Error):
                ctx.run(ctx.js.delete_consumer(stream, name))
            return
    # on a quiet machine the follower may catch up before any raw probe lands on it (a fresh clone's
    # `make test` failed here): the replays that waited for it exercised the guard all the same.  When
    # no consumer landed on it while it was behind (placement is the server's; seen once under two CPU
    # hogs), every replay above was still checked complete: the guard's own check is what is skipped
    if not exercised:
        pytest.skip("in 3 rounds no consumer landed on the follower while it was behind (every replay was complete)")


def stopped_and_known(cluster, prefix: str, n: int, subject, truth, create=None) -> tuple[str, str, Any, Any]:
    """A new stream ``<prefix><hex>`` filled with a follower stopped (:func:`fill_with_a_follower_stopped`), and
    ``truth(urls, stream, p)``'s answer, asked of the other servers by plain nats-py before the follower resumes:
    ``(stream, p, follower, answer)``, ``p`` the stream's subject prefix."""
    stream = f"{prefix}{uuid.uuid4().hex[:6].upper()}"
    p = stream.lower()
    follower = fill_with_a_follower_stopped(cluster, [stream], n, subject, create)
    try:
        return stream, p, follower, asyncio.run(truth([s.url for s in cluster.servers if s is not follower], stream, p))
    except BaseException:
        follower.proc.send_signal(signal.SIGCONT)
        raise


def replays_as_it_resumes(cluster, follower, stream: str, cases: dict) -> list[tuple[str, Any, Any]]:
    """Each case's ``Selection`` keywords replayed by both readers at once, fired as ``follower`` resumes:
    ``[(where, want, result)]`` in the order of ``cases`` (``{case: (keywords, want)}``)."""
    with jt.connected_shell(cluster.url):
        ctx = context()

        async def at_once():
            follower.proc.send_signal(signal.SIGCONT)
            return await asyncio.gather(*(replay(Selection(stream, bulk=bulk, timeout=20, **kw))
                                          for kw, _ in cases.values() for bulk in (True, False)))

        results = iter(ctx.run(at_once()))
        return [(f"{case} ({'bulk' if bulk else 'nats-py'})", want, next(results))
                for case, (_, want) in cases.items() for bulk in (True, False)]


def calls_as_it_resumes(cluster, follower, call, n: int = 8) -> list:
    """``call(ctx)`` ``n`` times at once, fired as ``follower`` resumes: each outcome, a one-line error as its text."""
    from jsmagic.core.errors import JSMagicError

    with jt.connected_shell(cluster.url):
        ctx = context()

        async def one():
            try:
                return await call(ctx)
            except JSMagicError as e:
                return str(e)

        async def at_once():
            follower.proc.send_signal(signal.SIGCONT)
            return await asyncio.gather(*(one() for _ in range(n)))

        return ctx.run(at_once())


M = 60_000  # messages of the selection test (half on <p>.a, half on <p>.b, alternating)


async def since_and_start(urls: list[str], stream: str, p: str) -> tuple[dt.datetime, int]:
    """A time in the middle of ``stream`` and the first sequence at or after it, by plain nats-py (the leader answers)."""
    nc = await nats.connect(urls)
    try:
        api = f"$JS.API.STREAM.MSG.GET.{stream}"
        msg = orjson.loads((await nc.request(api, orjson.dumps({"seq": M // 2 + 1}), timeout=10)).data)["message"]
        when = pd.Timestamp(msg["time"]).to_pydatetime(warn=False)  # microseconds: the replay gets the same
        iso = when.isoformat().replace("+00:00", "Z")
        first = orjson.loads((await nc.request(api, orjson.dumps({"start_time": iso}), timeout=10)).data)["message"]
        return when, int(first["seq"])
    finally:
        await nc.close()


def test_filtered_and_start_at_replays_right_after_a_follower_resumes_have_every_message(cluster):
    """``-s``, several filters, ``--start-seq``, ``--since`` and a filter with a start: each has all it selects.

    Before, only a whole-stream replay was checked against the stream leader: these came
    back short in about 1 try of 3 (27,202 of 30,000), with nothing in the notes.
    """
    waited = 0
    for _ in range(3):
        stream, p, follower, (when, since_seq) = stopped_and_known(
            cluster, "LF", M, lambda p, i: f"{p}.{'ab'[i % 2]}", since_and_start)
        half = M // 2 + 1
        cases = {  # what each selects, counted by construction and by the leader's own answer above
            "-s a": (dict(subjects=[f"{p}.a"]), M // 2),
            "-s a -s b": (dict(subjects=[f"{p}.a", f"{p}.b"]), M),
            "--start-seq": (dict(deliver="start_seq", start_seq=half), M - half + 1),
            "--since": (dict(deliver="since", since=when), M - since_seq + 1),
            "-s b --start-seq": (dict(subjects=[f"{p}.b"], deliver="start_seq", start_seq=half), (M - half + 1) // 2),
        }
        for where, want, result in replays_as_it_resumes(cluster, follower, stream, cases):
            got = len(result.frame)
            assert got == want, f"{where}: {got:,} of {want:,} {result.notes}"
            assert result.frame["seq"].is_monotonic_increasing and result.frame["seq"].is_unique
            assert not any(n.startswith("SHORT") for n in result.notes), result.notes
            waited += any(n.startswith("waited for") for n in result.notes)
    print(f"replays that waited for a follower catching up: {waited}")


K = 50  # subjects of the last-message test (message i on <p>.s<i % K>)
L = 40_000  # its messages


async def lasts_and_until(urls: list[str], stream: str, p: str) -> tuple[dict[str, int], dt.datetime, int]:
    """By plain nats-py, from the stream leader (``STREAM.MSG.GET``): each subject's last sequence, a time
    in the middle of the stream (microseconds, as a replay takes it) and the last sequence stored at or before it."""
    nc = await nats.connect(urls)
    try:
        js = nc.jetstream()
        lasts = {f"{p}.s{k}": (await js.get_last_msg(stream, f"{p}.s{k}")).seq for k in range(K)}
        api = f"$JS.API.STREAM.MSG.GET.{stream}"
        msg = orjson.loads((await nc.request(api, orjson.dumps({"seq": L // 2}), timeout=10)).data)["message"]
        until = pd.Timestamp(msg["time"]).floor("us")
        after = (until + pd.Timedelta(1, "ns")).isoformat().replace("+00:00", "Z")
        first = orjson.loads((await nc.request(api, orjson.dumps({"start_time": after}), timeout=10)).data)["message"]
        return lasts, until.to_pydatetime(), int(first["seq"]) - 1
    finally:
        await nc.close()


def test_last_bounded_and_headers_only_replays_right_after_a_follower_resumes_are_right(cluster):
    """``--last``, ``--last-per-subject`` (with and without ``-s``), ``-n``, ``--end-seq``, ``--until`` and
    ``--headers-only``, fired as an R3 follower resumes: each returns exactly what the stream leader holds.

    A ``--last*`` consumer placed on a replica still catching up takes its "last" messages from
    what that replica holds: every subject is there, with older messages.  Compared with plain
    nats-py's answers from the stream leader, by sequence.
    """
    reread = 0
    for _ in range(3):
        stream, p, follower, (lasts, until, until_seq) = stopped_and_known(
            cluster, "LL", L, lambda p, i: f"{p}.s{i % K}", lasts_and_until)
        two = [f"{p}.s7", f"{p}.s8"]
        cases = {  # what each selects, by sequence, from the leader's answers above
            "--last": (dict(deliver="last"), [L]),
            "-s s7 --last": (dict(deliver="last", subjects=[f"{p}.s7"]), [lasts[f"{p}.s7"]]),
            "--last-per-subject": (dict(deliver="last_per_subject"), sorted(lasts.values())),
            "-s s7 -s s8 --last-per-subject": (dict(deliver="last_per_subject", subjects=two),
                                               sorted(lasts[s] for s in two)),
            "-n": (dict(count=25_000), list(range(1, 25_001))),
            "--end-seq": (dict(end_seq=30_000), list(range(1, 30_001))),
            "--until": (dict(until=until), list(range(1, until_seq + 1))),
            "--headers-only": (dict(headers_only=True), list(range(1, L + 1))),
        }
        for where, want, result in replays_as_it_resumes(cluster, follower, stream, cases):
            got = [int(s) for s in result.frame["seq"]]
            assert got == want, f"{where}: {len(got):,} rows, {got[:3]}…{got[-3:]}; want {want[:3]}…{want[-3:]} " \
                                f"{result.notes}"
            assert not any(n.startswith("SHORT") for n in result.notes), (where, result.notes)
            reread += any(n.startswith("read again") for n in result.notes)
    print(f"--last* replays read again after a replica catching up: {reread}")


def test_a_last_per_subject_scan_right_after_a_follower_resumes_is_current_or_fails(cluster):
    """The scans behind counters and schedules (``read_raw``, "last" per subject): never an older set in silence.

    Before, a scan whose consumer landed on the replica catching up handed over that replica's
    older "last" messages (what ``%js_counter`` or ``%js_schedule ls`` would have shown as current).
    Now it either has each subject's newest message, by the stream leader, or raises saying so.
    """
    from nats.js import api

    from jsmagic.admin.scan import read_raw

    stream, p, follower, (lasts, _, _) = stopped_and_known(cluster, "LS", L, lambda p, i: f"{p}.s{i % K}",
                                                           lasts_and_until)

    async def scan(ctx) -> list[int]:
        seqs: list[int] = []
        cfg = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT, filter_subject=f"{p}.>",
                                 ack_policy=api.AckPolicy.NONE, inactive_threshold=30.0, mem_storage=True,
                                 num_replicas=1)
        await read_raw(stream, cfg, lambda b: seqs.extend(int(s) for s in b.seq), ctx=ctx)
        return sorted(seqs)

    outcomes = calls_as_it_resumes(cluster, follower, scan)
    failed = [o for o in outcomes if isinstance(o, str)]
    print(f"scans that said a replica was catching up: {len(failed)} of {len(outcomes)}")
    for outcome in outcomes:
        if isinstance(outcome, str):  # loud: an older set (naming the leader's newest), or a lost consumer
            assert ("catching up" in outcome and f"seq {max(lasts.values()):,}" in outcome) or "ended short" in outcome, \
                outcome
        else:
            assert outcome == sorted(lasts.values()), f"{len(outcome)} rows, {outcome[:3]}…"


KEYS = 1_000  # keys of the KV test: 40 revisions each, all kept (history 64), so the stream holds all L messages


async def kv_truth(urls: list[str], stream: str, p: str) -> dict[str, int]:
    """Each key's revision by plain nats-py's KV (``kv.get``: the stream leader's ``STREAM.MSG.GET``)."""
    nc = await nats.connect(urls)
    try:
        kv = await nc.jetstream().key_value(stream.removeprefix("KV_"))
        return {f"k{k}": (await kv.get(f"k{k}")).revision for k in range(KEYS)}
    finally:
        await nc.close()


def test_kv_view_right_after_a_follower_resumes_has_every_key_at_its_newest_value(cluster):
    """``%js_kv view``/``keys`` on an R3 bucket as a member resumes: each key's newest value, or one line saying not.

    Before, the read's ordered consumer on the replica still catching up gave every key an
    older value, in silence (its consumer was not checked at all).
    """
    import nats.js.api

    from jsmagic.services import kv as kv_service

    async def bucket(js, stream):
        await js.create_key_value(nats.js.api.KeyValueConfig(bucket=stream.removeprefix("KV_"), history=64,
                                                             replicas=3))

    stream, _, follower, truth = stopped_and_known(
        cluster, "KV_LK", L, lambda p, i: f"$KV.{p[3:].upper()}.k{i % KEYS}", kv_truth, create=bucket)
    name = stream.removeprefix("KV_")
    outcomes = calls_as_it_resumes(cluster, follower, lambda ctx: kv_service.view(name, ctx=ctx))
    said = [o for o in outcomes if isinstance(o, str)]
    print(f"views that said a replica was catching up: {len(said)} of {len(outcomes)}")
    for outcome in outcomes:
        if isinstance(outcome, str):
            assert "catching up" in outcome, outcome
            continue
        got = {key: int(rev) for key, rev in zip(outcome["key"], outcome["revision"])}
        assert got == truth, f"{sum(got.get(k) != v for k, v in truth.items())} of {KEYS} keys differ"
