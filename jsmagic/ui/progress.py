"""One progress display for long work (publish, replay, object transfers, big reads).

It stays invisible for short work: nothing shows until the work has lasted
``JSMagic.progress_after`` seconds.  Then, in a notebook, a widget bar (the figures, the rate
and the time left beside it) updated at most four times a second; in a terminal or a log,
one text line redrawn with ``\\r``.  Calling it costs a clock read, so hot loops may call it
often.

The last line is the truth: :meth:`Progress.close` takes the final count (the rows of the
frame, the messages acknowledged) and how the work ended, and replaces the bar with one
text line, ``replaying ORDERS: 300,000 messages in 4.1s (73,000 messages/s) — done`` or
``… — interrupted``.  A saved notebook keeps that line, not a widget it cannot show.
A refusal that sent and read nothing leaves no line at all: its error says it.

A filtered read (``--where``, ``--grep``, ``--header``) reads more than it keeps: it calls
``progress(kept, total, read=n)``, so the percent and the time left follow what was read
(``total`` counts what will be read), and the last line says both:
``replaying ORDERS: 1,000,000 read, 20,000 kept in 2.4s (416,000 messages/s) — done``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from ..core.config import settings
from ..core.units import format_size


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def _took(seconds: float) -> str:
    """``2.4s``; under a tenth of a second, ``under 0.1s`` (never ``0.0s``)."""
    return "under 0.1s" if seconds < 0.05 else f"{seconds:.1f}s"


class Progress:
    """``progress(done, total)`` while working; ``progress.close(done=…, ended=…)`` at the end.

    ``unit`` is ``"bytes"`` (sizes shown in KiB/MiB) or a noun such as ``"messages"``.
    """

    def __init__(self, label: str, total: float | None = None, unit: str = "bytes"):
        self.label, self.total, self.unit = label, total, unit
        self.started = time.monotonic()
        self._due = self.started + settings().progress_after
        self._handle: Any = None
        self._bar: Any = None
        self._shown = False
        self.done = 0
        self.read: float | None = None  # a filtered read: messages read (``done`` counts those kept)
        self.final = ""

    def _fmt(self, n: float) -> str:
        return format_size(n) if self.unit == "bytes" else f"{n:,.0f} {self.unit}"

    def _elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    def _progressed(self) -> float:
        """What the percent and the rate follow: messages read when a filter keeps fewer."""
        return self.done if self.read is None else self.read

    def figures(self) -> str:
        """``1,200 of 5,000 messages (24%)`` (the unit once); filtered: ``1,200 of 5,000 read (24%), 30 kept``."""
        if self.read is not None:
            total = f" of {self.total:,.0f}" if self.total else ""
            pct = f" ({100 * self.read / self.total:.0f}%)" if self.total else ""
            return f"{self.read:,.0f}{total} {self.unit} read{pct}, {self.done:,.0f} kept"
        if self.unit == "bytes":
            done = self._fmt(self.done) + (f" of {self._fmt(self.total)}" if self.total else "")
        else:
            done = f"{self.done:,.0f}" + (f" of {self.total:,.0f}" if self.total else "") + f" {self.unit}"
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        return done + pct

    def speed(self) -> str:
        """``45,000 messages/s, 0:12 left`` (time left only when the total is known)."""
        rate = self._progressed() / self._elapsed()
        left = ""
        if self.total and rate > 0 and self.total > self._progressed():
            left = f", {_clock((self.total - self._progressed()) / rate)} left"
        return f"{self._fmt(rate)}/s{left}"

    def text(self) -> str:
        """The line while working: ``label: done of total (pct%), rate/s, m:ss left``."""
        return f"{self.label}: {self.figures()}, {self.speed()}"

    def __call__(self, done: float, total: float | None = None, read: float | None = None) -> None:
        self.done = done
        if read is not None:
            self.read = read
        if total:
            self.total = total
        now = time.monotonic()
        if now < self._due:
            return
        self._due = now + 0.25
        self._show()

    # ---- where it shows ------------------------------------------------------------------
    @staticmethod
    def _kernel() -> bool:
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:  # pragma: no cover - IPython is a dependency
            return False
        return shell is not None and hasattr(shell, "kernel")

    def _show(self) -> None:
        if not self._kernel():
            self._line(self.text())
        elif self._handle is None:
            self._open_bar()
        else:
            self._update_bar()
        self._shown = True

    def _line(self, text: str, end: str = "") -> None:
        """Redraw the terminal line (padded over a longer previous one)."""
        width = getattr(self, "_width", 0)
        sys.stderr.write("\r" + text.ljust(width) + end)
        sys.stderr.flush()
        self._width = len(text)

    def _open_bar(self) -> None:
        import ipywidgets as w
        from IPython.display import display

        self._bar = w.FloatProgress(value=0, min=0, max=1, layout=w.Layout(width="240px"))
        self._label = w.HTML()
        box = w.HBox([w.HTML(f"<b>{self.label}</b>&nbsp;"), self._bar, self._label])
        self._update_bar()
        bundle = dict(box._repr_mimebundle_() or {})
        bundle["text/plain"] = self.text()  # what a log or a non-widget frontend shows
        self._box = box
        self._handle = display(bundle, raw=True, display_id=True)

    def _update_bar(self) -> None:
        if self.total:
            self._bar.bar_style = ""
            self._bar.value = min(self._progressed() / self.total, 1.0)
        else:  # unknown total: a full, pale bar that still moves its figures
            self._bar.bar_style = "info"
            self._bar.value = 1.0
        self._label.value = f"&nbsp;{self.figures()} · {self.speed()}"

    def close(self, final: str | None = None, *, done: float | None = None, ended: str = "done",
              read: float | None = None) -> None:
        """End the display with the true figures: ``done`` (the final count) and ``ended`` ("done", "interrupted", "failed").

        ``read``: what a filtered read read in all (``done`` is what it kept).  ``final``
        replaces the whole line.  A run that ends "done" before its bar ever showed shows
        nothing, nor does one that failed having done nothing (a refusal: its error says it).
        """
        if done is not None:
            self.done = done
        if read is not None:
            self.read = read
        elapsed = self._elapsed()
        moved = self._progressed()
        rate = f" ({self._fmt(moved / elapsed)}/s)" if elapsed >= 0.5 else ""
        figures = self._fmt(self.done) if self.read is None else f"{self.read:,.0f} read, {self.done:,.0f} kept"
        self.final = final or f"{self.label}: {figures} in {_took(elapsed)}{rate} — {ended}"
        if not self._shown:
            if ended == "done" or (ended == "failed" and not moved):
                return  # quick work that never showed a bar, or a refusal before anything moved: no line to end
            if self._kernel():  # an interrupted or failed run leaves its true figures, even before any bar
                from IPython.display import display

                display({"text/plain": self.final}, raw=True)
            else:
                self._line(self.final, end="\n")
            return
        if self._handle is None:
            self._line(self.final, end="\n")
            return
        self._handle.update({"text/plain": self.final}, raw=True)  # the widget goes; the line stays in the file
        for widget in (*self._box.children, self._box):  # no comm left open per progress bar
            widget.close()
