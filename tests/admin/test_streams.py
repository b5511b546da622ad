"""%js_stream against a real server: each verb, as a user would check it."""

import sys
import uuid

import pandas as pd
import pytest
from IPython.core.error import UsageError

from jsmagic.admin import rates, streams
from jsmagic.core.errors import ForceRequiredError, InputError, NotFoundError
from jsmagic.core.registry import context


@pytest.fixture
def name():
    return "S" + uuid.uuid4().hex[:8].upper()


def publish(nc, stream_subject_counts):
    """Publish ``{subject: count}`` with the independent client; payload is the running number."""
    client, js, run = nc
    i = 0
    for subject, count in stream_subject_counts.items():
        for _ in range(count):
            run(js.publish(subject, f'{{"i": {i}}}'.encode()))
            i += 1
    return i


def server_state(nc, name):
    _client, js, run = nc
    return run(js.stream_info(name))


def test_add_with_human_units_then_ls_and_info(shell, nc, name):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --max-age 1d3h --max-bytes 10MB "
                                      "--storage memory --discard new --dupe-window 2m --allow-direct")
    cfg = server_state(nc, name).config
    assert cfg.max_age == 27 * 3600 and cfg.max_bytes == 10_000_000
    assert cfg.storage == "memory" and cfg.discard == "new" and cfg.allow_direct
    publish(nc, {f"{name}.a": 3, f"{name}.b": 2})

    shell.run_line_magic("config", "JSMagic.display_limit = 100000")  # the shared server holds many streams
    df = shell.run_line_magic("js_stream", "ls")
    row = df[df["name"] == name].iloc[0]
    assert row["messages"] == 5 and row["first_seq"] == 1 and row["last_seq"] == 5
    assert row["subjects"] == f"{name}.>" and row["consumers"] == 0 and row["bytes"] > 0
    assert row["last_time"] >= row["first_time"]
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 100_000):
        shown = repr(df)
    assert "size" not in df.columns and f"{row['bytes']} B" in shown  # bytes once: a number, shown readable
    assert " stream" in df.summary and " message" in df.summary and "(s)" not in df.summary

    core = context().run(streams.list_streams())  # the core: numbers only, no display column or footer
    assert "size" not in core.columns and not hasattr(core, "summary")
    assert core.set_index("name").loc[name, "bytes"] == row["bytes"]

    info = shell.run_line_magic("js_stream", f"info {name}")
    assert info["Configuration"]["max age"] == "1d3h"
    assert info["State"]["messages"] == "5"
    assert info["State"]["subjects"] == "2"  # a.* and b.*: nats-py drops this count, the API has it
    assert "max age: 1d3h" in repr(info)
    assert info.raw.config.name == name and info.raw.state.messages == 5

    details = context().run(streams.stream_info(name))
    assert details.num_subjects == 2 and details.info.config.max_age == 27 * 3600


def test_edit_applies_and_reports_changes(shell, nc, name):
    shell.run_line_magic("js_stream", f"add {name} --max-age 1d")
    changes = shell.run_line_magic("js_stream", f"edit {name} --max-age 7d --max-msgs-per-subject 10")
    assert set(changes["setting"]) == {"max_age", "max_msgs_per_subject"}
    assert changes.set_index("setting").loc["max_age"].tolist() == ["1d", "7d"]
    assert changes.summary == f"stream {name}: 2 settings changed"
    cfg = server_state(nc, name).config
    assert cfg.max_age == 7 * 86400 and cfg.max_msgs_per_subject == 10
    with pytest.raises(InputError):
        shell.run_line_magic("js_stream", f"edit {name}")
    core = context().run(streams.edit_stream(name, max_age="30d"))  # plain values: seconds
    assert core.to_dict("records") == [{"setting": "max_age", "old": 7 * 86400.0, "new": 30 * 86400.0}]


def test_subjects_counts_sorted_and_filtered(shell, nc, name):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>'")
    publish(nc, {f"{name}.eu.1": 4, f"{name}.us.1": 1, f"{name}.eu.2": 2})
    df = shell.run_line_magic("js_stream", f"subjects {name}")
    assert df["subject"].tolist() == [f"{name}.eu.1", f"{name}.eu.2", f"{name}.us.1"]
    assert df["messages"].tolist() == [4, 2, 1]
    assert df.summary == f"3 subjects, 7 messages in {name}"
    eu = shell.run_line_magic("js_stream", f"subjects {name} '{name}.eu.*'")
    assert dict(zip(eu["subject"], eu["messages"])) == {f"{name}.eu.1": 4, f"{name}.eu.2": 2}


@pytest.mark.parametrize("direct", [True, False])
def test_get_by_sequence_and_last_for_creates_no_consumer(shell, nc, name, direct):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>'" + (" --allow-direct" if direct else ""))
    publish(nc, {f"{name}.a": 3, f"{name}.b": 2})
    msg = shell.run_line_magic("js_stream", f"get {name} 2")
    assert msg["seq"] == 2 and msg["subject"] == f"{name}.a" and msg["data"] == {"i": 1}
    last = shell.run_line_magic("js_stream", f"get {name} --last-for {name}.a")
    assert last["seq"] == 3 and last["data"] == {"i": 2}
    assert isinstance(last["time"], pd.Timestamp)
    assert server_state(nc, name).state.consumer_count == 0
    with pytest.raises(NotFoundError, match="no message at sequence 99.*holds sequences 1..5"):
        shell.run_line_magic("js_stream", f"get {name} 99")
    shell.run_line_magic("js_stream", f"purge {name} --force")
    with pytest.raises(NotFoundError, match="the stream is empty \\(its next message gets sequence 6\\)"):
        shell.run_line_magic("js_stream", f"get {name} 5")


def test_rmm_refuses_without_force_then_deletes_one(shell, nc, name, capsys):
    shell.run_line_magic("js_stream", f"add {name}")
    publish(nc, {name: 3})
    with pytest.raises(ForceRequiredError, match=f"would delete message 2 \\({name}"):
        shell.run_line_magic("js_stream", f"rmm {name} 2")
    assert server_state(nc, name).state.messages == 3
    capsys.readouterr()
    assert shell.run_line_magic("js_stream", f"rmm {name} 2 --force -o removed") is None
    assert capsys.readouterr().out == f"Deleted message 2 ({name}, 8 B) from stream {name}.\n"
    assert shell.user_ns["removed"] == streams.MessageRemoval(name, 2, name, 8)
    st = server_state(nc, name).state
    assert st.messages == 2 and st.num_deleted == 1


@pytest.mark.parametrize(
    "flags, would, remaining_seqs",
    [
        ("", 10, []),
        ("--subject {n}.a", 6, [2, 5, 7, 10]),  # .a = seqs 1,3,4,6,8,9 ; .b = 2,5,7,10
        ("--seq 7", 6, [7, 8, 9, 10]),
        ("--keep 3", 7, [8, 9, 10]),
        ("--subject {n}.a --keep 2", 4, [2, 5, 7, 8, 9, 10]),
    ],
)
def test_purge_variants_leave_exactly_the_expected_messages(shell, nc, name, flags, would, remaining_seqs, capsys):
    client, js, run = nc
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>'")
    for subject in "abaababaab":
        run(js.publish(f"{name}.{subject}", b"x"))
    flags = flags.format(n=name)
    with pytest.raises(ForceRequiredError, match=f"would purge {would} message"):
        shell.run_line_magic("js_stream", f"purge {name} {flags}")
    assert server_state(nc, name).state.messages == 10
    capsys.readouterr()
    shell.run_line_magic("js_stream", f"purge {name} {flags} --force -o purged")
    said = capsys.readouterr().out
    assert said.startswith(f"Purged {would} message") and said.endswith(f" from stream {name}.\n")
    purged = shell.user_ns["purged"]
    assert (purged.stream, purged.selected, purged.purged, purged.held) == (name, would, would, 10)
    left = []
    seq = 0
    while True:
        try:
            m = run(js.get_msg(name, seq + 1, next=True, subject=f"{name}.>"))
        except Exception:
            break
        left.append(m.seq)
        seq = m.seq
    assert left == remaining_seqs
    assert server_state(nc, name).state.consumer_count == 0  # the counting consumers are gone


def test_rm_refuses_with_counts_then_deletes(shell, nc, name, capsys):
    shell.run_line_magic("js_stream", f"add {name}")
    publish(nc, {name: 4})
    with pytest.raises(ForceRequiredError, match=f"would delete stream {name} with 4 message"):
        shell.run_line_magic("js_stream", f"rm {name}")
    assert server_state(nc, name).state.messages == 4
    capsys.readouterr()
    shell.run_line_magic("js_stream", f"rm {name} --force -o removed")
    assert capsys.readouterr().out.startswith(f"Deleted stream {name} with 4 messages (")
    removed = shell.user_ns["removed"]
    assert (removed.stream, removed.messages, removed.consumers) == (name, 4, 0) and removed.bytes > 0
    assert name not in shell.run_line_magic("js_stream", "ls")["name"].tolist()


def test_bad_input_is_one_clear_line(shell, name):
    shell.run_line_magic("js_stream", f"add {name}")
    with pytest.raises(NotFoundError, match=f"did you mean '{name}'"):
        shell.run_line_magic("js_stream", f"info {name[:-1]}X")
    with pytest.raises(UsageError, match="unknown verb"):
        shell.run_line_magic("js_stream", "lst")
    with pytest.raises(UsageError):
        shell.run_line_magic("js_stream", f"add {name} --no-such-flag")
    with pytest.raises(InputError, match="bad duration"):
        shell.run_line_magic("js_stream", f"edit {name} --max-age soon")
    with pytest.raises(InputError, match="bad --retention"):
        shell.run_line_magic("js_stream", f"add {name}2 --retention sometimes")


def test_output_variable(shell, name):
    shell.run_line_magic("js_stream", f"add {name}")
    shell.run_line_magic("js_stream", "ls -o streams_df")
    assert name in shell.user_ns["streams_df"]["name"].tolist()


def test_plot_data_reads_times_without_leaving_consumers(shell, nc, name):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>'")
    publish(nc, {f"{name}.a": 30, f"{name}.b": 12})
    times = context().run(rates.message_times(name))
    assert len(times) == 42 and times["time"].is_monotonic_increasing
    assert times["subject"].value_counts().to_dict() == {f"{name}.a": 30, f"{name}.b": 12}
    per_hour = rates.rate_frame(times, "1h", by="subject")
    assert per_hour.sum().to_dict() == {f"{name}.a": 30, f"{name}.b": 12}
    assert server_state(nc, name).state.consumer_count == 0


def test_plot_draws_the_rate_per_subject(shell, nc, name):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>'")
    publish(nc, {f"{name}.a": 5, f"{name}.b": 3})
    plt.close("all")
    rates = shell.run_line_magic("js_stream", f"plot {name} --by subject --every 1h")
    assert rates.sum().to_dict() == {f"{name}.a": 5, f"{name}.b": 3}
    assert rates.summary.startswith(f"8 messages of {name} in ")
    ax = plt.gcf().axes[0]
    assert ax.get_title() == f"{name}: messages per 1h"
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == [f"{name}.a", f"{name}.b"]
    assert server_state(nc, name).state.consumer_count == 0


def test_plot_counts_every_message_and_leaves_a_work_queue_as_it_was(shell, nc, name):
    import matplotlib

    matplotlib.use("Agg")
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --retention workqueue")
    shell.run_cell_magic("js_publish", f"{name}.job --count 2500", '{"x": 1}\n')  # past a 1,000 ack window
    rates = shell.run_line_magic("js_stream", f"plot {name} --every 1s")
    assert int(rates["messages"].sum()) == 2500
    state = server_state(nc, name).state
    assert state.messages == 2500 and state.consumer_count == 0


def test_plot_without_matplotlib_is_one_clear_line(shell, name, monkeypatch):
    from jsmagic.core.errors import ConfigError

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed: import fails
    shell.run_line_magic("js_stream", f"add {name}")
    with pytest.raises(ConfigError, match="plotting needs the matplotlib package") as e:
        shell.run_line_magic("js_stream", f"plot {name} --every 1m")
    assert "\n" not in e.value.one_line()


def completions(shell, line):
    """What Tab offers at the end of ``line`` (IPython's own completer, our matcher inside)."""
    from IPython.core.completer import provisionalcompleter

    with provisionalcompleter():
        return {c.text for c in shell.Completer.completions(line, len(line))}


def test_tab_completion_returns_live_names(shell, name):
    from jsmagic.ui import completion

    shell.run_line_magic("js_stream", f"add {name}")
    assert name in completions(shell, f"%js_stream info {name[:4]}")
    assert "subjects" in completions(shell, "df = %js_stream su")
    other = name + "NEW"
    shell.run_line_magic("js_stream", f"add {other}")  # a magic run clears the cache
    assert {name, other} <= completions(shell, f"%js_stream rm {name}")
    assert completion.names("stream") == completion.names("stream")  # served from the cache


def test_every_core_verb_goes_to_the_context_it_is_given(shell, second, name):
    """``ctx=`` routes a verb to that connection; without it the current one (here: default) is used."""
    run = second.run
    details = run(streams.add_stream(name, ctx=second, subjects=[f"{name}.>"], max_age="1h"))
    assert details.info.config.max_age == 3600
    for subject in ("a", "b", "a"):
        run(second.js.publish(f"{name}.{subject}", b"x"))
    assert name in run(streams.stream_names(ctx=second))
    assert name not in run(streams.stream_names())  # the current connection has no such stream
    with pytest.raises(NotFoundError, match="unknown stream"):
        shell.run_line_magic("js_stream", f"info {name}")
    assert run(streams.list_streams(ctx=second)).set_index("name").loc[name, "messages"] == 3
    assert run(streams.stream_info(name, ctx=second)).num_subjects == 2
    assert run(streams.edit_stream(name, ctx=second, max_age="2h"))["setting"].tolist() == ["max_age"]
    assert run(streams.subjects(name, ctx=second))["messages"].tolist() == [2, 1]
    assert run(streams.get_message(name, 2, ctx=second))["subject"] == f"{name}.b"
    assert len(run(rates.message_times(name, ctx=second))) == 3
    assert run(streams.remove_message(name, 2, force=True, ctx=second)).subject == f"{name}.b"
    purged = run(streams.purge(name, f"{name}.a", keep=1, force=True, ctx=second))
    assert (purged.selected, purged.purged) == (1, 1)
    assert run(streams.remove_stream(name, force=True, ctx=second)).messages == 1
    assert run(second.js.streams_info()) == [] and second.run(second.js.account_info()).consumers == 0
