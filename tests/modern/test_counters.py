"""%js_counter: distributed counters (server 2.12), exact beyond 2**63; refusals change nothing."""

import pytest

from jsmagic.admin import counters
from jsmagic.core.errors import InputError, NotFoundError
from tests.modern.conftest import raw, stored, wait_for



def test_incr_decr_get_ls_view(shell, nc, name):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --storage memory --allow-counter")
    assert shell.run_line_magic("js_counter", f"incr {name}.home") == 1
    assert shell.run_line_magic("js_counter", f"incr {name}.home 41") == 42
    assert shell.run_line_magic("js_counter", f"decr {name}.home 2") == 40
    big = 2**70
    assert shell.run_line_magic("js_counter", f"incr {name}.big {big}") == big
    assert shell.run_line_magic("js_counter", f"incr {name}.big") == big + 1  # exact: no float on the way
    assert shell.run_line_magic("js_counter", f"get {name}.home") == 40
    table = shell.run_line_magic("js_counter", f"ls {name}")
    assert dict(zip(table["subject"], table["value"])) == {f"{name}.big": big + 1, f"{name}.home": 40}
    assert table.set_index("subject").loc[f"{name}.home", "last_increment"] == "-2"
    report = shell.run_line_magic("js_counter", f"view {name}.home")
    assert report["Counter"]["value"] == "40" and report["Counter"]["last increment"] == "-2"


def test_counter_refusals_are_one_line_and_store_nothing(shell, nc, name):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.>' --storage memory")
    with pytest.raises(InputError, match=f"stream {name} is not a counter stream"):
        shell.run_line_magic("js_counter", f"incr {name}.x")
    with pytest.raises(InputError, match="bad VALUE '1.5'"):
        shell.run_line_magic("js_counter", f"incr {name}.x 1.5")
    with pytest.raises(NotFoundError, match="no stream captures"):
        shell.run_line_magic("js_counter", "get nowhere.at.all")
    assert stored(nc, name) == 0
    assert counters.as_int("+12345678901234567890123") == 12345678901234567890123


def test_view_shows_what_each_source_contributed(shell, nc, name):
    shell.run_line_magic("js_stream", f"add {name} --subjects '{name}.eu.>' --storage memory --allow-counter")
    total = name + "ALL"
    raw(nc, f"STREAM.CREATE.{total}", {  # an aggregate counter stream sourcing the regional one (ADR-49)
        "name": total, "subjects": [f"{total}.>"], "allow_msg_counter": True, "storage": "memory",
        "sources": [{"name": name, "subject_transforms": [{"src": f"{name}.eu.>", "dest": f"{total}.>"}]}]})
    for _ in range(3):
        shell.run_line_magic("js_counter", f"incr {name}.eu.home 2")
    shell.run_line_magic("js_counter", f"incr {total}.home 10")  # a local addition on the aggregate
    assert wait_for(lambda: shell.run_line_magic("js_counter", f"get {total}.home") == 16)
    report = shell.run_line_magic("js_counter", f"view {total}.home")
    assert report["Sources"] == {f"{name} {name}.eu.home": "6"}
    assert report.raw["sources"] == {name: {f"{name}.eu.home": 6}}
