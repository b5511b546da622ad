"""Write behind the read: a sink's file writes run in one thread of their own, in order.

Encoding and compressing a Parquet row group releases the GIL, so while it runs here
the replay's loop goes on parsing and decoding the next chunk (``--to`` at 1M messages
spent about a third of its time in ``write_table`` when it waited for each).  At most
``depth`` writes wait in the queue: a reader faster than the disk blocks on the next
:meth:`WriteBehind.submit`, so what is held in memory stays bounded.

An error in a write is raised in the caller's thread, by the next :meth:`submit` or by
:meth:`wait`; the writes after it are skipped.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable

log = logging.getLogger("jsmagic.reading.behind")

_END = None


class WriteBehind:
    """One thread that runs the submitted writes in order; ``wait`` for them, or ``stop`` dropping the rest."""

    def __init__(self, depth: int = 2, name: str = "jsmagic-write-behind") -> None:
        self.depth, self.name = depth, name
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._thread: threading.Thread | None = None
        self._dropping = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)`` after the writes already queued (blocks while ``depth`` wait)."""
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        self._queue.put((fn, args))

    def wait(self) -> None:
        """Until every submitted write ran; raises the first one's error."""
        self._join()
        self._raise()

    def stop(self) -> None:
        """Drop the writes not started, wait for the one running (an abort: its files are removed next)."""
        self._dropping = True
        self._join()
        if self.error is not None:
            log.debug("a write behind failed before the abort: %r", self.error)

    def _join(self) -> None:
        if self._thread is None:
            return
        self._queue.put(_END)
        self._thread.join()
        self._thread = None
        self._queue = queue.Queue(maxsize=self.depth)

    def _raise(self) -> None:
        if self.error is not None:
            err, self.error = self.error, None
            self._dropping = True  # what was queued after the failed write is not written
            raise err

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if self.error is not None or self._dropping:
                continue
            fn, args = item
            try:
                fn(*args)
            except Exception as e:  # noqa: BLE001 -- not swallowed: raised in the caller's thread (_raise)
                self.error = e
