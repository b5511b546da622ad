"""The docs site builds with warnings as errors, and its reference covers every magic and the API.

``make docs`` (run by CI) executes the course notebooks first; here they are copied as they
are (``--no-execute``) so the build itself is checked in seconds.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def generator():
    spec = importlib.util.spec_from_file_location("docs_generate", REPO / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_pages_cover_every_magic_and_the_api():
    from jsmagic.magics import MAGICS

    gen = generator()
    magics, api = gen.magics_page(), gen.api_page()
    for cls in MAGICS:
        for names in cls.magics.values():
            for name in names:
                assert f"%{name}`" in magics or f"%{name} /" in magics, f"%{name} is not in the reference"
    assert "see %js_consume? for every option" not in magics  # the help itself, not an error
    assert "-o NAME, --output NAME" in magics
    for name in ("connect", "replay", "publish", "last_result", "close"):
        assert f"jsmagic.{name}(" in api


@pytest.mark.slow
def test_the_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocs_jupyter")
    subprocess.run([sys.executable, str(REPO / "docs" / "generate.py"), "--no-execute"], check=True, cwd=REPO, timeout=120)
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    notebooks = sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))
    built = sorted(p.parent.name for p in (tmp_path / "site" / "course").glob("*/index.html"))
    assert built == notebooks  # every course notebook is a page, new ones too
    assert (tmp_path / "site" / "reference" / "magics" / "index.html").exists()
