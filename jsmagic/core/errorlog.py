"""A connection's last few errors, with their times: what ``%js_status`` lists.

Errors nobody raised (nats-py's error callback during a reconnect, a background task that
died, a clean-up that failed) are kept here, a handful per connection, and logged to
``jsmagic.core.errorlog`` at INFO.  Each remembers when it happened, so that after a
reconnect an old error is shown as what it is (before the reconnect), not as current.
"""

from __future__ import annotations

import collections
import logging
import time
from typing import Any

from . import secrets

log = logging.getLogger(__name__)

KEPT = 5


class ErrorLog:
    """The last :data:`KEPT` errors of one connection, oldest first."""

    def __init__(self, owner: str = "default", kept: int = KEPT) -> None:
        self.owner = owner
        self._entries: collections.deque = collections.deque(maxlen=kept)

    def note(self, text: str) -> None:
        """Keep ``text`` (secrets redacted, one line) with the time now, and log it."""
        text = secrets.redact(" ".join(str(text).split()))
        self._entries.append((time.time(), text))
        log.info("[%s] %s", self.owner, text)

    def recent(self, connected_at: float | None = None) -> list[dict[str, Any]]:
        """Time, text, and whether a (re)connect at ``connected_at`` came after it, oldest first."""
        since = connected_at or 0.0
        return [{"time": t, "text": text, "before_reconnect": t < since} for t, text in self._entries]

    @property
    def last(self) -> str | None:
        return self._entries[-1][1] if self._entries else None

    def __len__(self) -> int:
        return len(self._entries)
