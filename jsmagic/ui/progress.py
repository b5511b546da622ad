"""One progress line for long work (publish, replay, object transfers, big reads).

It stays invisible for short work: nothing shows until the work has lasted
``JSMagic.progress_after`` seconds, then one line redraws in place at most four times a
second (a display id in a notebook, ``\\r`` on a terminal).  Calling it costs a clock
read, so hot loops may call it often.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from ..core.config import settings
from ..core.units import format_size


class Progress:
    """``progress(done, total)`` while working; ``progress.close()`` at the end.

    ``unit`` is ``"bytes"`` (sizes shown in KiB/MiB) or a noun such as ``"messages"``.
    """

    def __init__(self, label: str, total: float | None = None, unit: str = "bytes"):
        self.label, self.total, self.unit = label, total, unit
        self.started = time.monotonic()
        self._due = self.started + settings().progress_after
        self._handle: Any = None
        self._shown = False
        self.done = 0

    def _fmt(self, n: float) -> str:
        return format_size(n) if self.unit == "bytes" else f"{n:,.0f} {self.unit}"

    def text(self) -> str:
        """The line as shown: ``label: done of total (pct%), rate/s``."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = f"{self._fmt(self.done / elapsed)}/s"
        if self.unit == "bytes":
            done = self._fmt(self.done) + (f" of {self._fmt(self.total)}" if self.total else "")
        else:  # "1,200 of 5,000 messages", the unit once
            done = f"{self.done:,.0f}" + (f" of {self.total:,.0f}" if self.total else "") + f" {self.unit}"
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        return f"{self.label}: {done}{pct}, {rate}"

    def __call__(self, done: float, total: float | None = None) -> None:
        self.done = done
        if total:
            self.total = total
        now = time.monotonic()
        if now < self._due:
            return
        self._due = now + 0.25
        self._show(self.text())

    def _show(self, text: str) -> None:
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:  # pragma: no cover - IPython is a dependency
            shell = None
        if shell is None or not hasattr(shell, "kernel"):
            sys.stderr.write("\r" + text)
            sys.stderr.flush()
        elif self._handle is None:
            from IPython.display import display

            self._handle = display({"text/plain": text}, raw=True, display_id=True)
        else:
            self._handle.update({"text/plain": text}, raw=True)
        self._shown = True

    def close(self, final: str | None = None) -> None:
        """Replace the line by ``final`` (default: the figures and "done"), if it was ever shown."""
        if self._shown:
            self._show(final or self.text() + " — done")
            if self._handle is None:
                sys.stderr.write("\n")
