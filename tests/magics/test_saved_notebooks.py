"""A saved notebook keeps its tables: every live view that stops leaves its snapshot in the file.

A notebook is executed in a real kernel (nbclient, as ``make demo`` does) and saved: a KV
watch, a follow tail and a consumer watch stopped with ``.stop()``, an object watch and a
second consumer watch stopped by ``%js_close`` (every live view of
:mod:`jsmagic.ui.watchview`).  Reopened without a kernel, a widget view shows "model not found"; so each of
these outputs must have been replaced, through the same display id, by its static HTML
snapshot: the table, "stopped at HH:MM:SS", no widget view, no "● live", no frozen rate; the
consumer watches keep their chart too.
"""

from __future__ import annotations

import re
import uuid

import nbformat
import pytest

from jsmagic.notebook import execute

pytestmark = pytest.mark.kernel

WIDGET = "application/vnd.jupyter.widget-view+json"


def snapshot_notebook(url: str, tag: str) -> nbformat.NotebookNode:
    cells = [
        f"%load_ext jsmagic\n%js_connect {url}",
        f"%js_stream add SNAP{tag} --subjects 'snap{tag}.>'\n%js_publish snap{tag}.a '{{\"i\": 1}}'",
        f"%js_kv add kv{tag}\n%js_kv put kv{tag} colour green",
        f"w = %js_kv watch kv{tag}",
        f"t = %js_consume SNAP{tag} --all --follow",
        f"%js_obj add obj{tag}\no = %js_obj watch obj{tag}",
        f"%js_consumer add SNAP{tag} worker\nc = %js_consumer watch SNAP{tag} worker --every 0.2",
        f"c2 = %js_consumer watch SNAP{tag} worker --every 0.2",
        "import asyncio\nawait asyncio.sleep(1.5)  # the kernel's loop runs: the views fill",
        "w.stop(); t.stop(); c.stop()",
        "%js_close",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def test_stopped_views_are_saved_as_their_html_snapshots(server, tmp_path):
    tag = uuid.uuid4().hex[:6]
    src = tmp_path / "views.ipynb"
    nbformat.write(snapshot_notebook(server.url, tag), src)
    saved = tmp_path / "saved.ipynb"
    execute(src, saved, timeout=120)
    nb = nbformat.read(saved, as_version=4)
    expected = {3: "colour", 4: f"snap{tag}.a", 5: None, 6: "pending", 7: "pending"}  # cell -> a value shown
    for index, shown in expected.items():
        outputs = [o for o in nb.cells[index].outputs if o.get("output_type") in ("display_data", "execute_result")]
        assert outputs, f"cell {index} has no output"
        for out in outputs:
            data = out["data"]
            assert WIDGET not in data, f"cell {index} was saved as a widget view: it reopens as 'model not found'"
            page = data["text/html"]
            assert "<table" in page and re.search(r"stopped at \d\d:\d\d:\d\d", page), page[:400]
            assert "● live" not in page and "/s ·" not in page, "a snapshot shows a live status or a frozen rate"
            if shown:
                assert shown in page, f"{shown!r} missing from the saved table of cell {index}"
    for index in (6, 7):
        page = nb.cells[index].outputs[-1]["data"]["text/html"]
        assert "<svg" in page and "■ pending 1" in page, f"the consumer watch of cell {index} lost its chart"
    follow = nb.cells[4].outputs[0]["data"]["text/html"]
    assert ">i</th>" in follow and ">data</th>" not in follow  # JSON fields as columns, as a replay shows them
