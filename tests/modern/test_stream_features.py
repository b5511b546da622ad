"""%js_stream add/edit with the 2.11/2.12 feature switches, and what info shows."""

import pytest

from tests.modern.conftest import raw


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
    with pytest.raises(Exception, match="can not change persist mode"):  # the server's words, one line
        shell.run_line_magic("js_stream", f"edit {name} --persist-mode default")
    assert raw(nc, f"STREAM.INFO.{name}")["config"]["persist_mode"] == "async"
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
