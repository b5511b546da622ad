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

from ..core.decode import decode_chunk, value_column
from ..core.errors import InputError


def decode_payloads(chunks: list, mode: Any, flatten: bool, release: bool = False, schema: Any = None,
                    observe: bool = True) -> pd.DataFrame:
    """The payload columns of all chunks, chunk by chunk (the per-chunk dicts go as soon as they sit in columns).

    ``release``: each chunk is dropped from ``chunks`` (set to None) as it is decoded.
    ``schema``: the read's :class:`~jsmagic.reading.schema.ReadSchema` (names each payload key
    and reconciles the chunks' types); without one, a schema for this call alone."""
    if schema is None:
        from .schema import ReadSchema

        schema = ReadSchema()
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
            if not len(part.columns):
                part = pd.DataFrame(index=pd.RangeIndex(n))  # rows stay in place
            names = schema.payload_names(list(part.columns))
            parts.append(part if names == list(part.columns) else part.set_axis(names, axis=1))
    if not any(len(p.columns) for p in parts):
        return pd.DataFrame()
    return schema.concat(parts, observe)


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
        if "data" in df.columns:  # an object's own data key fills the same column (a row is one or the other)
            data = [d if o else v for d, v, o in zip(df["data"].tolist(), data, is_obj)]
        df["data"] = value_column(data)
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
    keys = list(values[0])
    columns = None  # one list per key (lists, not object arrays: faster to fill, to type-check and for Arrow)
    if keys and convert_object_array is not None and set(map(len, values)) == {len(keys)}:
        try:  # every dict has as many keys as the first: they hold the same keys unless one is missing
            columns = [list(map(operator.itemgetter(k), values)) for k in keys]
        except KeyError:
            pass
    if columns is None:  # dicts with different keys: every key, first seen first; NaN where missing
        keys = list(dict.fromkeys(itertools.chain.from_iterable(values)))
        if not keys or convert_object_array is None:  # no key at all: from_records' own (row-less) answer
            return pd.DataFrame.from_records(values)
        columns = [list(map(operator.methodcaller("get", k, np.nan), values)) for k in keys]
    return pd.DataFrame(dict(zip(keys, typed_columns(columns))), copy=False)


def typed_columns(arrays: list) -> list:
    """``convert_object_array(arrays, dtype=None)``, with the common all-one-type columns built by Arrow.

    ``arrays``: object arrays or lists (a list goes to pandas' conversion as an object array).

    A column of only ``str`` (pandas' Arrow-backed ``str`` dtype), only ``int`` (int64) or only
    ``float``/``int`` (float64) holds exactly what pandas' own conversion would give it, in a
    fraction of the time; ints beside nulls where one int is beyond 2**53 become a nullable
    ``Int64``/``UInt64`` column (pandas would make them float64 and change them); anything else (None, bools, nested values, mixed types, an int beyond
    int64, text Arrow cannot encode) takes pandas' conversion.
    """
    if pa is None:  # pragma: no cover -- pyarrow is an optional extra
        return convert_object_array([_as_array(a) for a in arrays], dtype=None)
    text = str_dtype()
    out = []
    for arr in arrays:
        col = _one_type(arr, text)
        out.append(col if col is not None else convert_object_array([_as_array(arr)], dtype=None)[0])
    return out


def _as_array(values: Any) -> np.ndarray:
    """A column as the object array pandas' conversion takes (each value kept whole, as before)."""
    return values if isinstance(values, np.ndarray) else np.fromiter(values, dtype=object, count=len(values))


def _one_type(arr: Any, text: Any) -> Any:
    """The column built by Arrow (or numpy) when all its values have one plain type (see typed_columns); else None."""
    try:
        if len(arr) and type(arr[0]) is str:
            if text is None:
                return None
            col = pa.array(arr)  # Arrow infers ``string`` only when every value is text (or None)
            return text.construct_array_type()(col, dtype=text) if col.type == pa.string() and not col.null_count else None
        kinds = set(map(type, arr))  # exact types: a bool (or a numpy scalar) is not an int here
        if int in kinds and len(kinds) > 1 and kinds <= {int, float, type(None)}:
            return _ints_with_gaps(arr)
        if kinds == {int}:  # numpy reads Python ints as Arrow does (an int beyond int64 raises OverflowError)
            return np.array(arr, dtype=np.int64)
        if kinds == {float}:  # floats only: numpy's copy is exact
            return np.array(arr, dtype=np.float64)
        if kinds == {float, int}:  # an int a double cannot hold exactly raises: pandas' way
            return pa.array(arr, type=pa.float64()).to_numpy(zero_copy_only=False, writable=True)
    except (pa.ArrowException, OverflowError, UnicodeError, ValueError, TypeError):
        return None
    return None


def _ints_with_gaps(arr: np.ndarray) -> Any:
    """Ints beside nulls (a key some objects lack, or ``null``), when one is beyond 2**53: a nullable int column.

    pandas' conversion makes such a column float64, which cannot hold those ints exactly
    (a 64-bit id would change); None when a float is a real value or the ints need no care."""
    ints = [v for v in arr if type(v) is int]
    if not any(v > EXACT or v < -EXACT for v in ints) or any(type(v) is float and v == v for v in arr):
        return None
    lo, hi = min(ints), max(ints)
    dtype = "Int64" if -(2**63) <= lo and hi < 2**63 else "UInt64" if lo >= 0 and hi < 2**64 else None
    return None if dtype is None else pd.array([v if type(v) is int else None for v in arr], dtype=dtype)


EXACT = 2**53  # beyond this an int is not exact as a float


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
