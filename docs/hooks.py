"""MkDocs hook: the navigation, with the course (``COURSE`` of docs/generate.py) and a page per magic."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

DOCS = Path(__file__).resolve().parent


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _title(path: Path) -> str:
    """The notebook's first heading, else its file name."""
    for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return path.stem


def on_config(config, **kwargs):
    course = [DOCS / "course" / name for name in _generator().COURSE]
    magics = sorted((DOCS / "reference" / "magics").glob("js_*.md"))
    if not all(p.exists() for p in course) or not magics:
        raise SystemExit("docs/course or docs/reference is missing: run `python docs/generate.py` first (make docs does)")
    config["nav"] = [
        {"Home": "index.md"},
        {"Getting started": "getting-started.md"},
        {"Where it connects": "connecting.md"},
        {"Configuration": "configuration.md"},
        {"Event loop": "event-loop.md"},
        {"The jsmagic command": "command.md"},
        {"Course": [{"Overview": "course/index.md"}, *({_title(p): f"course/{p.name}"} for p in course)]},
        {"Magics": [{"All magics": "reference/magics/index.md"},
                    *({f"%{p.stem}": f"reference/magics/{p.name}"} for p in magics)]},
        {"Python API": "reference/api.md"},
        {"Changelog": "changelog.md"},
    ]
    return config
