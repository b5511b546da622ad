"""The Python API returns what the engine knows: a replay's notes reach the script.

``jsmagic.replay`` used to return ``result.frame`` alone: the notes the summary line of
``%js_consume`` shows (the bulk reader not used, a replica waited for, "SHORT: the
consumer on n2 sees only …") never reached a script, although its docstring promised that
a short frame is never returned in silence.  Now a complete replay's notes are in
``df.attrs["notes"]`` and warned as :class:`jsmagic.api.ReadWarning`; a note that says rows
are missing (``SHORT…``) raises :class:`IncompleteError`, and ``strict=True`` raises on any
note.

A real note: over a websocket URL the bulk reader cannot run, the replay reads through
nats-py and says so.  The rule for a short replay is checked on the engine's own result
type (:class:`jsmagic.reading.reader.Replay`), read from a real server too.
"""

from __future__ import annotations

import warnings

import pytest

import jsmagic
from jsmagic.api import ReadWarning, checked
from jsmagic.core import registry
from jsmagic.core.errors import IncompleteError
from jsmagic.reading.reader import Replay
from jsmagic.testing import connected_shell
from jsmagic.testing.servers import websocket_server

NOTE = "bulk reader not used (connected over websocket, which it does not speak): read through nats-py"


@pytest.fixture(scope="module")
def over_websocket():
    """A shell connected over ``ws://`` to a server holding stream APINOTES (5 messages)."""
    pytest.importorskip("aiohttp")  # nats-py's ws:// transport: in the test extra
    with websocket_server() as server, connected_shell(server.ws_url, bulk_replay=True) as shell:
        ctx = registry.context()

        async def fill():
            await ctx.js.add_stream(name="APINOTES", subjects=["apinotes.>"])
            for i in range(5):
                await ctx.js.publish("apinotes.x", b'{"i": %d}' % i)

        ctx.run(fill())
        yield ctx


def test_a_replay_with_a_note_returns_it_on_the_frame_and_warns_it(over_websocket):
    ctx = over_websocket
    with pytest.warns(ReadWarning, match="read through nats-py") as caught:
        df = ctx.run(jsmagic.replay("APINOTES", ctx=ctx))
    assert df["i"].tolist() == [0, 1, 2, 3, 4]
    assert df.attrs["notes"] == [NOTE]
    assert df.attrs["method"] == "ephemeral consumer (deleted)"
    assert [str(w.message) for w in caught] == [f"replay of APINOTES: {NOTE}"]


def test_strict_refuses_a_replay_with_notes_and_keeps_its_frame(over_websocket):
    ctx = over_websocket
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # strict raises; nothing is only warned
        with pytest.raises(IncompleteError, match="has notes") as e:
            ctx.run(jsmagic.replay("APINOTES", strict=True, ctx=ctx))
    assert e.value.frame["i"].tolist() == [0, 1, 2, 3, 4] and e.value.frame.attrs["notes"] == [NOTE]


def test_a_replay_without_notes_is_silent(shell, nc):
    _, js, run = nc
    run(js.add_stream(name="APIQUIET", subjects=["apiquiet.>"]))
    for i in range(3):
        run(js.publish("apiquiet.x", b'{"i": %d}' % i))
    ctx = registry.context()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = ctx.run(jsmagic.replay("APIQUIET", strict=True, ctx=ctx))
    assert df["i"].tolist() == [0, 1, 2] and df.attrs["notes"] == []


def test_a_short_note_raises_with_the_frame(shell, nc):
    """What the lagging-replica guard leaves when the replica did not catch up in time: a SHORT note."""
    _, js, run = nc
    run(js.add_stream(name="APISHORT", subjects=["apishort.>"]))
    for i in range(4):
        run(js.publish("apishort.x", b'{"i": %d}' % i))
    ctx = registry.context()
    read = ctx.run(jsmagic.replay("APISHORT", ctx=ctx))  # a real frame from the engine
    short = ("SHORT: the consumer on n2 sees only 4 of the 9 messages the stream leader reports "
             "(a replica still catching up); run the replay again")
    result = Replay(stream="APISHORT", frame=read, method="ephemeral consumer (deleted)", notes=[short])
    with pytest.raises(IncompleteError, match="came back short with 4 message") as e:
        checked(result)
    assert e.value.frame.attrs["notes"] == [short] and len(e.value.frame) == 4
