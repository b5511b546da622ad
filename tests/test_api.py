"""The async Python API in a plain ``python`` process (no IPython), on the newest and oldest nats-py allowed.

The script connects two contexts (each an embedded server), publishes with message ids,
replays, uses KV and checks that nothing of IPython was imported.  The same script runs
against the installed nats-py and against the oldest version ``pyproject.toml`` allows,
installed beside it with ``pip --target`` so that it shadows the installed one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r'''
import asyncio, json, sys
import nats.aio.client
import jsmagic
from jsmagic.core.errors import NotFoundError

async def main():
    out = {"nats_py": nats.aio.client.__version__}
    ctx = await jsmagic.connect(embedded=True)
    await jsmagic.streams.add("ORDERS", subjects="orders.>")
    acks = await jsmagic.publish("orders.eu", [{"id": i} for i in range(1, 1001)], msg_id="o-{{Count}}")
    again = await jsmagic.publish("orders.eu", [{"id": i} for i in range(1, 1001)], msg_id="o-{{Count}}")
    out["acked_seqs"] = [int(acks["seq"].min()), int(acks["seq"].max()), len(acks)]
    out["duplicates"] = int(again["duplicate"].sum())
    df = await jsmagic.replay("ORDERS")
    out["replayed"] = [len(df), int(df["seq"].min()), int(df["seq"].max()), sorted(df["id"].tolist()) == list(range(1, 1001))]
    part = await jsmagic.replay("ORDERS", start_seq=500, count=10)
    out["part"] = part["seq"].tolist()
    await jsmagic.kv.add("cfg", ctx=ctx)
    out["rev"] = await jsmagic.kv_put("cfg", "db.host", "pg")
    view = await jsmagic.kv_view("cfg")
    out["view"] = dict(zip(view["key"], view["value"]))
    other = await jsmagic.connect(embedded=True, alias="second")
    out["current_is_second"] = jsmagic.context() is other
    out["streams_second"] = (await jsmagic.streams())["name"].tolist()
    out["streams_default"] = (await jsmagic.streams(ctx=ctx))["name"].tolist()
    out["by_alias"] = [len(await jsmagic.replay("ORDERS", ctx="default")), (await jsmagic.kv_get("cfg", "db.host", ctx="default")).value,
                       (await jsmagic.streams.ls(ctx="default"))["name"].tolist()]
    try:
        await jsmagic.replay("ORDRS", ctx=ctx)
    except NotFoundError as e:
        out["unknown"] = str(e)
    out["consumers_left"] = (await ctx.js.stream_info("ORDERS")).state.consumer_count
    await jsmagic.close(all=True)
    out["closed"] = [c.nc is None for c in jsmagic.contexts().values()]
    out["ipython_imported"] = sorted(m for m in sys.modules if m.split(".")[0] in ("IPython", "ipywidgets", "ipykernel"))
    print(json.dumps(out))

asyncio.run(main())
'''


def oldest_nats_py() -> str:
    """The lower bound of nats-py in pyproject.toml (``nats-py>=X,<Y``)."""
    m = re.search(r'"nats-py>=([0-9.]+)', (ROOT / "pyproject.toml").read_text())
    assert m, "pyproject.toml pins nats-py without a lower bound"
    return m.group(1)


def run_script(extra_path: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, str(ROOT)) if p)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check(out: dict) -> None:
    assert out["acked_seqs"] == [1, 1000, 1000]
    assert out["duplicates"] == 1000  # the re-run stored nothing new
    assert out["replayed"] == [1000, 1, 1000, True]
    assert out["part"] == list(range(500, 510))
    assert out["rev"] >= 1 and out["view"] == {"db.host": "pg"}
    assert out["current_is_second"] is True
    assert out["streams_second"] == [] and out["streams_default"] == ["KV_cfg", "ORDERS"]
    assert out["by_alias"] == [1000, "pg", ["KV_cfg", "ORDERS"]]  # ctx="default": an alias, as ctx= takes it everywhere
    assert "did you mean 'ORDERS'" in out["unknown"]
    assert out["consumers_left"] == 0  # every replay deleted its consumer
    assert out["closed"] == [True] * len(out["closed"])
    assert out["ipython_imported"] == []


@pytest.mark.slow
def test_python_api_in_a_plain_process():
    check(run_script())


@pytest.fixture(scope="module")
def oldest(tmp_path_factory) -> tuple[str, str]:
    """(version, path): the oldest nats-py allowed, installed with ``pip --target`` (shadows the installed one)."""
    version = oldest_nats_py()
    target = tmp_path_factory.mktemp("nats-py-oldest")
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                          f"nats-py=={version}"], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr[-2000:]
    return version, str(target)


@pytest.mark.slow
def test_python_api_on_the_oldest_nats_py_allowed(oldest):
    version, path = oldest
    out = run_script(path)
    assert Version(out["nats_py"]) == Version(version)
    check(out)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the reading, admin and publishing suites once more: minutes, not the default 300 s
def test_core_and_magic_tests_pass_on_the_oldest_nats_py_allowed(oldest):
    """The publish, replay, admin and connection tests, run again in a process that imports the oldest nats-py."""
    version, path = oldest
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((path, str(ROOT)))}
    probe = subprocess.run([sys.executable, "-c", "import nats.aio.client as c; print(c.__version__)"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert Version(probe.stdout.strip()) == Version(version)
    # hypothesis' pytest plugin imports hypothesis at the very end when no test did: off (no test here uses it)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                           "-m", "not kernel", "tests/admin", "tests/reading", "tests/publishing",
                           "tests/magics/test_connections.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=1700)
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-2000:]
    assert proc.returncode == 0 and " passed" in summary and "failed" not in summary, proc.stdout[-4000:]
