"""One hint for a missing extra, in the same words everywhere, naming every missing package at once (issue 23, item 17)."""

from __future__ import annotations

import sys
import uuid

import pytest

from jsmagic.core.errors import ConfigError, InputError


@pytest.fixture
def stream(nc):
    _, js, run = nc
    name = f"WX{uuid.uuid4().hex[:8].upper()}"
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    run(js.publish(f"{name.lower()}.x", b'{"a": 1}'))
    yield name
    run(js.delete_stream(name))


def test_as_polars_names_both_missing_packages_in_one_round(shell, stream, monkeypatch):
    monkeypatch.setitem(sys.modules, "polars", None)  # as if neither were installed
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(InputError) as e:
        shell.run_line_magic("js_consume", f"{stream} --as polars")
    assert "needs the pyarrow and polars packages" in str(e.value) and e.value.hint == "pip install 'jsmagic[polars]'"


def test_plotting_without_matplotlib_gives_the_extra(shell, stream, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ConfigError) as e:
        shell.run_line_magic("js_stream", f"plot {stream}")
    assert e.value.hint == "pip install 'jsmagic[plot]'", e.value.hint
