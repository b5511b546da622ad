"""The payload columns are built fast but exactly as before: the same frame as ``DataFrame.from_records``,
and a chunk's one-call JSON parse accepts only buffers where every payload is one JSON value."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jsmagic.reading.frames import make_chunk
from jsmagic.core.decode import json_chunk
from jsmagic.reading.payloads import objects_frame

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False),
                    st.text(max_size=5))
values = st.one_of(scalars, st.lists(scalars, max_size=2), st.dictionaries(st.text(max_size=2), scalars, max_size=2))
keys = st.sampled_from(["a", "b", "c", "data", "é", ""])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(keys, values, max_size=4), min_size=1, max_size=12))
def test_objects_frame_equals_from_records(records):
    got, want = objects_frame(records), pd.DataFrame.from_records(records)
    for name in got.columns:  # ints beyond 2**53 beside nulls: a nullable int column, every digit kept
        if isinstance(got[name].dtype, (pd.Int64Dtype, pd.UInt64Dtype)):
            assert want[name].dtype == np.float64
            assert [None if pd.isna(v) else v for v in got[name]] == [r.get(name) for r in records]
            want[name] = got[name]
    pd.testing.assert_frame_equal(got, want)


def test_objects_frame_uniform_keys_keep_types():
    records = [{"id": i, "name": f"n{i}", "price": i / 2, "ok": i % 2 == 0, "tags": [i]} for i in range(50)]
    pd.testing.assert_frame_equal(objects_frame(records), pd.DataFrame.from_records(records))


payloads = st.one_of(
    st.builds(lambda v: json.dumps(v).encode(), values),
    st.sampled_from([b"", b" ", b"1,2", b"3,4", b"[5", b"6]", b"[1", b"2]", b'"a', b'b"', b"{", b"}", b"],[", b'"x",', b"nul", b"\xff"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(payloads, min_size=1, max_size=8))
@example([b"1,2", b"3,4", b"[5", b"6]"])  # as many items as a clean parse: only the separators' places tell
def test_json_chunk_accepts_only_one_json_value_per_payload(datas):
    def one(d):
        try:
            return orjson.loads(d)
        except orjson.JSONDecodeError:
            return KeyError
    expected = [one(d) for d in datas]
    chunk = make_chunk(list(range(len(datas))), [0] * len(datas), ["s"] * len(datas), [None] * len(datas), datas)
    got = json_chunk(chunk, strict=False)
    assert got == (None if KeyError in expected else expected)


def test_eager_decoding_and_release_give_the_same_frame_and_let_go_of_the_chunks():
    from jsmagic.reading.frames import Rows

    batches = [[b'{"a": 1, "b": "x"}', b'{"a": 2}'], [b"[1]", b"\xff", b""], [b'{"b": null}', b"7"]]
    lazy, eager = Rows(), Rows()
    eager.eager = True
    for k, datas in enumerate(batches):
        n = len(datas)
        for rows in (lazy, eager):
            rows.add(make_chunk(range(k * 9, k * 9 + n), [k] * n, ["s.a"] * n, [None] * n, list(datas)))
    assert all(c.buf == b"" for c in eager.chunks)  # the raw payloads are gone once decoded
    want = lazy.frame()
    pd.testing.assert_frame_equal(eager.frame(), want)
    pd.testing.assert_frame_equal(eager.frame(release=True), want)
    assert eager.chunks == [] and len(eager) == len(want) == 7


@settings(max_examples=150, deadline=None)
@given(st.lists(payloads, min_size=1, max_size=9), st.sets(st.integers(1, 8), max_size=3))
@example([b"{}", b"1"], {1})  # a chunk of empty objects has no column but keeps its rows
@example([b'{"a": 1}', b"\xff", b"{"], {1, 2})  # data/decode_error: None where they do not apply
def test_rows_and_values_do_not_depend_on_where_chunks_are_cut(datas, cuts):
    from jsmagic.reading.frames import Rows

    def frame(bounds):
        rows = Rows()
        for a, b in zip([0, *bounds], [*bounds, len(datas)]):
            n = b - a
            rows.add(make_chunk(range(a, b), [0] * n, ["s"] * n, [None] * n, datas[a:b]))
        return rows.frame()
    cut, whole = frame(sorted(c for c in cuts if c < len(datas))), frame([])
    # the same rows, columns and values wherever chunks were cut (a column's dtype is inferred per
    # chunk, so an all-null piece may leave it object where one chunk would make it float: not checked)
    assert list(cut.columns) == list(whole.columns) and len(cut) == len(whole) == len(datas)
    same = lambda df: df.astype(object).where(df.notna(), None).to_numpy().tolist()  # noqa: E731
    assert same(cut) == same(whole)
    for name in {"data", "decode_error"} & set(whole.columns):
        assert [type(v) for v in cut[name]] == [type(v) for v in whole[name]]


class _Text(str):
    pass


# one plain type per column, now and then something else in it: what pandas would not type the same way
plain = st.sampled_from([st.text(max_size=4), st.integers(-(2**63), 2**63 - 1), st.floats(allow_infinity=True)])
intruders = st.sampled_from([None, True, False, np.True_, np.int64(3), np.float64(0.5), 2**63, 2**64, -(2**63) - 1,
                             2**53 + 1, 2**60, float("nan"), -0.0, 7, 1.5, b"x", "\ud800", _Text("t"), np.str_("s"),
                             [1], {"k": 1}, "a"])


@settings(max_examples=300, deadline=None)
@given(plain.flatmap(lambda s: st.lists(s, min_size=1, max_size=8)), st.lists(st.tuples(st.integers(0, 8), intruders),
                                                                              max_size=2))
@example(["a", "b"], [(1, b"x")])  # Arrow reads bytes beside text as binary: not a text column
@example([1.5, 2.5], [(1, True)])  # Arrow would take True for 1.0 in a float column; pandas keeps objects
@example([1, 2], [(1, np.True_)])  # Arrow would take numpy's True for 1 in an int column
@example(["a", "b"], [(1, None)])  # text with a gap (Arrow and pandas agree: a missing value)
@example(["a"], [(0, "\ud800")])  # text Arrow cannot encode
@example([1.5], [(1, 2**53 + 1)])  # an int a double cannot hold exactly
@example([2**60, 3], [(1, None)])  # a 64-bit int beside a null: a nullable int, not float64
@example([5], [(0, float("nan")), (1, 2**64 - 1)])  # beyond int64, none below 0, a gap: UInt64
def test_typed_columns_equal_pandas_conversion(column, extra):
    from pandas.core.internals.construction import convert_object_array

    from jsmagic.reading.payloads import str_column, typed_columns

    for at, value in extra:
        column.insert(min(at, len(column)), value)
    arr = np.empty(len(column), dtype=object)
    arr[:] = column
    try:
        want = convert_object_array([arr.copy()], dtype=None)[0]
    except UnicodeError:  # text pandas cannot store either (a lone surrogate): the same error
        with pytest.raises(UnicodeError):
            typed_columns([arr])
        return
    got = pd.Series(typed_columns([arr])[0])
    if isinstance(got.dtype, (pd.Int64Dtype, pd.UInt64Dtype)):  # ints beyond 2**53 beside nulls: every digit kept
        assert want.dtype == np.float64 and [None if pd.isna(v) else v for v in got] == \
            [None if v is None or v != v else v for v in column]
        return
    pd.testing.assert_series_equal(got, pd.Series(want), check_exact=True)
    if set(map(type, column)) == {str}:
        pd.testing.assert_series_equal(pd.Series(str_column(column)), pd.Series(pd.array(column, dtype="str")))


def test_without_pyarrow_the_columns_are_pandas_own(monkeypatch):
    from jsmagic.reading import payloads

    records = [{"id": i, "name": f"n{i}", "price": i / 2} for i in range(40)]
    want = pd.DataFrame.from_records(records)
    monkeypatch.setattr(payloads, "pa", None)  # pyarrow is an optional extra
    pd.testing.assert_frame_equal(objects_frame(records), want)
    pd.testing.assert_series_equal(pd.Series(payloads.str_column(["a", "b"])), pd.Series(pd.array(["a", "b"], dtype="str")))
