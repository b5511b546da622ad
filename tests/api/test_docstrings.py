"""Every public service is documented for the API reference (mkdocstrings, numpy style).

Each function a user reaches from ``jsmagic`` (``jsmagic.streams.add``, ``jsmagic.replay``…)
has a summary line, and ``Parameters``, ``Returns`` and ``Example`` sections; every
parameter of its signature is described (``*args``/``**kwargs`` by their starred name).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import jsmagic
from jsmagic.services import common

GROUPS = ("streams", "consumers", "kv", "obj", "counters", "nats", "micro", "check")
TOP = ("connect", "close", "use", "status", "run", "publish", "replay", "export", "follow", "selection", "trace",
       "events")


def public_functions():
    for group in GROUPS:
        module = getattr(jsmagic, group)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield f"jsmagic.{group}.{name}", obj
    for name in TOP:
        yield f"jsmagic.{name}", getattr(jsmagic, name)


FUNCTIONS = dict(public_functions())


def described(doc: str) -> set[str]:
    """The names the Parameters section describes (``a, b : int`` describes both)."""
    section = doc.split("Parameters\n", 1)[1].split("Returns\n", 1)[0]
    names = set()
    for line in section.splitlines():
        m = re.match(r"^([*\w][\w, *]*?)(?: :|$)", line)
        if m and line.strip() != "-" * len(line.strip()):
            names.update(n.strip() for n in m.group(1).split(","))
    return names


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_public_service_has_a_reference_docstring(name):
    fn = FUNCTIONS[name]
    doc = inspect.getdoc(fn) or ""
    assert doc and not doc.startswith(("\n", " ")), f"{name}: no summary line"
    for section in ("Parameters\n----------", "Returns\n-------", "Examples\n--------"):
        assert section in doc, f"{name}: no {section.splitlines()[0]} section"
    params = []
    for p in inspect.signature(fn).parameters.values():
        star = "*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else ""
        params.append(star + p.name)
    missing = [p for p in params if p not in described(doc)]
    assert not missing, f"{name}: parameters not described: {missing}"


def test_the_services_take_ctx_as_a_keyword_only_argument():
    for name, fn in FUNCTIONS.items():
        if name in ("jsmagic.connect", "jsmagic.use", "jsmagic.selection"):
            continue
        p = inspect.signature(fn).parameters.get("ctx")
        assert p is not None and p.kind is p.KEYWORD_ONLY and p.default is None, name


def test_live_results_are_documented_too():
    assert "async for" in inspect.getdoc(common.Live) and inspect.getdoc(jsmagic.kv.Change)


@pytest.fixture(scope="module")
def loaded():
    """The package as mkdocstrings sees it: griffe's static reading of the source, numpy docstrings."""
    griffe = pytest.importorskip("griffe")
    return griffe.load("jsmagic", search_paths=[str(Path(jsmagic.__file__).parents[1])], docstring_parser="numpy")


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_griffe_reads_every_section_without_a_warning(name, loaded, caplog):
    """What mkdocstrings renders: parameters, returns and examples found, and nothing warned."""
    fn = FUNCTIONS[name]
    obj = loaded[f"{fn.__module__.removeprefix('jsmagic.')}.{fn.__qualname__}"]
    with caplog.at_level("WARNING"):
        kinds = {section.kind.value for section in obj.docstring.parse()}
    assert {"parameters", "returns", "examples"} <= kinds, f"{name}: {kinds}"
    assert not [r for r in caplog.records if "griffe" in r.name], [r.getMessage() for r in caplog.records]
