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
import threading
import uuid

import nats
import pytest

from jsmagic.core.registry import context
from jsmagic.reading.reader import Selection, replay

SUBJECTS = 2_000
TRIES = 3


class Publisher:
    """A plain nats-py client in its own thread, publishing to random subjects of the stream until stopped."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url, self.prefix = url, prefix
        self.stop = threading.Event()
        self.started = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        nc = await nats.connect(self.url)
        try:
            k = 0
            while not self.stop.is_set():
                for _ in range(100):
                    k = (k * 1103515245 + 12345) % (1 << 31)
                    await nc.publish(f"{self.prefix}.{k % SUBJECTS}", b'{"busy":1}')
                    self.sent += 1
                await nc.flush()
                self.started.set()
                await asyncio.sleep(0.002)
        finally:
            await nc.close()

    def __enter__(self) -> "Publisher":
        self.thread.start()
        assert self.started.wait(10), "the publisher did not start"
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(10)


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
        with Publisher(server.url, prefix):
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
        with Publisher(server.url, prefix):
            before = asyncio.run(_last_seq(server.url, stream))
            result = ctx.run(replay(Selection(stream, deliver="last", bulk=bulk, timeout=10)))
        df = result.frame
        assert len(df) == 1, f"--last gave {len(df)} rows while a client wrote ({result.notes})"
        assert int(df["seq"].iloc[0]) >= before
