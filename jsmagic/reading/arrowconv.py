"""A replay's frames as typed Arrow tables, and one schema for tables that drifted apart.

:func:`to_table` types one chunk's frame: ``seq`` uint64 (the read schema's ``SEQ``), ints
int64, floats double, text string, ``time`` a UTC timestamp, ``headers`` a string→string map.  A column whose values
Arrow cannot hold in one type (an int beside a text) becomes a string column, and that
is recorded.  :func:`unify` gives tables with different columns or types one schema
without losing a value: a key that appears late is a column that is null before it; int64
beside uint64 (none below 0) becomes uint64; ints beside double become double; any other
clash becomes a string column (JSON text for nested values).  The column order is the
read's (:class:`~jsmagic.reading.schema.ReadSchema`), not the order chunks showed them in.  ``conflicts`` maps each such column to what was seen, for the summary.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .schema import SEQ

HEADERS = pa.map_(pa.string(), pa.string())
SEQ_TYPE = pa.from_numpy_dtype(SEQ)  # the read schema's dtype of ``seq`` (uint64), in Arrow and Parquet
Conflicts = dict[str, str]


def to_table(df: pd.DataFrame, conflicts: Conflicts | None = None) -> pa.Table:
    """One chunk's frame → a typed Arrow table (clashes within the chunk recorded in ``conflicts``)."""
    arrays, names = [], []
    for name in df.columns:
        arrays.append(_column(df[name], str(name), conflicts))
        names.append(str(name))
    return pa.table(arrays, names=names) if names else pa.table({})


def _column(col: pd.Series, name: str, conflicts: Conflicts | None) -> pa.Array:
    if name == "seq":
        return pa.array(col.to_numpy(dtype=SEQ), SEQ_TYPE)
    if name == "headers":
        return pa.array([dict(h) if h else None for h in col], HEADERS)
    if col.dtype == np.float64 and col.isna().any():  # pandas made ints with gaps float: int64 again
        vals = col.to_numpy()
        ok = ~np.isnan(vals)
        if ok.any() and np.all(vals[ok] == np.round(vals[ok])) and np.all(np.abs(vals[ok]) < 2**53):
            return pa.array(col.astype("Int64"), pa.int64(), from_pandas=True)
    try:
        arr = pa.Array.from_pandas(col)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        kinds = sorted({type(v).__name__ for v in col if v is not None and v == v})
        if conflicts is not None:
            conflicts.setdefault(name, f"{' and '.join(kinds)} values: written as string")
        return as_strings(col.tolist())
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def as_strings(values: list) -> pa.Array:
    """Any values as text: strings as they are, bytes as UTF-8 (else hex), everything else as JSON."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            out.append(None)
        elif isinstance(v, str):
            out.append(v)
        elif isinstance(v, (bytes, bytearray)):
            try:
                out.append(bytes(v).decode("utf-8"))
            except UnicodeDecodeError:
                out.append(bytes(v).hex())
        else:
            try:
                out.append(orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode())
            except TypeError:
                out.append(str(v))
    return pa.array(out, pa.string())


def unify(schemas: list[pa.Schema], conflicts: Conflicts, read: Any = None,
          negative: set[str] | None = None) -> pa.Schema:
    """One schema for all: every column (in the read's order), each in a type that holds all its values.

    ``read``: the read's :class:`~jsmagic.reading.schema.ReadSchema` (the column order, and
    which int columns hold a value below 0); ``negative`` adds such columns."""
    types: dict[str, list[pa.DataType]] = {}
    for schema in schemas:
        for field in schema:
            seen = types.setdefault(field.name, [])
            if field.type not in seen:
                seen.append(field.type)
    below = set(negative or ()) | (read.negative if read is not None else set())
    names = read.order(list(types)) if read is not None else list(types)
    return pa.schema([pa.field(name, _common(name, types[name], conflicts, name in below)) for name in names])


def _common(name: str, types: list[pa.DataType], conflicts: Conflicts, negative: bool = False) -> pa.DataType:
    real = [t for t in types if not pa.types.is_null(t)]
    if not real:
        return pa.null()
    if len(real) == 1:
        return real[0]
    if all(pa.types.is_integer(t) for t in real):
        if not any(pa.types.is_unsigned_integer(t) for t in real):
            return pa.int64()
        if not negative:  # ints beyond int64, none below 0: uint64 holds them all
            return pa.uint64()
    elif all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in real):
        return pa.float64()
    conflicts.setdefault(name, f"{' and '.join(map(str, real))} values: written as string")
    return pa.string()


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` in ``schema``: missing columns as nulls, each column cast (to text when types clash)."""
    cols = []
    for field in schema:
        if field.name not in table.column_names:
            cols.append(pa.nulls(len(table), field.type))
            continue
        col = table.column(field.name)
        if col.type == field.type:
            cols.append(col)
        elif pa.types.is_string(field.type) and not _castable_to_string(col.type):
            cols.append(as_strings(col.to_pylist()))
        else:
            cols.append(pc.cast(col, field.type))
    return pa.table(cols, schema=schema)


def fits(table: pa.Table, schema: pa.Schema) -> bool:
    """Whether ``table`` goes into ``schema`` losing nothing (no new column, each type equal or null)."""
    for field in table.schema:
        i = schema.get_field_index(field.name)
        if i < 0:
            return False
        if field.type != schema.field(i).type and not pa.types.is_null(field.type):
            return False
    return True


def _castable_to_string(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_null(t) \
        or pa.types.is_string(t) or pa.types.is_large_string(t)


def to_pandas(table: pa.Table, arrow_dtypes: bool = False) -> pd.DataFrame:
    """An Arrow result as pandas: NumPy-backed (the default) or with ``pd.ArrowDtype`` columns."""
    if arrow_dtypes:
        return table.to_pandas(types_mapper=pd.ArrowDtype)
    return table.to_pandas()


def concat(tables: list[pa.Table], conflicts: Conflicts, read: Any = None) -> pa.Table:
    """Tables of several chunks as one, in one unified schema (``read``: see :func:`unify`)."""
    if not tables:
        return pa.table({})
    schema = unify([t.schema for t in tables], conflicts, read, negative=_negative(tables))
    return pa.concat_tables([t if t.schema == schema else conform(t, schema) for t in tables])


def _negative(tables: list[pa.Table]) -> set[str]:
    """Signed int columns holding a value below 0 (what decides int64 beside uint64)."""
    out: set[str] = set()
    for t in tables:
        for field in t.schema:
            if pa.types.is_signed_integer(field.type) and field.name not in out:
                low = pc.min(t.column(field.name)).as_py()
                if low is not None and low < 0:
                    out.add(field.name)
    return out
