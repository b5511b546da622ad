"""``%js_stream`` and ``jsmagic.streams`` are one service: the same request gives the same answer.

Each test makes the same request through the magic and through the Python API (on twin
streams where the request changes something) and compares both with what the server itself
says, read with plain nats-py on an independent connection (``nc``): ``stream_info``,
``get_msg`` and the raw ``STREAM.INFO`` answer.
"""

from __future__ import annotations

import time
import uuid

import pandas as pd
import pytest

import jsmagic
from jsmagic.core import registry
from tests.modern.conftest import raw

MAGICS = ("streams", "streamops", "modern", "consumers", "consumerops", "priority")


@pytest.fixture
def name():
    return "SP" + uuid.uuid4().hex[:6].upper()


def api(coro):
    """Run an API coroutine on the shell's connection (what a notebook's ``await`` does)."""
    return registry.context().run(coro)


def test_the_stream_and_consumer_magics_reach_the_server_only_through_the_services():
    """Issue 22: a magic parses, calls a service, renders; it imports nothing of admin/, reading/, publishing/."""
    from tests.test_architecture import PKG, imports

    bad = {m: sorted(i for i in imports(PKG / "magics" / f"{m}.py")
                     if i.startswith(("jsmagic.admin", "jsmagic.reading", "jsmagic.publishing")))
           for m in MAGICS}
    assert not {m: found for m, found in bad.items() if found}


def test_add_edit_and_copy_give_the_server_the_same_configuration(shell, nc, name):
    _, js, run = nc
    shell.run_line_magic("js_stream", f"add {name}_M --subjects '{name.lower()}.m.>' --max-age 1h --storage memory "
                                      "--max-msgs-per-subject 5 --allow-msg-ttl --metadata owner=ops --description d")
    api(jsmagic.streams.add(f"{name}_A", subjects=f"{name.lower()}.a.>", max_age="1h", storage="memory",
                            max_msgs_per_subject=5, allow_msg_ttl=True, metadata="owner=ops", description="d"))
    fields = ("max_age", "storage", "max_msgs_per_subject", "allow_msg_ttl", "description", "retention", "discard")

    def config(stream):
        cfg = run(js.stream_info(stream)).config
        meta = {k: v for k, v in (cfg.metadata or {}).items() if not k.startswith("_nats")}
        return {**{f: getattr(cfg, f) for f in fields}, "metadata": meta}

    assert config(f"{name}_M") == config(f"{name}_A")
    assert config(f"{name}_A")["max_age"] == 3600 and config(f"{name}_A")["metadata"] == {"owner": "ops"}

    by_magic = shell.run_line_magic("js_stream", f"edit {name}_M --max-age 2h --dupe-window 30s")
    by_api = api(jsmagic.streams.edit(f"{name}_A", max_age="2h", dupe_window="30s"))
    assert sorted(by_magic["setting"]) == sorted(by_api["setting"]) == ["duplicate_window", "max_age"]
    for stream in (f"{name}_M", f"{name}_A"):
        cfg = run(js.stream_info(stream)).config
        assert (cfg.max_age, cfg.duplicate_window) == (7200, 30)

    shell.run_line_magic("js_stream", f"copy {name}_M {name}_MC --subjects '{name.lower()}.mc.>' --max-msgs 9")
    api(jsmagic.streams.copy(f"{name}_A", f"{name}_AC", subjects=f"{name.lower()}.ac.>", max_msgs=9))
    assert config(f"{name}_MC") == config(f"{name}_AC") == {**config(f"{name}_A"), "max_age": 7200}
    assert run(js.stream_info(f"{name}_MC")).config.max_msgs == run(js.stream_info(f"{name}_AC")).config.max_msgs == 9


def test_the_reads_of_a_stream_agree_with_each_other_and_with_the_server(shell, nc, name):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, js, run = nc
    subject = name.lower()
    run(js.add_stream(name=name, subjects=[f"{subject}.>"]))
    for i in range(10):
        run(js.publish(f"{subject}.{'ab'[i % 3 == 0]}", f'{{"i": {i}}}'.encode()))
    run(js.add_consumer(name, durable_name="reader"))
    truth = run(js.stream_info(name, subjects_filter=">"))

    row = lambda df: df.set_index("name").loc[name]  # noqa: E731
    for listing in (shell.run_line_magic("js_stream", "ls"), api(jsmagic.streams.ls())):
        got = row(listing)
        assert (got["messages"], got["bytes"], got["last_seq"], got["consumers"]) == (
            truth.state.messages, truth.state.bytes, truth.state.last_seq, truth.state.consumer_count)
    for report in (shell.run_line_magic("js_stream", "report"), api(jsmagic.streams.report())):
        assert (row(report)["messages"], row(report)["consumers"]) == (10, 1)

    info_magic, info_api = shell.run_line_magic("js_stream", f"info {name}"), api(jsmagic.streams.info(name))
    assert info_magic.raw.state == info_api.info.state == run(js.stream_info(name)).state
    assert info_api.num_subjects == len(truth.state.subjects) == 2

    subjects_magic = shell.run_line_magic("js_stream", f"subjects {name}")
    subjects_api = api(jsmagic.streams.subjects(name))
    pd.testing.assert_frame_equal(pd.DataFrame(subjects_magic), pd.DataFrame(subjects_api))
    assert dict(zip(subjects_api["subject"], subjects_api["messages"])) == truth.state.subjects

    got_magic, got_api = shell.run_line_magic("js_stream", f"get {name} 4"), api(jsmagic.streams.get(name, 4))
    stored = run(js.get_msg(name, 4))
    assert (got_magic["subject"], got_magic["data"]) == (got_api["subject"], got_api["data"]) == (stored.subject, {"i": 3})

    rates_magic = shell.run_line_magic("js_stream", f"plot {name} --by subject --every 1h")
    rates_api = api(jsmagic.streams.rates(name, by="subject", every="1h"))
    pd.testing.assert_frame_equal(pd.DataFrame(rates_magic), pd.DataFrame(rates_api))
    assert rates_api.sum().to_dict() == truth.state.subjects and rates_api.attrs["messages"] == 10
    plt.close("all")


def test_a_mirror_shows_the_lag_the_server_reports(shell, nc, name):
    _, js, run = nc
    run(js.add_stream(name=f"{name}_O", subjects=[f"{name.lower()}.>"]))
    for i in range(5):
        run(js.publish(f"{name.lower()}.x", b"%d" % i))
    shell.run_line_magic("js_stream", f"add {name}_R --mirror {name}_O")
    deadline = time.monotonic() + 30
    while run(js.stream_info(f"{name}_R")).state.messages < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    server = raw(nc, f"STREAM.INFO.{name}_R")["mirror"]
    by_magic = shell.run_line_magic("js_stream", f"info {name}_R").sources
    by_api = api(jsmagic.streams.sources(f"{name}_R"))
    columns = ["kind", "stream", "filter", "lag", "error"]  # `active` is seconds since contact: it moves
    pd.testing.assert_frame_equal(by_magic[columns], by_api[columns])
    assert by_api[["kind", "stream", "lag"]].values.tolist() == [["mirror", server["name"], server["lag"]]]
    assert api(jsmagic.streams.sources(f"{name}_O")).empty  # no mirror, no sources: no rows


def test_purge_and_delete_remove_the_same_messages(shell, nc, name):
    _, js, run = nc
    for twin in ("M", "A"):
        run(js.add_stream(name=f"{name}_{twin}", subjects=[f"{name.lower()}.{twin.lower()}.>"]))
        for i in range(8):
            run(js.publish(f"{name.lower()}.{twin.lower()}.{'ab'[i % 2]}", b"x"))
    shell.run_line_magic("js_stream", f"purge {name}_M --subject '{name.lower()}.m.a' --keep 1 --force")
    api(jsmagic.streams.purge(f"{name}_A", subject=f"{name.lower()}.a.a", keep=1, force=True))
    shell.run_line_magic("js_stream", f"rmm {name}_M 2 --force")
    api(jsmagic.streams.rmm(f"{name}_A", 2, force=True))
    states = [run(js.stream_info(f"{name}_{twin}")).state for twin in ("M", "A")]
    assert [(s.messages, s.first_seq, s.num_deleted) for s in states][0] == [
        (s.messages, s.first_seq, s.num_deleted) for s in states][1]
    assert states[0].messages == 8 - 3 - 1  # 3 of the 4 on .a purged, sequence 2 (.b) deleted


def test_schedules_list_what_the_server_holds(shell, nc, name):
    _, js, run = nc
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name.lower()}.>' --allow-schedules --allow-msg-ttl")
    at = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run(js.publish(f"{name.lower()}.sched.one", b"later", headers={
        "Nats-Schedule": f"@at {at}", "Nats-Schedule-Target": f"{name.lower()}.due"}))
    by_magic = shell.run_line_magic("js_stream", f"schedules {name}")
    by_api = api(jsmagic.streams.schedules(name))
    pd.testing.assert_frame_equal(pd.DataFrame(by_magic), pd.DataFrame(by_api))
    stored = run(js.get_msg(name, 1))
    assert by_api[["subject", "schedule", "target", "seq"]].values.tolist() == [
        [stored.subject, stored.headers["Nats-Schedule"], stored.headers["Nats-Schedule-Target"], 1]]


def test_an_interrupted_rate_read_keeps_the_rates_of_what_arrived(shell, nc, name, monkeypatch):
    """Ctrl-C during ``plot``/``rates``: the magic draws and keeps the partial rates, the API raises with them."""
    import os
    import signal

    from jsmagic.core.errors import IncompleteError
    from jsmagic.testing import fill_stream

    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    client, js, run = nc
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    run(fill_stream(client, name, 200_000, lambda k: f"{name.lower()}.x"))
    sent = []

    def interrupt(done, total):  # the user's Ctrl-C, once the read is under way
        if done and not sent:
            sent.append(done)
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(IncompleteError) as caught:
        api(jsmagic.streams.rates(name, every="1h", progress=interrupt))
    partial = caught.value.frame
    assert sent and 0 < partial.attrs["messages"] < 200_000 == run(js.stream_info(name)).state.messages
    assert int(partial["messages"].sum()) == partial.attrs["messages"] and partial.attrs["every"] == "1h"

    from jsmagic.ui.progress import Progress  # the magic's progress line: the Ctrl-C comes at its first figure

    counted = Progress.__call__

    def interrupting(self, done, *args, **kwargs):
        counted(self, done, *args, **kwargs)
        if done and not sent[1:]:
            sent.append(done)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(Progress, "__call__", interrupting)
    kept = shell.run_line_magic("js_stream", f"plot {name} --every 1h")
    assert len(sent) == 2 and kept.attrs["interrupted"]
    assert 0 < int(kept["messages"].sum()) < 200_000
    plt.close("all")
