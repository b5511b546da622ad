"""``--to PATH``: a replay streamed to Parquet, chunk by chunk, so the kernel's memory stays flat.

The chunks come from the replay's own reader at its own pace (the bulk reader hands over
~4 MiB of what arrived at a time); each becomes a typed Arrow table here, and the file
writes run in a thread of their own (:mod:`jsmagic.reading.behind`) while the next chunk
is read.

* A file: one row group per fetched chunk, written under a temporary name beside the
  target and renamed when done (an interrupted replay still ends in a valid file holding
  what arrived, and says so).
* ``partition_by=COL``: a hive-layout dataset directory (``region=eu/part-000003-0.parquet``),
  one part per chunk and partition value, written into a temporary directory renamed at
  the end.  The target must not exist yet, or be empty.

Schema drift loses nothing (:mod:`jsmagic.reading.arrowconv`): while the chunks fit the
file's schema they go into it (a column missing from a chunk is written as nulls); a new
key or a clashing type starts a new segment, and at the end the segments are rewritten into
one file under the read's schema (:mod:`jsmagic.reading.schema`: its column order, uint64
for ids that outgrew int64 with none below 0), row group by row group.  A read without drift
is written once; one that drifts pays one rewrite, never a lost or changed value.  :class:`Export` is what the
cell returns instead of the data.
"""

from __future__ import annotations

import dataclasses
import gc
import glob
import os
import secrets
import shutil
import time
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..core.context import JSContext
from ..core.errors import InputError
from .arrowconv import SEQ_TYPE, Conflicts, conform, fits, to_table, unify
from .behind import WriteBehind
from .reader import replay
from .selection import ProgressFn, Selection


@dataclasses.dataclass
class Export:
    """What ``--to`` wrote: where, how many rows, which sequences, how big, how long, what changed type."""

    path: str
    rows: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    bytes: int = 0
    seconds: float = 0.0
    parts: int = 0  # row groups (file) or part files (dataset)
    partition_by: str | None = None
    conflicts: Conflicts = dataclasses.field(default_factory=dict)
    interrupted: bool = False


class ParquetSink:
    """Takes a replay's chunks (``Rows(sink=...)``) and writes each as it arrives."""

    def __init__(self, path: str, partition_by: str | None = None) -> None:
        self.path = os.path.abspath(os.path.expanduser(path.rstrip("/") or path))
        self.partition_by = partition_by
        self.export = Export(path=self.path, partition_by=partition_by)
        self.started = time.perf_counter()
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        self.schemas: list[pa.Schema] = []
        self.segments: list[str] = []
        self.read: Any = None  # the read's ReadSchema (column order, ints below 0): set by the first chunk
        self.behind = WriteBehind()  # the file writes, in a thread of their own while the next chunk is read
        self._check_target()
        token = secrets.token_hex(4)
        head, tail = os.path.split(self.path)
        self.tmp = os.path.join(head, f".{tail}.jsmagic-{token}.tmp")
        if partition_by:
            os.makedirs(self.tmp)

    def _check_target(self) -> None:
        parent = os.path.dirname(self.path)
        if not os.path.isdir(parent):
            raise InputError(f"--to {self.path}: the directory {parent} does not exist", hint="create it first")
        if self.partition_by:
            if os.path.exists(self.path) and (not os.path.isdir(self.path) or os.listdir(self.path)):
                raise InputError(f"--to {self.path} exists and is not an empty directory",
                                 hint="give a new directory for the dataset, or remove this one")
        elif os.path.isdir(self.path):
            raise InputError(f"--to {self.path} is a directory",
                             hint="give a file name, or add --partition-by COL to write a dataset there")

    # -- the sink protocol: write(chunk, rows) per chunk, close(frame) once ---------------------

    def write(self, chunk: Any, rows: Any) -> None:
        """One chunk: its frame (as the in-memory replay would build it) → typed Arrow → disk."""
        self.read = rows.schema
        self._write_table(to_table(rows.frame_of([chunk]), self.export.conflicts))
        gc.collect(1)  # the replay turns the collector off: the chunk's short-lived cycles go now

    def close(self, frame: Any = None, interrupted: bool = False) -> Export:
        """Finish: write a whole ``frame`` if given (readers that must see everything first), merge, rename."""
        if frame is not None and len(frame):
            self._write_table(to_table(frame, self.export.conflicts))
        self.behind.wait()
        if self.partition_by:
            self._finish_dataset()
        else:
            self._finish_file()
        e = self.export
        e.interrupted = interrupted
        e.seconds = time.perf_counter() - self.started
        e.bytes = _size(self.path)
        return e

    def abort(self) -> None:
        """An error stopped the replay: remove what was only ever temporary."""
        self.behind.stop()
        if self.writer is not None:
            self.writer.close()
        for p in self.segments:
            _remove(p)
        _remove(self.tmp)

    # -- writing ------------------------------------------------------------------------------

    def _write_table(self, table: pa.Table) -> None:
        if not len(table):
            return
        e = self.export
        seq = table.column("seq")
        first, last = seq[0].as_py(), seq[-1].as_py()
        e.first_seq = first if e.first_seq is None else min(e.first_seq, first)
        e.last_seq = last if e.last_seq is None else max(e.last_seq, last)
        e.rows += len(table)
        e.parts += 1
        if self.partition_by:
            col = self.partition_by
            if col not in table.column_names:
                cols = ", ".join(c for c in table.column_names if c != "headers")
                raise InputError(f"--partition-by {col}: no such column", hint=f"the columns are: {cols}")
            self.behind.submit(self._write_part, table, e.parts)
        else:
            self.behind.submit(self._write_row_group, table)

    # -- in the write-behind thread, one at a time (self.writer/schema/schemas/segments are its own until
    #    close() waited for it or abort() stopped it) ----------------------------------------------

    def _write_row_group(self, table: pa.Table) -> None:
        if self.writer is not None and not fits(table, self.schema):
            self.writer.close()  # drift: a new segment, merged at the end
            self.writer = None
        if self.writer is None:
            self.schema = table.schema
            self.schemas.append(table.schema)
            self.segments.append(f"{self.tmp}.{len(self.segments)}")
            self.writer = pq.ParquetWriter(self.segments[-1], self.schema)
        self.writer.write_table(conform(table, self.schema), row_group_size=len(table))

    def _write_part(self, table: pa.Table, part: int) -> None:
        col = self.partition_by
        self.schemas.append(table.schema.remove(table.schema.get_field_index(col)))
        pq.write_to_dataset(table, self.tmp, partition_cols=[col], basename_template=f"part-{part:06d}-{{i}}.parquet")

    # -- at the end, after every write ran ----------------------------------------------------

    def _finish_file(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if not self.segments:  # nothing arrived: still a valid file, with the metadata columns
            pq.write_table(pa.table({"seq": pa.array([], SEQ_TYPE), "subject": pa.array([], pa.string()),
                                     "time": pa.array([], pa.timestamp("ns", tz="UTC")), "size": pa.array([], pa.int64())}),
                           self.tmp)
        elif len(self.segments) == 1:
            os.replace(self.segments[0], self.tmp)
        else:
            self._merge()
        os.replace(self.tmp, self.path)

    def _merge(self) -> None:
        """Segments of drifting schemas → one file, one unified schema, row group by row group."""
        schema = unify(self.schemas, self.export.conflicts, self.read)
        with pq.ParquetWriter(self.tmp, schema) as writer:
            for seg in self.segments:
                pf = pq.ParquetFile(seg)
                for i in range(pf.num_row_groups):
                    group = pf.read_row_group(i)
                    writer.write_table(conform(group, schema), row_group_size=len(group))
                pf.close()
                os.remove(seg)

    def _finish_dataset(self) -> None:
        schema = unify(self.schemas, self.export.conflicts, self.read)
        if any(s != schema for s in self.schemas):  # drift: every part in the one schema
            for f in glob.glob(os.path.join(self.tmp, "**", "*.parquet"), recursive=True):
                pq.write_table(conform(pq.ParquetFile(f).read(), schema), f + ".tmp")
                os.replace(f + ".tmp", f)
        if os.path.isdir(self.path):
            os.rmdir(self.path)  # checked empty at the start
        os.replace(self.tmp, self.path)


async def export_replay(sel: Selection, path: str, partition_by: str | None = None,
                        progress: ProgressFn | None = None, *, ctx: JSContext | None = None) -> Any:
    """Replay ``sel`` into Parquet at ``path``; returns the :class:`~jsmagic.reading.reader.Replay` (``.export`` set)."""
    sel.check()
    sink = ParquetSink(path, partition_by)
    try:
        return await replay(sel, progress, sink=sink, ctx=ctx)
    except BaseException:
        sink.abort()
        raise


def _size(path: str) -> int:
    if os.path.isdir(path):
        return sum(os.path.getsize(f) for f in glob.glob(os.path.join(path, "**", "*"), recursive=True) if os.path.isfile(f))
    return os.path.getsize(path) if os.path.exists(path) else 0


def _remove(path: str) -> None:
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.remove(path)
