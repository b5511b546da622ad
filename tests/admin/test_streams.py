"""%js_stream against a real server: each verb, as a user would check it."""

import sys
import uuid

import pandas as pd
import pytest
from IPython.core.error import UsageError

from jsmagic.admin import streams
from jsmagic.core.errors import ForceRequiredError, InputError, NotFoundError


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

    df = shell.run_line_magic("js_stream", "ls")
    row = df[df["name"] == name].iloc[0]
    assert row["messages"] == 5 and row["first_seq"] == 1 and row["last_seq"] == 5
    assert row["subjects"] == f"{name}.>" and row["consumers"] == 0 and row["bytes"] > 0
    assert row["last_time"] >= row["first_time"]

    info = shell.run_line_magic("js_stream", f"info {name}")
    assert info["Configuration"]["max age"] == "1d3h"
    assert info["State"]["messages"] == "5"
    assert info["State"]["subjects"] == "2"  # a.* and b.*: nats-py drops this count, the API has it
    assert "max age: 1d3h" in repr(info)


def test_edit_applies_and_reports_changes(shell, nc, name):
    shell.run_line_magic("js_stream", f"add {name} --max-age 1d")
    changes = shell.run_line_magic("js_stream", f"edit {name} --max-age 7d --max-msgs-per-subject 10")
    assert set(changes["setting"]) == {"max_age", "max_msgs_per_subject"}
    assert changes.set_index("setting").loc["max_age"].tolist() == ["1d", "7d"]
    cfg = server_state(nc, name).config
    assert cfg.max_age == 7 * 86400 and cfg.max_msgs_per_subject == 10
    with pytest.raises(InputError):
        shell.run_line_magic("js_stream", f"edit {name}")


def test_subjects_counts_sorted_and_filtered(shell, nc, name):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>'")
    publish(nc, {f"{name}.eu.1": 4, f"{name}.us.1": 1, f"{name}.eu.2": 2})
    df = shell.run_line_magic("js_stream", f"subjects {name}")
    assert df["subject"].tolist() == [f"{name}.eu.1", f"{name}.eu.2", f"{name}.us.1"]
    assert df["messages"].tolist() == [4, 2, 1]
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


def test_rmm_refuses_without_force_then_deletes_one(shell, nc, name):
    shell.run_line_magic("js_stream", f"add {name}")
    publish(nc, {name: 3})
    with pytest.raises(ForceRequiredError, match=f"would delete message 2 \\({name}"):
        shell.run_line_magic("js_stream", f"rmm {name} 2")
    assert server_state(nc, name).state.messages == 3
    shell.run_line_magic("js_stream", f"rmm {name} 2 --force")
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
def test_purge_variants_leave_exactly_the_expected_messages(shell, nc, name, flags, would, remaining_seqs):
    client, js, run = nc
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>'")
    for subject in "abaababaab":
        run(js.publish(f"{name}.{subject}", b"x"))
    flags = flags.format(n=name)
    with pytest.raises(ForceRequiredError, match=f"would purge {would} message"):
        shell.run_line_magic("js_stream", f"purge {name} {flags}")
    assert server_state(nc, name).state.messages == 10
    shell.run_line_magic("js_stream", f"purge {name} {flags} --force")
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


def test_rm_refuses_with_counts_then_deletes(shell, nc, name):
    shell.run_line_magic("js_stream", f"add {name}")
    publish(nc, {name: 4})
    with pytest.raises(ForceRequiredError, match=f"would delete stream {name} with 4 message"):
        shell.run_line_magic("js_stream", f"rm {name}")
    assert server_state(nc, name).state.messages == 4
    shell.run_line_magic("js_stream", f"rm {name} --force")
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
    from jsmagic import context

    times = context().run(streams.message_times(name))
    assert len(times) == 42 and times["time"].is_monotonic_increasing
    assert times["subject"].value_counts().to_dict() == {f"{name}.a": 30, f"{name}.b": 12}
    rates = streams.rate_frame(times, "1h", by="subject")
    assert rates.sum().to_dict() == {f"{name}.a": 30, f"{name}.b": 12}
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
    with pytest.raises(ConfigError, match="plotting needs matplotlib") as e:
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
