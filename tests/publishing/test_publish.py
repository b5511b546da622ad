"""%%js_publish against a real server: what a user publishes is what a consumer reads back."""

from __future__ import annotations

import threading
import time
import uuid

import orjson
import pandas as pd
import pytest

from jsmagic.core.errors import InputError, NotFoundError, PublishError
from jsmagic.publishing.capture import subject_matches
from jsmagic.publishing.result import ranges
from jsmagic.publishing.templates import Template, expand_variables


def unique(prefix: str = "S") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


@pytest.fixture
def stream(nc):
    """A fresh stream ``NAME`` capturing ``name.>`` (lower case), plus helpers to read it back."""
    client, js, run = nc
    name = unique("PUB")
    subject = name.lower()
    run(js.add_stream(name=name, subjects=[f"{subject}.>"]))

    class S:
        pass

    s = S()
    s.name, s.subject, s.js, s.run = name, subject, js, run
    s.count = lambda: run(js.stream_info(name)).state.messages
    s.get = lambda seq: run(js.get_msg(name, seq))
    yield s
    run(js.delete_stream(name))


def publish(shell, line: str, cell: str | None = None):
    if cell is None:
        return shell.run_line_magic("js_publish", line)
    return shell.run_cell_magic("js_publish", line, cell)


# ---- cell modes ---------------------------------------------------------------------------

def test_each_line_is_a_message_and_the_acks_come_back(shell, stream):
    cell = '{"id": 1, "item": "book", "qty": 2}\n\n{"id": 2, "item": "pen", "qty": 10}\n'
    acks = publish(shell, f"{stream.subject}.new", cell)
    assert list(acks.columns) == ["line", "subject", "stream", "seq", "duplicate"]
    assert acks["line"].tolist() == [1, 3]
    assert acks["seq"].tolist() == [1, 2]
    assert set(acks["stream"]) == {stream.name}
    assert not acks["duplicate"].any()
    assert acks.summary == f"2 messages → stream {stream.name}, seq 1–2"
    assert orjson.loads(stream.get(2).data) == {"id": 2, "item": "pen", "qty": 10}
    assert stream.count() == 2


def test_cell_mode_sends_the_whole_cell_and_o_stores_the_acks(shell, stream):
    body = "line one\nline two\n"
    result = publish(shell, f"{stream.subject}.doc --cell -o acks", body)
    assert shell.user_ns["acks"] is result
    assert len(result) == 1
    assert stream.get(1).data == b"line one\nline two"


def test_line_magic_with_a_body(shell, stream):
    publish(shell, f"{stream.subject}.one '{{\"id\": 3}}'")
    assert orjson.loads(stream.get(1).data) == {"id": 3}


def test_bad_json_publishes_nothing_and_names_the_line(shell, stream):
    with pytest.raises(InputError, match=r"line 3 is not valid JSON.*nothing published"):
        publish(shell, f"{stream.subject}.new --json", '{"id": 1}\n{"id": 2}\n{"id": 3,,}\n')
    assert stream.count() == 0


# ---- headers, msg ids, templates, variables ---------------------------------------------------

def test_headers_and_msg_id_arrive(shell, stream):
    publish(shell, f"{stream.subject}.h -H Trace:abc -H 'X-Who: me' --msg-id order-{{{{Count}}}}", "a\nb\n")
    first, second = stream.get(1), stream.get(2)
    assert first.headers["Trace"] == "abc" and first.headers["X-Who"] == "me"
    assert first.headers["Nats-Msg-Id"] == "order-1"
    assert second.headers["Nats-Msg-Id"] == "order-2"


def test_rerun_with_msg_id_stores_no_duplicates(shell, stream):
    line = f"{stream.subject}.o --msg-id o-{{{{Count}}}}"
    publish(shell, line, "x\ny\nz\n")
    again = publish(shell, line, "x\ny\nz\n")
    assert stream.count() == 3
    assert again["duplicate"].all()
    assert again["seq"].tolist() == [1, 2, 3]
    assert "3 duplicates" in again.summary


def test_count_repeats_with_templates_advancing(shell, stream):
    acks = publish(shell, f"{stream.subject}.t.{{{{Count}}}} --count 3", '{"n": {{Count}}, "id": "{{ID}}", "r": "{{Random 3 3}}"}')
    assert acks["subject"].tolist() == [f"{stream.subject}.t.{i}" for i in (1, 2, 3)]
    bodies = [orjson.loads(stream.get(i).data) for i in (1, 2, 3)]
    assert [b["n"] for b in bodies] == [1, 2, 3]
    assert len({b["id"] for b in bodies}) == 3
    assert all(len(b["r"]) == 3 for b in bodies)


def test_notebook_variables_in_subject_and_body(shell, stream):
    shell.user_ns.update(region="eu", qty=5, tags=["a", "b"], ok=True)
    publish(shell, f"{stream.subject}.{{=region}}", '{"qty": {=qty * 2}, "tags": {=tags}, "ok": {=ok}}')
    msg = stream.get(1)
    assert msg.subject == f"{stream.subject}.eu"
    assert orjson.loads(msg.data) == {"qty": 10, "tags": ["a", "b"], "ok": True}


def test_undefined_variable_and_unknown_template_fail_loudly(shell, stream):
    with pytest.raises(InputError, match="undefined name 'nope'"):
        publish(shell, f"{stream.subject}.x", "ok\n{=nope}\n")
    with pytest.raises(InputError, match=r"unknown template \{\{Cont\}\} in line 2"):
        publish(shell, f"{stream.subject}.x", "ok\n{{Cont}}\n")
    assert stream.count() == 0


def test_raw_publishes_text_as_written(shell, stream):
    publish(shell, f"{stream.subject}.raw --raw", "{{Count}} {=nope}")
    assert stream.get(1).data == b"{{Count}} {=nope}"


# ---- --from ----------------------------------------------------------------------------------

def test_from_dataframe_with_subject_and_header_columns(shell, stream):
    s = stream.subject
    shell.user_ns["df"] = pd.DataFrame(
        {"subject": [f"{s}.a", f"{s}.b", f"{s}.a"], "id": [1, 2, 3], "trace": ["t1", None, "t3"], "qty": [1.5, 2.0, None]}
    )
    acks = publish(shell, "--from df --subject-col subject --header-cols trace")
    assert acks["row"].tolist() == [0, 1, 2]
    assert acks["subject"].tolist() == [f"{s}.a", f"{s}.b", f"{s}.a"]
    m1, m2 = stream.get(1), stream.get(2)
    assert m1.subject == f"{s}.a" and m1.headers["trace"] == "t1"
    assert "trace" not in (m2.headers or {})  # a missing value sends no header
    assert orjson.loads(m1.data) == {"id": 1, "qty": 1.5}
    assert orjson.loads(stream.get(3).data) == {"id": 3, "qty": None}


def test_from_list_and_data_column(shell, stream):
    shell.user_ns["events"] = [{"k": 1}, {"k": 2}]
    shell.user_ns["frame"] = pd.DataFrame({"payload": ["plain text", "more"]})
    publish(shell, f"{stream.subject}.ev --from events")
    publish(shell, f"{stream.subject}.txt --from frame --data-col payload")
    assert orjson.loads(stream.get(2).data) == {"k": 2}
    assert stream.get(3).data == b"plain text"
    with pytest.raises(InputError, match="no column 'paylod'.*did you mean 'payload'"):
        publish(shell, f"{stream.subject}.txt --from frame --data-col paylod")
    with pytest.raises(InputError, match="undefined name 'missing'"):
        publish(shell, f"{stream.subject}.txt --from missing")


# ---- streams and expectations -----------------------------------------------------------------

def test_no_stream_captures_the_subject_names_the_fix(shell):
    subject = f"{unique('nostream').lower()}.new"
    with pytest.raises(NotFoundError) as info:
        publish(shell, subject, "x")
    assert f"%js_stream add {subject.split('.')[0].upper()} --subjects '{subject.split('.')[0]}.>'" in str(info.value)


def test_stream_option_checks_the_capturing_stream(shell, stream, nc):
    _, js, run = nc
    other = unique("OTHER")
    run(js.add_stream(name=other, subjects=[f"{other.lower()}.>"]))
    try:
        with pytest.raises(NotFoundError, match=f"stream {stream.name} does not capture"):
            publish(shell, f"{other.lower()}.x --stream {stream.name}", "x")
        with pytest.raises(NotFoundError, match=f"unknown stream.*%js_stream add {stream.name}X"):
            publish(shell, f"{stream.subject}.x --stream {stream.name}X", "x")
        assert run(js.stream_info(other)).state.messages == 0
    finally:
        run(js.delete_stream(other))
    publish(shell, f"{stream.subject}.x --stream {stream.name}", "x")
    assert stream.count() == 1


def test_expected_last_seq_mismatch_is_refused_and_a_match_chains(shell, stream):
    publish(shell, f"{stream.subject}.a", "1\n2\n")
    with pytest.raises(PublishError, match="--expect-last-seq 5 refused by the server: wrong last sequence.*nothing published"):
        publish(shell, f"{stream.subject}.a --expect-last-seq 5", "3\n4\n")
    assert stream.count() == 2
    acks = publish(shell, f"{stream.subject}.a --expect-last-seq 2", "3\n4\n5\n")
    assert acks["seq"].tolist() == [3, 4, 5]
    assert stream.get(5).headers["Nats-Expected-Last-Sequence"] == "4"


def test_expected_last_subject_seq(shell, stream):
    publish(shell, f"{stream.subject}.k", "1\n")
    publish(shell, f"{stream.subject}.other", "2\n")
    with pytest.raises(PublishError, match="wrong last sequence"):
        publish(shell, f"{stream.subject}.k --expect-last-subject-seq 2", "3\n")
    acks = publish(shell, f"{stream.subject}.k --expect-last-subject-seq 1", "3\n4\n")
    assert acks["seq"].tolist() == [3, 4]


def test_refused_messages_fail_the_cell_with_every_ack_kept(shell, nc):
    _, js, run = nc
    name = unique("FULL")
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"], max_msgs=2, discard="new"))
    try:
        with pytest.raises(PublishError, match=r"2 of 4 messages failed: .*maximum messages.*lines 3–4") as info:
            publish(shell, f"{name.lower()}.x -o acks", "a\nb\nc\nd\n")
        acks = shell.user_ns["acks"]
        assert acks["seq"].tolist()[:2] == [1, 2] and acks["seq"].isna().tolist() == [False, False, True, True]
        assert acks["error"].notna().tolist() == [False, False, True, True]
        assert "every ack is in acks" in str(info.value)
    finally:
        run(js.delete_stream(name))


def test_payload_over_max_payload_is_refused_before_sending(shell, stream):
    big = "x" * (shell_max_payload(shell) + 1)
    with pytest.raises(InputError, match="larger than the server's max_payload"):
        publish(shell, f"{stream.subject}.big", f"small\n{big}\n")
    assert stream.count() == 0


def shell_max_payload(shell) -> int:
    import jsmagic

    return jsmagic.context().nc.max_payload


def test_bad_subject_and_usage(shell, stream):
    from IPython.core.error import UsageError

    with pytest.raises(InputError, match="invalid subject"):
        publish(shell, f"{stream.subject}.*", "x")
    with pytest.raises(UsageError):
        publish(shell, f"{stream.subject}.x --count 0", "x")
    with pytest.raises(UsageError):
        publish(shell, f"{stream.subject}.x --nope", "x")
    assert stream.count() == 0


# ---- pure helpers ----------------------------------------------------------------------------

def test_template_and_variable_rendering():
    t = Template("a.{{ .Count }}.{{Unix}}")
    assert t.render(7).startswith("a.7.") and not t.static
    assert Template('{"x": 1}').static
    assert expand_variables('{"a": {=d["k"]}, "b": "{=s}"}', {"d": {"k": None}, "s": "hi"}) == '{"a": null, "b": "hi"}'
    assert subject_matches("orders.>", "orders.a.b") and not subject_matches("orders.>", "orders")
    assert subject_matches("orders.*.x", "orders.1.x") and not subject_matches("orders.*", "orders.1.x")
    assert ranges([1, 2, 3, 7, 9, 10]) == "1–3, 7, 9–10"
    import datetime as dt
    import os

    stamp = Template("{{TimeStamp}}").render(1)  # RFC 3339 as `nats pub` prints it: Z for UTC
    if os.environ.get("TZ", "UTC") in ("UTC", "") and dt.datetime.now().astimezone().utcoffset() == dt.timedelta(0):
        assert stamp.endswith("Z") and "+00:00" not in stamp
    assert abs(dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() - time.time()) < 5


# ---- a real kernel: progress and interrupt ------------------------------------------------------

def test_interrupt_keeps_acks(kernel, server, nc):
    _, js, run = nc
    name = unique("INT")
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    kernel.run(f"%load_ext jsmagic\n%config JSMagic.progress_after = 0.5\n%js_connect {server.url}")
    kernel.run("import jsmagic; subs_before = len(jsmagic.context().nc._subs)")
    box = {}
    cell = f"%%js_publish {name.lower()}.x --count 3000000 -o acks\n{{\"n\": {{{{Count}}}}}}"
    worker = threading.Thread(target=lambda: box.setdefault("res", kernel.run(cell, timeout=120, allow_error=True)))
    worker.start()
    deadline = time.monotonic() + 30
    while run(js.stream_info(name)).state.messages < 20_000 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # past progress_after: the progress line is showing
    kernel.interrupt()
    worker.join(60)
    res = box["res"]
    assert res.status == "error" and "Interrupted:" in res.error_text and "kept in acks" in res.error_text
    progress = [m for m in res.messages if m["msg_type"] in ("display_data", "update_display_data")]
    assert any("acknowledged" in m["content"]["data"].get("text/plain", "") for m in progress)
    check = kernel.run(
        "print(len(acks), int(acks.seq.notna().sum()), acks.summary.startswith('interrupted') and 'acknowledged: messages 1–' in acks.summary, "
        "len(jsmagic.context().nc._subs) == subs_before, len(jsmagic.context().background))"
    )
    total, acked, marked, no_leak, background = check.stdout.split()
    stored = run(js.stream_info(name)).state.messages
    assert 0 < int(acked) < 3_000_000
    assert int(acked) == stored  # the frame says exactly what the stream holds
    assert marked == "True" and no_leak == "True" and background == "0"
    run(js.delete_stream(name))


def test_a_subject_known_only_per_message_stops_where_no_stream_captures_it(shell, nc):
    _, js, run = nc
    name = unique("ONE")
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.1", f"{name.lower()}.2"]))
    try:
        with pytest.raises(PublishError, match=rf"stopped: no stream captures subject '{name.lower()}.3'") as info:
            publish(shell, f"{name.lower()}.{{{{Count}}}} --count 4", "x")
        assert info.value.result["seq"].tolist() == [1, 2]
        assert "stored before it: 2 messages" in str(info.value)
        assert run(js.stream_info(name)).state.messages == 2
    finally:
        run(js.delete_stream(name))


def test_core_api_reports_no_responders_per_message_without_the_precheck(shell):
    """Scripts can use the pipeline directly; a subject nobody captures is answered 503, not silence."""
    import jsmagic.publishing.pipeline as core
    from jsmagic.magics.base import run
    from jsmagic.ui.display import ResultFrame
    from jsmagic.ui.publish import publish_frame

    subject = f"{unique('nobody').lower()}.x"
    result = run(core.publish([(1, subject, b"a", None), (2, subject, b"b", None)], timeout=2))
    assert (result.sent, result.acked, result.failed, result.unsent) == (2, 0, 2, 0)
    assert list(result.failures().values()) == [[1, 2]]
    frame = result.frame()
    assert type(frame) is pd.DataFrame  # the core returns data; the magic adds the summary line
    assert frame["seq"].isna().all()
    assert frame["error"].str.contains("no stream captures").all()
    shown = publish_frame(result)
    assert isinstance(shown, ResultFrame)
    assert "2 failed (lines 1–2)" in shown.summary


def test_headers_count_towards_max_payload(shell, stream):
    """A body just under max_payload plus a header would make the server drop the connection: refused first."""
    import jsmagic

    body = "y" * (shell_max_payload(shell) - 10)
    with pytest.raises(InputError, match=r"\(payload and headers\) is larger"):
        publish(shell, f"{stream.subject}.big -H Trace:{'t' * 40}", body)
    assert jsmagic.context().connected
    publish(shell, f"{stream.subject}.ok", "still connected")
    assert stream.count() == 1


def test_the_fast_line_count_matches_the_lines_published():
    """The scan's C-speed count must equal what is sent, or the interrupt summary's 'not sent' lies."""
    import random

    from jsmagic.publishing.templates import _bodies, _line_stats

    rng = random.Random(7)
    pieces = ["", " ", "\t", "\r", "a", "\u2028", "\xa0", "x y", "\x0b", "é", "\r\n", "\n", "\n", "\n"]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        expected = (sum(1 for _ in _bodies(text, False)), max(len(line) for line in text.split("\n")))
        assert _line_stats(text) == expected, repr(text)
