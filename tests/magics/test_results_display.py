"""What a consume or publish cell shows in a real kernel: one summary line, not a wall of acks.

A ``--count`` publish shows its summary (the 500 acks stay in the result, each row with its
message number); ``-o NAME`` shows the summary only, not the table, once; an assigned
replay still shows its summary.
"""

from __future__ import annotations

import json
import uuid

import pytest

pytestmark = pytest.mark.kernel


def test_publish_and_replay_show_one_summary_line(kernel, server):
    s = f"SHOW{uuid.uuid4().hex[:6].upper()}"
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}")
    added = kernel.run(f"%js_stream add {s} --subjects '{s.lower()}.>' --max-age 7d").result
    assert added == f"Stream {s}: subjects {s.lower()}.>; limits retention, file storage, 1 replica; max age 7d" \
                    f" — %js_stream info {s} for the rest"  # one line, not a 30-line block
    res = kernel.run(f"%%js_publish {s.lower()}.x --count 500\n{{\"n\": {{{{Count}}}}}}")
    shown = [d["text/plain"] for d in res.data]
    assert shown == [f"500 messages → stream {s}, seq 1–500"], shown  # no ack rows, said once
    assert "<table" not in json.dumps(res.data)
    cols, last = json.loads(kernel.run(
        "import jsmagic, json; a = jsmagic.last_result(); print(json.dumps([a.columns.tolist(), int(a.message.iloc[-1])]))"
    ).stdout)
    assert cols[:2] == ["message", "line"] and last == 500

    res = kernel.run(f"%js_consume {s} -o got")
    shown = [d for d in res.data if "text/plain" in d]
    assert len(shown) == 1 and shown[0]["text/plain"].startswith(f"{s}: 500 rows; seq 1–500")
    assert "<table" not in shown[0].get("text/html", ""), "-o also printed the whole table"
    later = kernel.run("got")  # the variable, in a later cell, shows its rows
    assert "<table" in later.data[0]["text/html"] and "showing the first" in later.result

    put = kernel.run(f"%js_kv add b{s}\n%js_kv put b{s} db.host pg").result
    assert put == "put db.host: revision 1"  # not a bare number
    res = kernel.run(f"df = %js_consume {s} -n 3")  # assigned: the summary still shows, under the cell
    assert len(res.data) == 1 and f"{s}: 3 rows; seq 1–3" in res.data[0]["text/html"]


def test_a_cell_of_several_publishes_says_each_in_order_once(kernel, server):
    s = f"ORD{uuid.uuid4().hex[:6].upper()}"
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}\n%js_stream add {s} --subjects '{s.lower()}.>'")
    res = kernel.run(f"%js_publish {s.lower()}.a '1'\n%js_publish {s.lower()}.b '2'\nx = %js_publish {s.lower()}.c '3'\n"
                     f"%js_publish {s.lower()}.d '4'")
    shown = [d.get("text/plain") or d.get("text/html") for d in res.data]
    assert shown == [f"1 message → stream {s}, seq {n}" for n in (1, 2, 3, 4)], shown  # in order, each once
    later = kernel.run("x")  # the value, in a later cell, shows as usual
    assert later.result == f"1 message → stream {s}, seq 3"
