"""``%js_events``: JetStream advisories in a :class:`jsmagic.ui.livetable.LiveTable`, newest first.

The core (:class:`jsmagic.admin.events.EventsWatcher`) subscribes and reads each advisory;
this view appends its row and, when stopped (button, ``.stop()``, ``%js_close``), leaves a
static snapshot in the notebook.  Problems stand out: max deliveries and terminations are
highlighted rows of their own kind.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..admin.events import COLUMNS, STOPPED, EventsWatcher
from .livetable import LiveTable
from .tablestyle import format_time
from .watchview import WatchView


class EventsView(WatchView):
    """A live tail of advisories: ``.table`` (the widget), ``.df`` (every kept advisory with its JSON), ``.stop()``."""

    def __init__(self, *, kinds: Sequence[str] | None = None, stream: str | None = None, capture: str | None = None,
                 ctx: Any = None):
        self.watcher = EventsWatcher(kinds=kinds, stream=stream, capture=capture, on_row=self._on_row,
                                     on_status=self._on_status, ctx=ctx)
        where = " ".join(p for p in (",".join(kinds or []), f"stream {stream}" if stream else "",
                                     f"kept in {capture}" if capture else "") if p)
        self.table = LiveTable(COLUMNS, title="JetStream events" + (f" ({where})" if where else ""),
                               on_stop=self.watcher.stop, formatters={"time": format_time})

    def _on_row(self, row: tuple) -> None:
        self.table.append(row[:5])

    def _on_status(self, status: str, note: str | None) -> None:
        if status == STOPPED:
            self.table.finish(note=note)
        else:
            self.table.set_status(status, note or "")

    def __repr__(self) -> str:
        return f"<EventsView {self.watcher.describe()}>"
