"""``%js_kv watch``: a KV bucket's keys in a :class:`jsmagic.ui.livetable.LiveTable`, live while the kernel is idle.

The watching is the core's :class:`jsmagic.admin.kvwatch.KVWatcher` (an ordered reader
that resumes after restarts, registered on its connection); this module shows it: every
change of a key becomes a table upsert (deleted keys greyed, or dropped with
``deletes=False``), the watcher's status the table's header, and values are decoded
only when a row is rendered.  Stopping (the Stop button, ``.stop()``, ``%js_close``,
``%js_kv unwatch``) ends the watcher's task, which deletes its consumer.
"""

from __future__ import annotations

from typing import Any

from ..admin.kvwatch import COLUMNS, KVWatcher
from ..core.context import JSContext
from .livetable import LiveTable
from .tablestyle import format_time
from .watchview import WatchView


def format_ns(ns: int | None) -> str:
    """Nanoseconds since the epoch as every table shows times: ``2026-11-28 17:15:06.665`` (UTC)."""
    return format_time(ns) if ns else ""


class KVWatch(WatchView):
    """A live watch of a bucket: ``.table`` (the widget), ``.df``, ``.events``, ``.stop()``.

    Modes as ``nats kv watch``: current values then updates (default), ``history``
    (every kept revision), ``updates`` (only new changes), or from ``revision``.
    """

    def __init__(self, bucket: str, pattern: str = ">", *, mode: str = "last", revision: int | None = None,
                 deletes: bool = True, decode: Any = "auto", events_cap: int | None = None,
                 ctx: JSContext | None = None):
        self.watcher = KVWatcher(bucket, pattern, mode=mode, revision=revision, deletes=deletes, decode=decode,
                                 events_cap=events_cap, on_row=self._on_row, on_status=self._on_status, ctx=ctx)
        self.table = LiveTable(
            COLUMNS,
            key="key",
            title=f"KV {bucket}" + (f" {pattern}" if pattern != ">" else ""),
            on_stop=self.watcher.stop,
            formatters={"value": self.watcher.value, "time": format_ns},
        )

    def _on_row(self, key: str, row: tuple | None) -> None:
        if row is None:
            self.table.remove(key)
        else:
            self.table.upsert(row, muted=row[3] != "PUT")

    # ---- what the user reads (start, stop, running, entry, df: WatchView) ---------------------
    @property
    def events(self):
        """Every event seen (the newest ``JSMagic.events_cap``): revision, key, operation, value, time."""
        return self.watcher.events

    def describe(self) -> str:
        return self.watcher.describe()

    def __repr__(self) -> str:
        return f"<KVWatch {self.describe()}>"
