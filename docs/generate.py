"""Generate the docs' reference pages and course pages, then ``mkdocs build --strict`` renders them.

``python docs/generate.py`` (run by ``make docs``) writes, under ``docs/``:

- ``reference/magics.md``: every magic's help, exactly what ``%js_consume?`` shows (the
  docstring and the options ``magic_arguments`` generates from the flags);
- ``reference/api.md``: the Python API (``jsmagic`` and ``jsmagic.api``) from its docstrings;
- ``course/*.ipynb``: every notebook of ``notebooks/`` (a glob: new ones are picked up),
  executed in a real kernel against an embedded nats-server, so the site shows the outputs.
  ``--no-execute`` copies them as they are (faster, for writing prose).

These files are generated (``.gitignore``); ``docs/hooks.py`` builds the navigation from them.
"""

from __future__ import annotations

import inspect
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT))


def _block(text: str) -> str:
    """A docstring as it reads in ``%magic?``: dedented, in a text block (no markup is lost)."""
    return "```text\n" + inspect.cleandoc(text or "(no help)") + "\n```\n"


def magics_page() -> str:
    from jsmagic.magics import MAGICS

    out = ["# Magics reference\n",
           "Generated from each magic's own help: the same text as `%js_consume?` in a notebook.\n"]
    seen = set()
    for cls in MAGICS:
        for kind, names in cls.magics.items():
            for name, meth in names.items():
                if name in seen:
                    continue
                seen.add(name)
                kinds = [k for k, n in cls.magics.items() if name in n]
                usage = " / ".join(("%%" if k == "cell" else "%") + name for k in sorted(kinds, reverse=True))
                out.append(f"## `{usage}`\n\n{_block(getattr(cls, meth).__doc__)}")
    return "\n".join(out)


def api_page() -> str:
    import jsmagic
    from jsmagic import api

    out = ["# Python API reference\n", "Generated from the docstrings of `jsmagic` and `jsmagic.api`.\n",
           f"## `jsmagic`\n\n{_block(jsmagic.__doc__)}", f"## `jsmagic.api`\n\n{_block(api.__doc__)}"]
    names = [*api.__all__, "last_result", "context", "contexts", "use"]
    for name in names:
        obj = getattr(jsmagic, name)
        if inspect.ismodule(obj):  # a group of verbs (jsmagic.streams, jsmagic.kv...): each of its functions
            out.append(f"## `jsmagic.{name}`\n\n{_block(obj.__doc__)}")
            for verb in obj.__all__:
                fn = getattr(obj, verb)
                if inspect.isfunction(fn):
                    prefix = "async " if inspect.iscoroutinefunction(fn) else ""
                    out.append(f"### `{prefix}jsmagic.{name}.{verb}{inspect.signature(fn)}`\n\n{_block(fn.__doc__)}")
            continue
        if inspect.isclass(obj):  # a warning class (ReadWarning): its name and docstring, no signature
            out.append(f"### `jsmagic.{name}`\n\n{_block(obj.__doc__)}")
            continue
        prefix = "async " if inspect.iscoroutinefunction(obj) else ""
        out.append(f"### `{prefix}jsmagic.{name}{inspect.signature(obj)}`\n\n{_block(obj.__doc__)}")
    from jsmagic.core.errors import JSMagicError

    out.append(f"## Errors\n\n### `jsmagic.JSMagicError`\n\n{_block(JSMagicError.__doc__)}")
    for cls in sorted(_subclasses(JSMagicError), key=lambda c: c.__name__):
        out.append(f"### `{cls.__module__}.{cls.__name__}`\n\n{_block(cls.__doc__)}")
    return "\n".join(out)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def course(execute: bool = True) -> list[Path]:
    from jsmagic.notebook import execute as run_notebook

    target = DOCS / "course"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    written = []
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        out = target / nb.name
        if execute:
            print(f"executing {nb.name} ...", flush=True)
            static_views(run_notebook(nb, cwd=ROOT / "notebooks"), out)
        else:
            shutil.copy(nb, out)
        written.append(out)
    return written


def static_views(nb, out: Path) -> None:
    """Write ``nb`` with each still-live widget shown by its HTML snapshot (a web page has no kernel)."""
    import nbformat

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET in data and "text/html" in data:
                del data[WIDGET]
    nbformat.write(nb, out)


WIDGET = "application/vnd.jupyter.widget-view+json"


def main(argv: list[str]) -> int:
    (DOCS / "reference").mkdir(exist_ok=True)
    (DOCS / "reference" / "magics.md").write_text(magics_page(), encoding="utf-8")
    (DOCS / "reference" / "api.md").write_text(api_page(), encoding="utf-8")
    shutil.copy(ROOT / "CHANGELOG.md", DOCS / "changelog.md")
    pages = course(execute="--no-execute" not in argv)
    print(f"docs: reference/magics.md, reference/api.md, {len(pages)} course notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
