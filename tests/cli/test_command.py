"""``jsmagic export`` / ``jsmagic replay`` run as a scheduler runs them: a subprocess, a nats CLI context, exit codes.

What they write is compared with what plain nats-py reads from the server and with
``%js_consume``'s frame; a read that cannot return the whole selection (the stream purged
while it is read) exits non-zero.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nats
import pandas as pd
import pyarrow.parquet as pq
import pytest

from jsmagic.testing import nats_server

ROOT = Path(__file__).resolve().parents[2]


def jsmagic_cmd(*argv: str, env: dict, cwd: Path, **kw) -> subprocess.CompletedProcess:
    """``python -m jsmagic ARGV`` in a fresh process, as cron would run it (stdout/stderr are pipes)."""
    full = {**env, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "jsmagic", *argv], env=full, cwd=cwd, capture_output=True, text=True,
                          timeout=180, **kw)


def context_env(tmp_path: Path, url: str, name: str = "prod") -> dict:
    """An environment whose only connection setting is a selected nats CLI context file."""
    xdg = tmp_path / "xdg"
    (xdg / "nats" / "context").mkdir(parents=True)
    (xdg / "nats" / "context" / f"{name}.json").write_text(json.dumps({"url": url, "description": "scheduled"}))
    (xdg / "nats" / "context.txt").write_text(name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    env["XDG_CONFIG_HOME"] = str(xdg)
    return env


async def plain_read(url: str, stream: str) -> list[dict]:
    """Every message of ``stream`` by plain nats-py: seq, subject, time (ns), the decoded payload."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    info = await js.stream_info(stream)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(stream, seq)
        out.append({"seq": msg.seq, "subject": msg.subject, **json.loads(msg.data)})
    await nc.close()
    return out


@pytest.fixture(scope="module")
def orders(server):
    async def fill():
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(name="CLIORDERS", subjects=["cliorders.>"])
        for i in range(1, 1201):
            region = ("eu", "us", "ap")[i % 3]
            body = {"id": i, "amount": i * 7 % 500, "region": region}
            await js.publish(f"cliorders.{region}", json.dumps(body).encode(), headers={"trace-id": f"t{i}"})
        await nc.close()

    asyncio.run(fill())
    return "CLIORDERS"


def test_export_from_a_nats_context_equals_nats_py_and_js_consume(orders, server, shell, tmp_path):
    env = {**context_env(tmp_path, server.url), "PYTHONPATH": str(ROOT)}
    line = f"{sys.executable} -m jsmagic export {orders} --since 1d --to orders.parquet"  # as a crontab line runs it
    r = subprocess.run(["/bin/sh", "-c", line], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [r.stderr.strip()]  # one line, no progress bar (stderr is not a terminal)
    assert "1,200 messages of CLIORDERS (seq 1–1,200) written to " in r.stderr and "orders.parquet, " in r.stderr
    assert r.stdout == ""
    got = pq.read_table(tmp_path / "orders.parquet").to_pandas(maps_as_pydicts="strict")  # headers: a Parquet map

    plain = pd.DataFrame(asyncio.run(plain_read(server.url, orders)))
    assert got["seq"].tolist() == plain["seq"].tolist()
    for col in ("subject", "id", "amount", "region"):
        assert got[col].tolist() == plain[col].tolist(), col

    frame = pd.DataFrame(shell.run_line_magic("js_consume", f"{orders} --since 1d"))
    pd.testing.assert_frame_equal(got, frame)  # seq: uint64 in both (the read schema decides it)


def test_export_filters_and_partitions_like_the_magic(orders, server, shell, tmp_path):
    env = context_env(tmp_path, server.url)
    r = jsmagic_cmd("export", orders, "-s", "cliorders.eu", "--where", "amount > 250", "--to", "lake",
                    "--partition-by", "region", "--server", server.url, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = pq.read_table(tmp_path / "lake").to_pandas().sort_values("seq").reset_index(drop=True)
    frame = shell.run_line_magic("js_consume", f"{orders} -s cliorders.eu --where 'amount > 250'")
    assert got["seq"].tolist() == frame["seq"].tolist() and len(got) > 10
    assert set(got["region"].astype(str)) == {"eu"}
    assert os.listdir(tmp_path / "lake") == ["region=eu"]


def test_replay_writes_jsonl_csv_and_parquet(orders, server, tmp_path):
    env = context_env(tmp_path, server.url)
    plain = pd.DataFrame(asyncio.run(plain_read(server.url, orders)))
    r = jsmagic_cmd("replay", orders, "-n", "50", env=env, cwd=tmp_path)  # jsonl on stdout
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["seq"] for row in rows] == plain["seq"].tolist()[:50]
    assert [row["id"] for row in rows] == plain["id"].tolist()[:50]
    assert rows[0]["time"].endswith("+00:00") and len(rows[0]["time"].split(".")[1]) == 9 + 6  # nanoseconds
    r = jsmagic_cmd("replay", orders, "--start-seq", "101", "--end-seq", "300", "-o", "part.csv", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    csv = pd.read_csv(tmp_path / "part.csv")
    assert csv["seq"].tolist() == list(range(101, 301)) and csv["amount"].tolist() == plain["amount"].tolist()[100:300]
    r = jsmagic_cmd("replay", orders, "--last-per-subject", "--format", "parquet", "-o", "last.pq", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    last = pq.read_table(tmp_path / "last.pq").to_pandas()
    assert sorted(last["seq"].tolist()) == [1198, 1199, 1200]


def test_bad_input_is_one_line_and_a_nonzero_exit(orders, server, tmp_path):
    env = context_env(tmp_path, server.url)
    cases = [
        (("replay", "CLIORDRS"), 1, "unknown stream 'CLIORDRS'"),
        (("export", orders), 2, "the following arguments are required: --to"),
        (("replay", orders, "--since", "2h", "--start-seq", "3"), 1, "choose one of"),
        (("replay", orders, "--format", "parquet"), 1, "give -o FILE"),
        (("replay", orders, "--since", "yesterday-ish"), 1, "bad time"),
        (("export", orders, "--to", "x.parquet", "--server", "nats://127.0.0.1:1"), 1, "no NATS server"),
    ]
    for argv, code, words in cases:
        r = jsmagic_cmd(*argv, env=env, cwd=tmp_path)
        assert (r.returncode, len(r.stderr.splitlines())) == (code, 1), (argv, r.stderr)
        assert words in r.stderr and "%js_" not in r.stderr, (argv, r.stderr)
    assert not (tmp_path / "x.parquet").exists()


BIG = 60_000  # ~60 MiB of 1 KiB messages: many pulls, several chunks on disk


async def _fill_big(url: str, stream: str) -> None:
    body = b'{"pad": "' + b"x" * 1000 + b'", "i": %d}'
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[stream.lower()])
    acks = [await js.publish_async(stream.lower(), body % i) for i in range(BIG)]
    await asyncio.gather(*acks)
    await nc.close()


def _start_export(tmp_path: Path, url: str, stream: str) -> tuple[subprocess.Popen, Path]:
    """The export running, returned once its first chunk is on disk (mid-read)."""
    out = tmp_path / "out"
    out.mkdir()
    env = {**context_env(tmp_path, url), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "jsmagic", "export", stream, "--to", str(out / "x.parquet"),
                             "--timeout", "5s"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not os.listdir(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert proc.poll() is None, f"the export ended before its first chunk was seen: {proc.communicate()}"
    return proc, out / "x.parquet"


def test_an_interrupted_export_exits_130_and_keeps_a_valid_file(tmp_path):
    with nats_server() as s:
        asyncio.run(_fill_big(s.url, "HALT"))
        proc, path = _start_export(tmp_path, s.url, "HALT")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.splitlines()[-1].startswith("jsmagic: interrupted: ")
    rows = pq.read_metadata(path).num_rows
    assert 0 < rows < BIG and f"{rows:,} messages of HALT" in err


def test_a_progress_line_on_a_terminal_only(tmp_path):
    import pty

    with nats_server() as s:
        asyncio.run(_fill_big(s.url, "SHOWN"))
        env = {**context_env(tmp_path, s.url), "PYTHONPATH": str(ROOT)}
        master, slave = pty.openpty()  # stderr is a terminal here; stdout stays a pipe
        proc = subprocess.Popen([sys.executable, "-m", "jsmagic", "export", "SHOWN", "--to", "s.parquet"], env=env,
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed: the command ended
                break
            if not chunk:
                break
            seen += chunk
        proc.wait(120)
        os.close(master)
    text = seen.decode()
    assert proc.returncode == 0, text
    assert "\rexporting SHOWN: " in text and " messages" in text  # redrawn in place while it reads
    assert text.rstrip().splitlines()[-1].startswith(f"jsmagic: {BIG:,} messages of SHOWN")


def test_a_stream_purged_while_it_is_exported_exits_nonzero(tmp_path):
    """An honest short read: the server drops messages the export has not reached yet.

    The export is frozen (SIGSTOP) once its first chunk is on disk, the stream is purged,
    and the export resumes: the rest of what it was asked for is gone.
    """
    async def purge(url: str) -> None:
        nc = await nats.connect(url)
        await nc.jetstream().purge_stream("GONE")
        await nc.close()

    with nats_server() as s:
        asyncio.run(_fill_big(s.url, "GONE"))
        proc, path = _start_export(tmp_path, s.url, "GONE")
        proc.send_signal(signal.SIGSTOP)
        try:
            asyncio.run(purge(s.url))
        finally:
            proc.send_signal(signal.SIGCONT)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    last = err.splitlines()[-1]  # notes first (how the reader coped), the verdict last
    assert last.startswith("jsmagic: error: short read") and f"of the {BIG:,} messages" in last, err
    rows = pq.read_metadata(path).num_rows  # what arrived is kept, in a valid file
    assert 0 < rows < BIG and f"{rows:,} messages of GONE" in err


def test_help_comes_from_the_magics_definitions():
    from jsmagic.command.main import parser
    from jsmagic.magics.connection import ConnectionMagics
    from jsmagic.magics.consume import ConsumeMagics

    def helps(p) -> dict:
        out = {}
        for action in p._actions:  # noqa: SLF001 - argparse offers no public list of its actions
            for opt in action.option_strings:
                out[opt] = (action.help, action.dest, action.default)
        return out

    cli = parser()
    sub = next(a for a in cli._actions if a.dest == "command").choices  # noqa: SLF001
    export, consume = helps(sub["export"]), helps(ConsumeMagics.js_consume.parser)
    connect = helps(ConnectionMagics.js_connect.parser)
    shared = {o for o in export if o in consume}
    assert {"--since", "--where", "--to", "--partition-by", "-s", "--end-seq", "--decode"} <= shared
    assert all(export[o] == consume[o] for o in shared if o != "--to"), [o for o in shared if export[o] != consume[o]]
    assert export["--to"][0] == consume["--to"][0]  # the same words; required only in the command
    both = {o for o in export if o in connect and o not in consume}
    assert {"--context", "--creds", "--nkey", "--user", "--token", "--tls-ca", "--domain", "--api-prefix"} <= both
    assert all(export[o] == connect[o] for o in both)
    text = io.StringIO()
    sub["export"].print_help(text)
    assert "exit codes: 0 " in text.getvalue() and "3 the read is short" in text.getvalue()
