"""A live table's layout as Chromium draws it: headers never cut, rows scroll inside a bounded box.

The HTML is what a saved notebook and a docs page show (a stopped table's snapshot), put in
a page as narrow as a docs page's content and a window 700 px tall; Chromium (Debian's, via
playwright, as tests/course/test_browser.py) measures it.
"""

from __future__ import annotations

import pytest

from jsmagic.admin.consumerwatch import COLUMNS as CONSUMER_COLUMNS
from jsmagic.ui.livetable import LiveTable
from tests.course.test_browser import CHROMIUM, CHROMIUM_ARGS, need_browser

pytestmark = pytest.mark.slow

MEASURE = """() => { const box = document.querySelector('.jsmagic-scroll') || document.querySelector('table');
                     const cut = [...document.querySelectorAll('th')]
                        .filter(th => th.scrollWidth > th.clientWidth + 1).map(th => th.innerText);
                     return {cut, box: box.getBoundingClientRect().height, page: document.body.scrollHeight,
                             rows: document.querySelectorAll('tbody tr').length}; }"""


def snapshot(columns, rows: int, **kw) -> str:
    table = LiveTable(columns, **kw)
    for i in range(rows):
        table.append([f"{i:03d}" if c == "time" else i for c in columns])
    table.finish()
    return table.html()


def measure(html: str, width: int) -> dict:
    sync_playwright = need_browser()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.set_content(f"<html><body style='margin:0'><div style='width:{width}px'>{html}</div></body></html>")
            return page.evaluate(MEASURE)
        finally:
            browser.close()


def test_consumer_watch_headers_are_whole_in_a_docs_page_width():
    got = measure(snapshot(CONSUMER_COLUMNS, 3, widths={"time": "13ch"}), width=560)
    assert got["rows"] == 3 and got["cut"] == [], got


def test_a_fifty_row_tail_scrolls_inside_a_box_no_taller_than_the_window():
    columns = ["seq", "subject", "time", "size", "user", "clicks"]
    got = measure(snapshot(columns, 60, tail=50, max_rows=50), width=900)
    assert got["rows"] == 50 and got["cut"] == [], got
    assert got["box"] <= 700 and got["page"] <= 700 + 100, got  # header + box + footer fit the window
