"""Payload bytes → Python values, the way every jsmagic table decodes them.

``auto`` tries JSON, then UTF-8 text, then keeps the bytes: nothing is ever lost, and a
payload that is not what was asked for under a forced mode is a clear error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd

from .errors import InputError

MODES = ("auto", "json", "text", "bytes")


def decode_value(data: bytes | None, mode: str = "auto") -> Any:
    """Decode one payload: JSON value, else str, else bytes (``auto``), or as forced."""
    if data is None:
        return None
    if mode == "bytes":
        return bytes(data)
    if mode == "text":
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"payload is not UTF-8 text ({e.reason} at byte {e.start})") from None
    if mode == "json":
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as e:
            raise InputError(f"payload is not JSON ({e})") from None
    if mode != "auto":
        raise InputError(f"unknown decode mode {mode!r}", hint=f"use one of {', '.join(MODES)}")
    if data:
        first = data[:1]
        if first in b'{["-0123456789tfn ' or first.isspace():
            try:
                return orjson.loads(data)
            except orjson.JSONDecodeError:
                pass
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return bytes(data)


def encode_value(value: Any) -> bytes:
    """A Python value as a payload: bytes as is, str as UTF-8, anything else as JSON."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    except TypeError as e:
        raise InputError(f"cannot encode {type(value).__name__} as JSON: {e}") from None


def value_column(values: list) -> pd.Series:
    """Decoded values as one column, each value kept as decoded.

    Dicts and lists stay whole (numpy would try to broadcast them), and a JSON ``null``
    stays ``None``: pandas 3 infers a "str" column for text mixed with None and would
    show that null as NaN, so such a column is kept as objects.
    """
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return pd.Series(out, dtype=object if any(v is None for v in values) else None)
