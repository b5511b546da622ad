"""Every example a newcomer pastes runs: README.md, docs/*.md and every ``%magic?`` example.

One real kernel runs them all (``tests/docs/examples.py`` finds them and states the rules).
A page's blocks run in order, as a reader pastes them into one notebook; before a page's first
block, and before each ``%magic?`` example, the kernel closes every connection and moves to an
empty folder, so it starts on a fresh embedded nats-server.  A block that needs a stream, a
consumer, a bucket or a file the text does not create gets a small prelude (``PRELUDES``, keyed
by the block's first line: a prelude whose block is gone fails the test, so none goes stale).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import sys

import pytest

from jsmagic.testing import KernelSession, nats_server

from .examples import NOT_PYTHON, Block, help_blocks, markdown_blocks, pages

pytestmark = [pytest.mark.kernel, pytest.mark.timeout(600)]

ORDERS = """\
%js_stream add ORDERS --subjects 'orders.>'
%js_publish orders.eu.new '{"id": 1, "item": "book", "qty": 2, "amount": 120, "region": "eu"}' -H trace-id:abc123
%js_publish orders.us.new '{"id": 2, "item": "pen", "qty": 1, "amount": 5, "region": "us"}'
"""
FILES = "open('report.pdf', 'wb').write(b'%PDF-1.4 a report')\n"
MODERN = """\
import pandas as pd
logins = pd.DataFrame({"user": ["ann", "bob"], "ttl": ["30m", "1h"]})
order = pd.DataFrame({"subject": ["shop.order.1", "shop.line.1", "shop.line.1"], "sku": ["o1", "a", "b"]})
%js_stream add COUNTERS --subjects 'views.>' --allow-counter
%js_stream add SHOP --subjects 'shop.>' --allow-batch --allow-fast
%js_stream add REMINDERS --subjects 'reminders.>' --allow-schedules
%js_stream add JOBS --subjects 'jobs.>' --retention workqueue
%js_consumer add JOBS shipper --ack explicit
%js_kv add sessions --marker-ttl 1m
"""
DATA = """\
%js_publish orders.eu.new '{"id": 3, "amount": 120, "region": "eu"}' -H trace-id:abc123
%js_stream add EVENTS --subjects 'events.>'
import msgpack
await jsmagic.context().js.publish("events.a", msgpack.packb({"id": 1, "kind": "click"}))
"""

RESPONDERS = """\
ctx = %js_connect
async def _answer(msg):
    await msg.respond(b'{"ok": true}')
for _subject in ("time.now", "calc.add", "census.who"):
    await ctx.nc.subscribe(_subject, cb=_answer)
"""
SERVICE = """\
from nats import micro
ctx = %js_connect
async def _ship(request):
    await request.respond(b"shipped")
_svc = await micro.add_service(ctx.nc, name="orders", version="1.0.0")
await _svc.add_endpoint(name="ship", subject="orders.ship", handler=_ship)
"""
CHECKED = ORDERS + "%js_consumer add ORDERS billing --ack explicit\n%js_consumer next ORDERS billing --count 2 --ack\n%js_kv add config\n%js_kv put config db.host pg\n"

# the first line of a block -> what the kernel runs before it (its output is not checked)
PRELUDES: dict[str, str] = {
    "df = %js_consume ORDERS -s 'orders.eu.>' --since 2h     # replay into pandas, non-destructive": FILES,
    "%js_stream add SESSIONS --subjects 'sessions.>' --allow-msg-ttl   # also --allow-counter, --allow-batch, --allow-fast, --allow-schedules, --persist-mode async": MODERN,
    "%js_consume ORDERS --since 7d --to orders.parquet              # streamed to disk, one row group per chunk: memory stays flat": "import jsmagic\n" + DATA,
    "%js_consumer ls ORDERS": ORDERS,
    "%js_obj add files": FILES + "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})\n",
    "df = %js_consume ORDERS": ORDERS + "%js_stream add JOBS --subjects 'jobs.>' --retention workqueue\n"
                               "%js_publish jobs.a '{\"job\": 1}'\n",
    "%%js_publish orders.new": "%js_stream add ORDERS --subjects 'orders.>'\n",
    "%%js_publish orders.{=region} --msg-id order-{{Count}} --count 3 -o acks":
        "%js_stream add ORDERS --subjects 'orders.>'\nregion, qty = 'eu', 3\n",
    "%js_publish --from df --subject-col subject --header-cols trace_id":
        "%js_stream add ORDERS --subjects 'orders.>'\nimport pandas as pd\n"
        "df = pd.DataFrame({'subject': ['orders.eu.1', 'orders.us.2'], 'id': [1, 2], 'trace_id': ['a', 'b']})\n",
    "%%js_kv put config settings.json": "%js_kv add config\n",
    "%js_req time.now": RESPONDERS,
    "%js_svc ls": SERVICE,
    "%js_check stream ORDERS --msgs-critical 0 --peer-expect 3": CHECKED,
    "%js_publish sessions.login '{\"user\": \"ann\"}' --ttl 30m   # Nats-TTL: expires on its own": MODERN + """\
%js_stream add SESSIONS --subjects 'sessions.>' --allow-msg-ttl
%js_stream add REPORTS --subjects 'reports.>' --allow-schedules
df = logins
""",
}
SETUP = """\
%load_ext jsmagic
%config JSMagic.probe_local = False
"""
RESET = """\
import os as _os, tempfile as _tempfile
%js_close --all
_os.chdir(_tempfile.mkdtemp(dir=_examples_root))
"""


def all_blocks() -> list[Block]:
    return [b for p in pages() for b in markdown_blocks(p)] + help_blocks()


BLOCKS = all_blocks()


@pytest.fixture(scope="module")
def examples_kernel(tmp_path_factory):
    root = tmp_path_factory.mktemp("examples")
    with KernelSession(env={"XDG_CONFIG_HOME": str(root / "xdg")}, cwd=str(root)) as k:
        k.run(SETUP + f"_examples_root = {str(root)!r}")
        yield k


def first_line(block: Block) -> str:
    return block.code.strip().splitlines()[0].strip()


def starts_fresh(block: Block) -> bool:
    """A help example, or the first block of its page to run."""
    if block.where.startswith("%"):
        return True
    page = block.where.split(":")[0]
    runs = [b for b in BLOCKS if b.where.split(":")[0] == page and b.lang == "python" and not b.not_run]
    return runs[0] is block


def test_every_fence_says_what_it_is():
    unmarked = [b.where for b in BLOCKS if not b.lang]
    assert not unmarked, f"fences without a language (python, bash or text): {unmarked}"
    assert {b.lang for b in BLOCKS} <= {"python"} | NOT_PYTHON


def test_every_prelude_still_has_its_block():
    stale = [line for line in PRELUDES if not any(first_line(b) == line for b in BLOCKS)]
    assert not stale, f"preludes whose block is gone: {stale}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "python"], ids=lambda b: b.where)
def test_example_runs(examples_kernel, block):
    if block.not_run:
        pytest.skip(f"marked in the text: not run: {block.not_run}")
    if block.script:
        return run_script(block)
    if starts_fresh(block):
        examples_kernel.run(RESET, timeout=120)
    if first_line(block) in PRELUDES:
        examples_kernel.run(PRELUDES[first_line(block)], timeout=120)
    r = examples_kernel.run(block.code, timeout=180, allow_error=True)
    assert r.status == "ok", f"{block.where} failed:\n{(r.stderr + r.error_text)[-3000:]}\n--- block:\n{block.code}"
    assert "Traceback" not in r.stderr, f"{block.where} wrote a traceback:\n{r.stderr[-3000:]}"


def run_script(block: Block) -> None:
    """A script block, run as ``python -c`` would run it, on a server of its own (``NATS_URL``),
    in an empty folder of its own (what it writes, ``orders.parquet``…, stays out of the repo)."""
    with nats_server() as server, tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "NATS_URL": server.url}
        out = subprocess.run([sys.executable, "-c", block.code], env=env, capture_output=True, text=True, timeout=120,
                             cwd=folder)
    assert out.returncode == 0, f"{block.where} failed:\n{out.stdout[-2000:]}{out.stderr[-3000:]}\n--- block:\n{block.code}"
