"""Whether a replay reads through the bulk connection, and why not when it cannot.

The bulk reader serves bounded replays through an ephemeral consumer (the default
``%js_consume`` on a Limits stream), and the history a ``--follow`` replays before it
waits (:mod:`jsmagic.reading.catchup` asks with that history: a bounded selection).  It is
off for ``--durable`` (acks go through nats-py), ``--new`` and a live read itself (they
wait for messages), when ``%config JSMagic.bulk_replay = False`` or
``Selection(bulk=False)`` says so, and when its connection cannot be opened the way the
context's was (a websocket URL): then the replay falls back to the nats-py reader and the
note says why.
"""

from __future__ import annotations

from typing import Any

from ...core.config import settings
from ...core.errors import JSMagicError
from ..selection import Selection
from .protocol import Unsupported, Wire, WireError, open_wire


def wanted(sel: Selection) -> bool:
    """The selection is one the bulk reader serves, and neither it nor the config turned it off."""
    on = settings().bulk_replay if sel.bulk is None else sel.bulk
    return bool(on) and not sel.durable and not sel.live and sel.deliver != "new"


async def open_bulk(sel: Selection, ctx: Any, notes: list[str]) -> Wire | None:
    """An open bulk connection, or None (with a note when the bulk reader was wanted but cannot run)."""
    if not wanted(sel) or ctx.options is None or ctx.nc is None or ctx.nc.connected_url is None:
        return None
    try:
        return await open_wire(ctx.options, ctx.nc.connected_url, sel.api_timeout)
    except Unsupported as e:
        notes.append(f"bulk reader not used ({e}): read through nats-py")
    except (WireError, JSMagicError, OSError) as e:
        notes.append(f"bulk connection failed ({e}): read through nats-py")
    return None
