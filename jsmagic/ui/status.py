"""``%js_status``, rendered: the connection, the account's usage, the background work, recent errors.

The data comes from :mod:`jsmagic.connecting.status` (which asks the server); this module
only formats it.
"""

from __future__ import annotations

import time
from typing import Any

from ..connecting.status import ConnectionStatus
from ..core import secrets
from ..core.units import format_size


def _limit(used: int, limit: int | None, fmt=str) -> str:
    """``3 of 10`` or ``3 (no limit)``."""
    if limit is None or limit < 0:
        return f"{fmt(used)} (no limit)"
    return f"{fmt(used)} of {fmt(limit)}"


def _clock(epoch: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch)) if epoch else "?"


class Status:
    """What ``%js_status`` shows for one connection: the core's :class:`ConnectionStatus`, rendered.

    The data's fields read through (``s.streams``, ``s.background``, ``s.errors``, ``s.last_error``).
    """

    def __init__(self, data: ConnectionStatus) -> None:
        self.data = data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["data"], name)

    def lines(self) -> list[str]:
        """The status as short lines of text (no secrets); the first says whether it is connected."""
        d = self.data
        head = f"[{d.alias}{', current' if d.current else ''}] " if d.several or d.alias != "default" else ""
        state = d.state if d.state == "connected" else f"{d.state} since {_clock(d.since)}"
        out = [head + d.connection, f"state: {state}"]
        if d.jetstream and d.streams is not None:
            lim = d.limits
            out += [  # one figure per line: nothing wraps mid-word in a narrow output
                f"account: streams {_limit(d.streams, lim.get('max_streams'))}",
                f"         consumers {_limit(d.consumers, lim.get('max_consumers'))}",
                f"         memory {_limit(d.memory, lim.get('max_memory'), format_size)}",
                f"         storage {_limit(d.storage, lim.get('max_storage'), format_size)}",
            ]
        elif d.jetstream is False:
            out.append("account: JetStream not enabled")
        if d.background:
            out.append(f"background ({len(d.background)}):")
            for b in d.background:
                out.append(f"  {b['name']} [{b['kind']}] running {b['age']:.0f}s {b['detail']}".rstrip())
        else:
            out.append("background: none")
        if d.errors:
            out.append(f"recent errors ({len(d.errors)}, newest last):")
            for e in d.errors:
                old = " (before the last reconnect)" if e["before_reconnect"] else ""
                out.append(f"  {_clock(e['time'])} {e['text']}{old}")
        return [secrets.redact(line) for line in out]

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        import html

        return "<pre style='white-space:pre-wrap;word-break:normal'>" + html.escape(repr(self)) + "</pre>"


class Statuses(list):
    """``%js_status`` with several named connections: one :class:`Status` each, current first."""

    def __repr__(self) -> str:
        return "\n\n".join(repr(s) for s in self) if self else "Not connected"

    def _repr_html_(self) -> str:
        import html

        return "<pre style='white-space:pre-wrap;word-break:normal'>" + html.escape(repr(self)) + "</pre>"


def render(statuses: list[ConnectionStatus]) -> Status | Statuses:
    """One :class:`Status` for a single connection, :class:`Statuses` for several."""
    if len(statuses) == 1:
        return Status(statuses[0])
    return Statuses(Status(s) for s in statuses)
