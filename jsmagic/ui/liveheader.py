"""The header line of every live view: title, status, the connection's state with times, counts, rate.

``KV settings ● live · 1,200 events · 340/s · 12 rows`` while all is well;
``● reconnecting since 10:04:31`` (amber) while the connection is down, ``● disconnected at
10:05:02`` (red) once it is closed, ``● live · resumed at 10:04:55 after 24 s`` when it came
back; ``■ stopped at 10:06:10`` in a snapshot (never "● live", no frozen rate).

:class:`Connection` is what a view knows of its connection: the core reports each change
(``ctx.on_state``, ``ctx.state_since``, :mod:`jsmagic.core.context`); this module only words it.
"""

from __future__ import annotations

import collections
import html
import time

from ..admin.watchstate import LIVE, PAUSED, RECONNECTING, STOPPED
from ..core.units import plural

COLOURS = {LIVE: "#1a7f37", RECONNECTING: "#bf8700", STOPPED: "#6e7781", PAUSED: "#bf8700",
           "disconnected": "#cf222e", "error": "#cf222e"}


def clock(at: float) -> str:
    """``10:04:31``: a time of day as the live views show it (the kernel's local time, as "stopped at")."""
    return time.strftime("%H:%M:%S", time.localtime(at))


class Connection:
    """The connection's state as a view shows it: ``connected``, ``reconnecting`` or ``closed``, with times."""

    def __init__(self) -> None:
        self.state = "connected"
        self.lost_at: float | None = None  # when the current (or last) outage began
        self.resumed_at: float | None = None  # when the last outage ended
        self.closed_at: float | None = None

    def update(self, state: str, at: float) -> bool:
        """Take a change reported by the core; returns whether anything shown changed."""
        if state == self.state:
            return False
        if state == "reconnecting":
            self.lost_at, self.resumed_at = at, None
        elif state == "connected" and self.lost_at is not None:
            self.resumed_at = at
        elif state in ("closed", "disconnected"):
            self.closed_at = at
        self.state = state
        return True

    def status(self) -> tuple[str, str] | None:
        """(status, words) replacing a live status while the connection is down, else None."""
        if self.state in ("closed", "disconnected") and self.closed_at is not None:
            return "disconnected", f"disconnected at {clock(self.closed_at)}"
        if self.state == "reconnecting" and self.lost_at is not None:
            return RECONNECTING, f"reconnecting since {clock(self.lost_at)}"
        return None

    def note(self) -> str:
        """``resumed at 10:04:55 after 24 s`` once an outage is over (kept: the gap is worth knowing)."""
        if self.state == "connected" and self.resumed_at is not None and self.lost_at is not None:
            return f"resumed at {clock(self.resumed_at)} after {self.resumed_at - self.lost_at:,.0f} s"
        return ""


def header_html(title: str, status: str, note: str, *, connection: Connection, events: int, unit: str,
                rate: float, rows: int, ended_at: str | None) -> str:
    """The header as HTML (inline styles: a saved, untrusted notebook keeps them)."""
    down = connection.status() if ended_at is None else None  # an outage outranks what the watcher says
    if down is not None:
        status, words = down
    else:
        words = status
    colour = COLOURS.get(status, "#6e7781")
    notes = [n for n in (note, connection.note()) if n]
    extra = "".join(f" — {html.escape(n)}" for n in notes)
    head = f"<b>{html.escape(title)}</b> " if title else ""
    counts = f"{plural(events, unit)} · {plural(rows, 'row')}"
    if ended_at is not None:  # a snapshot: when it ended, never "● live", no frozen rate
        return f"{head}<span style='color:{colour}'>■ {html.escape(words)} at {ended_at}</span>{extra} · {counts}"
    return (f"{head}<span style='color:{colour}'>● {html.escape(words)}</span>{extra} · "
            f"{plural(events, unit)} · {rate:,.0f}/s · {plural(rows, 'row')}")


class RateMeter:
    """Events per second over the last couple of seconds (the header's ``340/s``)."""

    WINDOW = 2.0  # seconds over which the rate is measured

    def __init__(self) -> None:
        self.samples: collections.deque = collections.deque()
        self.rate = 0.0

    def wake(self, now: float, events: int) -> None:
        """The first event after a quiet spell: restart the window (an idle minute is not a rate)."""
        if self.samples and now - self.samples[-1][0] > self.WINDOW:
            self.samples.clear()
            self.samples.append((now, events - 1))

    def sample(self, now: float, events: int) -> float:
        samples = self.samples
        samples.append((now, events))
        while len(samples) > 2 and now - samples[1][0] >= self.WINDOW:
            samples.popleft()
        t0, c0 = samples[0]
        self.rate = (events - c0) / (now - t0) if now - t0 > 0.05 else self.rate
        return self.rate
