"""``%js_status``: the connection, the account's JetStream usage, and what runs in the background."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from ..core import secrets
from ..core.context import JSContext
from ..core.units import format_size


def _limit(used: int, limit: int | None, fmt=str) -> str:
    """``3 of 10`` or ``3 (no limit)``."""
    if limit is None or limit < 0:
        return f"{fmt(used)} (no limit)"
    return f"{fmt(used)} of {fmt(limit)}"


@dataclasses.dataclass
class Status:
    """What ``%js_status`` shows; also usable from Python (``s.streams``, ``s.background``)."""

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
    last_error: str | None = None

    def lines(self) -> list[str]:
        """The status as short lines of text (no secrets)."""
        head = f"[{self.alias}{', current' if self.current else ''}] " if self.several or self.alias != "default" else ""
        out = [head + self.connection, f"state: {self.state}"]
        if self.jetstream and self.streams is not None:
            lim = self.limits
            out += [  # one figure per line: nothing wraps mid-word in a narrow output
                f"account: streams {_limit(self.streams, lim.get('max_streams'))}",
                f"         consumers {_limit(self.consumers, lim.get('max_consumers'))}",
                f"         memory {_limit(self.memory, lim.get('max_memory'), format_size)}",
                f"         storage {_limit(self.storage, lim.get('max_storage'), format_size)}",
            ]
        elif self.jetstream is False:
            out.append("account: JetStream not enabled")
        if self.background:
            out.append(f"background ({len(self.background)}):")
            for b in self.background:
                out.append(f"  {b['name']} [{b['kind']}] running {b['age']:.0f}s {b['detail']}".rstrip())
        else:
            out.append("background: none")
        if self.last_error:
            out.append(f"last error: {self.last_error}")
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


async def collect_all(contexts: list[JSContext], current: JSContext) -> Status | Statuses:
    """The status of every context; just the current one's when it is the only one."""
    others = [c for c in contexts if c is not current and (c.nc is not None or c.background)]
    if not others:
        return await collect(current)
    statuses = Statuses([await collect(c, c is current) for c in [current, *others]])
    for status in statuses:
        status.several = True
    return statuses


async def collect(ctx: JSContext, is_current: bool = True) -> Status:
    """Gather the status of ``ctx`` (account info only when connected with JetStream)."""
    now = time.time()
    background = [
        {
            "name": b.name,
            "kind": b.kind,
            "age": now - b.started,
            "detail": secrets.redact(b.describe()) if b.describe else "",
        }
        for b in ctx.background.values()
    ]
    status = Status(
        state=ctx.state,
        connection=ctx.connection_line(),
        jetstream=ctx.jetstream_enabled,
        background=background,
        last_error=ctx.last_error,
        alias=ctx.alias,
        current=is_current,
    )
    if ctx.connected and ctx.jetstream_enabled:
        try:
            info = await ctx.js.account_info()
        except Exception as e:  # status must always render
            status.last_error = secrets.redact(f"account info: {type(e).__name__} {e}")
        else:
            status.streams, status.consumers = info.streams, info.consumers
            status.memory, status.storage = info.memory, info.storage
            status.limits = dataclasses.asdict(info.limits) if info.limits else {}
    return status
