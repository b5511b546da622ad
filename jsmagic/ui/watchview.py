"""What the watch widgets share: a core watcher that runs on its connection, shown in a LiveTable.

A subclass (:class:`jsmagic.ui.kvwatch.KVWatch`, :class:`jsmagic.ui.objwatch.ObjectWatch`)
makes ``self.watcher`` (the core: ``start()``, ``stop()``, ``running``, ``entry``,
``df``) and ``self.table``, whose ``on_stop`` is the watcher's ``stop``.  The magic starts
the watcher (the core talks to the server) and then :meth:`WatchView.attach`es; the widget's
:meth:`WatchView.stop`, the table's Stop button and ``%js_close`` all end the same way.
"""

from __future__ import annotations

from typing import Any

from .livetable import LiveTable


class WatchView:
    """A started watcher and its table: ``.table`` (the widget), ``.df``, ``.stop()``, ``.running``."""

    watcher: Any
    table: LiveTable

    def attach(self) -> "WatchView":
        """Bind the table to the watcher once the magic started it (``run(view.watcher.start())``: ui/ never talks to the server)."""
        self.table.stopped_by(self.watcher.entry)
        return self

    def stop(self) -> None:
        """Stop watching: the table shows its final state now, the watcher ends right after."""
        self.table.stop()

    @property
    def running(self) -> bool:
        return self.watcher.running

    @property
    def entry(self) -> Any:
        """The watch's entry on its connection (``%js_status``)."""
        return self.watcher.entry

    @property
    def df(self):
        """The watched state as it is now."""
        return self.watcher.df
