"""A chunk's payloads → the payload columns of its frame.

Object payloads always expand to one column per top-level key.  Any other payload (text,
an array, a number, bytes, a payload that failed to decode) keeps its value in its own
row of a ``data`` column, and a ``decode_error`` column says why where decoding failed:
one dirty message never costs the other rows their columns.  Only a strict
``--decode json`` (or ``text``) fails on a payload that is not what was asked for.

Values come from the decoder registry (:mod:`jsmagic.core.decode`), whose JSON fast path
decodes a whole chunk in one ``orjson`` call (see :func:`jsmagic.core.decode.json_chunk`).
"""

from __future__ import annotations

import itertools
import operator
from typing import Any

import numpy as np
import pandas as pd

try:  # the conversion DataFrame.from_records applies to each column (objects_frame uses it too)
    from pandas.core.internals.construction import convert_object_array
except ImportError:  # pragma: no cover -- another pandas: objects_frame falls back to from_records
    convert_object_array = None
try:  # optional (the parquet/arrow extras): without it every column takes pandas' own conversion
    import pyarrow as pa
except ImportError:  # pragma: no cover
    pa = None

from ..core.decode import NONCE, SEP, decode_chunk, json_chunk, value_column  # noqa: F401 -- NONCE, SEP, json_chunk: re-exported
from ..core.errors import InputError


def decode_payloads(chunks: list, mode: Any, flatten: bool, release: bool = False) -> pd.DataFrame:
    """The payload columns of all chunks, chunk by chunk (the per-chunk dicts go as soon as they sit in columns).

    ``release``: each chunk is dropped from ``chunks`` (set to None) as it is decoded."""
    parts = []
    for i in range(len(chunks)):
        chunk = chunks[i]
        n = len(chunk)
        if release:
            chunks[i] = None
        early = getattr(chunk, "payload_frame", None)
        if early is not None and early[0] != (mode, flatten):  # pragma: no cover -- a caller's mistake
            raise RuntimeError("payloads decoded early under another mode: build the frame with that mode")
        part = early[1] if early is not None else chunk_payloads(chunk, mode, flatten) if n else None
        chunk = None
        if part is not None:
            parts.append(part if len(part.columns) else pd.DataFrame(index=pd.RangeIndex(n)))  # rows stay in place
    if not any(len(p.columns) for p in parts):
        return pd.DataFrame()
    if len(parts) == 1:
        return parts[0]
    df = pd.concat(_aligned(parts), ignore_index=True)
    late = [c for c in LATE if c in df.columns]  # after every key column, as in one chunk's frame
    return df[[c for c in df.columns if c not in late] + late] if late else df


LATE = ("data", "_data", "decode_error")


def _aligned(parts: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """Per-chunk frames whose ``data``/``decode_error`` columns read as one chunk's would.

    Within a chunk these columns hold None where they do not apply, after the key columns;
    a chunk without them would get NaN from ``concat`` (and put them elsewhere), so the frame
    would depend on where chunks were cut."""
    late = [c for c in LATE if any(c in p.columns for p in parts)]
    if not late or all(c in p.columns for p in parts for c in late):
        return parts
    none = lambda p: pd.Series(_objects([None] * len(p)), index=p.index, dtype=object)  # noqa: E731
    return [p.assign(**{c: none(p) for c in late if c not in p.columns}) for p in parts]


def decode_early(chunk: Any, mode: Any, flatten: bool) -> None:
    """Decode a chunk's payloads as it arrives and drop its raw buffer (a one-shot replay's memory).

    A chunk that fails to decode (a strict ``--decode`` on a bad payload) keeps its buffer,
    so the frame build raises the error as before."""
    try:
        part = chunk_payloads(chunk, mode, flatten)
    except InputError:
        return
    chunk.payload_frame, chunk.buf = ((mode, flatten), part), b""


def chunk_payloads(chunk: Any, mode: Any, flatten: bool) -> pd.DataFrame:
    """One chunk's payload columns: per-key for objects, ``data`` for the rest, ``decode_error`` where one failed."""
    values, errors = decode_chunk(chunk, mode)
    if mode == "bytes":
        return pd.DataFrame({"data": _objects(values)})
    if mode == "text":
        return pd.DataFrame({"data": pd.array(values, dtype="str")})
    return values_frame(values, errors, flatten)


def values_frame(values: list, errors: list, flatten: bool) -> pd.DataFrame:
    """Objects → columns; every other value in ``data``; errors in ``decode_error``."""
    n = len(values)
    if set(map(type, values)) == {dict}:  # all objects (the usual case): no per-row flags
        is_obj, n_obj = itertools.repeat(True), n
    else:
        is_obj = [type(v) is dict for v in values]
        n_obj = sum(is_obj)
    if flatten and n_obj:
        values = [flatten_dict(v) if o else v for v, o in zip(values, is_obj)]
    if n_obj == n:
        df = objects_frame(values) if n else pd.DataFrame()
    elif n_obj == 0:
        df = pd.DataFrame({"data": value_column(values)})
    else:
        df = objects_frame([v if o else {} for v, o in zip(values, is_obj)])
        if len(df) != n:  # every object was {}: no columns, and pandas then counts no rows either
            df = pd.DataFrame(index=pd.RangeIndex(n))
        data = [None if o else v for v, o in zip(values, is_obj)]
        df["data" if "data" not in df.columns else "_data"] = value_column(data)
    if errors.count(None) != len(errors):
        df["decode_error"] = pd.Series(_objects(errors), dtype=object)
    return df


def objects_frame(values: list[dict]) -> pd.DataFrame:
    """``DataFrame.from_records(values)`` for dicts, about twice as fast: one pass per key, no 2-D object array.

    Columns are the keys in first-seen order; a key missing from a dict is NaN, as in
    ``from_records``; each column is typed by the very conversion ``from_records`` uses.
    """
    if not values:
        return pd.DataFrame()
    n, keys = len(values), list(values[0])
    arrays = None
    if keys and convert_object_array is not None and set(map(len, values)) == {len(keys)}:
        try:  # every dict has as many keys as the first: they hold the same keys unless one is missing
            arrays = [np.fromiter(map(operator.itemgetter(k), values), dtype=object, count=n) for k in keys]
        except KeyError:
            pass
    if arrays is None:  # dicts with different keys: every key, first seen first; NaN where missing
        keys = list(dict.fromkeys(itertools.chain.from_iterable(values)))
        if not keys or convert_object_array is None:  # no key at all: from_records' own (row-less) answer
            return pd.DataFrame.from_records(values)
        get = [operator.methodcaller("get", k, np.nan) for k in keys]
        arrays = [np.fromiter(map(g, values), dtype=object, count=n) for g in get]
    return pd.DataFrame(dict(zip(keys, typed_columns(arrays))), copy=False)


def typed_columns(arrays: list[np.ndarray]) -> list:
    """``convert_object_array(arrays, dtype=None)``, with the common all-one-type columns built by Arrow.

    A column of only ``str`` (pandas' Arrow-backed ``str`` dtype), only ``int`` (int64) or only
    ``float``/``int`` (float64) holds exactly what pandas' own conversion would give it, in a
    fraction of the time; anything else (None, bools, nested values, mixed types, an int beyond
    int64, text Arrow cannot encode) takes pandas' conversion.
    """
    if pa is None:  # pragma: no cover -- pyarrow is an optional extra
        return convert_object_array(arrays, dtype=None)
    text = str_dtype()
    out = []
    for arr in arrays:
        col = _one_type(arr, text)
        out.append(col if col is not None else convert_object_array([arr], dtype=None)[0])
    return out


def _one_type(arr: np.ndarray, text: Any) -> Any:
    """The column built by Arrow when all its values have one plain type (see typed_columns); else None."""
    try:
        if len(arr) and type(arr[0]) is str:
            if text is None:
                return None
            col = pa.array(arr)  # Arrow infers ``string`` only when every value is text (or None)
            return text.construct_array_type()(col, dtype=text) if col.type == pa.string() and not col.null_count else None
        kinds = set(map(type, arr))  # exact types: a bool (or a numpy scalar) is not an int here
        if kinds == {int}:
            return pa.array(arr, type=pa.int64()).to_numpy(zero_copy_only=False, writable=True)
        if kinds == {float} or kinds == {float, int}:  # an int a double cannot hold exactly raises: pandas' way
            return pa.array(arr, type=pa.float64()).to_numpy(zero_copy_only=False, writable=True)
    except (pa.ArrowException, OverflowError, UnicodeError, ValueError, TypeError):
        return None
    return None


def str_dtype() -> Any:
    """The dtype pandas gives a column of text, when it is Arrow-backed (pandas 3's ``str``); else None."""
    dtype = convert_object_array([np.array(["a"], dtype=object)], dtype=None)[0].dtype
    return dtype if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" else None


def str_column(values: list[str]) -> Any:
    """``pd.array(values, dtype="str")`` for a list of ``str``, built by Arrow when ``str`` is Arrow-backed."""
    dtype = pd.api.types.pandas_dtype("str")
    if pa is not None and isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        try:
            return dtype.construct_array_type()(pa.array(values, type=pa.large_string()), dtype=dtype)
        except (pa.ArrowException, UnicodeError, ValueError, TypeError):
            pass
    return pd.array(values, dtype="str")


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def flatten_dict(obj: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}`` (lists are values, not flattened)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if type(value) is dict and value:
            out.update(flatten_dict(value, name + "."))
        else:
            out[name] = value
    return out
