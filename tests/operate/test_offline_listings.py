"""``%js_consumer ls/info`` and ``%js_stream ls`` on offline assets answer what the server answers.

An offline stream (server 2.12+) still has consumers the server lists (``CONSUMER.LIST``
names the offline one with its reason) and answers ``CONSUMER.INFO`` about: the magics
used to fail first on their own stream check.  The fixture (``offline``, from
test_offline_assets.py) makes stream OFF offline through its consumer C, which needs API
level 99; each answer is compared with the server's JSON, read with plain nats-py.
"""

from __future__ import annotations

import pytest

from jsmagic.core.errors import JSMagicError, NotFoundError
from tests.operate.test_offline_assets import offline, raw  # noqa: F401 - the fixture

HINT = "run a nats-server that supports it"


def test_consumer_ls_on_an_offline_stream_lists_what_the_server_lists(offline):  # noqa: F811
    sh, peer = offline
    server = raw(peer, "$JS.API.CONSUMER.LIST.OFF")
    assert server["consumers"] == [] and list(server["offline"]) == ["C"]

    df = sh.run_line_magic("js_consumer", "ls OFF")
    assert df["name"].tolist() == sorted([c["name"] for c in server["consumers"]] + list(server["offline"]))
    assert df.set_index("name").loc["C", "offline"] == server["offline"]["C"]
    assert df["pending"].isna().all()  # nothing else is known of it: no made-up zeros
    assert server["offline"]["C"] in df.attrs["notes"][0]

    ok = sh.run_line_magic("js_consumer", "ls OK1")  # a loaded stream: the column is there, empty
    assert ok.empty and "offline" in ok.columns


def test_consumer_info_on_an_offline_stream_is_one_line_with_the_servers_reason(offline):  # noqa: F811
    sh, peer = offline
    stream_why = raw(peer, "$JS.API.STREAM.LIST")["offline"]["OFF"]
    err = raw(peer, "$JS.API.CONSUMER.INFO.OFF.C")["error"]
    assert err["err_code"] == 10195
    why = err["description"].split("offline: ", 1)[1]

    with pytest.raises(JSMagicError) as failed:
        sh.run_line_magic("js_consumer", "info OFF C")
    line = failed.value.one_line()
    assert "\n" not in line and "consumer C of stream OFF is offline: " + why in line, line
    assert stream_why in line and HINT in line, line

    with pytest.raises(JSMagicError) as failed:  # a consumer the offline stream did not load
        sh.run_line_magic("js_consumer", "info OFF D")
    line = failed.value.one_line()
    assert f"stream OFF is offline: {stream_why}" in line and HINT in line, line

    with pytest.raises(NotFoundError, match="did you mean 'OFF'"):  # a typo is still a typo
        sh.run_line_magic("js_consumer", "info OFFF C")


def test_stream_ls_lists_an_offline_stream_as_a_row_with_its_reason(offline):  # noqa: F811
    sh, peer = offline
    server = raw(peer, "$JS.API.STREAM.LIST")
    loaded = sorted(s["config"]["name"] for s in server["streams"])
    assert loaded == ["OK1"] and server["offline"] == {"OFF": 'stopped - unsupported consumer "C"'}

    df = sh.run_line_magic("js_stream", "ls")
    assert df["name"].tolist() == sorted(loaded + list(server["offline"]))
    rows = df.set_index("name")
    assert rows.loc["OFF", "offline"] == server["offline"]["OFF"] and rows.loc["OK1", "offline"] == ""
    assert rows.loc["OK1", "messages"] == 0 and str(df["messages"].dtype) == "Int64"
    assert df["messages"].isna().tolist() == [True, False]  # no made-up zeros for OFF
    assert df.attrs["missing"] == server["offline"]
