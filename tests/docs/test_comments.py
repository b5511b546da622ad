"""A `#` that starts a word outside quotes begins a comment on every magic line, as in a shell.

The README's lines carry such comments (``ctx = %js_connect   # nothing configured…``); pasted
into a cell they must run.  ``'#'`` in quotes and ``a#b`` stay data: what reaches the server is
read back with plain nats-py.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.kernel


@pytest.mark.parametrize("line, words", [
    ("", []),
    ("   # only a comment", []),
    ("ORDERS   # a note", ["ORDERS"]),
    ("ORDERS\t# after a tab", ["ORDERS"]),
    ("#at once", []),
    ("a#b c", ["a#b", "c"]),
    ("'#' \"# x\" 'a # b'   # gone", ["#", "# x", "a # b"]),
    ("k=a#b --x '#y'#z", ["k=a#b", "--x", "#y#z"]),
    (r"\#escaped word", ["#escaped", "word"]),
    ("ok   # don't mind the quote in a comment", ["ok"]),
])
def test_the_one_splitter(line, words):
    from jsmagic.magics.base import split_line

    assert split_line(line) == words


def test_comments_on_magic_lines_in_a_real_kernel(kernel, server, nc):
    _, js, run = nc
    r = kernel.run("%load_ext jsmagic\n%config JSMagic.probe_local = False\n"
                   "ctx = %js_connect   # nothing configured: an embedded nats-server, said in one line")
    assert "embedded nats-server" in r.stdout and not r.stderr.strip()
    r = kernel.run("%js_status   # server, account usage against limits, live watches and tasks")
    assert "account" in r.all_text and "unrecognized" not in r.all_text
    r = kernel.run("%js_close   # tasks stopped, connection drained, embedded server stopped")
    assert "embedded server stopped" in r.stdout

    kernel.run(f"ctx = %js_connect {server.url}   # the test's server: read back with plain nats-py")
    kernel.run("%js_stream add CMT --subjects 'cmt.>'   # a '#' in a comment's quote is not one")
    kernel.run("%js_publish cmt.a 'x # y' -H k:a#b   # a trailing comment")
    kernel.run("%%js_publish cmt.b -H 'k:#1'   # a comment on a cell magic's first line\n{\"n\": 1}\n")
    kernel.run("%js_kv add cmt_kv   # a bucket\n")
    kernel.run("%%js_kv put cmt_kv key1   # the value is the cell\nvalue # with a hash\n")
    first, second = run(js.get_msg("CMT", 1)), run(js.get_msg("CMT", 2))
    assert (first.subject, first.data, first.headers["k"]) == ("cmt.a", b"x # y", "a#b")
    assert (second.subject, second.data, second.headers["k"]) == ("cmt.b", b'{"n": 1}', "#1")
    entry = run(run(js.key_value("cmt_kv")).get("key1"))
    assert entry.value.decode().strip() == "value # with a hash"
    r = kernel.run("%js_kv   # no verb, only a comment", allow_error=True)
    assert r.status == "error" and "needs a verb" in r.all_text
    r = kernel.run("%js_stream info CMT -o info   # stored in a variable\nprint(type(info).__name__)")
    assert r.stdout.strip().splitlines()[-1] == "Report"
    run(js.delete_stream("CMT"))
    run(js.delete_key_value("cmt_kv"))


def test_every_magic_help_says_how_a_line_is_split():
    from jsmagic.magics import MAGICS
    from jsmagic.magics.base import COMMENT_RULE

    for cls in MAGICS:
        for names in cls.magics.values():
            for name, method in names.items():
                assert COMMENT_RULE in (getattr(cls, method).__doc__ or ""), f"%{name}? does not say that # begins a comment"
