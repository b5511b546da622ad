"""``%js_sub SUBJECT``: a core NATS subscription in a :class:`jsmagic.ui.livetable.LiveTable`, newest first.

The subscribing is the core's :class:`jsmagic.corenats.subscriber.Subscriber`; this module
shows it: every message a table row (tail mode), payloads decoded only when a row is
rendered, and the end (Stop button, ``.stop()``, ``%js_close``) a static snapshot.
"""

from __future__ import annotations

from typing import Any

from ..corenats.subscriber import COLUMNS, STOPPED, Subscriber
from .livetable import LiveTable
from .tablestyle import format_time
from .watchview import WatchView


class SubscriptionView(WatchView):
    """A live subscription: ``.table`` (the widget), ``.df`` (every kept message), ``.stop()``."""

    def __init__(self, subject: str, *, queue: str | None = None, decode: Any = "auto", ctx: Any = None):
        self.watcher = Subscriber(subject, queue=queue, decode=decode, on_row=self._on_row,
                                  on_status=self._on_status, ctx=ctx)
        title = f"sub {subject}" + (f" (queue {queue})" if queue else "")
        self.table = LiveTable(COLUMNS, title=title, on_stop=self.watcher.stop,
                               formatters={"time": format_time, "data": self._value})

    def _value(self, row_data: Any) -> Any:
        return self.watcher.value(*row_data)

    def _on_row(self, row: tuple) -> None:
        subject, data, headers, reply, ns = row
        self.table.append((ns, subject, (data, headers), headers or "", reply or ""))

    def _on_status(self, status: str, note: str | None) -> None:
        if status == STOPPED:
            self.table.finish(note=note)
        else:
            self.table.set_status(status, note or "")

    def __repr__(self) -> str:
        return f"<SubscriptionView {self.watcher.describe()}>"
