"""%js_kv --marker-ttl, create/purge --ttl, revert, compact, edit (server 2.11); the watch shows why a key went."""

import pytest

from jsmagic.core.errors import ForceRequiredError, InputError
from tests.modern.conftest import raw, wait_for



def test_key_ttl_expires_and_the_watch_says_why(shell, nc, name):
    shell.run_line_magic("js_kv", f"add {name} --marker-ttl 1s --storage memory")
    cfg = raw(nc, f"STREAM.INFO.KV_{name}")["config"]
    assert cfg["allow_msg_ttl"] and cfg["subject_delete_marker_ttl"] == 10**9
    assert shell.run_line_magic("js_kv", f"info {name}")["marker_ttl"] == "1s"
    watch = shell.run_line_magic("js_kv", f"watch {name}")
    try:
        shell.run_line_magic("js_kv", f"create {name} session.ann token-1 --ttl 2s")
        shell.run_line_magic("js_kv", f"put {name} session.bob token-2")
        assert wait_for(lambda: "session.ann" in watch.df["key"].tolist()
                        and watch.df.set_index("key").loc["session.ann", "operation"].startswith("PURGE (expired"))
        assert watch.df.set_index("key").loc["session.bob", "operation"] == "PUT"
    finally:
        watch.stop()
    assert shell.run_line_magic("js_kv", f"keys {name}") == ["session.bob"]


def test_revert_edit_compact_and_purge_ttl(shell, nc, name, capsys):
    shell.run_line_magic("js_kv", f"add {name} --history 5 --storage memory")
    for v in ("v1", "v2", "v3"):
        shell.run_line_magic("js_kv", f"put {name} cfg {v}")
    assert shell.run_line_magic("js_kv", f"revert {name} cfg 1") == 4
    assert shell.run_line_magic("js_kv", f"get {name} cfg") == "v1"
    shell.run_line_magic("js_kv", f"put {name} tmp x")
    shell.run_line_magic("js_kv", f"purge {name} tmp --ttl 1s --force")
    assert "purge marker goes in 1s" in capsys.readouterr().out
    assert wait_for(lambda: raw(nc, f"STREAM.INFO.KV_{name}", {"subjects_filter": f"$KV.{name}.tmp"})["state"]
                    .get("subjects", {}).get(f"$KV.{name}.tmp", 0) == 0)  # no marker, no revision left
    changed = shell.run_line_magic("js_kv", f"edit {name} --history 10 --marker-ttl 1m")
    assert set(changed["setting"]) >= {"max_msgs_per_subject", "subject_delete_marker_ttl"}
    assert raw(nc, f"STREAM.INFO.KV_{name}")["config"]["max_msgs_per_subject"] == 10
    shell.run_line_magic("js_kv", f"del {name} cfg")
    with pytest.raises(ForceRequiredError, match="compact would remove 4 record"):
        shell.run_line_magic("js_kv", f"compact {name}")
    assert raw(nc, f"STREAM.INFO.KV_{name}")["state"]["messages"] == 5  # the preview removed nothing
    shell.run_line_magic("js_kv", f"compact {name} --force")
    assert raw(nc, f"STREAM.INFO.KV_{name}")["state"]["messages"] == 1  # only the recent delete marker
    with pytest.raises(InputError, match="shorter than bucket .*marker TTL"):
        shell.run_line_magic("js_kv", f"purge {name} cfg --ttl 1s --force")


def test_kv_refusals_change_nothing(shell, nc, name):
    shell.run_line_magic("js_kv", f"add {name} --storage memory")
    shell.run_line_magic("js_kv", f"put {name} k v")
    with pytest.raises(InputError, match="bad --ttl"):
        shell.run_line_magic("js_kv", f"create {name} other v --ttl 0.5s")
    with pytest.raises(Exception, match="no key 'k'.*revision 9"):
        shell.run_line_magic("js_kv", f"revert {name} k 9")
    with pytest.raises(InputError, match="nothing to change"):
        shell.run_line_magic("js_kv", f"edit {name}")
    shell.run_line_magic("js_kv", f"edit {name} --marker-ttl 30s")
    with pytest.raises(InputError, match="shorter than bucket .*marker TTL \\(30s\\)"):
        shell.run_line_magic("js_kv", f"create {name} other v --ttl 5s")
    assert raw(nc, f"STREAM.INFO.KV_{name}")["state"]["messages"] == 1
