"""Backup → rm → restore gives the identical stream: same sequences (gaps too), headers, times, consumers."""

import json
import os
import uuid

import pytest

from jsmagic.core.errors import InputError


def messages(nc, name):
    """Every stored message as (seq, subject, data, headers, time), read with direct STREAM.MSG.GET."""
    _client, js, run = nc
    info = run(js.stream_info(name))
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            m = run(js.get_msg(name, seq))
        except Exception:
            continue  # a deleted sequence: a gap
        out.append((m.seq, m.subject, m.data, dict(m.headers or {}), m.time))
    return out


def test_backup_rm_restore_is_identical(shell, nc, tmp_path):
    name = "B" + uuid.uuid4().hex[:6].upper()
    client, js, run = nc
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name.lower()}.>' --max-age 7d")
    for i in range(30):
        run(js.publish(f"{name.lower()}.{'ab'[i % 2]}", json.dumps({"i": i}).encode(), headers={"n": str(i)}))
    for seq in (1, 2, 7, 30):  # gaps at the start, the middle and the end
        run(js.delete_msg(name, seq))
    shell.run_line_magic("js_consumer", f"add {name} worker --ack explicit")
    shell.run_line_magic("js_consumer", f"next {name} worker --count 4")
    before_msgs = messages(nc, name)
    before = run(js.stream_info(name)).state
    worker_before = run(js.consumer_info(name, "worker"))

    shell.run_line_magic("js_stream", f"backup {name} {tmp_path / 'b'}")
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["backup.json", "stream.arc.s2"]  # natscli's layout (2.15 archive)
    with pytest.raises(InputError, match="already holds a backup"):
        shell.run_line_magic("js_stream", f"backup {name} {tmp_path / 'b'}")
    with pytest.raises(InputError, match="exists"):
        shell.run_line_magic("js_stream", f"restore {tmp_path / 'b'}")

    shell.run_line_magic("js_stream", f"rm {name} --force")
    done = shell.run_line_magic("js_stream", f"restore {tmp_path / 'b'}")
    assert done.messages == 26 and done.last_seq == 30  # the deleted last message keeps its sequence

    after = run(js.stream_info(name)).state
    assert (after.messages, after.first_seq, after.last_seq, after.num_deleted) == \
           (before.messages, before.first_seq, before.last_seq, before.num_deleted)
    assert messages(nc, name) == before_msgs  # seqs, subjects, payloads, headers and times
    worker = run(js.consumer_info(name, "worker"))
    assert worker.ack_floor.stream_seq == worker_before.ack_floor.stream_seq
    assert worker.num_pending == worker_before.num_pending
    assert run(js.publish(f"{name.lower()}.a", b"next")).seq == 31  # the stream goes on where it was

    shell.run_line_magic("js_stream", f"restore {tmp_path / 'b'} --name {name}COPY --subjects 'copy.{name}.>'")
    assert run(js.stream_info(f"{name}COPY")).state.last_seq == 30


def test_restore_of_a_directory_that_is_no_backup(shell, tmp_path):
    with pytest.raises(InputError, match="not a stream backup"):
        shell.run_line_magic("js_stream", f"restore {tmp_path}")


def test_interrupted_backup_leaves_no_half_backup(shell, nc, tmp_path):
    import asyncio

    from jsmagic.admin import backup
    from jsmagic.core.registry import context

    name = "I" + uuid.uuid4().hex[:6].upper()
    _client, js, run = nc
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name.lower()}'")
    for i in range(400):
        run(js.publish(name.lower(), os.urandom(1000)))  # incompressible: several chunks
    seen = []

    def interrupt_after_first_chunk(done, total):
        seen.append(done)
        asyncio.current_task().cancel()  # what a kernel interrupt does to the running magic

    with pytest.raises(asyncio.CancelledError):
        context().run(backup.backup(name, str(tmp_path / "half"), progress=interrupt_after_first_chunk))
    assert seen and seen[0] < 400_000
    assert list((tmp_path / "half").iterdir()) == []  # no stream.tar.s2, no backup.json: not mistaken for a backup
    done = context().run(backup.backup(name, str(tmp_path / "full")))  # and the next try works
    assert done.messages == 400


def test_interrupted_restore_creates_nothing_and_a_retry_works(shell, nc, tmp_path):
    import asyncio

    from jsmagic.admin import backup
    from jsmagic.core.registry import context

    name = "R" + uuid.uuid4().hex[:6].upper()
    _client, js, run = nc
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name.lower()}'")
    for i in range(400):
        run(js.publish(name.lower(), os.urandom(1000)))  # incompressible: several chunks
    context().run(backup.backup(name, str(tmp_path / "b")))
    shell.run_line_magic("js_stream", f"rm {name} --force")

    def interrupt(done, total):
        asyncio.current_task().cancel()

    with pytest.raises(asyncio.CancelledError):
        context().run(backup.restore(str(tmp_path / "b"), progress=interrupt))
    assert name not in set(shell.run_line_magic("js_stream", "ls")["name"])
    done = context().run(backup.restore(str(tmp_path / "b")))
    assert (done.messages, done.last_seq) == (400, 400)
