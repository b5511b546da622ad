"""Generate the docs' reference pages and course pages, then ``mkdocs build --strict`` renders them.

``python docs/generate.py`` (run by ``make docs``) writes, under ``docs/``:

- ``reference/magics/*.md``: a page per magic, made from the same parsers and docstrings as
  its ``%magic?`` help: what it does, worked examples (each one run by
  ``tests/docs/test_examples.py``) and a table of every flag (flag, meaning, default), verb by
  verb for ``%js_stream``, ``%js_kv``…;
- ``reference/api.md``: the Python API, rendered from its docstrings by mkdocstrings;
- ``course/index.md``: the course's README (what each notebook teaches);
- ``course/*.ipynb``: the notebooks of :data:`COURSE` (an explicit list: a scratch notebook in
  ``notebooks/``, where ``make lab`` opens, is never published), executed in a real kernel
  against an embedded nats-server so the site shows the outputs; ``--no-execute`` copies them
  as they are (faster, for writing prose).

These files are generated (``.gitignore``); ``docs/hooks.py`` builds the navigation from them.
"""

from __future__ import annotations

import argparse
import inspect
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT))

COURSE = [  # the published course, in order
    "00-tour.ipynb",
    "01-streams.ipynb",
    "02-consumers.ipynb",
    "03-acks.ipynb",
    "04-key-value.ipynb",
    "05-object-store.ipynb",
    "06-replay-for-data-teams.ipynb",
    "07-modern-jetstream.ipynb",
    "08-operations.ipynb",
    "09-exploring-history.ipynb",
]
API = [  # what the Python API page renders, in order (mkdocstrings identifiers; numpy-style docstrings)
    "jsmagic.services.connection.connect", "jsmagic.services.connection.close", "jsmagic.services.connection.use",
    "jsmagic.services.connection.status", "jsmagic.services.connection.run",
    "jsmagic.services.publishing.publish", "jsmagic.services.messages.replay", "jsmagic.services.messages.export",
    "jsmagic.services.messages.follow", "jsmagic.services.messages.selection",
    "jsmagic.services.publishing.publish_acks", "jsmagic.services.reading",
    "jsmagic.services.streams", "jsmagic.services.streamhistory", "jsmagic.services.explore",
    "jsmagic.services.finding", "jsmagic.services.consumers", "jsmagic.services.consumerreset",
    "jsmagic.services.kv", "jsmagic.services.kvhistory", "jsmagic.services.obj", "jsmagic.services.counters",
    "jsmagic.services.corenats", "jsmagic.services.micro", "jsmagic.services.operate", "jsmagic.services.check",
    "jsmagic.api.kv_put", "jsmagic.api.kv_get", "jsmagic.api.kv_view",
    "jsmagic.core.lastresult.last_result", "jsmagic.core.registry.context", "jsmagic.core.registry.contexts",
    "jsmagic.services.common.ReadWarning",
]
GOOGLE = ["jsmagic.dask.read_stream"]  # written in Google style (Args/Returns)


# ---- the magics -------------------------------------------------------------------------

def magics() -> list[tuple[str, str, object, object]]:
    """``(name, usage, function, verbs)`` for every magic, once (line and cell forms share a page)."""
    from jsmagic.magics import MAGICS
    from jsmagic.magics.verbs import Verbs

    out, seen = [], set()
    for cls in MAGICS:
        for names in cls.magics.values():
            for name, method in names.items():
                if name in seen:
                    continue
                seen.add(name)
                kinds = sorted((k for k, n in cls.magics.items() if name in n), reverse=True)
                usage = " / ".join(("%%" if k == "cell" else "%") + name for k in kinds)
                verbs = next((v for v in vars(sys.modules[cls.__module__]).values()
                              if isinstance(v, Verbs) and v.magic == name), None)
                out.append((name, usage, getattr(cls, method), verbs))
    return out


def flags(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The parser's arguments in ``--help`` order (:func:`jsmagic.magics.verbs.help_arguments`)."""
    from jsmagic.magics.verbs import help_arguments

    return help_arguments(parser)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def flag_table(parser: argparse.ArgumentParser) -> str:
    rows = ["| flag | meaning | default |", "| --- | --- | --- |"]
    for a in flags(parser):
        metavar = a.metavar or ("{" + ",".join(map(str, a.choices)) + "}" if a.choices else a.dest.upper())
        if a.nargs in ("+", "*"):
            metavar += " …"
        if a.option_strings:
            words = a.option_strings if a.nargs == 0 else [f"{o} {metavar}" for o in a.option_strings]
            default = "off" if a.nargs == 0 and not a.default else "" if a.default in (None, [], "") else str(a.default)
        else:
            words = [metavar if a.metavar else a.dest.upper()]
            default = "optional" if a.nargs in ("?", "*") else "required"
        rows.append(f"| {', '.join(f'`{_cell(w)}`' for w in words)} | {_cell(a.help or '')} | {_cell(default)} |")
    return "\n".join(rows) + "\n"


def prose(text: str) -> str:
    """A docstring as Markdown: ``Examples::`` blocks become fenced Python, reST roles plain code."""
    text = re.sub(r":(?:func|class|mod|meth|data|attr):`~?([^`]+)`", r"`\1`", inspect.cleandoc(text or ""))
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            head = line.rstrip()[:-2].rstrip()
            out.append(head + ":" if head else "")
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                block.append(lines[i])
                i += 1
            for para in "\n".join(block).strip("\n").split("\n\n"):
                if para.strip():
                    out += ["", "```python", inspect.cleandoc(para), "```", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out).strip() + "\n"


def usage_block(parser: argparse.ArgumentParser) -> str:
    """The usage line as ``%magic?`` shows it, without IPython's leading ``::``."""
    lines = [line for line in parser.format_usage().splitlines() if line.strip() and line.strip() != "::"]
    return "```text\n" + inspect.cleandoc("\n".join(lines)) + "\n```\n"


def magic_page(name: str, usage: str, func, verbs) -> str:
    out = [f"# `{usage}`\n", "Generated from the magic's own parsers and help, the same as "
           f"`%{name}?` in a notebook. A `#` that starts a word outside quotes begins a comment.\n"]
    if verbs is None:
        parser = func.parser
        out += [prose(parser.description), "## Usage\n", usage_block(parser), "## Flags\n", flag_table(parser)]
        return "\n".join(out)
    out += [prose(verbs.intro), "## Verbs\n"]
    out.append("\n".join(f"- [`{verb}`](#{verb}): {_cell(p.description or '')}" for verb, p in verbs.parsers.items()) + "\n")
    for verb, parser in verbs.parsers.items():
        cell = f" (also `%%{name} {verb}` with the cell as the value)" if verb in verbs.cell_verbs else ""
        out += [f"## {verb}\n", f"{_cell(parser.description or '')}{cell}\n",
                usage_block(parser), flag_table(parser)]
    return "\n".join(out)


def magics_index(pages: list[tuple[str, str, object, object]]) -> str:
    out = ["# Magics reference\n", "One page per magic, generated from its parsers: the flags, their meaning "
           "and defaults, and worked examples that the tests run. In a notebook, `%js_consume?` shows the same.\n",
           "| magic | what it does |", "| --- | --- |"]
    for name, usage, func, verbs in pages:
        text = verbs.intro if verbs is not None else func.parser.description
        first = prose(text).split("\n\n")[0].replace("\n", " ")
        out.append(f"| [`{usage}`]({name}.md) | {_cell(first)} |")
    return "\n".join(out) + "\n"


# ---- the Python API ---------------------------------------------------------------------

def api_page() -> str:
    out = ["# Python API reference\n",
           "Every magic's work is a coroutine of the core; `jsmagic` exports the everyday ones "
           "(`import jsmagic` stays light: they load on first use). Rendered from the docstrings.\n",
           "::: jsmagic.api\n    options:\n      members: false\n      show_root_heading: false\n"]
    out += [f"::: {name}\n" for name in API]
    out += [f"::: {name}\n    options:\n      docstring_style: google\n" for name in GOOGLE]
    out += ["## Errors\n", "Every error a user can cause is a `jsmagic.JSMagicError` with a one-line message "
            "that says what to do next.\n", "::: jsmagic.core.errors\n    options:\n      docstring_style: google\n      show_root_heading: false\n"
            "      members_order: source\n      filters: [\"!^_\", \"!^translate$\", \"!^did_you_mean$\", \"!^not_found$\"]\n"]
    return "\n".join(out)


# ---- the course ---------------------------------------------------------------------------

def course(execute: bool = True, source: Path = ROOT / "notebooks", target: Path = DOCS / "course") -> list[Path]:
    """The notebooks of :data:`COURSE`, executed (or copied) into ``target``; test tags removed."""
    import nbformat

    from jsmagic.notebook import execute as run_notebook

    missing = [name for name in COURSE if not (source / name).exists()]
    if missing:
        raise SystemExit(f"docs/generate.py: COURSE names notebooks that are not in {source}: {missing}")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    written = []
    for name in COURSE:
        out = target / name
        if execute:
            print(f"executing {name} ...", flush=True)
            nb = run_ending_live_views(run_notebook, source / name)
        else:
            nb = nbformat.read(source / name, as_version=4)
        published(nb)
        nbformat.write(nb, out)
        written.append(out)
    shutil.copy(source / "README.md", target / "index.md")  # the course's overview and its topics table
    return written


WIDGET = "application/vnd.jupyter.widget-view+json"
END_VIEWS = "from jsmagic.ui.liveshown import finish_all\nfinish_all(note=None)"


def run_ending_live_views(run_notebook, nb: Path):
    """Execute ``nb`` plus a last cell that ends its live views, which then show their stopped
    snapshots (as a saved notebook does), not a widget frozen at its first sample; that cell is dropped."""
    import tempfile

    import nbformat

    book = nbformat.read(nb, as_version=4)
    book.cells.append(nbformat.v4.new_code_cell(END_VIEWS))
    with tempfile.TemporaryDirectory() as tmp:
        nbformat.write(book, Path(tmp) / nb.name)
        done = run_notebook(Path(tmp) / nb.name, cwd=nb.parent)
    done.cells.pop()
    return done


NOTEBOOK_LINK = re.compile(r"\]\((\d\d-[\w-]+)\.ipynb(#[^)]*)?\)")


def published(nb) -> None:
    """What a reader sees: each still-live widget by its HTML snapshot, no internal test tags (``check-…``),
    links to the other course pages and to the course's README (``course/index.md`` on the site) as pages."""
    for cell in nb.cells:
        cell.get("metadata", {}).pop("tags", None)
        if cell.cell_type == "markdown":
            cell.source = NOTEBOOK_LINK.sub(r"](\1.html\2)", cell.source).replace("](README.md)", "](index.html)")
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET in data and "text/html" in data:
                del data[WIDGET]


def main(argv: list[str]) -> int:
    reference = DOCS / "reference"
    shutil.rmtree(reference, ignore_errors=True)
    (reference / "magics").mkdir(parents=True)
    pages = magics()
    for name, usage, func, verbs in pages:
        (reference / "magics" / f"{name}.md").write_text(magic_page(name, usage, func, verbs), encoding="utf-8")
    (reference / "magics" / "index.md").write_text(magics_index(pages), encoding="utf-8")
    (reference / "api.md").write_text(api_page(), encoding="utf-8")
    shutil.copy(ROOT / "CHANGELOG.md", DOCS / "changelog.md")
    written = course(execute="--no-execute" not in argv)
    print(f"docs: {len(pages)} magic pages, reference/api.md, {len(written)} course notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
