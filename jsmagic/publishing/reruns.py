"""``--msg-id`` re-runs: exact within the stream's duplicate window, and said when they are not.

The server stores a message id once within the stream's ``duplicate_window`` (2 minutes
by default).  A re-run of the same ``--msg-id`` template after that stores every message
again; the server cannot say so, because it has forgotten the ids.  So this session
remembers when each template last published to each stream and warns on a late re-run.
"""

from __future__ import annotations

import time

from ..core.units import format_duration

NANOS = 1_000_000_000
DEFAULT_WINDOW = 120.0  # seconds: the server's default duplicate window
_last: dict[tuple[str, str, str], float] = {}  # (connection, stream, template) -> when its publish ended


def late_rerun(connection: str, streams: list[str], template: str, windows: dict[str, float]) -> str | None:
    """The warning for a re-run of ``template`` that comes after a stream's duplicate window, else None."""
    now = time.monotonic()
    for stream in streams:
        then = _last.get((connection, stream, template))
        window = windows.get(stream) or DEFAULT_WINDOW
        if then is not None and now - then > window:
            return (f"warning: --msg-id {template} last published to {stream} {format_duration(now - then)} ago, "
                    f"beyond its duplicate window ({format_duration(window)}): messages stored then are stored again")
    return None


def remember(connection: str, streams: list[str], template: str) -> None:
    """This publish of ``template`` ended now (its ids are known to each stream until the window passes)."""
    now = time.monotonic()
    for stream in streams:
        _last[(connection, stream, template)] = now
