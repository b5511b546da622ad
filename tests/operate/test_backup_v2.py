"""The 2.15 backup format: the server's new snapshot archive, kept as natscli keeps it (``stream.arc.s2``).

nats-server 2.15 sends its snapshot as an S2-compressed archive that starts with
``NATSARC`` (older servers sent a tar); jsm.go (natscli) names that file ``stream.arc.s2``
and a tar ``stream.tar.s2``, and restores either.  The test reads the file's first bytes
itself, restores both names, and compares the restored messages with plain nats-py.
"""

from __future__ import annotations

import shutil
import uuid

import pytest

from jsmagic.core.errors import InputError


def test_a_215_snapshot_is_kept_as_stream_arc_s2_and_restores_under_either_name(shell, nc, tmp_path):
    _client, js, run = nc
    name = "V" + uuid.uuid4().hex[:6].upper()
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    for i in range(50):
        run(js.publish(f"{name.lower()}.x", b"payload %d" % i))
    before = [(m.seq, m.data) for m in (run(js.get_msg(name, s)) for s in range(1, 51))]

    done = shell.run_line_magic("js_stream", f"backup {name} {tmp_path / 'b'}")
    files = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert files == ["backup.json", "stream.arc.s2"] and done.data_file == "stream.arc.s2"
    head = (tmp_path / "b" / "stream.arc.s2").read_bytes()[:64]
    assert head.startswith(b"\xff\x06\x00\x00S2sTwO") and b"NATSARC" in head  # what the server sent, as sent

    run(js.delete_stream(name))
    back = shell.run_line_magic("js_stream", f"restore {tmp_path / 'b'}")
    assert back.messages == 50 and back.data_file == "stream.arc.s2"
    assert [(m.seq, m.data) for m in (run(js.get_msg(name, s)) for s in range(1, 51))] == before

    legacy = tmp_path / "legacy"  # a backup taken by an older jsmagic: the same bytes under the tar name
    shutil.copytree(tmp_path / "b", legacy)
    (legacy / "stream.arc.s2").rename(legacy / "stream.tar.s2")
    run(js.delete_stream(name))
    assert shell.run_line_magic("js_stream", f"restore {legacy}").messages == 50
    assert run(js.stream_info(name)).state.messages == 50

    shutil.copy(tmp_path / "b" / "stream.arc.s2", legacy / "stream.arc.s2")  # both names: which is it?
    with pytest.raises(InputError, match="both stream.arc.s2 and stream.tar.s2"):
        shell.run_line_magic("js_stream", f"restore {legacy} --name {name}2")
    with pytest.raises(InputError, match="already holds a backup"):
        shell.run_line_magic("js_stream", f"backup {name} {legacy}")


def test_the_format_is_read_from_the_data_not_guessed():
    from jsmagic.admin.backup import is_archive

    stream_id = b"\xff\x06\x00\x00S2sTwO"
    stored = stream_id + b"\x01\x0c\x00\x00" + b"\x00" * 4 + b"NATSARC1\n"  # an uncompressed chunk
    tar = stream_id + b"\x01\x0c\x00\x00" + b"\x00" * 4 + b"msgs/1.blk\x00\x00"
    assert is_archive(stored) and not is_archive(tar) and not is_archive(b"") and not is_archive(b"NATSARC1")


def test_the_backup_line_and_result_name_the_snapshot_file_and_its_format(server, shell, nc, tmp_path, capsys):
    import asyncio

    import jsmagic

    _client, js, run = nc
    name = "F" + uuid.uuid4().hex[:6].upper()
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    for i in range(5):
        run(js.publish(f"{name.lower()}.x", b"m%d" % i))

    capsys.readouterr()
    shell.run_line_magic("js_stream", f"backup {name} {tmp_path / 'b'}")
    line = capsys.readouterr().out.strip().splitlines()[-1]
    [data] = [p for p in (tmp_path / "b").iterdir() if p.name != "backup.json"]  # the file on disk
    archive = b"NATSARC" in data.read_bytes()[:64]
    assert data.name == ("stream.arc.s2" if archive else "stream.tar.s2")
    kind = "snapshot archive, server 2.15+" if archive else "tar snapshot, servers before 2.15"
    assert line.endswith(f"to {data} ({kind})"), line

    async def api_backup():  # the API's result says the same
        ctx = await jsmagic.connect(server.url, alias="bk")
        try:
            return await jsmagic.streams.backup(name, str(tmp_path / "api"), ctx="bk")
        finally:
            await jsmagic.close(ctx=ctx)

    done = asyncio.run(api_backup())
    [api_data] = [p for p in (tmp_path / "api").iterdir() if p.name != "backup.json"]
    assert done.data_file == api_data.name == data.name and done.format == kind
    assert f"data_file={data.name!r}" in repr(done) and f"format={kind!r}" in repr(done), repr(done)

    run(js.delete_stream(name))
    capsys.readouterr()
    shell.run_line_magic("js_stream", f"restore {tmp_path / 'b'}")
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.endswith(f"from {data} ({kind})"), line
    assert run(js.stream_info(name)).state.messages == 5

