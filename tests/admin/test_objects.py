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
    out = shell.run_line_magic("js_obj", f"get {bucket} reports/2026.pdf -O {tmp_path / 'out.pdf'}")
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
    out = shell.run_line_magic("js_obj", f"get {bucket} big.bin -O {tmp_path / 'copy.bin'}")
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
        shell.run_line_magic("js_obj", f"get {bucket} doc -O {target}")
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
    shell.run_line_magic("js_obj", f"get {bucket} five.bin -O {tmp_path / 'back.bin'}")
    err = capsys.readouterr().err
    assert "put five.bin:" in err and "get five.bin:" in err and "of 5.0 MiB" in err and "done" in err
