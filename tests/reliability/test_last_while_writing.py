"""``--last`` and ``--last-per-subject`` while another client writes: nothing the consumer calls "last" is cut.

The end bound used to be the stream's last sequence read *before* the consumer existed;
the consumer takes its "last" messages when it is created, later.  With a plain nats-py
client publishing all along, ``--last`` came back with 0 rows in most tries and
``--last-per-subject`` lost 77–351 of 2,000 subjects, on both readers, without a word.

What a user checks, against plain nats-py: every subject is there once, and each row is at
least as new as that subject's last message seen before the read began (the publisher may
have added newer ones since: those are allowed, never older ones).
"""

from __future__ import annotations

import asyncio
import uuid

import nats
import pytest

from jsmagic.core.registry import context
from jsmagic.reading.reader import Selection, replay
from jsmagic.testing import BusyWriter

SUBJECTS = 2_000
TRIES = 3


async def _setup(url: str, stream: str, prefix: str) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{prefix}.>"])
        for i in range(SUBJECTS):
            await nc.publish(f"{prefix}.{i}", b'{"first":1}')
        await nc.flush()
        while (await js.stream_info(stream)).state.messages < SUBJECTS:
            await asyncio.sleep(0.01)
    finally:
        await nc.close()


async def _lasts(url: str, stream: str, prefix: str) -> dict[str, int]:
    """Each subject's last sequence, by plain nats-py (one get per subject)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        return {f"{prefix}.{i}": (await js.get_last_msg(stream, f"{prefix}.{i}")).seq for i in range(SUBJECTS)}
    finally:
        await nc.close()


async def _last_seq(url: str, stream: str) -> int:
    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info(stream)).state.last_seq
    finally:
        await nc.close()


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "nats-py"])
def test_last_per_subject_while_another_client_writes_has_every_subject(shell, server, bulk):
    ctx = context()
    for _ in range(TRIES):
        stream, prefix = f"LPS{uuid.uuid4().hex[:6].upper()}", f"lps{uuid.uuid4().hex[:6]}"
        asyncio.run(_setup(server.url, stream, prefix))
        with BusyWriter(server.url, lambda k: f"{prefix}.{k * 7919 % SUBJECTS}", jetstream=False,
                        payload=lambda k: b'{"busy":1}'):
            before = asyncio.run(_lasts(server.url, stream, prefix))
            result = ctx.run(replay(Selection(stream, deliver="last_per_subject", bulk=bulk, timeout=10)))
        df = result.frame
        assert not result.timed_out, result.notes
        missing = set(before) - set(df["subject"])
        assert not missing, f"{len(missing)} of {SUBJECTS} subjects missing: {sorted(missing)[:5]} … ({result.notes})"
        assert df["subject"].is_unique and len(df) == SUBJECTS
        older = [(s, q, before[s]) for s, q in zip(df["subject"], df["seq"]) if q < before[s]]
        assert not older, f"rows older than the subject's last before the read: {older[:5]}"
        assert result.bulk == bulk


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "nats-py"])
def test_last_while_another_client_writes_is_one_row_at_least_that_new(shell, server, bulk):
    ctx = context()
    for _ in range(TRIES):
        stream, prefix = f"LST{uuid.uuid4().hex[:6].upper()}", f"lst{uuid.uuid4().hex[:6]}"
        asyncio.run(_setup(server.url, stream, prefix))
        with BusyWriter(server.url, lambda k: f"{prefix}.{k * 7919 % SUBJECTS}", jetstream=False,
                        payload=lambda k: b'{"busy":1}'):
            before = asyncio.run(_last_seq(server.url, stream))
            result = ctx.run(replay(Selection(stream, deliver="last", bulk=bulk, timeout=10)))
        df = result.frame
        assert len(df) == 1, f"--last gave {len(df)} rows while a client wrote ({result.notes})"
        assert int(df["seq"].iloc[0]) >= before
