"""Offline assets (server 2.12+): a stream or consumer the server found on disk but cannot load.

The server names them in a listing's ``offline`` (name -> reason, e.g. ``unsupported -
required API level: 99, current API level: 5`` for a consumer written by a newer server,
``stopped - unsupported consumer "C"`` for the stream that holds it) and answers an info
request with error 10194 (stream) or 10195 (consumer).  An offline asset still exists: the
listings show it as a row with the server's reason (:func:`with_offline`), and a request
about it is one line naming that reason and what to do (:func:`offline_error`).
"""

from __future__ import annotations

import nats.js.errors
import pandas as pd

from ..core.context import JSContext
from ..core.errors import JSMagicError, not_found
from ..core.registry import connected

NO_LEADER = "no leader"  # what a listing says of an asset the server counted but could not reach (not offline)
STREAM_OFFLINE = 10194  # "stream is offline: {reason}"
CONSUMER_OFFLINE = 10195  # "consumer is offline: {reason}"
STREAM_NOT_FOUND = 10059
HINT = ("the server found it on disk but cannot load it (written by a newer nats-server, or damaged): "
        "run a nats-server that supports it and it loads again; %js_stream report lists what is offline")


def offline_reason(exc: BaseException) -> str | None:
    """The server's reason when ``exc`` is its "stream/consumer is offline" answer, else None."""
    if not isinstance(exc, nats.js.errors.APIError) or exc.err_code not in (STREAM_OFFLINE, CONSUMER_OFFLINE):
        return None
    text = exc.description or ""
    return text.split("offline: ", 1)[1] if "offline: " in text else text


def offline_error(what: str, reason: str) -> JSMagicError:
    """``stream OFF is offline: stopped - unsupported consumer "C" — <what to do>`` (``what``: ``stream OFF``…)."""
    return JSMagicError(f"{what} is offline: {reason}", hint=HINT)


async def stream_offline(stream: str, *, ctx: JSContext | None = None) -> str | None:
    """None when ``stream`` is loaded, the server's reason when it is offline; "did you mean" when unknown.

    What a consumer listing asks first: the consumers of an offline stream still list
    (``CONSUMER.LIST`` answers, with the offline ones in its ``offline``).
    """
    ctx = await connected(ctx)
    try:
        await ctx.api.request(f"STREAM.INFO.{stream}")
    except nats.js.errors.APIError as e:
        if (why := offline_reason(e)) is not None:
            return why
        if e.err_code == STREAM_NOT_FOUND:
            raise not_found("stream", stream, sorted(await ctx.api.paged("STREAM.NAMES", "streams"))) from None
        raise
    return None


def with_offline(frame: pd.DataFrame, missing: dict[str, str], counts: list[str]) -> pd.DataFrame:
    """Add a row per offline asset (name and the server's reason; nothing else is known), counts as nullable ints.

    ``frame`` has an ``offline`` column ("" on the loaded rows); ``missing`` is a listing's
    ``attrs["missing"]`` (an asset without a leader is no row: it is not offline).
    """
    offline = {n: why for n, why in missing.items() if why != NO_LEADER}
    if not offline:
        return frame
    rows = pd.DataFrame([{"name": n, "offline": why} for n, why in offline.items()], columns=frame.columns)
    attrs = dict(frame.attrs)
    frame = pd.concat([frame.astype({c: "Int64" for c in counts}), rows.astype({c: "Int64" for c in counts})],
                      ignore_index=True)
    frame = frame.sort_values("name", ignore_index=True)
    frame.attrs.update(attrs)
    return frame
