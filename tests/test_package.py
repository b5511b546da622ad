"""The release: a wheel and an sdist that ``twine check`` passes, installed in a fresh venv, running the tour.

``python -m build`` builds both (in its own isolated build environment, as a release
would); the wheel is installed with nothing else of the developer's into a new venv
(only ipykernel and nbclient beside it, to execute a notebook), and the tour runs there
against the embedded nats-server the wheel brings.  ``pip install jsmagic`` stays light:
no JupyterLab, Arrow, polars, dask or matplotlib without their extras.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import nbformat
import pytest

import jsmagic

from .course.test_binder import clean_env, sh

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("jupyterlab", "pyarrow", "polars", "dask", "matplotlib")


def test_wheel_and_sdist_install_in_a_fresh_venv_and_run_the_tour(tmp_path):
    dist = tmp_path / "dist"
    out = subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    check = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and check.stdout.count("PASSED") == 2, check.stdout + check.stderr

    # one version, in jsmagic/__init__.py: the wheel's metadata and the changelog agree with it
    with zipfile.ZipFile(wheels[0]) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    assert re.search(rf"^Version: {re.escape(jsmagic.__version__)}$", meta, re.M)
    assert f"## {jsmagic.__version__}" in (REPO / "CHANGELOG.md").read_text()
    assert "License-Expression: Apache-2.0" in meta and "License-File: LICENSE" in meta
    assert "Apache License" in (REPO / "LICENSE").read_text() and "Version 2.0" in (REPO / "LICENSE").read_text()
    urls = re.findall(r"^Project-URL: [^,]+, (\S+)$", meta, re.M)
    home = re.search(r"mybinder\.org/v2/gh/([^/]+/[^/]+)/", (REPO / "README.md").read_text()).group(1)
    assert len(urls) >= 3 and all(u.startswith(f"https://github.com/{home}") for u in urls), (urls, home)
    with tarfile.open(sdists[0]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for needed in ("LICENSE", "tests/conftest.py", "tests/test_package.py", "tests/course/test_binder.py",
                   "tests/docs/test_examples.py", "notebooks/00-tour.ipynb", "docs/generate.py", "binder/postBuild"):
        assert needed in names, f"the sdist lacks {needed}"
    assert not [n for n in names if "__pycache__" in n or n.startswith("notebooks/_executed")]
    core = [line for line in meta.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert core and not [d for d in core if any(h in d.lower() for h in HEAVY)], core
    for extra in ("parquet", "polars", "dask", "plot", "lab"):
        assert f"Provides-Extra: {extra}" in meta

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = clean_env(tmp_path, venv)
    py = str(venv / "bin" / "python")
    sh([py, "-m", "pip", "install", "-q", str(wheels[0]), "ipykernel", "nbclient", "nbformat"], tmp_path, env, 600)
    where = sh([py, "-c", "import jsmagic; print(jsmagic.__file__, jsmagic.__version__)"], tmp_path, env, 60)
    assert str(venv) in where and jsmagic.__version__ in where

    executed = tmp_path / "tour.ipynb"
    sh([py, "-m", "jsmagic.notebook", str(REPO / "notebooks" / "00-tour.ipynb"), str(executed)], tmp_path, env, 300)
    nb = nbformat.read(executed, as_version=4)
    shown = "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                      for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "embedded nats-server" in shown and "ORDERS: 3 rows; seq 1–3" in shown


def test_import_jsmagic_is_light():
    """``import jsmagic`` in a fresh process loads neither pandas nor nats-py (a magic's first use does)."""
    code = "import sys, jsmagic; print(sorted(m for m in ('pandas', 'nats', 'numpy', 'IPython') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"import jsmagic loaded {out.stdout.strip()}"
    out = subprocess.run([sys.executable, "-c", "import jsmagic, sys; jsmagic.context; print('pandas' in sys.modules)"],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.stdout.strip() == "True", out.stderr  # and the API still loads on first use


def test_every_module_a_plain_install_loads_imports_without_the_extras():
    """The magics, the services, the API and the command import with pyarrow, polars and dask missing.

    A plain ``pip install jsmagic`` has none of them (they are the [parquet], [polars] and
    [dask] extras): only ``--to``, ``--as arrow|polars`` and ``jsmagic.dask`` may need them,
    when used.  CI's fresh-venv tour caught a service importing the Parquet writer at import.
    """
    code = (
        "import importlib, pkgutil, sys\n"
        "class NoExtras:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pyarrow', 'polars', 'dask', 'duckdb'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
        "sys.meta_path.insert(0, NoExtras())\n"
        "import jsmagic\n"
        "for pkg in ('magics', 'services', 'command'):\n"
        "    p = importlib.import_module('jsmagic.' + pkg)\n"
        "    for m in pkgutil.iter_modules(p.__path__):\n"
        "        importlib.import_module(f'jsmagic.{pkg}.{m.name}')\n"
        "importlib.import_module('jsmagic.api')\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]
