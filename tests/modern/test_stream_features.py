"""%js_stream add/edit with the 2.11/2.12 feature switches, and what info shows."""

import json

import pytest

from tests.modern.conftest import raw, stored, wait_for


def test_add_edit_and_info_show_the_feature_switches(shell, nc, name):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --storage memory --allow-msg-ttl "
                                      "--allow-batch --allow-schedules")
    cfg = raw(nc, f"STREAM.INFO.{name}")["config"]
    assert cfg["allow_msg_ttl"] and cfg["allow_atomic"] and cfg["allow_msg_schedules"]
    assert not cfg.get("allow_msg_counter")
    changed = shell.run_line_magic("js_stream", f"edit {name} --subject-del-markers-ttl 5m")
    assert changed.set_index("setting").loc["subject_delete_marker_ttl", "new"] == "5m"
    assert raw(nc, f"STREAM.INFO.{name}")["config"]["subject_delete_marker_ttl"] == 300 * 10**9
    report = shell.run_line_magic("js_stream", f"info {name}")
    features = report["Features"]
    assert "per-message TTL (Nats-TTL)" in features and "atomic batch publish" in features
    assert features["delete markers live"] == "5m"
    assert "counters (Nats-Incr)" not in features


def test_counter_stream_and_what_the_server_refuses(shell, nc, name):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --storage memory --allow-counter")
    assert raw(nc, f"STREAM.INFO.{name}")["config"]["allow_msg_counter"] is True
    with pytest.raises(Exception, match="counter"):  # the server's own words, one line
        shell.run_line_magic("js_stream", f"edit {name} --allow-msg-ttl")
    assert not raw(nc, f"STREAM.INFO.{name}")["config"].get("allow_msg_ttl")


def test_persist_mode_async_is_set_at_creation_and_kept(shell, nc, name):
    """ADR-56 (server 2.12): --persist-mode async on a file stream; the server stores it and refuses a change."""
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --storage file --persist-mode async")
    assert raw(nc, f"STREAM.INFO.{name}")["config"]["persist_mode"] == "async"
    assert shell.run_line_magic("js_stream", f"info {name}")["Features"]["persist mode"].startswith("async")
    shell.run_line_magic("js_stream", f"edit {name} --max-msgs 5")  # another edit keeps the mode
    cfg = raw(nc, f"STREAM.INFO.{name}")["config"]
    assert cfg["persist_mode"] == "async" and cfg["max_msgs"] == 5
    with pytest.raises(Exception, match="keeps its persist mode .async.: the mode is set when a stream is created"):
        shell.run_line_magic("js_stream", f"edit {name} --persist-mode default")
    assert raw(nc, f"STREAM.INFO.{name}")["config"]["persist_mode"] == "async"
    raw(nc, f"STREAM.DELETE.{name}")


def test_changing_the_persist_mode_is_one_line_that_says_what_to_do_and_changes_nothing(shell, nc, name, tmp_path):
    """The server refuses a persist-mode change (error 10052): the line says to create a new stream and copy into it."""
    import jsmagic
    from jsmagic.core.errors import InputError, JSMagicError
    from jsmagic.core.registry import context

    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --storage file --max-msgs 100")
    shell.run_cell_magic("js_publish", f"{name}.x --count 3", "hi\n")
    before = raw(nc, f"STREAM.INFO.{name}")
    assert before["config"].get("persist_mode", "default") == "default" and before["state"]["messages"] == 3

    for line in (f"edit {name} --persist-mode async", f"edit {name} --persist-mode async --max-msgs 5",
                 f"edit {name} --persist-mode async --dry-run"):
        with pytest.raises(InputError) as failed:
            shell.run_line_magic("js_stream", line)
        text = failed.value.one_line()
        assert "\n" not in text and f"stream {name} keeps its persist mode (default)" in text, text
        assert f"create a new stream with --persist-mode async" in text and f"%js_stream copy {name} NEW" in text, text
    with pytest.raises(InputError, match="the mode is set when a stream is created"):  # the API: the same words
        context().run(jsmagic.streams.edit(name, persist_mode="async"))

    config = tmp_path / "async.json"  # natscli's --config: the server's refusal, with the same advice
    config.write_text(json.dumps({**before["config"], "persist_mode": "async"}))
    with pytest.raises(JSMagicError) as failed:
        shell.run_line_magic("js_stream", f"edit {name} --config {config}")
    assert "can not change persist mode" in str(failed.value) and "create a new stream" in failed.value.one_line()

    after = raw(nc, f"STREAM.INFO.{name}")
    assert after["config"] == before["config"] and after["state"]["messages"] == 3  # unchanged

    shell.run_line_magic("js_stream", f"copy {name} {name}A --persist-mode async --subjects '{name}a.>' --source {name}")
    assert wait_for(lambda: stored(nc, f"{name}A") == 3)  # the advice works: the messages, in async mode
    assert raw(nc, f"STREAM.INFO.{name}A")["config"]["persist_mode"] == "async"
    raw(nc, f"STREAM.DELETE.{name}A")
    raw(nc, f"STREAM.DELETE.{name}")


def test_persist_mode_refusals_leave_no_stream(shell, nc, name):
    with pytest.raises(Exception, match="bad --persist-mode 'fast'.*default or async"):
        shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --storage file --persist-mode fast")
    with pytest.raises(Exception, match="only supported on file storage"):
        shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --storage memory --persist-mode async")
    with pytest.raises(Exception, match="not supported with atomic batch"):  # ADR-56: no atomic batches in async mode
        shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --persist-mode async --allow-batch")
    assert raw(nc, f"STREAM.INFO.{name}")["error"]["err_code"] == 10059  # stream not found: nothing was created


def test_python_api_sets_persist_mode_and_fast_batches(shell, nc, name):
    import jsmagic
    from jsmagic.core.registry import context

    context().run(jsmagic.streams.add(name, subjects=f"{name}.>", persist_mode="async", allow_fast=True))
    cfg = raw(nc, f"STREAM.INFO.{name}")["config"]
    assert cfg["persist_mode"] == "async" and cfg["allow_batched"] is True
    other = name + "E"
    context().run(jsmagic.streams.add(other, subjects=f"{other}.>", storage="memory"))
    changed = context().run(jsmagic.streams.edit(other, allow_fast=True))
    assert changed.set_index("setting").loc["allow_batched", "new"] is True
    assert raw(nc, f"STREAM.INFO.{other}")["config"]["allow_batched"] is True
    assert shell.run_line_magic("js_stream", f"info {other}")["Features"]["fast batch publish"] == "yes (server 2.14+)"
    raw(nc, f"STREAM.DELETE.{name}")
