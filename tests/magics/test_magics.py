"""What every magic shares: shell-style lines, generated help, -o, one-line errors."""

import pytest
from IPython.core.error import UsageError

from jsmagic.magics import MAGICS


def all_magic_names():
    names = []
    for cls in MAGICS:
        for kind in ("line", "cell"):
            names += [(kind, n) for n in cls.magics.get(kind, {})]
    return names


def test_every_magic_has_help_that_documents_its_options(shell):
    for kind, name in all_magic_names():
        finder = shell.find_line_magic if kind == "line" else shell.find_cell_magic
        doc = finder(name).__doc__ or ""
        assert len(doc) > 80, f"%{name}? says too little"
        if name not in ("js_status", "js_close"):
            assert "-o" in doc or "--" in doc, f"%{name}? lists no options"


def test_quotes_group_words_and_are_removed(shell, nc):
    client, js, run = nc
    run(js.add_stream(name="QUOTED", subjects=["quoted.>"]))
    run(js.publish("quoted.eu.1", b'{"a": 1}'))
    run(js.publish("quoted.us.1", b'{"a": 2}'))
    df = shell.run_line_magic("js_consume", "QUOTED -s 'quoted.eu.>'")
    assert list(df["subject"]) == ["quoted.eu.1"]
    shell.run_line_magic("js_kv", "add quoted_kv")
    shell.run_line_magic("js_kv", "put quoted_kv users.a 'two words'")
    shell.run_line_magic("js_kv", "put quoted_kv users.a.b x")
    assert shell.run_line_magic("js_kv", "keys quoted_kv 'users.*'") == ["users.a"]
    run(js.delete_stream("QUOTED"))
    shell.run_line_magic("js_kv", "rm quoted_kv --force")


def test_unbalanced_quote_is_a_usage_error(shell):
    with pytest.raises(UsageError, match="cannot parse the line|No closing quotation"):
        shell.run_line_magic("js_consume", "ORDERS -s 'orders.>")
