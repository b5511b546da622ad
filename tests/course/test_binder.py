"""The Binder set-up, reproduced: Binder's Python, binder/requirements.txt, binder/postBuild, the course.

Binder (repo2docker) picks the Python from ``binder/runtime.txt`` (its own default without
one is 3.10, below jsmagic's ``requires-python``), copies the repository into the image,
installs ``binder/requirements.txt``, then runs ``binder/postBuild``.  We do the same in a
new venv made with THAT Python (not the test runner's; no system site-packages, nothing from
the developer's .venv) on a copy of the files a clone has, then execute the tour and the
data-teams notebook (pyarrow, polars, DuckDB, Dask) with that venv's kernel and no server
configured, as a Binder user would.

Slow (a real ``pip install`` of JupyterLab and jsmagic[course], a few minutes from the local
wheel cache), so it is marked ``slow``; CI still runs it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from jsmagic.testing import strip_ansi

REPO = Path(__file__).resolve().parents[2]
# repo2docker's rules (jupyterhub/repo2docker, buildpacks/python and conda/supported_python_version.py):
# runtime.txt holds "python-X.Y[.Z]", only X.Y counts; without the file, Python 3.10.
REPO2DOCKER_DEFAULT = "3.10"
REPO2DOCKER_SUPPORTED = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14")


def binder_python() -> str:
    """The X.Y that repo2docker would install for this repository."""
    runtime = REPO / "binder" / "runtime.txt"
    if not runtime.exists():
        return REPO2DOCKER_DEFAULT
    text = runtime.read_text().strip()
    m = re.fullmatch(r"python-(\d+)\.(\d+)(?:\.\d+)?", text)
    assert m, f"binder/runtime.txt says {text!r}; repo2docker reads python-X.Y"
    return f"{m.group(1)}.{m.group(2)}"


def interpreter(version: str) -> str | None:
    """A python of that X.Y on this machine: the runner's own if it matches, else pythonX.Y on PATH."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    return shutil.which(f"python{version}")


def test_binder_python_is_one_repo2docker_supports_and_jsmagic_allows():
    version = binder_python()
    assert version in REPO2DOCKER_SUPPORTED, f"repo2docker cannot install Python {version}"
    required = re.search(r'requires-python\s*=\s*">=(\d+)\.(\d+)"', (REPO / "pyproject.toml").read_text())
    assert tuple(map(int, version.split("."))) >= (int(required.group(1)), int(required.group(2))), (
        f"Binder's Python {version} is below requires-python >={required.group(1)}.{required.group(2)}: "
        "postBuild's pip install would fail")
CLONE_FILES = ["pyproject.toml", "README.md", "jsmagic", "binder", "notebooks"]


def copy_clone(dest: Path) -> None:
    """The files of a fresh clone that the install needs (no caches, no egg-info, no venv)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_executed", ".ipynb_checkpoints")
    for name in CLONE_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)


def clean_env(tmp: Path, venv: Path) -> dict[str, str]:
    """The environment of a Binder user: the venv first on PATH, no NATS settings, own config dirs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "VIRTUAL_ENV", "PYTHON", "JUPYTER"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["XDG_CONFIG_HOME"] = str(tmp / "xdg")  # no nats CLI context of the developer
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter")
    env["IPYTHONDIR"] = str(tmp / "ipython")
    # a server on this machine's 127.0.0.1:4222 must not stand in for the embedded one
    profile = tmp / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_kernel_config.py").write_text("c.JSMagic.probe_local = False\n")
    return env


def sh(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run one set-up step; on failure show its output, since that is the whole diagnosis."""
    proc = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-5000:]}"
    return proc.stdout


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_binder_install_then_the_course_runs(tmp_path):
    version = binder_python()
    python = interpreter(version)
    if python is None:
        pytest.skip(f"Binder's Python {version} (binder/runtime.txt) is not on this machine: install python{version}")
    home = tmp_path / "home"  # repo2docker's $HOME holds the repository
    home.mkdir()
    copy_clone(home)
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    env = clean_env(tmp_path, venv)
    py = str(venv / "bin" / "python")

    sh([py, "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"], home, env, 600)
    out = sh(["bash", "binder/postBuild"], home, env, 600)
    assert "nats-server ok: nats://127.0.0.1:" in out

    where = sh([py, "-c", "import sys, jsmagic; print(sys.version_info[:2]); print(jsmagic.__file__)"],
               tmp_path, env, 60).strip().splitlines()
    assert where[-2] == str(tuple(map(int, version.split(".")))), f"the venv runs Python {where[-2]}, not {version}"
    assert where[-1].startswith(str(venv)), f"jsmagic imported from {where[-1]}, not from the Binder venv"
    listing = sh([str(venv / "bin" / "jupyter"), "labextension", "list"], home, env, 120)
    manager = [strip_ansi(line) for line in listing.splitlines() if "@jupyter-widgets/jupyterlab-manager" in line]
    assert manager and "enabled" in manager[0] and "OK" in manager[0], listing  # live widgets render in Lab

    executed = tmp_path / "tour-executed.ipynb"
    sh([py, "-m", "jsmagic.notebook", "notebooks/00-tour.ipynb", str(executed)], home, env, 300)
    nb = nbformat.read(executed, as_version=4)
    shown = "\n".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    assert "embedded nats-server" in shown  # nothing configured: the wheel's server started
    assert "ORDERS: 3 rows; seq 1–3" in shown  # the replay into a DataFrame
    assert "Closed nats://127.0.0.1:" in shown and "embedded server stopped" in shown
    # the data-teams notebook needs the [course] extra: Parquet, polars, DuckDB and a Dask cluster
    sh([py, "-m", "jsmagic.notebook", "notebooks/06-replay-for-data-teams.ipynb", str(tmp_path / "06.ipynb")],
       home, env, 600)
