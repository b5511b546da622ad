"""Dirty payloads keep their columns; decoders (--decode msgpack/gzip/protobuf/function, Content-Type)."""

from __future__ import annotations

import gzip
import json
import uuid

import msgpack
import pandas as pd
import pytest
from nats.js.api import StreamConfig

from jsmagic.core.errors import InputError


def _stream(nc, messages):
    """A stream holding ``messages`` (payload, headers) on subject NAME.x, in order."""
    _, js, run = nc
    name = f"D{uuid.uuid4().hex[:8].upper()}"
    run(js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"])))
    for payload, headers in messages:
        run(js.publish(f"{name}.x", payload, headers=headers))
    return name


def test_one_dirty_payload_does_not_cost_the_others_their_columns(shell, nc):
    good = [(json.dumps({"id": i, "amount": i * 1.5}).encode(), None) for i in range(1, 6)]
    dirty = [(b"plain text", None), (b"[1, 2]", None), (b"42", None), (b'{"id": 9, "amount"', None)]
    name = _stream(nc, good[:3] + dirty + good[3:])
    df = shell.run_line_magic("js_consume", name)
    assert len(df) == 9
    objects = df[df["data"].isna()]
    assert objects["id"].tolist() == [1, 2, 3, 4, 5] and objects["amount"].tolist() == [1.5, 3.0, 4.5, 6.0, 7.5]
    rows = df.set_index("seq")
    assert rows.loc[4, "data"] == "plain text" and rows.loc[5, "data"] == [1, 2] and rows.loc[6, "data"] == 42
    assert rows.loc[7, "data"] == '{"id": 9, "amount"'  # bad JSON: kept as it came, with why
    assert "not JSON" in rows.loc[7, "decode_error"]
    assert rows["decode_error"].notna().sum() == 1
    with pytest.raises(InputError, match="seq 4 is not JSON"):  # only a strict --decode json fails
        shell.run_line_magic("js_consume", f"{name} --decode json")


def test_decoders_msgpack_gzip_function_and_content_type(shell, nc):
    packed = msgpack.packb({"id": 1, "tags": ["a", "b"]})
    name = _stream(nc, [(packed, None), (b"\x00not msgpack\xc1", None)])
    df = shell.run_line_magic("js_consume", f"{name} --decode msgpack")
    assert df["id"].iloc[0] == 1 and df["tags"].iloc[0] == ["a", "b"]
    assert pd.notna(df["decode_error"].iloc[1]) and df["data"].iloc[1] == b"\x00not msgpack\xc1"

    zipped = _stream(nc, [(gzip.compress(b'{"id": 7}'), None)])
    assert shell.run_line_magic("js_consume", f"{zipped} --decode gzip")["id"].tolist() == [7]

    shell.user_ns["upper"] = lambda data, headers: {"text": data.decode().upper(), "h": headers.get("k")}
    fn = _stream(nc, [(b"hello", {"k": "v"})])
    out = shell.run_line_magic("js_consume", f"{fn} --decode upper")
    assert out["text"].tolist() == ["HELLO"] and out["h"].tolist() == ["v"]

    # FastStream sets content-type: text/plain keeps "123" as text, msgpack is unpacked, json as usual
    typed = _stream(nc, [(b"123", {"content-type": "text/plain"}), (packed, {"content-type": "application/msgpack"}),
                         (b'{"id": 3}', {"content-type": "application/json"})])
    auto = shell.run_line_magic("js_consume", typed)
    assert auto["data"].iloc[0] == "123" and auto["id"].iloc[1] == 1 and auto["id"].iloc[2] == 3


def test_protobuf_decoder_and_bad_modes(shell, nc):
    from google.protobuf import struct_pb2

    msg = struct_pb2.Struct()
    msg.update({"region": "eu", "amount": 5})
    name = _stream(nc, [(msg.SerializeToString(), None)])
    df = shell.run_line_magic("js_consume", f"{name} --decode protobuf:google.protobuf.struct_pb2.Struct")
    assert df["region"].tolist() == ["eu"] and df["amount"].tolist() == [5.0]
    with pytest.raises(InputError, match="cannot import protobuf message class"):
        shell.run_line_magic("js_consume", f"{name} --decode protobuf:nowhere.Msg")
    with pytest.raises(InputError, match=r"unknown --decode 'nosuchfunction' — use one of auto, json"):
        shell.run_line_magic("js_consume", f"{name} --decode nosuchfunction")


def test_a_missing_optional_library_is_a_one_line_hint(shell, nc, monkeypatch):
    import sys

    name = _stream(nc, [(b"{}", None)])
    monkeypatch.setitem(sys.modules, "msgpack", None)  # as if not installed
    with pytest.raises(InputError, match=r"needs the msgpack package") as err:
        shell.run_line_magic("js_consume", f"{name} --decode msgpack")
    assert "pip install 'jsmagic[msgpack]'" in str(err.value)
    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(InputError, match=r"pip install 'jsmagic\[polars\]'"):
        shell.run_line_magic("js_consume", f"{name} --as polars")
