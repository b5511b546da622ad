"""Distributed counters (server 2.12), as `nats counter` has them: `incr`, `decr`, `get`, `view`, `ls`.

A counter is a subject of a stream created with `allow_counter=True`; values are Python
ints, exact however large.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..admin import counters as _counters
from ..core.context import JSContext

__all__ = ["incr", "decr", "get", "view", "ls"]

Ctx = JSContext | str | None


async def incr(subject: str, value: int | str = 1, *, ctx: Ctx = None) -> int:
    """Add `value` (may be negative) to the counter on `subject` (`%js_counter incr`).

    Parameters
    ----------
    subject : str
        A subject of a counter stream.
    value : int or str
        The increment (`5`, `-3`, a 30-digit string).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    int
        The counter's new value, from the server's ack.

    Examples
    --------
    >>> await jsmagic.streams.add("HITS", subjects="hits.>", allow_counter=True)   # doctest: +SKIP
    >>> await jsmagic.counters.incr("hits.home", 5)
    5
    """
    return await _counters.incr(subject, value, ctx=ctx)


async def decr(subject: str, value: int | str = 1, *, ctx: Ctx = None) -> int:
    """Subtract `value` from the counter on `subject` (`%js_counter decr`).

    Parameters
    ----------
    subject : str
    value : int or str
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    int
        The new value.

    Examples
    --------
    >>> await jsmagic.counters.decr("hits.home")   # doctest: +SKIP
    4
    """
    return await _counters.decr(subject, value, ctx=ctx)


async def get(subject: str, *, ctx: Ctx = None) -> int:
    """The counter's value (`%js_counter get`).

    Parameters
    ----------
    subject : str
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    int

    Examples
    --------
    >>> await jsmagic.counters.get("hits.home")   # doctest: +SKIP
    4
    """
    return await _counters.get(subject, ctx=ctx)


async def view(subject: str, *, ctx: Ctx = None) -> dict[str, Any]:
    """One counter in detail: value, last increment, sequence, time, stream, sources (`%js_counter view`).

    Parameters
    ----------
    subject : str
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    dict

    Examples
    --------
    >>> (await jsmagic.counters.view("hits.home"))["value"]   # doctest: +SKIP
    4
    """
    return await _counters.view(subject, ctx=ctx)


async def ls(stream: str, subject: str | None = None, *, ctx: Ctx = None) -> pd.DataFrame:
    """A counter stream's subjects and values (`%js_counter ls`).

    Parameters
    ----------
    stream : str
    subject : str, optional
        A subject filter (`hits.>`).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `subject`, `value`, `last_increment`, `seq`, `time`.

    Examples
    --------
    >>> await jsmagic.counters.ls("HITS")   # doctest: +SKIP
    """
    return await _counters.list_counters(stream, subject, ctx=ctx)
