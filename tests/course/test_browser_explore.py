"""The stream browser and the schema plot where users see them: JupyterLab in a real (headless) Chromium.

A notebook writes a stream whose payloads drift, draws ``%js_stream schema --plot`` and opens
``%js_stream browse``.  In the page: the plot is an image beside the drift table, the browser
is a widget whose "next" button pages (the table then shows the next sequences) and whose
message list shows one message's payload; its Stop button turns the output into the static
snapshot.  The notebook is saved, its kernel shut down and reopened: the browser's page and the
plot are still there, without "model not found".  Screenshots are kept in
``$JSMAGIC_SCREENSHOTS`` when set.  Reuses the helpers of :mod:`tests.course.test_browser`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .test_browser import CHROMIUM, CHROMIUM_ARGS, Lab, lab_env, need_browser, open_in_lab, run_notebook_in_lab

pytestmark = [pytest.mark.slow, pytest.mark.kernel, pytest.mark.timeout(300)]

BROWSER_TABLE = ".jp-OutputArea-output .widget-html table.jsmagic-browser"  # the widget view, not text/html
CELLS = [
    "%load_ext jsmagic\n%js_connect",
    "import jsmagic\n%js_stream add SHOP --subjects 'shop.>'\n"
    "orders = [{'id': i, 'amount': i * 10 if i <= 12 else f'{i * 10}.00', **({'coupon': 'SPRING'} if i > 6 else {})}"
    " for i in range(1, 19)]\n"
    "await jsmagic.publish('shop.orders', orders)",
    "%js_stream schema SHOP --plot",
    "b = %js_stream browse SHOP -n 5",
]


def _notebook(path: Path) -> None:
    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": c}
                  for c in CELLS],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }))


def _wait_text(page, selector: str, text: str, timeout: int = 20_000) -> None:
    page.wait_for_function(
        "([sel, t]) => [...document.querySelectorAll(sel)].some(e => e.innerText.includes(t))",
        arg=[selector, text], timeout=timeout)


def test_browser_and_schema_plot_in_lab(fresh_server, tmp_path):
    sync_playwright = need_browser()
    root = tmp_path / "nb"
    root.mkdir()
    nb = root / "explore.ipynb"
    _notebook(nb)
    shots = Path(os.environ.get("JSMAGIC_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    lab = Lab(root, lab_env(fresh_server, tmp_path))
    try:
        lab.wait_ready()
        with sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 1100},
            )
            try:
                page = browser.new_page()
                run_notebook_in_lab(page, lab, nb)
                # the schema cell: the drift table and the plot (an image)
                _wait_text(page, ".jp-OutputArea-output", "appeared")
                plot = page.locator(".jp-OutputArea-output img")
                assert plot.count() >= 1, "the schema plot is not in the page"
                plot.first.scroll_into_view_if_needed()
                page.screenshot(path=str(shots / "schema-plot.png"))
                # the browser widget: page 1 (seq 1..5), then "next ▶"
                table = page.locator(BROWSER_TABLE)
                page.wait_for_function("(sel) => document.querySelectorAll(sel).length === 1", arg=BROWSER_TABLE,
                                       timeout=30_000)
                table.scroll_into_view_if_needed()
                assert "SPRING" not in table.inner_text()  # coupons start at 7
                page.locator(".jp-OutputArea-output .widget-button", has_text="next").click()
                _wait_text(page, BROWSER_TABLE, "SPRING")
                rows = [r.split("\t")[0].strip() for r in table.inner_text().splitlines()[1:] if r.strip()]
                assert rows == ["6", "7", "8", "9", "10"], rows
                page.locator(".jp-OutputArea-output .widget-select select").select_option(label="8  shop.orders")
                _wait_text(page, ".jp-OutputArea-output .widget-html", '"amount": 80')
                _wait_text(page, ".jp-OutputArea-output .widget-html", "--start-seq 6 -n 5")
                page.screenshot(path=str(shots / "stream-browser-live.png"))
                # a sequence typed into its box, then Enter: the page starts there
                box = page.locator(".jp-OutputArea-output .widget-text input[placeholder='go to sequence']")
                box.fill("15")
                box.press("Enter")
                _wait_text(page, ".jp-OutputArea-output .widget-html", "--start-seq 15 -n 4")
                rows = [r.split("\t")[0].strip() for r in table.inner_text().splitlines()[1:] if r.strip()]
                assert rows == ["15", "16", "17", "18"], rows
                # Stop: the output becomes the static snapshot of this page
                page.locator(".jp-OutputArea-output .widget-button", has_text="stop").click()
                page.wait_for_function("(sel) => document.querySelectorAll(sel).length === 0", arg=BROWSER_TABLE,
                                       timeout=20_000)
                _wait_text(page, ".jp-OutputArea-output table.jsmagic-browser", "SPRING")
                page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
                page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty",
                                       timeout=20_000)
                page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
                page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
                page.wait_for_timeout(1000)

                saved = json.loads(nb.read_text())
                schema_out, browse_out = saved["cells"][2]["outputs"], saved["cells"][3]["outputs"]
                assert any("image/png" in o.get("data", {}) for o in schema_out)
                browse_data = [o.get("data", {}) for o in browse_out]
                assert not any("application/vnd.jupyter.widget-view+json" in d for d in browse_data)
                static = "".join("".join(d.get("text/html", "")) for d in browse_data)  # saved as a list of lines
                assert "jsmagic-browse" in static and "stopped" in static and "SPRING" in static

                open_in_lab(page, lab, nb.name)  # a new kernel; the outputs as saved
                _wait_text(page, ".jp-OutputArea-output table.jsmagic-browser", "SPRING", timeout=30_000)
                body = page.locator(".jp-Notebook").inner_text()
                assert "model not found" not in body and "Error displaying widget" not in body
                assert page.locator(".jp-OutputArea-output img").count() >= 1
                page.locator(".jp-OutputArea-output table.jsmagic-browser").scroll_into_view_if_needed()
                page.screenshot(path=str(shots / "stream-browser-reopened.png"))
                for p in shots.glob("*.png"):
                    assert p.stat().st_size > 10_000
                print(f"screenshots: {sorted(p.name for p in shots.glob('*.png'))} in {shots}")
            finally:
                browser.close()
    finally:
        lab.stop()
