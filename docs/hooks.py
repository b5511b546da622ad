"""MkDocs hook: the navigation, with every generated course notebook (``docs/course/*.ipynb``) in order."""

from __future__ import annotations

import json
from pathlib import Path

DOCS = Path(__file__).resolve().parent


def _title(path: Path) -> str:
    """The notebook's first heading, else its file name."""
    for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return path.stem


def on_config(config, **kwargs):
    notebooks = sorted((DOCS / "course").glob("*.ipynb"))
    if not notebooks:
        raise SystemExit("docs/course is empty: run `python docs/generate.py` first (make docs does)")
    config["nav"] = [
        {"Home": "index.md"},
        {"Getting started": "getting-started.md"},
        {"Where it connects": "connecting.md"},
        {"Configuration": "configuration.md"},
        {"Event loop": "event-loop.md"},
        {"The jsmagic command": "command.md"},
        {"Course": [{_title(p): f"course/{p.name}"} for p in notebooks]},
        {"Reference": [{"Magics": "reference/magics.md"}, {"Python API": "reference/api.md"}]},
        {"Changelog": "changelog.md"},
    ]
    return config
