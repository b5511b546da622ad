"""%js_obj against a real server: buckets, chunked transfers, digests, the live watch."""

import base64
import hashlib
import io
import json
import os
import uuid

import pandas as pd
import psutil
import pytest
from IPython.core.error import UsageError

from jsmagic.core.errors import ForceRequiredError, InputError, JSMagicError, NotFoundError


@pytest.fixture
def bucket(shell):
    name = "b" + uuid.uuid4().hex[:8]
    shell.run_line_magic("js_obj", f"add {name} --description reports")
    return name


def nats_digest(path) -> str:
    """The object store's digest of a file, computed independently of jsmagic."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return "SHA-256=" + base64.urlsafe_b64encode(h.digest()).decode()


def test_bucket_add_ls_info_rm(shell, nc, bucket):
    df = shell.run_line_magic("js_obj", "ls")
    row = df.set_index("bucket").loc[bucket]
    assert row["objects"] == 0 and row["description"] == "reports"
    shell.user_ns["payload"] = b"hello"
    shell.run_line_magic("js_obj", f"put {bucket} --from payload --name a.txt")
    info = shell.run_line_magic("js_obj", f"info {bucket}")
    assert info["State"]["objects"] == 1
    with pytest.raises(ForceRequiredError, match=f"would delete bucket {bucket} with 1 object"):
        shell.run_line_magic("js_obj", f"rm {bucket}")
    _client, js, run = nc
    assert run(js.stream_info(f"OBJ_{bucket}")).state.messages == 2  # chunk + meta, untouched
    shell.run_line_magic("js_obj", f"rm {bucket} --force")
    assert bucket not in shell.run_line_magic("js_obj", "ls")["bucket"].tolist()


def test_put_file_get_bytes_and_file_ls_rm(shell, nc, bucket, tmp_path):
    src = tmp_path / "report.pdf"
    src.write_bytes(os.urandom(300_000))  # 3 chunks
    row = shell.run_line_magic("js_obj", f"put {bucket} {src} --name reports/2026.pdf --description yearly")
    assert row["size"] == 300_000 and row["chunks"] == 3 and row["digest"] == nats_digest(src)

    data = shell.run_line_magic("js_obj", f"get {bucket} reports/2026.pdf")
    assert data == src.read_bytes()
    out = shell.run_line_magic("js_obj", f"get {bucket} reports/2026.pdf --file {tmp_path / 'out.pdf'}")
    assert out.read_bytes() == src.read_bytes() and not (tmp_path / "out.pdf.part").exists()

    # another client (nats-py's own object store) reads what we wrote
    _client, js, run = nc
    theirs = run(run(js.object_store(bucket)).get("reports/2026.pdf"))
    assert theirs.data == src.read_bytes() and theirs.info.description == "yearly"

    df = shell.run_line_magic("js_obj", f"ls {bucket}")
    assert df[["name", "size", "chunks", "deleted"]].values.tolist() == [["reports/2026.pdf", 300_000, 3, False]]
    assert df["modified"].notna().all()

    with pytest.raises(ForceRequiredError, match="would delete object reports/2026.pdf"):
        shell.run_line_magic("js_obj", f"rm {bucket} reports/2026.pdf")
    shell.run_line_magic("js_obj", f"rm {bucket} reports/2026.pdf --force")
    assert shell.run_line_magic("js_obj", f"ls {bucket}").empty
    deleted = shell.run_line_magic("js_obj", f"ls {bucket} --deleted")
    assert deleted["deleted"].tolist() == [True]
    assert run(js.stream_info(f"OBJ_{bucket}")).state.messages == 1  # only the delete marker: chunks purged


def test_put_from_variables(shell, bucket):
    frame = pd.DataFrame({"sku": ["a", "b"], "qty": [1, 2]})
    shell.user_ns.update(raw=b"\x00\x01", text="héllo", frame=frame)
    shell.run_line_magic("js_obj", f"put {bucket} --from raw --name raw.bin")
    shell.run_line_magic("js_obj", f"put {bucket} --from text --name t.txt")
    shell.run_line_magic("js_obj", f"put {bucket} --from frame --name frame.csv")
    assert shell.run_line_magic("js_obj", f"get {bucket} raw.bin") == b"\x00\x01"
    assert shell.run_line_magic("js_obj", f"get {bucket} t.txt").decode() == "héllo"
    back = pd.read_csv(io.BytesIO(shell.run_line_magic("js_obj", f"get {bucket} frame.csv")))
    pd.testing.assert_frame_equal(back, frame)
    with pytest.raises(InputError, match="no variable"):
        shell.run_line_magic("js_obj", f"put {bucket} --from nothing_here --name x")


def test_replacing_an_object_removes_the_old_chunks(shell, nc, bucket):
    shell.user_ns.update(v1=b"1" * 200_000, v2=b"2" * 10)
    shell.run_line_magic("js_obj", f"put {bucket} --from v1 --name same")
    shell.run_line_magic("js_obj", f"put {bucket} --from v2 --name same")
    assert shell.run_line_magic("js_obj", f"get {bucket} same") == b"2" * 10
    _client, js, run = nc
    assert run(js.stream_info(f"OBJ_{bucket}")).state.messages == 2  # one chunk + one meta


def test_50mb_round_trip_matching_digest_bounded_memory(shell, bucket, tmp_path):
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        for _ in range(50):
            f.write(os.urandom(1 << 20))
    proc = psutil.Process()
    before = proc.memory_info().rss
    row = shell.run_line_magic("js_obj", f"put {bucket} {src}")
    after_put = proc.memory_info().rss
    out = shell.run_line_magic("js_obj", f"get {bucket} big.bin --file {tmp_path / 'copy.bin'}")
    after_get = proc.memory_info().rss
    assert row["size"] == 50 << 20 and row["digest"] == nats_digest(src) == nats_digest(out)
    growth = max(after_put, after_get) - before
    assert growth < 20 << 20, f"RSS grew {growth / 2**20:.1f} MiB for a 50 MiB transfer"


def test_get_refuses_an_object_whose_digest_does_not_match(shell, nc, bucket, tmp_path):
    shell.user_ns["good"] = b"x" * 1000
    shell.run_line_magic("js_obj", f"put {bucket} --from good --name doc")
    # tamper: rewrite the meta message with another digest (as a faulty writer would)
    _client, js, run = nc
    meta_subject = f"$O.{bucket}.M." + base64.urlsafe_b64encode(b"doc").decode()
    meta = json.loads(run(js.get_last_msg(f"OBJ_{bucket}", meta_subject)).data)
    meta["digest"] = "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha256(b"other").digest()).decode()
    run(js.publish(meta_subject, json.dumps(meta).encode(), headers={"Nats-Rollup": "sub"}))
    target = tmp_path / "doc"
    with pytest.raises(JSMagicError, match="failed verification"):
        shell.run_line_magic("js_obj", f"get {bucket} doc --file {target}")
    assert not target.exists() and not (tmp_path / "doc.part").exists()


def test_unknown_names_did_you_mean(shell, bucket):
    shell.user_ns["v"] = b"1"
    shell.run_line_magic("js_obj", f"put {bucket} --from v --name report.csv")
    with pytest.raises(NotFoundError, match="did you mean 'report.csv'"):
        shell.run_line_magic("js_obj", f"get {bucket} reprot.csv")
    with pytest.raises(NotFoundError, match=f"did you mean '{bucket}'"):
        shell.run_line_magic("js_obj", f"ls {bucket[:-1]}")


@pytest.mark.kernel
def test_watch_updates_while_idle_and_stops_cleanly(kernel, server):
    bucket = "w" + uuid.uuid4().hex[:8]
    tasks = ("import asyncio\n"
             "len([t for t in asyncio.all_tasks() if t.get_name().startswith('jsmagic:obj watch') and not t.done()])")
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}\n%js_obj add {bucket}")
    kernel.run(f"%js_obj put {bucket} --from __name__ --name first")
    res = kernel.run(f"w = %js_obj watch {bucket}")
    assert res.comm, "the watch displays a widget"
    assert kernel.run(tasks).result == "1"
    kernel.run(f"%js_obj put {bucket} --from __name__ --name second")
    kernel.drain_iopub(0.5)  # idle: the watch keeps updating
    assert kernel.run("sorted(w.df['name'])").result == "['first', 'second']"
    kernel.run(f"%js_obj rm {bucket} first --force")
    kernel.drain_iopub(0.5)
    assert kernel.run("sorted(w.df['name'])").result == "['second']"
    kernel.run("w.stop()\nawait asyncio.sleep(0.2)")
    assert kernel.run(tasks).result == "0"
    assert "stopped" in kernel.run("w").result
    # a second watch is ended by %js_close
    kernel.run(f"w2 = %js_obj watch {bucket}")
    assert kernel.run(tasks).result == "1"
    kernel.run("%js_close")
    assert kernel.run(tasks).result == "0"


def test_big_transfers_show_progress(shell, bucket, tmp_path, monkeypatch, capsys):
    from jsmagic.core.config import settings

    monkeypatch.setattr(settings(), "progress_after", 0.001)
    src = tmp_path / "five.bin"
    src.write_bytes(os.urandom(5 << 20))
    shell.run_line_magic("js_obj", f"put {bucket} {src}")
    shell.run_line_magic("js_obj", f"get {bucket} five.bin --file {tmp_path / 'back.bin'}")
    err = capsys.readouterr().err
    assert "put five.bin:" in err and "get five.bin:" in err and "of 5.0 MiB" in err and "done" in err


def test_rm_says_what_it_deleted_and_keeps_it_under_o(shell, bucket, capsys):
    shell.user_ns["blob"] = b"z" * 1000
    shell.run_line_magic("js_obj", f"put {bucket} --from blob --name doc")
    capsys.readouterr()
    assert shell.run_line_magic("js_obj", f"rm {bucket} doc --force -o removed") is None
    assert capsys.readouterr().out == f"Deleted object doc (1000 B, 1 chunk) from bucket {bucket}.\n"
    removed = shell.user_ns["removed"]
    assert (removed.name, removed.bytes, removed.chunks) == ("doc", 1000, 1)
    shell.run_line_magic("js_obj", f"rm {bucket} --force")
    assert capsys.readouterr().out.startswith(f"Deleted bucket {bucket} with 0 objects (")  # the delete marker's bytes


def test_get_writes_a_file_with_file_and_output_names_a_variable(shell, bucket, tmp_path):
    shell.user_ns["blob"] = b"abc"
    shell.run_line_magic("js_obj", f"put {bucket} --from blob --name doc")
    assert shell.run_line_magic("js_obj", f"get {bucket} doc -o data") == b"abc"
    assert shell.user_ns["data"] == b"abc"
    target = tmp_path / "doc.bin"
    with pytest.raises(UsageError, match="--file PATH"):  # natscli's --output FILE: refused, nothing written
        shell.run_line_magic("js_obj", f"get {bucket} doc --output {target}")
    assert not target.exists()
    assert shell.run_line_magic("js_obj", f"get {bucket} doc --file {target}") == target
    assert target.read_bytes() == b"abc"
    assert "--file PATH write to PATH instead of returning bytes (natscli: --output)" in " ".join(
        shell.find_line_magic("js_obj").__doc__.split())


def test_every_core_verb_goes_to_the_context_it_is_given(shell, second, tmp_path):
    """``ctx=`` routes each verb to that connection; figures are plain numbers, progress a callback."""
    from jsmagic.admin import objects, objtransfer

    run, b = second.run, "routed"
    status = run(objects.add_bucket(b, description="elsewhere", ttl="1h", ctx=second))
    assert (status.ttl, status.objects, status.max_bytes, status.stream) == (3600, 0, -1, f"OBJ_{b}")
    assert run(objects.bucket_names(ctx=second)) == [b] and b not in run(objects.bucket_names())
    with pytest.raises(NotFoundError):
        shell.run_line_magic("js_obj", f"ls {b}")
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(300_000))
    calls = []
    row = run(objtransfer.put_file(b, src, progress=lambda done, total: calls.append((done, total)), ctx=second))
    assert row["size"] == 300_000 and row["digest"] == nats_digest(src)
    assert calls == [(131072, 300_000), (262144, 300_000), (300_000, 300_000)]
    calls.clear()
    out = run(objtransfer.get(b, "src.bin", tmp_path / "back.bin", progress=lambda *a: calls.append(a), ctx=second))
    assert out.read_bytes() == src.read_bytes() and calls[-1] == (300_000, 300_000)
    assert run(objects.list_objects(b, ctx=second))["name"].tolist() == ["src.bin"]
    listed = run(objects.list_buckets(ctx=second)).set_index("bucket").loc[b]
    assert (listed["objects"], listed["ttl"], listed["description"]) == (1, 3600, "elsewhere") and listed["bytes"] > 300_000
    assert run(objects.object_info(b, "src.bin", ctx=second)).chunks == 3
    assert run(objects.remove_object(b, "src.bin", force=True, ctx=second)).bytes == 300_000
    assert run(objects.remove_bucket(b, force=True, ctx=second)).objects == 0
    assert run(objects.bucket_names(ctx=second)) == []


def test_the_core_watch_lives_on_its_context_and_stops_with_it(shell, second):
    import asyncio

    from jsmagic.admin import objects, objtransfer
    from jsmagic.admin.objwatch import ObjectStoreWatcher

    run, seen = second.run, []
    run(objects.add_bucket("watched", ctx=second))
    run(objtransfer.put("watched", io.BytesIO(b"1"), "first", ctx=second))
    w = run(ObjectStoreWatcher("watched", on_row=lambda name, row: seen.append((name, row is None)), ctx=second).start())
    assert [e.name.split("#")[0] for e in second.background.values()] == ["obj watch watched"]

    async def changes():
        await objtransfer.put("watched", io.BytesIO(b"22"), "second", ctx=second)
        await objects.remove_object("watched", "first", force=True, ctx=second)
        while w.events < 3:
            await asyncio.sleep(0.02)

    run(asyncio.wait_for(changes(), 10))
    assert seen == [("first", False), ("second", False), ("first", True)]
    assert w.df[["name", "size"]].values.tolist() == [["second", 2]]
    run(second.close())  # the connection's close ends its watch
    assert not w.running


def test_an_object_got_into_memory_is_held_once(second, tmp_path):
    """``%js_obj get B NAME`` without a file: the bytes returned are the only copy (bytes(bytearray) held two)."""
    import tracemalloc

    from jsmagic.admin import objects, objtransfer

    run, size = second.run, 32 << 20
    run(objects.add_bucket("once", ctx=second))
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(size))
    run(objtransfer.put_file("once", src, ctx=second))
    tracemalloc.start()
    try:
        data = run(objtransfer.get("once", "src.bin", ctx=second))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert hashlib.sha256(data).digest() == hashlib.sha256(src.read_bytes()).digest()
    assert peak < 1.5 * size, f"peak {peak / 2**20:.0f} MiB for a {size >> 20} MiB object"
