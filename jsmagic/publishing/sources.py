"""What ``--from VAR`` publishes: DataFrames, lists of dicts, str or bytes → messages.

Messages are ``(ref, subject, payload, headers)`` tuples; ``ref`` is the row number, so
a refused message points at the row it came from.  They are built up front so that
every check (columns, subjects, sizes) precedes the first send.
"""

from __future__ import annotations

from typing import Any

import orjson
import pandas as pd

from ..core.errors import InputError, did_you_mean

Message = tuple  # (ref: int, subject: str, payload: bytes, headers: dict | None)


def _json_default(value: Any) -> Any:
    """orjson fallback for pandas/numpy values in a row (timestamps, NA, decimals)."""
    if value is pd.NaT or value is pd.NA:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _records(obj: Any) -> tuple[list, list[str] | None]:
    """A Python object as a list of items, plus its column names when it is tabular."""
    if isinstance(obj, pd.DataFrame):
        return obj.to_dict("records"), [str(c) for c in obj.columns]
    if isinstance(obj, (str, bytes, bytearray, memoryview)):
        return [obj], None
    if isinstance(obj, dict):
        return [obj], list(obj)
    try:
        return list(obj), None
    except TypeError:
        raise InputError(f"cannot publish a {type(obj).__name__}", hint="use a DataFrame, a list of dicts, str or bytes") from None


def object_messages(
    obj: Any, subject: str | None, headers: dict[str, Any], *, data_col: str | None = None,
    subject_col: str | None = None, header_cols: tuple[str, ...] = (), count: int = 1,
) -> list[Message]:
    """Messages from ``--from VAR``: each row/item one message (built up front so all checks precede sending).

    Tabular rows become JSON objects without the routing columns (``--subject-col``,
    ``--header-cols``); ``--data-col`` takes the payload from one column instead.
    """
    items, columns = _records(obj)
    routing = {c for c in (subject_col, *header_cols) if c}
    if columns is not None:
        for col in [c for c in (data_col, subject_col, *header_cols) if c]:
            if col not in columns:
                raise InputError(f"no column {col!r}", hint=did_you_mean(col, columns))
    if subject is None and subject_col is None:
        raise InputError("no subject", hint="give a subject, or --subject-col COL")
    opts = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    out: list[Message] = []
    n = 0
    for _ in range(count):
        for row, item in enumerate(items):
            n += 1
            out.append(_one(item, row, n, subject, headers, data_col, subject_col, header_cols, routing, opts))
    return out


def _one(item, row, n, subject, headers, data_col, subject_col, header_cols, routing, opts) -> Message:
    """One row/item → ``(row, subject, payload, headers)``."""
    from ..core.decode import encode_value

    tabular = isinstance(item, dict)
    if (data_col or subject_col or header_cols) and not tabular:
        raise InputError(f"row {row} is a {type(item).__name__}, not a row with columns")
    try:
        subj = str(item[subject_col]) if subject_col else subject.render(n)
        if data_col:
            payload = encode_value(item[data_col])
        elif tabular:
            body = {k: v for k, v in item.items() if k not in routing} if routing else item
            payload = orjson.dumps(body, option=opts, default=_json_default)
        else:
            payload = encode_value(item)
    except KeyError as e:
        raise InputError(f"row {row} has no {e.args[0]!r}") from None
    hdrs = {k: t.render(n) for k, t in headers.items()}
    for col in header_cols:
        value = item.get(col)
        if value is not None and not (isinstance(value, float) and value != value):
            hdrs[col] = str(value)
    return row, subj, payload, hdrs or None
