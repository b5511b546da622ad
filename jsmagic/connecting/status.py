"""What ``%js_status`` shows, gathered (the server asked here): data for :mod:`jsmagic.ui.status` to render.

:func:`collect` asks the server for the account's JetStream usage (when connected) and
copies what the context knows: its state, its recent errors with their times, its
background work.  Nothing here formats for a screen, and ``ui/`` never asks the server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

from ..core import secrets
from ..core.context import JSContext

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ConnectionStatus:
    """One connection's state, account usage, background work and recent errors (no secrets)."""

    state: str
    connection: str
    jetstream: bool | None
    alias: str = "default"
    current: bool = True
    several: bool = False  # one of several connections: each says its name
    streams: int | None = None
    consumers: int | None = None
    memory: int | None = None
    storage: int | None = None
    limits: dict[str, Any] = dataclasses.field(default_factory=dict)
    background: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: the last few errors, oldest first: ``{"time": epoch s, "text": ..., "before_reconnect": bool}``
    errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    since: float | None = None  # when it last (re)connected, or went away (state reconnecting/closed)

    @property
    def last_error(self) -> str | None:
        """The newest error that is still current (none once a reconnect came after it)."""
        live = [e for e in self.errors if not e["before_reconnect"]]
        return live[-1]["text"] if live else None


async def collect_all(contexts: list[JSContext], current: JSContext) -> list[ConnectionStatus]:
    """The status of the current context, then of every other one in use (current first)."""
    others = [c for c in contexts if c is not current and (c.nc is not None or c.background)]
    statuses = [await collect(c, c is current) for c in [current, *others]]
    for status in statuses:
        status.several = len(statuses) > 1
    return statuses


async def collect(ctx: JSContext, is_current: bool = True) -> ConnectionStatus:
    """Gather the status of ``ctx`` (account info only when connected with JetStream)."""
    now = time.time()
    background = [
        {"name": b.name, "kind": b.kind, "age": now - b.started,
         "detail": secrets.redact(b.describe()) if b.describe else ""}
        for b in ctx.background.values()
    ]
    status = ConnectionStatus(
        state=ctx.state, connection=ctx.connection_line(), jetstream=ctx.jetstream_enabled, background=background,
        errors=ctx.recent_errors(), alias=ctx.alias, current=is_current, since=ctx.state_since,
    )
    if ctx.connected and ctx.jetstream_enabled:
        try:
            info = await ctx.js.account_info()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - the status must always render; the error is one of its lines
            log.warning("account info for %s failed: %r", ctx.alias, e)
            status.errors.append({"time": time.time(), "text": secrets.redact(f"account info: {type(e).__name__} {e}"),
                                  "before_reconnect": False})
        else:
            status.streams, status.consumers = info.streams, info.consumers
            status.memory, status.storage = info.memory, info.storage
            status.limits = dataclasses.asdict(info.limits) if info.limits else {}
    return status
