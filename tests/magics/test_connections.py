"""Several named connections in one notebook: --alias, %js_use, %js_status, %js_close [--all]."""

from __future__ import annotations

import time

import pytest
from IPython.core.error import UsageError

import jsmagic
from jsmagic.core.errors import InputError, NotFoundError
from jsmagic import testing as jt


@pytest.fixture
def two_servers():
    with jt.nats_server() as staging, jt.nats_server() as prod:
        yield staging, prod


@pytest.fixture
def sh():
    shell = jt.testing_shell(probe_local=False)
    yield shell
    jt.close_shell(shell)


def connected() -> list[str]:
    """The names of the contexts that hold a connection."""
    return [name for name, c in jsmagic.contexts().items() if c.nc is not None]


def stream_names(sh) -> list[str]:
    return sh.run_line_magic("js_stream", "ls")["name"].tolist()


def test_aliases_route_every_magic_to_the_current_connection(sh, two_servers, capsys):
    staging, prod = two_servers
    s = sh.run_line_magic("js_connect", f"{staging.url} --alias staging")
    p = sh.run_line_magic("js_connect", f"{prod.url} --alias prod")
    assert "[prod] Connected to" in capsys.readouterr().out
    assert jsmagic.context() is p and jsmagic.context("staging") is s and s is not p
    sh.run_line_magic("js_stream", "add ONLY_PROD --subjects 'p.>'")
    assert stream_names(sh) == ["ONLY_PROD"]
    sh.run_line_magic("js_use", "staging")
    assert jsmagic.context() is s
    assert stream_names(sh) == []  # staging does not have prod's stream
    sh.run_cell("%%js_publish s.one\n{\"x\": 1}\n")
    sh.run_line_magic("js_stream", "add ONLY_STAGING --subjects 's.>'")
    sh.run_cell("%%js_publish s.one\n{\"x\": 1}\n")
    df = sh.run_line_magic("js_consume", "ONLY_STAGING")
    assert df["x"].tolist() == [1]
    sh.run_line_magic("js_use", "prod")
    assert stream_names(sh) == ["ONLY_PROD"]


def test_status_lists_every_connection_and_what_runs_on_it(sh, two_servers):
    staging, prod = two_servers
    sh.run_line_magic("js_connect", f"{staging.url} --alias staging")
    sh.run_line_magic("js_kv", "add cfg")
    sh.run_line_magic("js_kv", "watch cfg")
    sh.run_line_magic("js_connect", f"{prod.url} --alias prod")
    text = repr(sh.run_line_magic("js_status", ""))
    assert text.index("[prod, current]") < text.index("[staging]")
    staging_part = text[text.index("[staging]"):]
    assert "background (1)" in staging_part and "cfg" in staging_part
    assert "background: none" in text[: text.index("[staging]")]


def test_close_stops_only_the_current_connection_and_its_watches(sh, two_servers, capsys):
    staging, prod = two_servers
    s = sh.run_line_magic("js_connect", f"{staging.url} --alias staging")
    sh.run_line_magic("js_kv", "add cfg")
    ws = sh.run_line_magic("js_kv", "watch cfg")
    p = sh.run_line_magic("js_connect", f"{prod.url} --alias prod")
    sh.run_line_magic("js_kv", "add cfg")
    wp = sh.run_line_magic("js_kv", "watch cfg")
    capsys.readouterr()
    sh.run_line_magic("js_close", "")  # prod is current
    assert "Closed [prod]" in capsys.readouterr().out
    assert p.nc is None and s.connected
    assert connected() == ["staging"]
    # prod's watch ended with its connection; staging's still follows its bucket
    assert wp.table.status != "live"
    sh.run_line_magic("js_use", "staging")
    sh.run_line_magic("js_kv", "put cfg a 1")
    deadline = time.monotonic() + 5
    while "a" not in set(ws.df["key"]) if len(ws.df) else True:
        sh.run_cell("import asyncio; await asyncio.sleep(0.1)")  # the loop runs: the watch applies updates
        assert time.monotonic() < deadline, "staging's watch stopped with prod's connection"
    sh.run_line_magic("js_close", "--all")
    assert s.nc is None and ws.table.status != "live"


def test_without_alias_the_default_connection_is_used_as_before(sh, two_servers):
    staging, _ = two_servers
    ctx = sh.run_line_magic("js_connect", staging.url)
    assert ctx.alias == "default" and jsmagic.context() is ctx
    assert repr(ctx).startswith("<JSContext connected")


def test_unknown_and_bad_aliases_are_one_line_errors_that_change_nothing(sh, two_servers):
    staging, _ = two_servers
    ctx = sh.run_line_magic("js_connect", f"{staging.url} --alias staging")
    with pytest.raises(NotFoundError, match="did you mean 'staging'"):
        sh.run_line_magic("js_use", "stagin")
    with pytest.raises(InputError, match="bad alias"):
        sh.run_line_magic("js_connect", f"{staging.url} --alias 'two words'")
    with pytest.raises(UsageError):
        sh.run_line_magic("js_use", "")
    assert jsmagic.context() is ctx and ctx.connected
    assert connected() == ["staging"]


def test_unload_undoes_everything_load_did(two_servers):
    from jsmagic.core import runner
    from jsmagic.core.config import JSMagic
    from jsmagic.ui import completion

    staging, prod = two_servers
    shell = jt.testing_shell(probe_local=False)
    matchers_before = list(shell.Completer.custom_matchers)
    assert completion.matcher in matchers_before
    assert "purge" in completion.candidates("js_stream", [])  # the verbs were registered at load
    shell.run_line_magic("js_connect", f"{staging.url} --alias a")
    shell.run_line_magic("js_connect", f"{prod.url} --alias b")
    a, b = jsmagic.context("a"), jsmagic.context("b")
    shell.run_line_magic("unload_ext", "jsmagic")
    assert a.nc is None and b.nc is None  # every named connection closed, not only the current one
    assert jsmagic.contexts() == {}
    assert completion.matcher not in shell.Completer.custom_matchers
    assert completion.candidates("js_stream", []) == []
    line_magics = shell.magics_manager.magics["line"]
    assert not [name for name in line_magics if name.startswith("js_")]
    assert not [c for c in shell.configurables if isinstance(c, JSMagic)]
    assert runner._loop_provider is None
    shell.run_line_magic("load_ext", "jsmagic")  # and it loads again cleanly
    assert "js_use" in shell.magics_manager.magics["line"]
    assert shell.Completer.custom_matchers.count(completion.matcher) == 1
    jt.close_shell(shell)


def test_every_magic_stores_its_result_with_output_and_refuses_a_file_name(sh, two_servers):
    staging, _ = two_servers
    sh.run_line_magic("js_connect", f"{staging.url} -o conn")
    assert sh.user_ns["conn"] is jsmagic.context()
    sh.run_line_magic("js_status", "--output st")
    assert "state: connected" in repr(sh.user_ns["st"])
    sh.run_line_magic("js_stream", "add OUT --subjects 'out.>'")
    sh.run_cell("%%js_publish out.a -o acks\n{\"a\": 1}\n")
    assert sh.user_ns["acks"]["seq"].tolist() == [1]
    sh.run_line_magic("js_consume", "OUT -o df")
    assert sh.user_ns["df"]["a"].tolist() == [1]
    for magic, line in [("js_consume", "OUT --output report.csv"), ("js_status", "-o a.b"),
                        ("js_stream", "ls -o 'my table'")]:
        with pytest.raises(UsageError, match="not a variable name"):
            sh.run_line_magic(magic, line)
    assert "report.csv" not in sh.user_ns
