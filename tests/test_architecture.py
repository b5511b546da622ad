"""The package's shape, checked: what a newcomer is promised in README's "Where things live".

* every module is short enough to read (at most 400 lines);
* the core (everything but ``magics/``, ``ui/``, ``testing/`` and the notebook runner) never
  imports IPython, ipywidgets or ``jsmagic.ui``: scripts use it without a shell;
* no import cycles between modules, lazy (in-function) imports included;
* every JetStream API subject is built in ``jsmagic/jsapi.py``;
* no private nats-py attribute is touched.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "jsmagic"
MODULES = sorted(p for p in PKG.rglob("*.py"))
NOT_CORE = ("magics", "ui", "testing")
NOT_CORE_FILES = ("notebook.py",)


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; ``from . import x`` resolved), lazy ones included."""
    tree = ast.parse(path.read_text())
    me = module_name(path).split(".")
    package = me if path.name == "__init__.py" else me[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def is_core(path: Path) -> bool:
    rel = path.relative_to(PKG)
    return rel.parts[0] not in NOT_CORE and rel.name not in NOT_CORE_FILES and rel.parts != ("__init__.py",)


def test_every_module_is_at_most_400_lines():
    long = {str(p.relative_to(PKG)): n for p in MODULES if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"modules over 400 lines: {long}"


def test_the_core_imports_no_ipython_widgets_or_ui():
    bad = {}
    for p in MODULES:
        if not is_core(p):
            continue
        found = [m for m in imports(p) if m.split(".")[0] in ("IPython", "ipywidgets", "ipykernel")
                 or m.startswith("jsmagic.ui") or m.startswith("jsmagic.magics")]
        if found:
            bad[str(p.relative_to(PKG))] = sorted(found)
    assert not bad, f"core modules importing display layers: {bad}"


def test_no_import_cycles():
    names = {module_name(p): p for p in MODULES}
    graph = {}
    for name, path in names.items():
        deps = set()
        for m in imports(path):
            while m and m not in names:  # jsmagic.core.errors.InputError -> jsmagic.core.errors
                m = m.rpartition(".")[0]
            if m and m != name and m.startswith("jsmagic.") and not name.startswith(m + "."):
                deps.add(m)
        graph[name] = {d for d in deps if not (names[d].name == "__init__.py" and d != "jsmagic")}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for dep in graph[node]:
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])
    assert not cycles, f"import cycles: {cycles}"


def test_jetstream_api_subjects_are_built_only_in_jsapi():
    literal = re.compile(r"""["'f]\$JS\.(API|ACK)|["']\$JS\.\{|\$KV\.\{|\$O\.\{""")
    bad = {}
    for p in MODULES:
        if p.name == "jsapi.py" or p.relative_to(PKG).parts[0] == "testing":
            continue
        hits = [i + 1 for i, line in enumerate(p.read_text().splitlines())
                if literal.search(line) and not line.lstrip().startswith("#")]
        if hits:
            bad[str(p.relative_to(PKG))] = hits
    assert not bad, f"JetStream subjects built outside jsmagic/jsapi.py (file: lines): {bad}"


PRIVATE = re.compile(r"\b(nc|js|kv|obj|sub|psub|client|self\.nc|ctx\.nc|ctx\.js|self\.js)\._[a-z]\w*")


def test_no_private_nats_py_attributes():
    bad = {}
    for p in MODULES:
        hits = [f"{i + 1}: {m.group(0)}" for i, line in enumerate(p.read_text().splitlines())
                for m in PRIVATE.finditer(line)]
        if hits:
            bad[str(p.relative_to(PKG))] = hits
    assert not bad, f"private nats-py attributes used: {bad}"


CONSUMER_CALLS = re.compile(r"\badd_consumer\(|\bdelete_consumer\(|CONSUMER\.CREATE|CONSUMER\.DELETE")
SESSION = "reading/session.py"
# the verbs that manage users' own named consumers (add, edit, copy, remove, priority groups, durables)
NAMED_CONSUMERS = ("admin/consumers.py", "admin/consumerops.py", "admin/priority.py", "reading/durable.py",
                   "magics/consumers.py")


def test_throwaway_consumers_are_created_and_deleted_only_by_the_consumer_session():
    """Every replay, scan, count and watch gets its consumer from jsmagic/reading/session.py.

    The retry rules (unanswered, 503, interrupted creates), the check against the stream
    leader and the shielded delete were copied four times and drifted; they live there once.
    """
    bad = {}
    for p in MODULES:
        rel = str(p.relative_to(PKG))
        if rel == SESSION or rel in NAMED_CONSUMERS:
            continue
        hits = [f"{i + 1}: {line.strip()}" for i, line in enumerate(p.read_text().splitlines())
                if CONSUMER_CALLS.search(line) and not line.lstrip().startswith("#")]
        if hits:
            bad[rel] = hits
    assert not bad, f"consumers created or deleted outside {SESSION}: {bad}"
