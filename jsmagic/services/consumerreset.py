"""`consumers.reset` with `since=` and `dry_run=` (`%js_consumer reset STREAM NAME [SEQ] --since T --dry-run`).

Part of the `jsmagic.consumers` group: without `since`/`dry_run` it is
`jsmagic.services.consumers.reset` itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..admin import resetplan
from ..core.context import JSContext
from . import consumers as _consumers
from .common import when as _when

__all__ = ["reset"]

Ctx = JSContext | str | None
When = str | dt.datetime | None


async def reset(stream: str, name: str, seq: int | None = None, *, since: When = None, dry_run: bool = False,
                ctx: Ctx = None) -> Any:
    """Deliver again from `seq`, from the first message at or after `since`, or from the ack floor (server 2.14+).

    `%js_consumer reset`.  `dry_run=True` changes nothing and says what would be delivered again.

    Parameters
    ----------
    stream, name : str
        The stream and the consumer.
    seq : int, optional
        The stream sequence to deliver from.
    since : str or datetime, optional
        From the first message stored at or after this time (`"2h"` ago, ISO text, a datetime).
    dry_run : bool
        Count what the reset would redeliver (by the server's counts); change nothing.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    dict or ResetPlan
        The server's answer; with `dry_run`, a `ResetPlan`: `from_seq`, `messages`, `bytes`,
        `pending_now`, `filters`, `exact`.

    Examples
    --------
    >>> plan = await jsmagic.consumers.reset("ORDERS", "billing", since="1h", dry_run=True)   # doctest: +SKIP
    >>> plan.messages                                                                          # doctest: +SKIP
    >>> await jsmagic.consumers.reset("ORDERS", "billing", since="1h")                        # doctest: +SKIP
    """
    when = _when(since)
    if dry_run:
        return await resetplan.plan(stream, name, seq, when, ctx=ctx)
    if when is None:
        return await _consumers.reset(stream, name, seq, ctx=ctx)
    return await resetplan.reset_since(stream, name, seq, when, ctx=ctx)
