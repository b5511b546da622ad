"""Bad input: random argument lines and cell bodies for every magic (hypothesis).

A user mistyping a flag, pasting a broken value or an odd name must see one of
jsmagic's one-line errors (a :class:`jsmagic.core.errors.JSMagicError`) or IPython's
``UsageError`` for a bad flag — never a raw traceback from nats-py, argparse, pandas
or a ``KeyError``.  And the kernel state must survive the session of mistakes: the
context still connected and answering, the live KV watch started before still
running and still seeing new values.

The strategies mix real verbs, flags (read from each magic's own parser, so a new
flag is fuzzed without editing this file), real names and garbage, so that the
interesting paths (a real stream with a bad flag value, a real flag on an unknown
stream...) are reached.  Every test owns its stream, bucket and object store;
``--force`` is only ever paired with names that do not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import types
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from jsmagic.core.registry import context
from jsmagic.core.errors import JSMagicError

EXAMPLES = int(os.environ.get("JSMAGIC_FUZZ_EXAMPLES", "60"))  # raise it for a deeper hunt
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # nothing written into the checkout (tests chdir to tmp dirs)
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values a user might type anywhere: numbers out of range, bad durations/sizes/times,
# shell-quoting accidents, NATS wildcards, IPython expansion syntax, unicode.
GARBAGE = [
    "", "-", "--", "---x", "--bogus", "-z", "'unterminated", '"', "\\", "''", '""', "$KV.x.y", "{x}", "$x",
    "{=undefined_name}", "{{Count}}", "{{Nope}}", "*", ">", "a..b", ".a", "a.", "'a b'", "💥", "ünï.cødé",
    "-1", "0", "1", "99999999999999999999", "1e309", "nan", "abc", "1h", "-5s", "0s", "0.2s", "2026-13-45",
    "10XB", "-1MB", "5", "'{\"a\": 1}'", "[1,2]", "null", "%js_close", "=", ":", "a:b", "\t",
]
# Durations that cannot make a test wait long (a timeout of a day with --new would).
SHORT = ["0.3s", "0", "-1s", "abc", "1x", "0.2", "nan", "inf", "1e309", "300ms"]


def flags_of(parser) -> list[str]:
    """Every option string of an argparse parser (so new flags are fuzzed automatically)."""
    return [s for action in parser._actions for s in action.option_strings]


def is_flag(action) -> bool:
    return bool(action.option_strings)


@st.composite
def line_for(draw, parsers: dict, real: dict[str, list[str]], values: list[str], decoys: list[str],
             bounded: dict[str, list[str]] | None = None, max_flags: int = 3) -> str:
    """A magic line that is *nearly* right, so the fuzz gets past the parser.

    Built from a verb's own parser: its positionals (usually a real name of the right
    kind, read from ``real`` by the argument's dest), a few of its flags with a value of
    the right shape or garbage, then up to two mutations (garbage inserted, a word
    replaced or dropped).  ``bounded`` restricts what follows a flag: a ``--timeout`` of
    a day on ``--new`` would be obeyed, and so would a ``--count`` of 10**20 — not bad
    input.  ``--force`` only ever meets names that do not exist.
    """
    bounded = bounded or {}
    verb = draw(st.sampled_from(list(parsers)))
    parser = parsers[verb]
    words: list[str] = [verb] if verb else []
    anything = st.sampled_from(values + GARBAGE) | st.text(max_size=8)
    for action in (a for a in parser._actions if not is_flag(a)):
        if action.nargs in ("?", "*") and draw(st.integers(0, 9)) < 3:
            continue
        kind = real.get(action.dest)
        words.append(draw(st.sampled_from(kind) if kind and draw(st.integers(0, 9)) < 7 else anything))
    flags = [a for a in parser._actions if is_flag(a)]
    for action in draw(st.lists(st.sampled_from(flags), max_size=max_flags, unique_by=id)) if flags else []:
        flag = draw(st.sampled_from(action.option_strings))
        words.append(flag)
        if action.nargs == 0:
            continue
        limited = next((bounded[o] for o in action.option_strings if o in bounded), None)
        if limited is not None:
            words.append(draw(st.sampled_from(limited)))
        elif action.choices and draw(st.booleans()):
            words.append(draw(st.sampled_from(list(action.choices))))
        else:
            words.append(draw(st.sampled_from(real.get(action.dest) or values) if draw(st.booleans()) else anything))
    for _ in range(draw(st.integers(0, 2))):  # mutations (never of the value a bounded flag takes)
        at = draw(st.integers(0, len(words)))
        if at and words[at - 1] in bounded:
            continue
        how = draw(st.sampled_from(["insert", "replace", "drop"]))
        if how == "insert":
            words.insert(at, draw(anything))
        elif at < len(words) and how == "replace":
            words[at] = draw(anything)
        elif at < len(words):
            del words[at]
    if "--force" in words:
        protected = {w for names in real.values() for w in names}
        words = [decoys[len(w) % len(decoys)] if w in protected else w for w in words]
    return " ".join(words)


def has_words(line: str) -> bool:
    """True when ``line`` holds a word once its ``# comment`` is gone (an unbalanced quote counts: it is bad input)."""
    from jsmagic.magics.base import strip_comment

    return bool(strip_comment(line).strip())


def quiet_call(fn, *args):
    """Call a magic with its output captured; returns (exception or None, stderr text)."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            fn(*args)
        except BaseException as e:  # noqa: BLE001 - the assertion decides what is allowed
            return e, err.getvalue()
    return None, err.getvalue()


def assert_clean(exc: BaseException | None, stderr: str, what: str) -> None:
    """Only jsmagic's one-line errors or IPython's UsageError may reach the user."""
    if exc is not None and not isinstance(exc, (JSMagicError, UsageError)):
        raise AssertionError(f"{what!r} raised a raw {type(exc).__name__}: {exc!r}") from exc
    if isinstance(exc, JSMagicError):
        assert "\n" not in exc.one_line(), f"{what!r}: error spans several lines: {exc.one_line()!r}"
    assert "Traceback" not in stderr, f"{what!r} printed a traceback:\n{stderr}"


class World:
    """A stream with messages and a durable consumer, a KV bucket with a live watch, an object store."""

    def __init__(self, shell, nc, tmp_path):
        client, js, run = nc
        self.shell, self.client, self.js, self.run = shell, client, js, run
        tag = uuid.uuid4().hex[:8]
        self.streams_at_start = set(self.stream_names())
        self.messages: set[str] = set()  # what users saw (printed with -s, for reading)
        self.outcomes: dict[str, int] = {}  # ok / usage / jsmagic-error: proof the fuzz got past the parser
        self.stream, self.prefix, self.consumer = f"BI_{tag}", f"bi{tag}", "worker"
        self.bucket, self.objects = f"bikv{tag}", f"biobj{tag}"
        run(js.add_stream(name=self.stream, subjects=[f"{self.prefix}.>"]))
        for i in range(12):
            payload = b'{"n": %d}' % i if i % 3 else b"\xff\xfe not utf-8"
            run(js.publish(f"{self.prefix}.{'ab'[i % 2]}", payload))
        from nats.js.api import ConsumerConfig

        run(js.add_consumer(self.stream, ConsumerConfig(durable_name=self.consumer, ack_policy="explicit")))
        kv = run(js.create_key_value(bucket=self.bucket, history=5))
        run(kv.put("db.host", b"pg1"))
        run(kv.put("users.1", b'{"name": "ann"}'))
        run(js.create_object_store(self.objects))
        self.watch = shell.run_line_magic("js_kv", f"watch {self.bucket}")
        assert self.watch.running
        self.names = [
            self.stream, self.stream.lower(), "NOPE", self.consumer, "nobody", self.bucket, "nobucket",
            self.objects, f"{self.prefix}.a", f"{self.prefix}.>", "elsewhere.x", "db.host", "users.*", "a b",
        ]
        self.decoys = [f"GONE_{tag}", f"gone{tag}", "missing-name"]
        shell.user_ns.update(
            fuzz_df=__import__("pandas").DataFrame({"a": [1, None], "b": ["x", b"\xff"]}),
            fuzz_list=[{"a": 1}, 2, "three", None], fuzz_none=None, fuzz_bytes=b"\x00\xff", fuzz_int=7,
        )

    def stream_names(self) -> list[str]:
        async def names():
            return [s.config.name for s in await self.js.streams_info()]

        return self.run(names())

    def stop_strays(self) -> None:
        """Stop background work the fuzz started (follows, object watches), never our KV watch."""
        ctx = context()
        mine = self.watch.entry.name
        for entry in list(ctx.background.values()):
            if entry.name == mine:
                continue
            if entry.stop is not None:
                entry.stop()
            if entry.task is not None:
                entry.task.cancel()
            ctx.background.pop(entry.name, None)

    def assert_reached(self, minimum: int = 3) -> None:
        """The fuzz did more than trip the argument parser: some lines ran, some failed in jsmagic."""
        print("outcomes:", self.outcomes, *sorted(self.messages), sep="\n  ")
        assert self.outcomes.get("ok", 0) + self.outcomes.get("jsmagic-error", 0) >= minimum, self.outcomes

    def assert_intact(self, reached: int = 3) -> None:
        """The context answers, the watch is alive and sees another client's put, no consumer leaked."""
        self.assert_reached(reached)
        self.assert_no_leaked_consumers()
        ctx = context()
        assert ctx.connected, "the fuzz left the context disconnected"
        info = self.shell.run_line_magic("js_stream", f"info {self.stream}")
        assert info is not None
        assert self.watch.running, "the fuzz stopped the live KV watch"
        marker = uuid.uuid4().hex
        kv = self.run(self.js.key_value(self.bucket))
        self.run(kv.put("fuzz.marker", marker.encode()))
        for _ in range(50):
            ctx.run(asyncio.sleep(0.1))
            df = self.watch.df
            if marker in set(df.loc[df.key == "fuzz.marker", "value"].astype(str)):
                break
        else:
            raise AssertionError("the live KV watch no longer receives updates")

    def assert_no_leaked_consumers(self) -> None:
        """jsmagic's own short-lived consumers (``jsmagic_*``) are gone, whatever failed."""
        self.stop_strays()
        context().run(asyncio.sleep(0.3))

        async def leaked():
            found = []
            for si in await self.js.streams_info():
                for ci in await self.js.consumers_info(si.config.name):
                    if ci.name.startswith("jsmagic_"):
                        found.append(f"{si.config.name}/{ci.name}")
            return found

        assert self.run(leaked()) == [], "ephemeral consumers left on the server"
        watchers = self.run(self.js.consumers_info(f"KV_{self.bucket}"))
        assert len(watchers) == 1, f"KV watches of the fuzz left consumers: {[c.name for c in watchers]}"

    def cleanup(self) -> None:
        """Stop the watch; delete our stream/bucket/store and every stream the fuzz created."""
        self.stop_strays()
        self.watch.stop()
        context().run(asyncio.sleep(0.2))
        for name in set(self.stream_names()) - self.streams_at_start:
            with contextlib.suppress(Exception):
                self.run(self.js.delete_stream(name))


@pytest.fixture
def world(shell, nc, tmp_path, monkeypatch):
    """The world one fuzz test plays in (its own names), checked intact at the end."""
    from jsmagic.core.config import settings as js_settings

    monkeypatch.chdir(tmp_path)  # `%js_obj get --file FILE` with a random FILE writes here
    monkeypatch.setattr(js_settings(), "timeout", 1.0)  # a pull that waits for nothing waits 1 s
    (tmp_path / "small.bin").write_bytes(b"\x00\xffhello")
    (tmp_path / "junk.pem").write_text("not a certificate")
    w = World(shell, nc, tmp_path)
    yield w
    w.cleanup()


def fuzz(world: World, magic: str, line: str, cell: str | None = None) -> None:
    """Run one line (and cell) and check what the user would see, and that the context lives."""
    if cell is None:
        exc, err = quiet_call(world.shell.run_line_magic, magic, line)
    else:
        exc, err = quiet_call(world.shell.run_cell_magic, magic, line, cell)
    assert_clean(exc, err, f"%{magic} {line}" + (f" <cell {cell!r}>" if cell is not None else ""))
    outcome = "ok" if exc is None else "usage" if isinstance(exc, UsageError) else "jsmagic-error"
    world.outcomes[outcome] = world.outcomes.get(outcome, 0) + 1
    if exc is not None:  # a refused line starts nothing: no task or watch left running
        strays = [e.name for e in context().background.values() if e.name != world.watch.entry.name]
        assert not strays, f"%{magic} {line!r} failed but left {strays} running"
    if isinstance(exc, (JSMagicError, UsageError)):
        world.messages.add(f"{type(exc).__name__}: {exc}"[:160])
    world.stop_strays()
    assert context().connected, f"%{magic} {line!r} left the context disconnected"


def real_names(w: World) -> dict[str, list[str]]:
    """Names of the right kind for each argument dest (most of the time the fuzz uses them)."""
    return {
        "stream": [w.stream], "name": [w.stream, w.consumer, "small.bin", "NEW_" + w.stream[3:]],
        "bucket": [w.bucket, w.objects], "key": ["db.host", "users.1", "fuzz.new"],
        "subject": [f"{w.prefix}.a", f"{w.prefix}.>"], "pattern": ["db.>", "users.*", ">"],
        "filter": [f"{w.prefix}.*", f"{w.prefix}.b"], "seq": ["1", "3", "999"], "last": ["1", "2"],
        "value": ["v1", '{"a": 1}'], "file": ["small.bin", "missing.bin"], "source": ["fuzz_df", "fuzz_list"],
        "from_var": ["fuzz_list", "fuzz_none", "fuzz_bytes"], "subjects": [f"{w.prefix}.>", f"{w.prefix}.c"],
        "last_for": [f"{w.prefix}.a"], "target": ["deliver.here"], "durable": ["fuzzdur", w.consumer],
        "out": ["result_var", "out.bin"], "output": ["result_var"], "deliver": ["all", "new", "last", "3", "1h"],
    }


# ---- one test per magic -----------------------------------------------------------------

def run_fuzz(world: World, magic: str, strategy, cells=None) -> None:
    """Feed ``EXAMPLES`` lines (and cells) to ``magic``, then check the world survived."""
    if cells is None:
        @FUZZ
        @given(strategy)
        def check(line):
            fuzz(world, magic, line)
    else:
        @FUZZ
        @given(strategy, cells)
        def check(line, cell):
            fuzz(world, magic, line, cell)

    check()
    world.assert_intact()


def test_js_stream_lines(world):
    from jsmagic.magics.streams import VERBS

    values = SHORT + ["1", "3", "100", "limits", "workqueue", "interest", "memory", "file", "new", "old", "1MB", "1d"]
    run_fuzz(world, "js_stream", line_for(VERBS.parsers, real_names(world), values, world.decoys))


def test_js_consumer_lines(world):
    from jsmagic.magics.consumers import VERBS

    values = SHORT + ["1", "3", "all", "new", "last", "explicit", "none", "30s"]
    bounded = {"--timeout": SHORT, "--ack-wait": SHORT + ["30s"], "--count": ["1", "2", "0", "-1", "x"]}
    run_fuzz(world, "js_consumer", line_for(VERBS.parsers, real_names(world), values, world.decoys, bounded))


def test_js_consume_lines(world):
    from jsmagic.magics.consume import ConsumeMagics

    values = SHORT + ["1", "3", "5", "100", "1h", "2026-01-01T00:00:00Z", "json", "text", "bytes"]
    bounded = {"--timeout": SHORT, "--count": ["1", "0", "-1", "x", "5"], "--ack-wait": SHORT, "--delay": SHORT,
               "--batch": ["1", "0", "-1", "x", "7"], "--end-seq": ["0", "-1", "3", "x"]}
    real = real_names(world)
    real["stream"] = [world.stream, world.stream, "NOPE"]
    run_fuzz(world, "js_consume", line_for({"": ConsumeMagics.js_consume.parser}, real, values, world.decoys, bounded))


def test_js_kv_lines_and_cells(world):
    from jsmagic.magics.kv import PARSERS

    parsers = {v: p for v, p in PARSERS.items() if v != "unwatch"}  # unwatch is meant to stop our watch
    values = SHORT + ["1", "2", "65", "file", "memory", "json", "text", "1MB", "undefined_var"]
    cells = st.one_of(st.none(), st.text(max_size=40), st.sampled_from(["", '{"a": 1}', "\n\n", "\x00\xff"]))
    run_fuzz(world, "js_kv", line_for(parsers, real_names(world), values, world.decoys), cells)


def test_js_obj_lines(world):
    from jsmagic.magics.objects import VERBS

    real = real_names(world)
    real["name"] = ["small.bin", "fuzzobj", "missing.bin"]
    real["bucket"] = [world.objects, world.objects, world.bucket]
    values = SHORT + ["small.bin", "missing.bin", ".", "fuzz_int", "out.bin", "1MB", "memory", "1", "0"]
    run_fuzz(world, "js_obj", line_for(VERBS.parsers, real, values, world.decoys))


def test_js_publish_lines_and_cells(world):
    from jsmagic.magics.publish import PublishMagics

    subjects = [f"{world.prefix}.a", f"{world.prefix}.{{{{Count}}}}", f"{world.prefix}.{{=fuzz_int}}", "nowhere.x",
                f"{world.prefix}.*", "{=undefined_name}", f"{world.prefix}.{{=1/0}}", f"{world.prefix}."]
    real = real_names(world)
    real.update(subject=subjects, stream=[world.stream, "NOPE"], expect_stream=[world.stream, "NOPE"],
                source=["fuzz_df", "fuzz_list", "fuzz_none", "fuzz_bytes", "fuzz_int", "undefined_var"],
                data_col=["a", "b", "zz"], subject_col=["a", "b"], header_cols=["a", "a,b", "zz"],
                header=["X:1", "Nope", ":v", "K:{=undefined_name}"], msg_id=["order-{{Count}}", "{=1/0}"],
                body=['{"a": 1}', "text", ""])
    values = SHORT + ["1", "2", "-3"]
    bounded = {"--count": ["2", "0", "-1", "x", "1"]}
    body = st.one_of(
        st.text(min_size=1, max_size=60),
        st.lists(st.sampled_from(['{"a": 1}', "[1, 2]", "3", "not json", "{=fuzz_int}", "{=undefined_name}", "{{Count}}",
                                  "{{Random 1 x}}", "{{Random 5 1}}", "{=1/0}", "\ud800", "{", ""]), min_size=1, max_size=5).map("\n".join),
    )
    parser = PublishMagics.js_publish.parser
    # A cell magic takes its body from the cell, not the line: fuzz that case mostly (3:1)
    cell_parser = types.SimpleNamespace(_actions=[a for a in parser._actions if a.dest != "body"])
    as_cell = st.tuples(line_for({"": cell_parser}, real, values, world.decoys, bounded, max_flags=2), body)
    as_line = st.tuples(line_for({"": parser}, real, values, world.decoys, bounded), st.none())

    @FUZZ
    @given(st.one_of(as_cell, as_cell, as_cell, as_line))
    def check(line_and_cell):
        fuzz(world, "js_publish", *line_and_cell)

    check()
    world.assert_intact()


def test_js_status_and_close_reject_arguments(world):
    from IPython.core.magic_arguments import MagicArgumentParser

    words = MagicArgumentParser(add_help=False)
    words.add_argument("junk", nargs="+")  # anything at all: these magics take no arguments
    # a line that is all comment ("  #0") is no argument at all: `%js_close # done` closes, rightly
    strategy = line_for({"": words}, {}, SHORT + ["--force", "-o", "x"], world.decoys).filter(has_words)

    @FUZZ
    @given(strategy)
    def check(line):
        for magic in ("js_status", "js_close"):
            fuzz(world, magic, line)

    check()
    world.assert_intact(reached=0)  # these magics take no arguments: every line is a UsageError


def test_js_connect_bad_lines_keep_the_connection(world, server):
    """A connect that fails leaves the working connection (and its watch) as they were."""
    from jsmagic.magics.connection import ConnectionMagics

    parser = ConnectionMagics.js_connect.parser
    bad_urls = ["nats://127.0.0.1:1", "nats://", "http://x:y", "nats://127.0.0.1:99999", "tls://127.0.0.1:1",
                "::::", "nats://user:pw@127.0.0.1:1", "127.0.0.1:-5"]
    real = {"servers": bad_urls, "tls_ca": ["junk.pem", "missing.pem"], "tls_cert": ["junk.pem"], "tls_key": ["junk.pem"],
            "creds": ["junk.pem", "missing.pem"], "nkey": ["junk.pem"], "context": ["nope", "../x"], "user": ["alice"],
            "password": ["secret"], "token": ["tok"], "timeout": ["0.5", "-1", "0", "x"]}
    bounded = {"--store": ["x"], "--embedded": [], "--timeout": ["0.5", "-1", "0", "x", "nan"]}
    before = context().nc

    @FUZZ
    @given(st.sampled_from(bad_urls), line_for({"": parser}, real, SHORT, world.decoys, bounded))
    def check(url, line):
        line = line.replace("--embedded", "")  # would start a server: not bad input
        fuzz(world, "js_connect", f"{url} {line} --timeout 0.5")
        assert context().nc is before, "a failed %js_connect replaced the working connection"

    check()
    for line in (f"{server.url} --tls-ca missing.pem", f"{server.url} --creds junk.pem", f"{server.url} --context nope",
                 f"{server.url} --nkey missing.pem", f"{server.url} --tls-cert junk.pem --tls-key junk.pem"):
        exc, err = quiet_call(world.shell.run_line_magic, "js_connect", line)
        assert isinstance(exc, (JSMagicError, UsageError)), f"%js_connect {line}: {exc!r}"
        assert_clean(exc, err, line)
        assert context().nc is before
    world.assert_intact()


def test_lines_that_once_escaped_as_raw_tracebacks(world, nc):
    """Each line here once reached the user as a raw traceback (found by the fuzz above); now one line each."""
    from jsmagic.core.errors import InputError

    client, js, run = nc
    empty = f"EMPTY_{world.stream[3:]}"
    run(js.add_stream(name=empty, subjects=[f"{empty.lower()}.>"]))
    cases = [
        ("js_stream", f"add {world.prefix}.a", InputError),  # nats-py ValueError: invalid stream name
        ("js_consume", f"{world.prefix}.a", InputError),
        ("js_consumer", f"info {world.stream} {world.prefix}.a", InputError),
        ("js_stream", f"add NEW_{world.stream[3:]} --max-msgs 0.3s", InputError),  # int('0.3s')
        ("js_stream", f"edit {world.stream} --replicas x", InputError),
        ("js_obj", f"add {world.objects} --storage 0.3s", InputError),  # StorageType('0.3s')
        ("js_consumer", f"next {world.stream} {world.consumer} --timeout nan", InputError),  # int(nan)
        ("js_consumer", f"next {world.stream} {world.consumer} --timeout inf", InputError),
    ]
    for magic, line, error in cases:
        exc, err = quiet_call(world.shell.run_line_magic, magic, line)
        assert isinstance(exc, error), f"%{magic} {line}: {exc!r}"
        assert_clean(exc, err, line)
    exc, err = quiet_call(world.shell.run_cell_magic, "js_publish", f"{world.prefix}.a", "ok\n\ud800\n")
    assert isinstance(exc, InputError) and "UTF-8" in str(exc), repr(exc)
    assert run(js.stream_info(world.stream)).state.messages == 12, "a refused cell published nothing"
    pytest.importorskip("matplotlib")
    rates = world.shell.run_line_magic("js_stream", f"plot {empty}")  # pandas: "no numeric data to plot"
    assert len(rates) == 0
    world.assert_intact(reached=0)


UNIT_FLAGS = [  # (magic, line before the flag, flag): every flag that takes a duration, size, time or count
    ("js_consume", "{stream}", "--since"), ("js_consume", "{stream}", "--until"), ("js_consume", "{stream}", "--timeout"),
    ("js_consume", "{stream} --durable fz --nak", "--delay"), ("js_consume", "{stream} --durable fz", "--ack-wait"),
    ("js_consume", "{stream}", "--start-seq"), ("js_consume", "{stream}", "--end-seq"), ("js_consume", "{stream}", "-n"),
    ("js_consume", "{stream}", "--batch"),
    ("js_stream", "add {new}", "--max-bytes"), ("js_stream", "add {new}", "--max-age"),
    ("js_stream", "add {new}", "--max-msg-size"), ("js_stream", "add {new}", "--dupe-window"),
    ("js_stream", "add {new}", "--max-msgs"), ("js_stream", "add {new}", "--replicas"),
    ("js_stream", "plot {stream}", "--every"), ("js_stream", "get {stream}", ""), ("js_stream", "purge {new}", "--keep"),
    ("js_consumer", "add {stream} {newc}", "--ack-wait"), ("js_consumer", "add {stream} {newc}", "--deliver"),
    ("js_consumer", "add {stream} {newc}", "--max-ack-pending"),
    ("js_kv", "add {newkv}", "--ttl"), ("js_kv", "add {newkv}", "--max-value-size"),
    ("js_kv", "add {newkv}", "--max-bucket-size"), ("js_kv", "add {newkv}", "--history"),
    ("js_kv", "get {bucket} db.host", "--revision"), ("js_kv", "watch {bucket}", "--revision"),
    ("js_obj", "add {newobj}", "--ttl"), ("js_obj", "add {newobj}", "--max-bytes"),
]
ODD_VALUES = sorted(set(SHORT + GARBAGE + ["-0", "1e3", "0x10", "1_000", "1.5", "999999999999999999999999d",
                                           "9223372036854775808", "-9223372036854775809", "1e-9s", "1 h", "PT1H",
                                           "2026-02-30", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]))


def test_every_unit_flag_takes_any_value_in_one_line(world):
    """A grid, not a sample: each duration/size/time/count flag × each odd value."""
    import shlex

    if "--every" in {f for _, _, f in UNIT_FLAGS}:
        pytest.importorskip("matplotlib")
    calls = 0
    for magic, head, flag in UNIT_FLAGS:
        for value in ODD_VALUES:
            tag = uuid.uuid4().hex[:6]
            names = dict(stream=world.stream, bucket=world.bucket, new=f"NEWG_{tag}", newc=f"c{tag}",
                         newkv=f"g{tag}", newobj=f"o{tag}")
            line = f"{head.format(**names)} {flag} {shlex.quote(value)}".strip()
            fuzz(world, magic, line)
            calls += 1
    assert calls == len(UNIT_FLAGS) * len(ODD_VALUES)
    world.assert_intact()
