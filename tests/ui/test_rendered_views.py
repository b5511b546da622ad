"""The docs' course pages show live views as a saved notebook does: stopped snapshots, never "● live".

``docs/generate.py`` executes each course notebook in a real kernel; views still live at
the last cell used to be published as their first ``text/html`` (a table frozen at its first
sample, labelled "● live").  Here a notebook leaves a KV watch, a tail and a consumer watch
running, goes through the generator's own functions, and every view must come out as its
snapshot: the table (and chart), "stopped at", no widget view, the notebook's own cells only.
"""

from __future__ import annotations

import importlib.util
import re
import uuid
from pathlib import Path

import nbformat
import pytest

from jsmagic.notebook import execute

pytestmark = pytest.mark.kernel

REPO = Path(__file__).resolve().parents[2]
WIDGET = "application/vnd.jupyter.widget-view+json"


def generator():
    spec = importlib.util.spec_from_file_location("docs_generate", REPO / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_course_pages_show_stopped_snapshots_of_views_left_live(server, tmp_path):
    tag = uuid.uuid4().hex[:6]
    cells = [
        f"%load_ext jsmagic\n%js_connect {server.url}",
        f"%js_stream add DOC{tag} --subjects 'doc{tag}.>'\n%js_publish doc{tag}.a '{{\"i\": 1}}'",
        f"%js_kv add kv{tag}\n%js_kv put kv{tag} colour green\nw = %js_kv watch kv{tag}",
        f"t = %js_consume DOC{tag} --all --follow",
        f"%js_consumer add DOC{tag} worker\nc = %js_consumer watch DOC{tag} worker --every 0.2",
        "import asyncio\nawait asyncio.sleep(1)",
    ]
    src = tmp_path / "course.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, src)
    gen = generator()
    out = tmp_path / "page.ipynb"
    done = gen.run_ending_live_views(lambda path, cwd: execute(path, cwd=cwd, timeout=120), src)
    gen.published(done)  # what the site shows: a still-live widget by its HTML copy, no test tags
    nbformat.write(done, out)
    page = nbformat.read(out, as_version=4)
    assert [c.source for c in page.cells] == cells, "the page must hold the notebook's own cells only"
    for index, shown in {2: "colour", 3: f"doc{tag}.a", 4: "<svg"}.items():
        views = [o for o in page.cells[index].outputs if WIDGET in o.get("data", {}) or "jsmagic-live" in
                 o.get("data", {}).get("text/html", "")]
        assert views, f"cell {index}: no view"
        for out in views:
            data = out["data"]
            assert WIDGET not in data
            html = data["text/html"]
            assert re.search(r"stopped at \d\d:\d\d:\d\d", html) and "● live" not in html, html[:300]
            assert shown in html, f"cell {index}: {shown!r} missing"
