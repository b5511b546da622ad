"""The publish core as scripts use it: data back (no display text), any named connection, a plain progress callback."""

from __future__ import annotations

import uuid

import orjson
import pandas as pd
import pytest

import jsmagic
from jsmagic.core.errors import InputError, PublishError
from jsmagic.publishing.inputs import publish_cell, publish_object
from jsmagic.publishing.result import PublishResult
from jsmagic.ui.publish import summary_text


def unique(prefix: str = "S") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


@pytest.fixture
def two(shell, fresh_server):
    """The shell's current (default) context on the session server, plus ``other`` on a server of its own."""
    shell.run_line_magic("js_connect", f"{fresh_server.url} --alias other")
    shell.run_line_magic("js_use", "default")
    default, other = jsmagic.context(), jsmagic.context("other")
    assert default is not other and default.alias == "default"
    name = unique("API")
    for ctx in (default, other):
        ctx.run(ctx.js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    yield default, other, name
    for ctx in (default, other):
        ctx.run(ctx.js.delete_stream(name))


def stored(ctx, stream: str) -> int:
    return ctx.run(ctx.js.stream_info(stream)).state.messages


def test_ctx_routes_a_cell_to_the_named_connection_only(two):
    default, other, name = two
    calls = []
    result = other.run(publish_cell('{"n": 1}\n\n{"n": 2}\n', f"{name.lower()}.x", {"Trace": "t-{{Count}}"},
                                    progress=lambda acked, total: calls.append((acked, total)), ctx=other))
    assert isinstance(result, PublishResult)
    assert (result.sent, result.acked, result.failed, result.unsent, result.interrupted) == (2, 2, 0, 0, False)
    assert result.seq_ranges() == {name: (1, 2)}
    assert stored(other, name) == 2 and stored(default, name) == 0  # not on the current connection
    msg = other.run(other.js.get_msg(name, 2))
    assert orjson.loads(msg.data) == {"n": 2} and msg.headers["Trace"] == "t-2"
    assert calls[-1] == (2, 2)  # the last figure is the true final count
    frame = result.frame()
    assert type(frame) is pd.DataFrame and list(frame.columns) == ["line", "subject", "stream", "seq", "duplicate"]
    assert frame["line"].tolist() == [1, 3] and frame["seq"].tolist() == [1, 2]
    assert summary_text(result) == f"2 messages → stream {name}, seq 1–2"
    assert jsmagic.context() is default  # routing did not switch the current connection


def test_ctx_routes_a_value_and_its_checks_to_the_named_connection(two):
    default, other, name = two
    rows = pd.DataFrame({"id": [1, 2, 3]})
    result = other.run(publish_object(rows, f"{name.lower()}.rows", name="rows", stream=name, count=2, ctx=other))
    assert (result.sent, result.acked) == (6, 6)
    assert result.frame()["row"].tolist() == [0, 1, 2, 0, 1, 2]
    assert stored(other, name) == 6 and stored(default, name) == 0
    # the stream check lists the streams of `other`: a stream only the default connection has is unknown there
    only_default = unique("ONLYDEF")
    default.run(default.js.add_stream(name=only_default, subjects=[f"{only_default.lower()}.>"]))
    try:
        with pytest.raises(jsmagic.JSMagicError, match="no stream captures.*nothing published"):
            other.run(publish_object([{"a": 1}], f"{only_default.lower()}.x", ctx=other))
    finally:
        default.run(default.js.delete_stream(only_default))
    with pytest.raises(InputError, match="rows is empty: nothing to publish"):
        other.run(publish_object(rows.iloc[:0], f"{name.lower()}.rows", name="rows", ctx=other))


def test_expectation_refused_returns_the_result_as_data_and_the_magic_shows_the_frame(shell, two):
    default, _other, name = two
    default.run(publish_cell("1\n2\n", f"{name.lower()}.a"))
    with pytest.raises(PublishError, match="--expect-last-seq 5 refused by the server.*nothing published") as core:
        default.run(publish_cell("3\n", f"{name.lower()}.a", expect={"last_seq": 5}))
    assert isinstance(core.value.result, PublishResult) and core.value.result.failed == 1
    with pytest.raises(PublishError, match="--expect-last-seq 5 refused by the server.*nothing published") as magic:
        shell.run_cell_magic("js_publish", f"{name.lower()}.a --expect-last-seq 5", "3\n")
    shown = magic.value.result
    assert isinstance(shown, pd.DataFrame) and shown["error"].str.contains("wrong last sequence").all()
    assert shown.summary.startswith("0 messages acknowledged; 1 failed (lines 1)")
    assert stored(default, name) == 2


def test_refusals_are_counted_as_data_and_written_by_the_ui(shell, nc):
    _, js, run = nc
    name = unique("FULLAPI")
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"], max_msgs=2, discard="new"))
    try:
        result = jsmagic.context().run(publish_cell("a\nb\nc\nd\n", f"{name.lower()}.x"))
        assert (result.sent, result.acked, result.failed) == (4, 2, 2)
        [(why, refs)] = result.failures().items()
        assert refs == [3, 4] and "maximum messages" in why
        with pytest.raises(PublishError, match=r"2 of 4 messages failed: .*maximum messages.*\(lines 3–4\)") as info:
            result.raise_for_errors()
        assert info.value.result is result
        assert summary_text(result).startswith(f"2 messages → stream {name}, seq 1–2; 2 failed (lines 3–4)")
    finally:
        run(js.delete_stream(name))
