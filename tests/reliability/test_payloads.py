"""Payloads of every shape replay without losing a byte.

Messages are published with plain nats-py (the reference), replayed with
``%js_consume`` / ``%js_stream get`` / ``%js_consumer next`` and KV values read with
``%js_kv get/view/history``; each is compared with what was published:

* ``--decode bytes`` gives the published bytes exactly, headers included;
* ``--decode auto`` gives, per message, either those bytes, their UTF-8 text, or the
  JSON value they hold — and a JSON value only when the payload *alone* is JSON;
* ``--decode text`` / ``json`` either decode every message faithfully or fail with a
  one-line error naming a message: never a silently different value.
"""

from __future__ import annotations

import uuid

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jsmagic.core.errors import InputError

# Shapes users meet: broken UTF-8, broken JSON, JSON of every kind, empty and blank
# payloads, CSV-like text, and payloads holding the bytes a batch decoder might use
# to join messages (``],[``, unbalanced brackets and quotes).
TRICKY = [
    b"\xff\xfe\xfd", b"caf\xc3", b"\xc3\xa9t\xc3\xa9", b'{"a": 1', b'{"a": 1}}', b"{'a': 1}", b"[1, 2]", b"3", b"-0.5",
    b'"just a string"', b"true", b"null", b"", b" ", b"\n", b"1,2", b"],[", b"1],[2", b'"a', b'b"', b"[", b"]",
    b'{"nested": {"x": [1, {"y": null}]}, "u": "\xc3\xbc"}', b"\x00\x01\x02", b"NaN", b"1e999", b"plain text",
    b'{"a": 1}\n{"a": 2}', b"\xef\xbb\xbf{\"bom\": 1}",
]
# Adjacent pairs that fool a decoder parsing a batch as one JSON document.
ADVERSARIAL_RUNS = [[b"1,2", b""], [b'"a', b'b"', b"1],[2"], [b"", b"3,4"], [b'{"a": 1', b'}'] ]

PROPS = settings(
    max_examples=40, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def stream(nc):
    """A fresh stream ``PL_x`` capturing ``plx.>``; yields ``(name, subject prefix)``."""
    client, js, run = nc
    name = unique("PL_")
    prefix = name.lower().replace("_", "")
    run(js.add_stream(name=name, subjects=[f"{prefix}.>"]))
    yield name, prefix
    run(js.delete_stream(name))


def publish(nc, subject: str, payloads: list[bytes], headers: list[dict | None] | None = None) -> list[int]:
    """Publish with plain nats-py (the reference); returns the stream sequences."""
    client, js, run = nc
    headers = headers or [None] * len(payloads)

    async def go():
        return [(await js.publish(subject, p, headers=h)).seq for p, h in zip(payloads, headers)]

    return run(go())


def expected_auto(payload: bytes):
    """What ``auto`` may show for a payload on its own: its JSON value, else text, else bytes."""
    if payload.strip():
        try:
            return ("json", orjson.loads(payload))
        except orjson.JSONDecodeError:
            pass
    try:
        return ("text", payload.decode("utf-8"))
    except UnicodeDecodeError:
        return ("bytes", payload)


def same_value(shown, payload: bytes) -> bool:
    """True when ``shown`` is exactly what ``auto`` decoding of ``payload`` alone gives."""
    _, value = expected_auto(payload)
    return type(shown) is type(value) and shown == value  # 1 is not True, "3" is not 3


META = {"seq", "subject", "time", "headers", "size", "consumer_seq", "num_delivered", "pending", "decode_error"}


def auto_values(df, payloads: list[bytes]) -> list:
    """The decoded payload of each row: its object columns when the payload alone is a JSON object, else ``data``."""
    cols = [c for c in df.columns if c not in META and c != "data"]
    out = []
    for i, p in enumerate(payloads):
        kind, value = expected_auto(p)
        if kind == "json" and isinstance(value, dict):  # objects always expand to columns
            if "data" in df.columns:
                assert _missing(df["data"].iloc[i]), f"an object payload also has a data value: {p!r}"
            out.append({c: df[c].iloc[i] for c in cols if not _missing(df[c].iloc[i])})
        else:
            out.append(df["data"].iloc[i])
    return out


def _missing(v) -> bool:
    try:
        return v is None or v != v  # NaN for keys an object did not have
    except Exception:
        return False


def consume(shell, stream: str, subject: str, decode: str):
    return shell.run_line_magic("js_consume", f"{stream} -s {subject} --decode {decode}")


def assert_replay_exact(shell, stream: str, subject: str, payloads: list[bytes], headers=None) -> None:
    """``--decode bytes`` and ``auto`` both give back every message of ``subject`` faithfully."""
    raw = consume(shell, stream, subject, "bytes")
    assert len(raw) == len(payloads)
    assert list(raw["data"]) == payloads, "--decode bytes changed a payload"
    assert list(raw["size"]) == [len(p) for p in payloads]
    if headers is not None:
        assert [h or None for h in raw["headers"]] == [h or None for h in headers]
    auto = consume(shell, stream, subject, "auto")
    shown = auto_values(auto, payloads)
    bad = [(p, s) for p, s in zip(payloads, shown) if not same_value(s, p)]
    assert not bad, f"--decode auto showed a value the payload alone does not hold: {bad[:3]}"


# ---- %js_consume ---------------------------------------------------------------------------

def test_tricky_payloads_replay_byte_exact(shell, nc, stream):
    name, prefix = stream
    publish(nc, f"{prefix}.tricky", TRICKY)
    assert_replay_exact(shell, name, f"{prefix}.tricky", TRICKY)


@pytest.mark.parametrize("run_", ADVERSARIAL_RUNS, ids=lambda r: "+".join(map(repr, r)))
def test_neighbouring_payloads_never_merge_into_one_json_value(shell, nc, stream, run_):
    """A batch is decoded together for speed; a CSV line next to an empty payload must stay two texts."""
    name, prefix = stream
    publish(nc, f"{prefix}.adv", run_)
    assert_replay_exact(shell, name, f"{prefix}.adv", run_)


def test_forced_modes_are_faithful_or_fail_in_one_line(shell, nc, stream):
    name, prefix = stream
    texts = [p for p in TRICKY if _is_utf8(p)]
    publish(nc, f"{prefix}.text", texts)
    df = consume(shell, name, f"{prefix}.text", "text")
    assert list(df["data"]) == [p.decode() for p in texts]

    publish(nc, f"{prefix}.mixed", [b"ok", b"\xff", b"after"])
    with pytest.raises(InputError, match=r"seq \d+ is not UTF-8"):
        consume(shell, name, f"{prefix}.mixed", "text")

    for run_ in ADVERSARIAL_RUNS + [[b'{"a": 1}', b"not json"]]:
        subject = f"{prefix}.j{uuid.uuid4().hex[:6]}"
        publish(nc, subject, run_)
        with pytest.raises(InputError, match="is not JSON"):
            got = consume(shell, name, subject, "json")
            pytest.fail(f"--decode json accepted non-JSON payloads {run_!r} as {list(got['data'])!r}")


def _is_utf8(p: bytes) -> bool:
    try:
        p.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_huge_headers_and_headers_only_keep_everything(shell, nc, stream):
    name, prefix = stream
    big = {f"X-H{i}": f"{i}-" + "v" * 2000 for i in range(30)}  # ~60 KB of headers per message
    headers = [big, {"X-Empty-Payload": "yes"}, None, {"X-Odd": "a: b, c; d=e"}]
    payloads = [b'{"a": 1}', b"", b"\xff", b"[1]"]
    publish(nc, f"{prefix}.h", payloads, headers)
    assert_replay_exact(shell, name, f"{prefix}.h", payloads, headers)
    only = shell.run_line_magic("js_consume", f"{name} -s {prefix}.h --headers-only")
    assert list(only["size"]) == [len(p) for p in payloads]
    assert [h or None for h in only["headers"]] == [h or None for h in headers]


def test_one_mib_payload_and_stream_get_and_consumer_next(shell, nc, stream):
    """The other readers: ``%js_stream get`` and ``%js_consumer next --no-ack`` are byte-exact too."""
    name, prefix = stream
    payloads = [bytes(range(256)) * 4096, *TRICKY[:8]]  # 1 MiB of every byte value first
    client, js, run = nc
    payloads[0] = payloads[0][: client.max_payload - 1024]
    seqs = publish(nc, f"{prefix}.g", payloads)
    assert_replay_exact(shell, name, f"{prefix}.g", payloads)
    for seq, p in zip(seqs, payloads):
        got = shell.run_line_magic("js_stream", f"get {name} {seq} --decode bytes")
        assert got["data"] == p and got["size"] == len(p)
    shell.run_line_magic("js_consumer", f"add {name} reader --filter {prefix}.g")
    got = shell.run_line_magic("js_consumer", f"next {name} reader --count {len(payloads)} --no-ack --decode bytes")
    assert list(got["data"]) == payloads


@PROPS
@given(payloads=st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(TRICKY)), min_size=1, max_size=25))
def test_any_payloads_replay_byte_exact(shell, nc, stream, payloads):
    name, prefix = stream
    subject = f"{prefix}.p{uuid.uuid4().hex[:8]}"
    publish(nc, subject, payloads)
    assert_replay_exact(shell, name, subject, payloads)


# ---- %js_kv -------------------------------------------------------------------------------

@pytest.fixture
def bucket(nc):
    client, js, run = nc
    name = unique("plkv")
    kv = run(js.create_key_value(bucket=name, history=64))
    yield name, kv
    run(js.delete_key_value(name))


def test_kv_values_read_back_byte_exact(shell, nc, bucket):
    """Every tricky value through get, view and history: bytes exact, auto faithful, revisions all there."""
    client, js, run = nc
    name, kv = bucket
    keys = {f"k{i}": p for i, p in enumerate(TRICKY)}
    revisions = {k: run(kv.put(k, p)) for k, p in keys.items()}
    for p in TRICKY[:10]:  # one key with a history of tricky values
        run(kv.put("hist", p))

    for key, p in keys.items():
        assert shell.run_line_magic("js_kv", f"get {name} {key} --decode bytes") == p
        assert same_value(shell.run_line_magic("js_kv", f"get {name} {key}"), p)
        assert shell.run_line_magic("js_kv", f"get {name} {key} --revision {revisions[key]} --decode bytes") == p

    view = shell.run_line_magic("js_kv", f"view {name} --decode bytes")
    got = dict(zip(view["key"], view["value"]))
    assert got == {**keys, "hist": TRICKY[9]}
    auto = shell.run_line_magic("js_kv", f"view {name}")
    assert all(same_value(v, got[k]) for k, v in zip(auto["key"], auto["value"]))

    hist = shell.run_line_magic("js_kv", f"history {name} hist --decode bytes")
    assert list(hist["value"]) == TRICKY[:10]
    auto_hist = shell.run_line_magic("js_kv", f"history {name} hist")
    assert all(same_value(v, p) for v, p in zip(auto_hist["value"], TRICKY[:10]))


def test_json_null_beside_text_stays_none(shell, nc, stream):
    """pandas 3 infers a ``str`` column for text mixed with None, which would turn JSON null into NaN."""
    name, prefix = stream
    payloads = [b"", b"null", b"text"]
    publish(nc, f"{prefix}.n", payloads)
    assert consume(shell, name, f"{prefix}.n", "auto")["data"].tolist() == ["", None, "text"]


def test_kv_json_null_beside_text_stays_none(shell, nc, bucket):
    client, js, run = nc
    name, kv = bucket
    run(kv.put("a", b"null"))
    run(kv.put("b", b"text"))
    view = shell.run_line_magic("js_kv", f"view {name}")
    assert dict(zip(view["key"], view["value"])) == {"a": None, "b": "text"}
    run(kv.put("a", b"more text"))
    hist = shell.run_line_magic("js_kv", f"history {name} a")
    assert hist["value"].tolist() == [None, "more text"]
