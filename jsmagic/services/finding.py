"""Where a subject is stored, and what a consumer reset would deliver again.

`find` is `%js_stream find SUBJECT`; `reset_plan` and `reset_since` are
`%js_consumer reset STREAM NAME --dry-run` and `--since TIME` (a plain reset to a
sequence is `jsmagic.consumers.reset`).  Times are the magics' words: `"2h"` ago,
ISO/RFC 3339 text, or a datetime (naive means UTC).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from ..admin import find as _find, resetplan
from ..core.context import JSContext
from .common import when

__all__ = ["find", "reset_plan", "reset_since"]

Ctx = JSContext | str | None
When = str | dt.datetime | None


async def find(subject: str, *, all: bool = False, ctx: Ctx = None) -> pd.DataFrame:  # noqa: A002 - the magic's flag
    """Every stream that captures `subject`, with its message count for it (`%js_stream find`).

    Own subjects, sources (with their filters and transforms) and mirrors are followed.

    Parameters
    ----------
    subject : str
        A subject or wildcard: `"orders.eu.>"`.
    all : bool
        Also Key-Value (`KV_`) and object-store (`OBJ_`) streams.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `stream`, `messages` (the server's count for `subject` there), `via`,
        `stream_messages`, `subjects`; `attrs["notes"]` names streams that could not be listed.

    Examples
    --------
    >>> await find("orders.eu.>")   # doctest: +SKIP
    """
    return await _find.find(subject, all, ctx=ctx)


async def reset_plan(stream: str, name: str, seq: int | None = None, *, since: When = None,
                     ctx: Ctx = None) -> resetplan.ResetPlan:
    """What a reset of a consumer would deliver again; changes nothing (`%js_consumer reset --dry-run`).

    Parameters
    ----------
    stream, name : str
        The stream and the consumer.
    seq : int, optional
        Deliver again from this stream sequence (default: the consumer's ack floor).
    since : str or datetime, optional
        Or from the first message stored at or after this time (`"2h"`, ISO text, a datetime).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    ResetPlan
        `from_seq`, `messages`, `bytes`, `pending_now`, `filters`; its repr is one sentence.

    Examples
    --------
    >>> await reset_plan("ORDERS", "billing", since="2h")   # doctest: +SKIP
    Dry run: reset ORDERS > billing to stream sequence 1,041 would deliver 160 messages …
    """
    return await resetplan.plan(stream, name, seq, when(since), ctx=ctx)


async def reset_since(stream: str, name: str, seq: int | None = None, *, since: When = None,
                      ctx: Ctx = None) -> dict[str, Any]:
    """Reset a consumer to `seq` or to the first message at or after `since` (`%js_consumer reset --since`).

    Parameters
    ----------
    stream, name : str
        The stream and the consumer.
    seq : int, optional
        The stream sequence to deliver again from (or `since`, not both).
    since : str or datetime, optional
        The first message stored at or after this time.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    dict
        The server's answer (`delivered`, `num_pending`…).

    Examples
    --------
    >>> await reset_since("ORDERS", "billing", since="2h")   # doctest: +SKIP
    """
    return await resetplan.reset_since(stream, name, seq, when(since), ctx=ctx)
