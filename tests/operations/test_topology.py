"""Stream topology against a real server: sources and mirrors settle to exact counts, a transform
stores the destination subject, a republish reaches a core subscriber, edit shows old → new."""

import asyncio
import json
import time
import uuid

import pytest

from jsmagic.core.errors import ForceRequiredError, InputError


@pytest.fixture
def tag():
    return uuid.uuid4().hex[:6].upper()


def settle(shell, name, messages, timeout=20.0):
    """Wait until ``name`` holds ``messages`` (sources and mirrors copy in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        df = shell.run_line_magic("js_stream", "ls")
        held = int(df.set_index("name").loc[name, "messages"])
        if held == messages or time.monotonic() > deadline:
            return held
        time.sleep(0.2)


def publish(nc, subject, n, start=0):
    _client, js, run = nc
    for i in range(start, start + n):
        run(js.publish(subject, json.dumps({"i": i}).encode(), headers={"k": str(i)}))


def test_sources_and_mirror_settle_to_exact_counts(shell, nc, tag):
    eu, us, world, ro = f"EU{tag}", f"US{tag}", f"WORLD{tag}", f"RO{tag}"
    shell.run_line_magic("js_stream", f"add {eu} --subjects 'eu{tag}.>'")
    shell.run_line_magic("js_stream", f"add {us} --subjects 'us{tag}.>'")
    publish(nc, f"eu{tag}.orders", 5)
    publish(nc, f"us{tag}.orders", 3)
    publish(nc, f"us{tag}.returns", 2)
    # all of EU, only US orders from its 2nd message on
    shell.run_line_magic("js_stream", f"add {world} --source {eu} --source '{us}:us{tag}.orders@2' "
                                      "--metadata owner=ops --metadata tier=gold")
    shell.run_line_magic("js_stream", f"add {ro} --mirror {eu} --allow-mirror-direct --compression s2")
    assert settle(shell, world, 5 + 2) == 7
    assert settle(shell, ro, 5) == 5
    publish(nc, f"eu{tag}.orders", 4, start=5)
    assert settle(shell, world, 11) == 11 and settle(shell, ro, 9) == 9

    info = shell.run_line_magic("js_stream", f"info {world}")
    rep = info["Replication"]
    assert set(rep) == {f"source {eu}", f"source {us} (us{tag}.orders)"}
    assert all(v.startswith("lag 0, active") for v in rep.values())
    assert list(info.sources["lag"]) == [0, 0]
    _client, js, run = nc
    cfg = run(js.stream_info(ro)).config
    assert cfg.mirror.name == eu and cfg.allow_direct and cfg.compression == "s2"  # the server keeps mirror_direct off on a mirror itself
    assert run(js.stream_info(world)).config.metadata["owner"] == "ops"
    assert info["Configuration"]["metadata"] == "owner=ops, tier=gold" and info["Configuration"]["subjects"] == "-"
    ro_info = shell.run_line_magic("js_stream", f"info {ro}")
    assert list(ro_info["Replication"]) == [f"mirror {eu}"]


def test_transform_stores_destination_subject_and_republish_reaches_core_subscriber(shell, nc, tag):
    client, js, run = nc
    name = f"T{tag}"
    got = []

    async def on_msg(m):
        got.append((m.subject, m.data, m.headers))

    async def listen():
        return await client.subscribe(f"live{tag}.>", cb=on_msg)

    sub = run(listen())
    run(client.flush())
    shell.run_line_magic("js_stream", f"add {name} --subjects 'in{tag}.*' "
                                      f"--transform-source 'in{tag}.*' --transform-destination 'stored{tag}.{{{{wildcard(1)}}}}' "
                                      f"--republish-source 'stored{tag}.>' --republish-destination 'live{tag}.>'")
    run(js.publish(f"in{tag}.eu", b'{"n": 1}'))
    subjects = shell.run_line_magic("js_stream", f"subjects {name}")
    assert list(subjects["subject"]) == [f"stored{tag}.eu"]
    conf = shell.run_line_magic("js_stream", f"info {name}")["Configuration"]
    assert conf["transform"] == f"in{tag}.* → stored{tag}.{{{{wildcard(1)}}}}"
    assert conf["republish"] == f"stored{tag}.> → live{tag}.>"
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        run(asyncio.sleep(0.05))
    assert got and got[0][0] == f"live{tag}.eu" and got[0][1] == b'{"n": 1}'
    assert got[0][2]["Nats-Stream"] == name and got[0][2]["Nats-Sequence"] == "1"
    run(sub.unsubscribe())


def test_edit_dry_run_then_apply_shows_old_to_new(shell, nc, tag):
    name = f"E{tag}"
    shell.run_line_magic("js_stream", f"add {name} --subjects 'e{tag}.>'")
    dry = shell.run_line_magic("js_stream", f"edit {name} --max-age 1d --metadata team=a --dry-run")
    assert set(dry["setting"]) == {"max_age", "metadata"} and "dry run" in dry.summary
    assert dry.set_index("setting").loc["max_age", "new"] == "1d"
    _client, js, run = nc
    assert run(js.stream_info(name)).config.max_age == 0  # nothing sent
    done = shell.run_line_magic("js_stream", f"edit {name} --max-age 1d --republish-destination 'r{tag}.>'")
    assert set(done["setting"]) == {"max_age", "republish"}
    assert run(js.stream_info(name)).config.republish.dest == f"r{tag}.>"


def test_config_file_copy_seal_and_bad_input(shell, nc, tag, tmp_path):
    name, twin = f"C{tag}", f"D{tag}"
    cfg = {"name": "ignored", "subjects": [f"c{tag}.>"], "max_msgs": 10, "storage": "memory",
           "duplicate_window": 60_000_000_000, "retention": "limits", "discard": "old", "num_replicas": 1}
    (tmp_path / "s.json").write_text(json.dumps(cfg))
    shell.run_line_magic("js_stream", f"add {name} --config {tmp_path / 's.json'}")
    _client, js, run = nc
    got = run(js.stream_info(name)).config
    assert got.max_msgs == 10 and got.storage == "memory" and got.duplicate_window == 60
    (tmp_path / "edit.json").write_text(json.dumps({**cfg, "max_msgs": 20}))
    diff = shell.run_line_magic("js_stream", f"edit {name} --config {tmp_path / 'edit.json'} --dry-run")
    assert diff.set_index("setting").loc["max_msgs"].tolist() == ["10", "20"] and len(diff) == 1
    with pytest.raises(InputError, match="cannot read config file") as err:  # a folder: one line, not IsADirectoryError
        shell.run_line_magic("js_stream", f"edit {name} --config {tmp_path}")
    assert "\n" not in str(err.value) and run(js.stream_info(name)).config.max_msgs == 10

    with pytest.raises(InputError, match="needs its own subjects"):
        shell.run_line_magic("js_stream", f"copy {name} {twin}")
    shell.run_line_magic("js_stream", f"copy {name} {twin} --subjects 'd{tag}.>'")
    assert run(js.stream_info(twin)).config.max_msgs == 10

    publish(nc, f"d{tag}.x", 2)
    with pytest.raises(ForceRequiredError, match="would seal"):
        shell.run_line_magic("js_stream", f"seal {twin}")
    shell.run_line_magic("js_stream", f"seal {twin} --force")
    assert run(js.stream_info(twin)).config.sealed
    with pytest.raises(Exception, match="sealed"):
        run(js.publish(f"d{tag}.x", b"late"))

    with pytest.raises(InputError, match="--transform-destination"):
        shell.run_line_magic("js_stream", f"add X{tag} --transform-source 'a.*'")
    with pytest.raises(InputError, match="KEY=VALUE"):
        shell.run_line_magic("js_stream", f"add X{tag} --metadata novalue")
    with pytest.raises(InputError, match="mirror or has sources"):
        shell.run_line_magic("js_stream", f"add X{tag} --mirror {name} --source {name}")
    from jsmagic.core.errors import JSMagicError

    with pytest.raises(JSMagicError, match="overlap") as err:  # the server's refusal, as one line
        shell.run_line_magic("js_stream", f"add X{tag} --subjects 'c{tag}.>' --metadata a=b")
    assert "\n" not in str(err.value)
    assert f"X{tag}" not in set(shell.run_line_magic("js_stream", "ls")["name"])


def test_report_shows_every_stream_with_mirror_lag_and_plot(shell, nc, tag):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    src, ro = f"P{tag}", f"PM{tag}"
    shell.run_line_magic("js_stream", f"add {src} --subjects 'p{tag}.>'")
    publish(nc, f"p{tag}.x", 6)
    _client, js, run = nc
    run(js.delete_msg(src, 3))
    shell.run_line_magic("js_stream", f"add {ro} --mirror {src}")
    assert settle(shell, ro, 5) == 5
    plt.close("all")
    rep = shell.run_line_magic("js_stream", "report --plot")
    rows = rep.set_index("name")
    assert (rows.loc[src, "messages"], rows.loc[src, "deleted"], rows.loc[src, "replicas"]) == (5, 1, 1)
    assert rows.loc[src, "leader"] == "" and rows.loc[src, "lost"] == 0
    assert rows.loc[ro, "mirror"] == src and rows.loc[ro, "lag"] == 0
    assert " streams" in rep.summary or " stream," in rep.summary
    ax = plt.gca()
    assert src in [t.get_text() for t in ax.get_yticklabels()]  # one bar per stream


def test_first_sequence_compression_and_placement(shell, nc, tag):
    name = f"F{tag}"
    shell.run_line_magic("js_stream", f"add {name} --subjects 'f{tag}' --first-sequence 100 --compression none")
    _client, js, run = nc
    assert run(js.publish(f"f{tag}", b"x")).seq == 100
    assert run(js.stream_info(name)).config.compression == "none"
    shell.run_line_magic("js_stream", f"add G{tag} --subjects 'g{tag}' --tag ssd --tag eu --cluster east")
    placement = run(js.stream_info(f"G{tag}")).config.placement
    assert placement.cluster == "east" and placement.tags == ["ssd", "eu"]  # a single server keeps, not enforces, it
