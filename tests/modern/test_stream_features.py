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
