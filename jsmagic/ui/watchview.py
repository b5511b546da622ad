"""The one protocol of every live view: a core watcher on its connection, shown in a LiveTable.

Every live view of jsmagic (``%js_kv watch``, ``%js_obj watch``, ``%js_consume --follow``,
``%js_consumer watch``, and any new one) is a :class:`WatchView`.  A new live view follows
these five rules, and gets for free what the others do (a saved notebook that shows a
table, the connection's outages in the header, ``%js_close`` ending it, the browser and
saved-notebook tests):

1. **The core watches, ui renders.**  ``self.watcher`` is a core object (``jsmagic.admin`` or
   ``jsmagic.reading``) with ``ctx``, ``start()`` (async or not: it checks its arguments
   and starts one task with ``ctx.spawn``, so ``%js_status`` lists it), ``stop()``,
   ``running``, ``entry`` and ``df``.  It reports through callbacks it is given (rows,
   status changes, its end); it never imports IPython or ``jsmagic.ui``.
2. **One table.**  ``self.table`` is a :class:`~jsmagic.ui.livetable.LiveTable` whose
   ``on_stop`` is ``self.watcher.stop``; anything shown beside the rows (a chart) is the
   table's ``extra`` HTML, so it is inside the widget *and* inside the snapshot.  The
   callbacks only call ``table.upsert/append/remove/set_status`` and, when the watcher
   ends by itself, ``table.finish(...)``.
3. **The caller starts, the view attaches.**  The magic (or any core caller) starts the
   watcher (``run(view.watcher.start())``: ui never talks to the server); :meth:`attach`
   then lets ``%js_close`` and an unwatch stop the table first (from the cell
   that closes, so the snapshot is sent while a frontend listens), and makes the header
   follow the connection: ``reconnecting since 10:04:31`` / ``disconnected at …`` /
   ``resumed at … after 24 s`` (the context reports, ``ctx.on_state``; ui never asks the server).
4. **Display with a display id.**  :meth:`display` shows the widget with a display id;
   when the view ends (``.stop()``, the Stop button, ``%js_close``, the watcher's own end,
   the kernel shutting down, ``docs/generate.py``'s last cell) the same id is updated to the
   static HTML snapshot: no widget view is left in the file, so a reopened notebook shows
   the table with ``■ stopped at HH:MM:SS``, never "model not found" nor "● live".
5. **Read the data from the core.**  ``.df`` is the watcher's, complete; the table shows
   a bounded part of it, in a box of bounded height that scrolls.

Tests: ``tests/magics/test_saved_notebooks.py`` (the saved ``.ipynb`` of each view) and
``tests/course/test_browser.py`` (stop, save, reopen with the kernel shut down, in
JupyterLab) list every view; add a new one to both.
"""

from __future__ import annotations

from typing import Any

from ..admin.watchstate import STOPPED
from .livetable import LiveTable


class WatchView:
    """A started watcher and its table: ``.table`` (the widget), ``.df``, ``.stop()``, ``.running``."""

    watcher: Any
    table: LiveTable

    def attach(self) -> "WatchView":
        """Bind the table to the watcher once the caller started it: ``%js_close`` stops the table
        first, and the header follows the connection (ui/ never talks to the server)."""
        self.table.stopped_by(self.watcher.entry)
        self.table.watch_connection(getattr(self.watcher, "ctx", None))
        return self

    def _on_status(self, status: str, note: str | None) -> None:
        """The watcher's ``on_status`` callback: its end finishes the table, any other state is shown."""
        if status == STOPPED:
            self.table.finish(note=note or None)
        else:
            self.table.set_status(status, note or "")

    def display(self) -> "WatchView":
        """Show the live widget with a display id (replaced by the snapshot when the view ends)."""
        self.table.display()
        return self

    def stop(self) -> Any:
        """Stop watching: the table shows its final state now, the watcher ends right after."""
        return self.table.stop()

    def html(self) -> str:
        """The view as static HTML (what a saved notebook shows once it ended)."""
        return self.table.html()

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
