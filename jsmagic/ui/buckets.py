"""Key-Value and object-store results as a person reads them: units, one-line summaries, info reports.

The core (:mod:`jsmagic.admin.kv`, :mod:`jsmagic.admin.objects`) returns plain numbers
(bytes, seconds) and frames; ``%js_kv`` and ``%js_obj`` show them through here, the way
they always looked: ``1.0 MiB``, ``7d``, ``3 keys in config`` under the table.
"""

from __future__ import annotations

import pandas as pd
from nats.js import api

from ..admin.kv import Bucket, Entry
from ..admin.objects import BucketStatus, object_row
from ..core.units import format_duration, format_size, plural
from .display import ResultFrame, noted, result_frame
from .report import Report, shown

KV_COLUMNS = ["bucket", "values", "history", "ttl", "storage", "replicas", "max_value_size", "max_bucket_size",
              "size", "direct", "description", "marker_ttl"]
OBJ_BUCKET_COLUMNS = ["bucket", "description", "objects", "bytes", "size", "storage", "replicas", "ttl", "sealed"]


def _partial(text: str, df: pd.DataFrame) -> ResultFrame:
    """``df`` shown with ``text`` underneath, marked when an interrupt cut the read short."""
    interrupted = bool(df.attrs.get("interrupted"))
    out = result_frame(df, text + (" (interrupted: partial)" if interrupted else ""))
    out.attrs["interrupted"] = interrupted
    return out


# ---- Key-Value -----------------------------------------------------------------------------
def kv_row(b: Bucket) -> dict:
    """A bucket's fields with units (``ttl`` 1h, sizes in KiB/MiB, ``size`` for the bytes stored)."""
    return {"bucket": b.bucket, "values": b.values, "history": b.history, "ttl": format_duration(b.ttl),
            "storage": b.storage, "replicas": b.replicas, "max_value_size": format_size(b.max_value_size),
            "max_bucket_size": format_size(b.max_bucket_size), "size": format_size(b.bytes), "direct": b.direct,
            "description": b.description, "marker_ttl": format_duration(b.marker_ttl) if b.marker_ttl else "-"}


def kv_info(b: Bucket) -> pd.Series:
    """``%js_kv info``: one readable bucket."""
    return pd.Series(kv_row(b), name=b.bucket, dtype=object)


def kv_created(b: Bucket) -> str:
    return f"Created bucket {b.bucket} (history {b.history}, ttl {format_duration(b.ttl)}, {b.storage})"


def kv_buckets(df: pd.DataFrame) -> ResultFrame:
    """``%js_kv ls``: every bucket, readable, with a count underneath."""
    rows = [kv_row(Bucket(**r)) for r in df.to_dict("records")]
    shown_df = pd.DataFrame(rows, columns=KV_COLUMNS)
    shown_df.attrs.update(df.attrs)  # attrs["missing"]: buckets that could not be listed
    return result_frame(shown_df, noted(df, f"{plural(len(df), 'bucket')}"))


def entry_line(entry: Entry) -> str:
    """``config db.host @ revision 3, 2026-…``: what ``%js_kv get`` prints above the value."""
    when = entry.time.isoformat(timespec="milliseconds") if entry.time else "?"
    return f"{entry.bucket} {entry.key} @ revision {entry.revision}, {when}"


def kv_view(df: pd.DataFrame, bucket: str) -> ResultFrame:
    return _partial(f"{plural(len(df), 'key')} in {bucket}", df)


def kv_history(df: pd.DataFrame, key: str) -> ResultFrame:
    return _partial(f"{plural(len(df), 'revision')} of {key}", df)


# ---- object store --------------------------------------------------------------------------
def object_buckets(df: pd.DataFrame) -> ResultFrame:
    """``%js_obj ls``: every bucket with its size readable beside the bytes."""
    shown_df = df.assign(size=df["bytes"].map(format_size), ttl=df["ttl"].map(format_duration))
    return result_frame(shown_df[OBJ_BUCKET_COLUMNS], noted(df, f"{plural(len(df), 'object store bucket')}"))


def objects_frame(df: pd.DataFrame, bucket: str) -> ResultFrame:
    """``%js_obj ls BUCKET``: the objects, with their count and total size underneath."""
    total = int(df["size"].sum()) if len(df) else 0
    return result_frame(df, f"{plural(len(df), 'object')} in {bucket}, {format_size(total)}")


def bucket_report(st: BucketStatus) -> Report:
    """``%js_obj info BUCKET``: settings and usage, readable; ``.raw`` is nats-py's status."""
    config = {"description": st.description or "-", "ttl": format_duration(st.ttl), "storage": shown("", st.storage),
              "replicas": st.replicas, "max bytes": format_size(st.max_bytes), "sealed": st.sealed}
    state = {"objects": st.objects, "size": format_size(st.bytes), "stream": st.stream}
    return Report(f"Object store {st.bucket}", {"Configuration": config, "State": state}, raw=st.raw)


def object_report(info: api.ObjectInfo) -> Report:
    """``%js_obj info BUCKET NAME``: an object's metadata, readable; ``.raw`` is the ObjectInfo."""
    row = object_row(info)
    row["size"] = f"{format_size(row['size'])} ({row['size']:,} bytes)"
    return Report(f"Object {info.bucket}/{info.name}", {"Object": row}, raw=info)


class Revision(int):
    """The revision a KV put returned: an ``int`` for code, ``put db.host: revision 2`` in a notebook."""

    def __new__(cls, value: int, key: str = ""):
        out = super().__new__(cls, value)
        out.key = key
        return out

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(f"put {self.key}: revision {int(self)}" if self.key else f"revision {int(self)}")
