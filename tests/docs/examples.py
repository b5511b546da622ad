"""The examples a newcomer pastes: every code block of the README and the docs pages, every ``%magic?`` example.

:func:`markdown_blocks` and :func:`help_blocks` find them; ``tests/docs/test_examples.py``
executes each in a real kernel.  The rules (said in README.md's "Testing" section):

- a ```` ```python ```` block runs as one cell; one that calls ``asyncio.run(`` is a script and
  runs as one (``python -c``), with ``NATS_URL`` naming a test server;
- a block whose first line is ``# not run: <why>`` is shown, not run (it needs your servers,
  your cluster…); the test reports it as skipped with the why;
- shell commands are ```` ```bash ````, output samples ```` ```text ````: they are not Python;
- a fence without a language is refused (say which of the three it is);
- in ``%magic?`` help, each paragraph of an indented block after a line ending in ``::`` is
  one cell, under the same ``# not run:`` rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOT_RUN = "# not run:"
NOT_PYTHON = {"bash", "text", "console"}
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclass
class Block:
    where: str  # README.md:42 or %js_consume? #2
    code: str
    lang: str = "python"

    @property
    def script(self) -> bool:
        return "asyncio.run(" in self.code

    @property
    def not_run(self) -> str | None:
        """The reason given on the block's first line, if it is not meant to run."""
        first = self.code.lstrip().splitlines()[0] if self.code.strip() else ""
        return first[len(NOT_RUN):].strip() if first.startswith(NOT_RUN) else None


def pages() -> list[Path]:
    """The README and the hand-written docs pages (generated ones come from what is tested here)."""
    return [REPO / "README.md", *sorted(p for p in (REPO / "docs").glob("*.md") if p.name != "changelog.md")]


def markdown_blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        lang = m.group(1).strip().split()[0] if m.group(1).strip() else ""
        out.append(Block(f"{path.relative_to(REPO)}:{line}", m.group(2), lang))
    return out


def help_blocks() -> list[Block]:
    """Every example paragraph of every magic's ``%magic?`` help (line and cell forms share one help)."""
    from jsmagic.magics import MAGICS

    out, seen = [], set()
    for cls in MAGICS:
        for names in cls.magics.values():
            for name, method in names.items():
                doc = getattr(cls, method).__doc__ or ""
                if doc in seen:
                    continue
                seen.add(doc)
                for i, code in enumerate(example_paragraphs(doc), 1):
                    out.append(Block(f"%{name}? #{i}", code))
    return out


def example_paragraphs(doc: str) -> list[str]:
    """The indented paragraphs after each line ending in ``::`` (IPython's usage line excluded)."""
    lines = doc.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].rstrip().endswith("::") and lines[i].strip() != "::":
            base = len(lines[i]) - len(lines[i].lstrip())
            i += 1
            para: list[str] = []
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > base):
                if lines[i].strip():
                    para.append(lines[i])
                elif para:
                    out.append(_dedent(para))
                    para = []
                i += 1
            if para:
                out.append(_dedent(para))
            continue
        i += 1
    return out


def _dedent(lines: list[str]) -> str:
    cut = min(len(s) - len(s.lstrip()) for s in lines)
    return "\n".join(s[cut:] for s in lines) + "\n"
