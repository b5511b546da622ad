"""``%js_obj watch``: a bucket's objects in a :class:`jsmagic.ui.livetable.LiveTable`, live while the kernel is idle.

The watching is the core's :class:`jsmagic.admin.objwatch.ObjectStoreWatcher` (an ordered
consumer on the bucket's meta subjects, registered on its connection); this module shows
it.  Stopping (the Stop button, ``.stop()``, ``%js_close``) ends the watcher's task,
which unsubscribes.
"""

from __future__ import annotations

from ..admin.objwatch import COLUMNS, ObjectStoreWatcher
from ..core.context import JSContext
from ..core.units import format_size
from .livetable import LiveTable
from .watchview import WatchView


class ObjectWatch(WatchView):
    """A live view of a bucket's objects: ``.table`` (the widget), ``.df``, ``.events``, ``.stop()``."""

    def __init__(self, bucket: str, *, ctx: JSContext | None = None):
        self.bucket = bucket
        self.watcher = ObjectStoreWatcher(bucket, on_row=self._on_row, on_stop=self._ended, ctx=ctx)
        self.table = LiveTable(COLUMNS, key="name", title=f"object store {bucket}", on_stop=self.watcher.stop,
                               formatters={"size": format_size})

    def _on_row(self, name: str, row: tuple | None) -> None:
        if row is None:
            self.table.remove(name)
        else:
            self.table.upsert(row)

    def _ended(self) -> None:
        if not self.table.stopped:
            self.table.finish()

    @property
    def events(self) -> int:
        return self.watcher.events

    def __repr__(self) -> str:
        state = "live" if self.running else "stopped"
        return f"<ObjectWatch {self.bucket} {state}: {len(self.watcher.state):,} objects, {self.events:,} events>"
