"""Live views, proven where users see them: JupyterLab in a real (headless) Chromium.

Every live view (KV watch, object watch, tail, consumer watch, core subscription, events tail: :mod:`jsmagic.ui.watchview`)
is stopped, saved and reopened with its kernel shut down, and must read as a table (no
"model not found", no "● live", headers whole, a tail no taller than the window); notebook
08 the same; a live tail whose server goes away says "reconnecting since …", then
"resumed at …".  The first test below:

JupyterLab runs on a free loopback port with token auth and ``NATS_URL`` pointing at a
fresh JetStream server; Chromium (Debian's ``chromium``, driven by the ``playwright`` package
with ``executable_path``: no downloaded browser) opens ``04-key-value.ipynb`` and runs all
cells.  We then check the page itself: the watch cell rendered a *widget* (an ipywidgets
HTML view holding jsmagic's live table, not the static fallback), and a value put by a
separate process after the watch started shows up in that table while the kernel is idle.
A screenshot of the widget is saved (path printed; ``JSMAGIC_SCREENSHOTS=dir`` keeps it).

Skipped, with the reason, only where the browser or playwright is not installed
(``.ci/run`` installs both).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from jsmagic.connecting.server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.kernel, pytest.mark.timeout(300)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "04-key-value.ipynb"
WIDGET_TABLE = ".jp-OutputArea-output .widget-html table.jsmagic-live"  # the widget view, not text/html


def need_browser():
    """playwright's sync API, or a skip saying what is missing."""
    if not os.path.exists(CHROMIUM):
        print(f"SKIP reason: {CHROMIUM} is not installed (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("SKIP reason: the playwright package is not installed (pip install playwright)")
        pytest.skip("the playwright package is not installed (pip install playwright)")
    return sync_playwright


class Lab:
    """JupyterLab serving ``root`` on a free loopback port, token auth, isolated config."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(root.parent / "lab.log", "w")
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab", "--no-browser",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
                "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run commands, not menus
                f"--LabApp.workspaces_dir={root.parent / 'workspaces'}",
                "--allow-root",  # CI runs as root
                "--LabApp.extension_manager=readonly",  # no registry look-ups from the test
                "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"JupyterLab exited: {Path(self.log.name).read_text()[-3000:]}")
            try:
                req = urllib.request.Request(f"{self.url}/api/status", headers={"Authorization": f"token {self.token}"})
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"JupyterLab not ready in {timeout}s: {Path(self.log.name).read_text()[-3000:]}")

    def stop(self) -> None:
        """Stop the server we started (its process group: the server and its kernels)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()


def lab_env(server, tmp_path: Path) -> dict[str, str]:
    """The environment JupyterLab and its kernels get: NATS_URL of ``server``, isolated Jupyter dirs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "JUPYTER"))}
    env.update(
        NATS_URL=server.url,
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        IPYTHONDIR=str(tmp_path / "ipython"),
    )
    return env


def put_from_another_process(url: str, bucket: str, key: str, value: str) -> None:
    """A separate program writing to the bucket (plain nats-py, its own connection)."""
    code = (
        "import asyncio, nats, sys\n"
        "async def main():\n"
        "    nc = await nats.connect(sys.argv[1])\n"
        "    kv = await nc.jetstream().key_value(sys.argv[2])\n"
        "    print(await kv.put(sys.argv[3], sys.argv[4].encode()))\n"
        "    await nc.close()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", code, url, bucket, key, value], check=True, timeout=60, capture_output=True)


def test_kv_watch_widget_renders_and_follows_another_writer(fresh_server, tmp_path):
    sync_playwright = need_browser()
    root = tmp_path / "nb"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    lab = Lab(root, lab_env(fresh_server, tmp_path))
    try:
        lab.wait_ready()
        with sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"),  # a new, empty user-data-dir
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 1000},
            )
            try:
                page = browser.new_page()
                run_notebook_in_lab(page, lab)

                # the notebook has two live KV tables: the full watch (w) and the updates-only one (u, db.*)
                table = page.locator(WIDGET_TABLE, has_text="feature.beta")
                assert table.count() == 1, "the watch cell did not render the live table widget"
                scroll_to(page, "feature.beta")  # Lab lays out cells far outside the viewport lazily
                initial = table.inner_text()
                for key in ("db.host", "db.port", "feature.beta"):
                    assert key in initial, f"{key} missing from the widget:\n{initial}"

                marker = f"from-browser-test-{secrets.token_hex(4)}"
                put_from_another_process(fresh_server.url, "settings", "browser.check", marker)
                page.wait_for_function(
                    "([sel, m]) => [...document.querySelectorAll(sel)].some(t => t.innerText.includes(m))",
                    arg=[WIDGET_TABLE, marker], timeout=20_000,
                )
                row = table.locator("tr", has_text="browser.check")
                assert marker in row.inner_text()

                shot = save_screenshot(page, table, tmp_path)
                print(f"screenshot: {shot}")
            finally:
                browser.close()
    finally:
        lab.stop()


def open_in_lab(page, lab: Lab, name: str) -> None:
    """Open a notebook and wait until its kernel is idle."""
    page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=60_000)
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
                   const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                   return k && k.status === 'idle'; }""",
        timeout=60_000,
    )


def run_notebook_in_lab(page, lab: Lab, notebook: Path = NOTEBOOK) -> None:
    """Open the notebook, wait for its kernel, run all cells, wait until every cell ran."""
    open_in_lab(page, lab, notebook.name)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    n_code = sum(1 for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code")
    page.wait_for_function(
        """(n) => { const w = window.jupyterapp.shell.currentWidget;
                    const cells = w.content.widgets.filter(c => c.model.type === 'code');
                    return cells.length === n && cells.every(c => c.model.executionCount !== null)
                           && w.sessionContext.session.kernel.status === 'idle'; }""",
        arg=n_code, timeout=120_000,
    )


def scroll_to(page, text: str) -> None:
    """Scroll the live table showing ``text`` into view and wait until it is laid out.

    Done in one step in the page: the widget re-renders its table as the watch ticks, so a
    located element can be detached between a locate and a scroll.
    """
    page.wait_for_function(
        """([sel, text]) => { const t = [...document.querySelectorAll(sel)].find(t => t.textContent.includes(text));
                              if (!t) return false;
                              t.scrollIntoView({block: 'center'});
                              return t.innerText.includes(text); }""",
        arg=[WIDGET_TABLE, text], timeout=20_000,
    )


def save_screenshot(page, table, tmp_path: Path) -> Path:
    """The widget and its header, scrolled into view; kept in $JSMAGIC_SCREENSHOTS if set."""
    scroll_to(page, "browser.check")
    out_dir = Path(os.environ.get("JSMAGIC_SCREENSHOTS") or tmp_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    shot = out_dir / "kv-watch-widget.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    return shot


# ---- a saved notebook reopened: the stopped views are tables, not "model not found" -------------
# Every live view of jsmagic.ui.watchview is here: a new one gets a cell, a stop and the same checks.

VIEWS = [
    "%load_ext jsmagic\n%js_connect",
    "%js_stream add VIEWS --subjects 'views.>'\n"
    + "\n".join(f"%js_publish views.{u} '{{\"user\": \"{u}\", \"clicks\": {n}}}'" for n, u in enumerate(["ann", "bob", "cy"]))
    + "\n%js_publish views.bulk '{\"n\": {{Count}}}' --count 60",
    "%js_kv add shots\n%js_kv put shots colour green\n%js_kv put shots size 42",
    "w = %js_kv watch shots",
    "t = %js_consume VIEWS --all --follow",
    "%js_obj add pics\no = %js_obj watch pics",
    "%js_consumer add VIEWS worker\nc = %js_consumer watch VIEWS worker",
    "s = %js_sub 'views.>'",
    "ev = %js_events",
]
LIVE_VIEWS = {"w": "colour", "t": "views.bulk", "o": None, "c": "pending", "s": None, "ev": None}  # variable -> what its table shows
STOP_BUTTON = ".jp-OutputArea-output .widget-button"
# in the page: the live tail's scroll box and output, and every header cell of a live table that is cut
TAIL_HEIGHTS = """() => { const t = [...document.querySelectorAll('.jp-OutputArea-output .widget-html')]
                            .find(e => e.innerText.includes('views.bulk') && e.querySelector('table'));
                          if (!t) return null;
                          const box = t.querySelector('.jsmagic-scroll');
                          const out = t.closest('.jp-OutputArea-output');
                          return {box: box.getBoundingClientRect().height, output: out.getBoundingClientRect().height,
                                  rows: t.querySelectorAll('tbody tr').length, window: window.innerHeight}; }"""
CUT_HEADERS = """(sel) => [...document.querySelectorAll(sel + ' th')]
                     .filter(th => th.offsetWidth > 0 && th.scrollWidth > th.clientWidth + 1).map(th => th.innerText)"""


def test_a_saved_notebook_reopens_with_its_tables(fresh_server, tmp_path):
    """Every live view in Lab; Stop clicked; saved; kernel shut down; reopened in a new kernel."""
    sync_playwright = need_browser()
    root = tmp_path / "nb"
    root.mkdir()
    nb = root / "views.ipynb"
    nb.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": c}
                  for c in VIEWS],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }))
    shots = Path(os.environ.get("JSMAGIC_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    lab = Lab(root, lab_env(fresh_server, tmp_path))
    try:
        lab.wait_ready()
        with sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 1000},
            )
            try:
                page = browser.new_page()
                run_notebook_in_lab(page, lab, nb)
                for text, name in (("colour", "live-kv-watch.png"), ("views.bulk", "live-follow-tail.png"),
                                   ("pending", "live-consumer-watch.png")):
                    scroll_to(page, text)
                    page.wait_for_function(  # the live header, in the widget view
                        "([sel, t]) => [...document.querySelectorAll(sel)].some(e => e.innerText.includes(t))",
                        arg=[".jp-OutputArea-output .widget-html", "● live"], timeout=20_000)
                    page.screenshot(path=str(shots / name))
                page.wait_for_function(f"() => {{ const h = ({TAIL_HEIGHTS})(); return h && h.rows >= 50; }}",
                                       timeout=20_000)
                tail = page.evaluate(TAIL_HEIGHTS)  # 50 rows would be ~1,000 px: they scroll inside
                assert tail["box"] <= tail["window"] and tail["output"] <= tail["window"], tail
                assert page.evaluate(CUT_HEADERS, WIDGET_TABLE) == [], "live table headers cut"
                n_views = len(LIVE_VIEWS)
                page.wait_for_function(f"(sel) => document.querySelectorAll(sel).length === {n_views}",
                                       arg=STOP_BUTTON, timeout=20_000)
                # the Stop buttons: each output becomes its static snapshot (no widget left)
                for _ in range(n_views):
                    buttons = page.locator(STOP_BUTTON + ":not([disabled])")
                    before = buttons.count()
                    buttons.first.click()
                    page.wait_for_function(  # clicked and replaced (a snapshot has no button)
                        f"(sel) => document.querySelectorAll(sel + ':not([disabled])').length < {before}",
                        arg=STOP_BUTTON, timeout=20_000)
                page.wait_for_function(
                    "(sel) => document.querySelectorAll(sel).length === 0", arg=".jp-OutputArea-output .widget-html",
                    timeout=20_000)
                page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
                page.wait_for_function(
                    "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=20_000)
                page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
                page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
                page.wait_for_function("() => document.querySelectorAll('.jp-NotebookPanel').length === 0", timeout=20_000)

                saved = json.loads(nb.read_text())
                for cell in saved["cells"][3:]:
                    assert cell["outputs"], cell["source"]
                    for out in cell["outputs"]:
                        assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {}), out

                open_in_lab(page, lab, nb.name)  # a new kernel; the file's outputs as saved
                page.wait_for_function(
                    f"() => document.querySelectorAll('.jp-OutputArea-output table.jsmagic-live').length >= {n_views}"
                    " && [...document.querySelectorAll('.jp-OutputArea-output svg')].length >= 1", timeout=30_000)
                body = page.locator(".jp-Notebook").inner_text()
                assert "model not found" not in body and "Error displaying widget" not in body
                assert body.count("stopped at") >= n_views and "● live" not in body, body[-2000:]
                for shown in filter(None, LIVE_VIEWS.values()):
                    assert shown in body, f"{shown!r} missing from the reopened notebook"
                tail = page.evaluate("""() => { const t = [...document.querySelectorAll('.jsmagic-scroll')]
                                                   .find(e => e.innerText.includes('views.bulk'));
                                                 return {box: t.getBoundingClientRect().height, window: window.innerHeight}; }""")
                assert tail["box"] <= tail["window"], tail
                scroll_to_any(page, "pending")
                page.screenshot(path=str(shots / "reopened-notebook.png"))
                page.set_viewport_size({"width": 900, "height": 1000})  # as narrow as a docs page: no "pendi…"
                page.wait_for_function("() => window.innerWidth === 900", timeout=10_000)
                assert page.evaluate(CUT_HEADERS, ".jp-OutputArea-output table.jsmagic-live") == [], \
                    "saved table headers cut in a narrow window"
                print(f"screenshots: {sorted(p.name for p in shots.glob('*.png'))} in {shots}")
                for p in shots.glob("*.png"):
                    assert p.stat().st_size > 10_000
            finally:
                browser.close()
    finally:
        lab.stop()


def scroll_to_any(page, text: str) -> None:
    """Scroll the first output table holding ``text`` (static or widget) into view."""
    page.evaluate(
        "(t) => { const e = [...document.querySelectorAll('.jp-OutputArea-output table')]"
        ".find(e => e.innerText.includes(t)); if (e) e.scrollIntoView({block: 'center'}); }", text)


# ---- a live tail during an outage: the header says so, with times, in the page ------------------

def test_a_live_tail_shows_an_outage_and_its_end(fresh_server, tmp_path):
    """The server stopped under a live tail, then started again: reconnecting since …, resumed at …."""
    sync_playwright = need_browser()
    root = tmp_path / "nb"
    root.mkdir()
    nb = root / "outage.ipynb"
    cells = ["%load_ext jsmagic\n%js_connect",
             "%js_stream add OUTAGE --subjects 'outage.>'\n%js_publish outage.a '{\"i\": 1}'",
             "t = %js_consume OUTAGE --all --follow"]
    nb.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": c}
                  for c in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }))
    shots = Path(os.environ.get("JSMAGIC_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    header = ".jp-OutputArea-output .widget-html"
    shows = "([sel, t]) => [...document.querySelectorAll(sel)].some(e => e.innerText.includes(t))"
    lab = Lab(root, lab_env(fresh_server, tmp_path))
    try:
        lab.wait_ready()
        with sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 1000},
            )
            try:
                page = browser.new_page()
                run_notebook_in_lab(page, lab, nb)
                page.wait_for_function(shows, arg=[header, "● live"], timeout=20_000)
                fresh_server.stop()
                page.wait_for_function(shows, arg=[header, "reconnecting since"], timeout=30_000)
                assert not page.evaluate(shows, [header, "● live"]), "a tail without its server still says live"
                page.screenshot(path=str(shots / "live-tail-outage.png"))
                fresh_server.start()
                page.wait_for_function(shows, arg=[header, "resumed at"], timeout=30_000)
                page.wait_for_function(shows, arg=[header, "● live"], timeout=20_000)
                page.screenshot(path=str(shots / "live-tail-resumed.png"))
                page.locator(STOP_BUTTON).first.click()
                page.wait_for_function(
                    "(sel) => document.querySelectorAll(sel).length === 0", arg=header, timeout=20_000)
                assert "resumed at" in page.locator(".jp-Notebook").inner_text()  # the snapshot keeps it
            finally:
                browser.close()
    finally:
        lab.stop()


def test_notebook_08_reopens_with_its_consumer_watch_table_and_chart(fresh_server, tmp_path):
    """The course notebook whose text promises it: run all in Lab, save, kernel shut down, reopen."""
    sync_playwright = need_browser()
    root = tmp_path / "nb"
    root.mkdir()
    nb = Path(__file__).resolve().parents[2] / "notebooks" / "08-operations.ipynb"
    shutil.copy(nb, root / nb.name)
    shots = Path(os.environ.get("JSMAGIC_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    lab = Lab(root, lab_env(fresh_server, tmp_path))
    try:
        lab.wait_ready()
        with sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 1000},
            )
            try:
                page = browser.new_page()
                run_notebook_in_lab(page, lab, root / nb.name)
                page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
                page.wait_for_function(
                    "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=20_000)
                page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
                page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
                page.wait_for_function("() => document.querySelectorAll('.jp-NotebookPanel').length === 0",
                                       timeout=20_000)
                saved = json.loads((root / nb.name).read_text())
                for cell in saved["cells"]:
                    for out in cell.get("outputs", []):
                        assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {}), cell["source"]
                open_in_lab(page, lab, nb.name)
                page.wait_for_function(  # Lab renders cells near the viewport only: scroll to the watch's cell
                    """() => { const nb = window.jupyterapp.shell.currentWidget.content;
                               const i = nb.widgets.findIndex(c => c.model.sharedModel.getSource().includes('%js_consumer watch'));
                               nb.scrollToItem(i, 'start');
                               return [...document.querySelectorAll('.jp-OutputArea-output table.jsmagic-live')]
                                      .some(t => t.innerText.includes('ack_pending')); }""", timeout=30_000)
                body = page.locator(".jp-Notebook").inner_text()
                assert "model not found" not in body and "Error displaying widget" not in body
                assert "stopped at" in body and "● live" not in body
                assert page.locator(".jp-OutputArea-output .jsmagic-live svg").count() == 1, "the chart is kept"
                scroll_to_any(page, "ack_pending")
                page.screenshot(path=str(shots / "reopened-08-operations.png"))
            finally:
                browser.close()
    finally:
        lab.stop()
