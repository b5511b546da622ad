"""The docs site: built with warnings as errors, usable opened as a file, a real reference.

``make docs`` (run by CI) executes the course notebooks first; here they are copied as they
are (``--no-execute``) so the build itself is checked in a minute.
"""

from __future__ import annotations

import html
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]


def generator():
    spec = importlib.util.spec_from_file_location("docs_generate", REPO / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_page_per_magic_with_a_table_of_every_flag():
    gen = generator()
    pages = gen.magics()
    from jsmagic.magics import MAGICS

    names = {n for cls in MAGICS for names in cls.magics.values() for n in names}
    assert {name for name, *_ in pages} == names
    for name, usage, func, verbs in pages:
        page = gen.magic_page(name, usage, func, verbs)
        parsers = [func.parser] if verbs is None else list(verbs.parsers.values())
        assert page.count("| flag | meaning | default |") == len(parsers), name
        for parser in parsers:  # every option of the parser, as %magic? lists it, is a row
            for option in re.findall(r"^\s+(--?[\w-]+)(?=[ ,=]|$)", parser.format_help(), re.M):
                assert f"`{option}" in page, f"%{name}: {option} has no row"
        assert "::" not in page.replace("```", ""), name  # reST literal markers became fenced code
    consume = gen.magic_page(*next(p for p in pages if p[0] == "js_consume"))
    assert "| `--as {pandas,arrow,polars}` | result type (default JSMagic.result_type) |" in consume
    assert "```python\ndf = %js_consume ORDERS\n" in consume  # the worked examples, runnable


def test_the_course_is_an_explicit_list(tmp_path):
    """A scratch notebook in notebooks/ (where make lab opens) is never executed or published."""
    gen = generator()
    listed = re.findall(r"^\| \[(\d\d-[\w-]+)\]\(\1\.ipynb\)", (REPO / "notebooks" / "README.md").read_text(), re.M)
    assert [f"{n}.ipynb" for n in listed] == gen.COURSE  # the course README's table is the same course
    source = tmp_path / "notebooks"
    source.mkdir()
    for name in [*gen.COURSE, "README.md"]:
        shutil.copy(REPO / "notebooks" / name, source / name)
    scratch = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1/0")])
    nbformat.write(scratch, source / "scratch.ipynb")
    written = gen.course(execute=False, source=source, target=tmp_path / "course")
    assert [p.name for p in written] == gen.COURSE
    tags = [t for p in written for c in nbformat.read(p, as_version=4).cells for t in c.metadata.get("tags", [])]
    assert tags == []  # internal test tags (check-tour-…) are no badges on the site


def links(page: Path) -> list[str]:
    return [unquote(h) for h in re.findall(r'href="([^"#]+)"', page.read_text()) if not urlparse(h).scheme]


@pytest.mark.slow
def test_the_site_builds_strict_and_works_opened_as_a_file(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocs_jupyter")
    pytest.importorskip("mkdocstrings")
    subprocess.run([sys.executable, str(REPO / "docs" / "generate.py"), "--no-execute"], check=True, cwd=REPO, timeout=120)
    site = tmp_path / "site"
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]

    # opened as README says (site/index.html): every link of every page names a file that exists
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")  # 404.html is a server's page
    nav = links(site / "index.html")
    assert len([h for h in nav if h.startswith("course/0")]) == len(generator().COURSE)
    for page in pages:
        for href in links(page):
            target = (page.parent / href).resolve()
            assert target.is_file(), f"{page.relative_to(site)} links {href}: no such file (a folder shows a listing)"
    # search from the file: the index as a script (no fetch) and the theme's worker shim (loaded
    # from unpkg.com, so an online browser searches the file; the browser test searches the served site)
    assert (site / "search" / "search_index.js").is_file()
    assert "iframe-worker" in (site / "index.html").read_text()

    # the API reference is rendered from docstrings: signatures, parameter tables, no reST left
    api = html.unescape(re.sub(r"<[^>]+>", " ", (site / "reference" / "api.html").read_text()))
    for name in ("connect", "replay", "publish", "last_result", "close", "read_stream", "IncompleteError"):
        assert re.search(rf"\b{name}\b", api), f"{name} is not on the API page"
    assert api.count("Parameters:") >= 6 and "Returns:" in api
    for raw in ("::", ":mod:", ":class:", ":func:", "``"):
        assert raw not in api, f"{raw!r} shows on the API page"
    for page in (site / "course").glob("0*.html"):  # the notebooks (index.html is the course README)
        assert "check-" not in page.read_text(), f"{page.name} shows internal test tags"
        notebooks = [h for h in links(page) if h.endswith(".ipynb")]
        assert len(notebooks) <= 1, f"{page.name} links notebooks, not pages: {notebooks}"  # its own download only


@pytest.mark.slow
def test_in_a_browser_the_file_navigates_and_the_served_site_searches(tmp_path):
    """Chromium opens site/index.html as a file and follows the nav; served over http, search finds a page."""
    from .course.test_browser import CHROMIUM, CHROMIUM_ARGS, need_browser

    sync_playwright = need_browser()
    pytest.importorskip("mkdocstrings")
    subprocess.run([sys.executable, str(REPO / "docs" / "generate.py"), "--no-execute"], check=True, cwd=REPO, timeout=120)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)], cwd=REPO,
                   check=True, capture_output=True, timeout=300)
    from jsmagic.connecting.server import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", "-d", str(site), "--bind", "127.0.0.1", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM,
                                                            headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto((site / "index.html").as_uri())
            page.click("nav.md-nav--primary a[href='reference/magics/js_consume.html']")
            page.wait_for_url("**/reference/magics/js_consume.html")
            assert "| flag |" not in page.content() and page.locator("table th", has_text="default").count() >= 1
            page.goto(f"http://127.0.0.1:{port}/index.html", wait_until="networkidle")
            page.keyboard.press("s")  # the theme's search shortcut
            page.keyboard.type("partition")
            page.wait_for_function("document.querySelector('.md-search-result__meta')?.innerText.includes('matching')",
                                   timeout=60_000)
            assert "No matching" not in page.inner_text(".md-search-result__meta")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
