"""The README's "From Python, without IPython" runs as written, on a machine with nothing set up.

Each ``python`` block of that section runs in a plain ``python`` process of its own, in an
empty directory, with an empty home and config folder and no ``NATS_*`` variable (so no
nats CLI context, no local server: the example's embedded server is all there is).  What it
prints must be the ``text`` block that follows it in the README, and IPython is never imported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## From Python, without IPython"
BLOCK = re.compile(r"```python\n(.*?)```\s*\nprints\s*\n\s*```text\n(.*?)```", re.S)
NO_IPYTHON = ("\nimport sys as _s\n"
              "assert not [m for m in _s.modules if m.split('.')[0] in ('IPython', 'ipykernel', 'ipywidgets')]\n")


def examples() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    found = BLOCK.findall(text[start:end if end != -1 else None])
    assert len(found) >= 2, "the section's python examples, each followed by 'prints' and a text block"
    return found


@pytest.mark.slow
@pytest.mark.parametrize("index", range(2))
def test_the_readme_python_example_runs_as_written(index, tmp_path):
    code, expected = examples()[index]
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), PYTHONPATH=str(ROOT))
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([sys.executable, "-c", code + NO_IPYTHON], cwd=work, env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout == expected
    if "orders.parquet" in code:
        import pyarrow.parquet as pq

        table = pq.read_table(work / "orders.parquet").to_pandas()
        assert table["id"].tolist() == [1, 2] and table["qty"].tolist() == [2, 10]
