"""The magics and the Python API say the same thing with the same words.

The same publish (a ``{{Count}}`` body, message ids, a header, ``--count``) through
``%%js_publish`` and through ``jsmagic.publish`` stores the same payloads and headers, as
nats-py reads them back; the same replay words through ``%js_consume`` and
``jsmagic.replay`` give the same frame; the same stream flags through ``%js_stream add`` and
``jsmagic.streams.add`` give the same configuration.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import jsmagic
from jsmagic.core import registry

BODY = '{"n": {{Count}}, "kind": "tpl"}\n{"n": {{Count}}, "kind": "second"}'


@pytest.fixture
def ctx(shell):
    return registry.context()


def stored(ctx, stream, first, last):
    """(subject, payload as JSON, our headers) of each message, read with plain nats-py."""

    async def read():
        out = []
        for seq in range(first, last + 1):
            m = await ctx.js.get_msg(stream, seq=seq)
            headers = {k: v for k, v in (m.headers or {}).items() if not k.startswith("Nats-") or k == "Nats-Msg-Id"}
            out.append((m.subject.rsplit(".", 1)[-1], json.loads(m.data), headers))
        return out

    return ctx.run(read())


def test_the_same_publish_through_the_magic_and_the_api_stores_the_same_messages(shell, ctx):
    ctx.run(jsmagic.streams.add("PARPUB_M", subjects="parpub.magic"))  # two streams: the same ids in one
    ctx.run(jsmagic.streams.add("PARPUB_A", subjects="parpub.api"))   # would be deduplicated
    shell.run_cell_magic("js_publish", "parpub.magic --msg-id m-{{Count}} -H Trace:t{{Count}} --count 3", BODY)
    acks = ctx.run(jsmagic.publish("parpub.api", BODY, msg_id="m-{{Count}}", headers={"Trace": "t{{Count}}"},
                                   count=3))
    by_magic, by_api = stored(ctx, "PARPUB_M", 1, 6), stored(ctx, "PARPUB_A", 1, 6)
    assert [m[0] for m in by_magic] == ["magic"] * 6 and [m[0] for m in by_api] == ["api"] * 6
    assert [m[1:] for m in by_magic] == [m[1:] for m in by_api]
    assert by_api[5][1:] == ({"n": 6, "kind": "second"}, {"Nats-Msg-Id": "m-6", "Trace": "t6"})
    assert acks["seq"].tolist() == list(range(1, 7))


@pytest.mark.parametrize("line, words", [
    ("PARREP", {}),
    ("PARREP -s parrep.b --start-seq 3 -n 4", {"subjects": "parrep.b", "start_seq": 3, "count": 4}),
    ("PARREP --where 'i > 5' --header-cols h --subject-cols 'parrep.{kind}'",
     {"where": "i > 5", "header_cols": "h", "subject_cols": "parrep.{kind}"}),
    ("PARREP --last-per-subject", {"deliver": "last_per_subject"}),
    ("PARREP --grep '\"i\":1[0-9]' --end-seq 15", {"grep": '"i":1[0-9]', "end_seq": 15}),
])
def test_the_same_replay_words_give_the_same_frame(shell, ctx, line, words):
    if "PARREP" not in ctx.run(jsmagic.streams.names()):
        ctx.run(jsmagic.streams.add("PARREP", subjects="parrep.>"))
        ctx.run(jsmagic.publish(None, pd.DataFrame({"i": range(1, 21), "subject": ["parrep.a", "parrep.b"] * 10,
                                                    "h": [f"h{i}" for i in range(1, 21)]}),
                                subject_col="subject", header_cols="h"))
    by_magic = shell.run_line_magic("js_consume", line)
    by_api = ctx.run(jsmagic.replay("PARREP", **words))
    assert len(by_api) > 0
    pd.testing.assert_frame_equal(pd.DataFrame(by_magic), pd.DataFrame(by_api), check_like=False)


def test_the_same_stream_flags_give_the_same_configuration(shell, ctx):
    flags = "--subjects 'parcfg.a.>' --max-age 2h --max-bytes 5MB --dupe-window 30s --storage memory --max-msgs-per-subject 3"
    shell.run_line_magic("js_stream", f"add PARCFG_M {flags}")
    ctx.run(jsmagic.streams.add("PARCFG_A", subjects="parcfg.b.>", max_age="2h", max_bytes="5MB", dupe_window="30s",
                                storage="memory", max_msgs_per_subject=3))

    async def configs():
        return [(await ctx.js.stream_info(n)).config for n in ("PARCFG_M", "PARCFG_A")]

    magic, api = ctx.run(configs())
    fields = ("max_age", "max_bytes", "duplicate_window", "storage", "max_msgs_per_subject", "retention", "discard")
    assert {f: getattr(magic, f) for f in fields} == {f: getattr(api, f) for f in fields}
    assert (magic.max_age, magic.max_bytes, magic.max_msgs_per_subject) == (7200, 5_000_000, 3)
