"""jsmagic.testing's shells are closed after use: a test run ends when its tests end.

Each IPython ``InteractiveShell`` registers its own ``atexit`` handler, which clears its
namespace with one full garbage collection; a shell never closed also keeps its test's
objects alive.  A fresh clone's ``make test`` under two CPU hogs printed "402 passed" and
then sat four more minutes in those handlers.  What a user checks: a closed shell and what
its cells made are gone, and a process that made many shells exits at once, measured
against the same process making shells the way the helper used to (never closed).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from jsmagic import testing as jt  # not its names: pytest would collect testing_shell as a test

ROOT = Path(__file__).resolve().parents[1]
N = 30

SCRIPT = r'''
import atexit, json, sys, time
ended = {}
atexit.register(lambda: print(json.dumps({"exit": time.monotonic() - ended["at"]}), flush=True))  # runs last
from IPython.core.interactiveshell import InteractiveShell
from jsmagic import testing as jt

CELL = "import pandas as pd\ndf = pd.DataFrame({'a': range(20000), 's': [str(i) for i in range(20000)]})\ndf"
mode, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    if mode == "never-closed":  # what testing_shell() did: a new singleton, the old one left to atexit
        InteractiveShell.clear_instance()
        sh = InteractiveShell.instance()
        sh.run_line_magic("load_ext", "jsmagic")
        sh.run_cell(CELL)
        sh.run_line_magic("unload_ext", "jsmagic")
    elif mode == "fixture":  # how tests and projects used the helper: testing_shell(), then unload_ext
        sh = jt.testing_shell(probe_local=False)
        sh.run_cell(CELL)
        sh.run_line_magic("unload_ext", "jsmagic")
    else:
        with jt.shell_session(probe_local=False) as sh:
            sh.run_cell(CELL)
ended["at"] = time.monotonic()
'''


def exit_seconds(mode: str) -> float:
    """Seconds the process spends in its exit handlers after making ``N`` shells the ``mode`` way."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(N)], env=env, capture_output=True, text=True,
                          timeout=280)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])["exit"]


def test_a_closed_shell_and_its_objects_are_freed(server):
    with jt.connected_shell(server.url) as sh:
        sh.run_cell("import pandas as pd\ndf = pd.DataFrame({'a': range(1000)})\ndf")
        shell_ref, frame_ref = weakref.ref(sh), weakref.ref(sh.user_ns["df"])
        assert sh.run_line_magic("js_stream", "ls") is not None
    del sh
    gc.collect()
    assert frame_ref() is None, "the frame a cell made outlived its shell"
    assert shell_ref() is None, "something still holds the closed shell"


def test_a_shell_left_open_is_released_by_the_next_one():
    first = jt.testing_shell(probe_local=False)
    first.run_cell("x = [1, 2, 3]")
    first_ref = weakref.ref(first)
    del first
    with jt.shell_session(probe_local=False) as second:
        gc.collect()
        assert first_ref() is None
        assert second.run_cell("y = 1").success
    jt.close_shell(second)  # closing twice is harmless


@pytest.mark.slow
def test_a_process_that_made_many_shells_exits_at_once():
    baseline = exit_seconds("never-closed")
    fixture, session = exit_seconds("fixture"), exit_seconds("session")
    print(f"exit after {N} shells: never closed {baseline:.2f} s, testing_shell + unload_ext {fixture:.2f} s, "
          f"shell_session {session:.2f} s")
    bound = 0.5 + baseline / 4
    assert fixture < bound and session < bound, (baseline, fixture, session)


def test_a_shell_released_by_the_next_leaves_sys_stdout_alone():
    """The next testing_shell() releases a shell left open without putting back the stdout it was made under.

    IPython's ``shell.cleanup()`` restores ``sys.stdout`` as it was when the shell was made: under
    pytest that is an earlier test's capture, and the next test's output went there (a full-suite
    run lost the websocket test's summary line this way).
    """
    import contextlib
    import io

    from jsmagic.testing import close_shell, testing_shell

    before = io.StringIO()
    with contextlib.redirect_stdout(before):
        testing_shell(probe_local=False)  # left open, made while stdout was `before`
    now = io.StringIO()
    with contextlib.redirect_stdout(now):
        second = testing_shell(probe_local=False)  # releases the first
        print("seen")
        close_shell(second)
    assert now.getvalue() == "seen\n" and before.getvalue() == ""
