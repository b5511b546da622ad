"""Live names (streams, consumers, buckets, objects) for Tab completion, from a cache the core fills.

A completion request comes on every Tab and must never make typing wait, nor run the
kernel's loop from inside itself.  So :func:`cached` answers from the cache at once; a
missing or stale entry is refreshed by a task on the context's loop (a kernel runs it as
soon as the completion request returns: the next Tab has the names) — or, where that loop is
not running at all (terminal IPython between cells, a script), by running it directly with
a one-second bound (no loop is re-entered).  After a magic that may change names,
:func:`changed` marks the cache stale and schedules the refresh of what Tab asked for.

Lookups that fail as lookups do (an unknown stream, a timeout, a closed connection) leave
the entry empty; anything else is a bug, kept in the context's errors (``%js_status``) and
logged, never raised into the frontend.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, Awaitable, Callable

import nats.errors
import nats.js.errors

from .errors import JSMagicError

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
LOOKUP_TIMEOUT = 1.0
KINDS = ("stream", "consumer", "bucket", "object")

_cache: dict[tuple, tuple[float, list[str]]] = {}  # (alias, kind, *args) -> (when fetched, names)
_refreshing: set[tuple] = set()


def _lookup(kind: str, args: tuple) -> Callable[[], Awaitable[list[str]]]:
    """The coroutine factory that lists names of ``kind``."""
    from ..admin import consumers, objects, streams

    async def objects_in(bucket: str) -> list[str]:
        return (await objects.list_objects(bucket))["name"].tolist()

    table = {"stream": streams.stream_names, "consumer": consumers.consumer_names,
             "bucket": objects.bucket_names, "object": objects_in}
    return lambda: table[kind](*args)


async def refresh(key: tuple, ctx: Any) -> list[str]:
    """Fetch the names of ``key`` (alias, kind, *args) into the cache; [] when the lookup fails."""
    _, kind, *args = key
    try:
        found = list(await asyncio.wait_for(_lookup(kind, tuple(args))(), LOOKUP_TIMEOUT))
    except (JSMagicError, nats.errors.Error, nats.js.errors.Error, asyncio.TimeoutError, TimeoutError) as e:
        log.debug("completion lookup of %s %s failed: %r", kind, args, e)
        found = []
    except asyncio.CancelledError:
        raise
    except Exception as e:  # noqa: BLE001 - a bug: kept and logged, never raised into the frontend
        ctx.note_error(f"completion of {kind} names failed: {type(e).__name__}: {e}".splitlines()[0])
        found = []
    finally:
        _refreshing.discard(key)
    _cache[key] = (time.monotonic(), found)
    return found


def _schedule(key: tuple, ctx: Any) -> None:
    """A refresh of ``key`` as a task the context owns (it waits for it, bounded, when closing)."""
    if key in _refreshing or ctx.loop is None or ctx.loop.is_closed():
        return
    _refreshing.add(key)
    if threading.current_thread() is threading.main_thread():
        ctx.own(refresh(key, ctx), name=f"names {key[1]}")
    else:
        ctx.loop.call_soon_threadsafe(lambda: ctx.own(refresh(key, ctx), name=f"names {key[1]}"))


def cached(kind: str, *args: str, ctx: Any = None) -> list[str]:
    """Names of ``kind`` now: fresh from the cache, else refreshed without re-entering a running loop."""
    from .registry import context

    ctx = ctx or context()
    if not ctx.connected:
        return []
    key = (ctx.alias, kind, *args)
    hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    if ctx.loop is not None and ctx.loop.is_running():  # a kernel: the loop refreshes it right after this request
        _schedule(key, ctx)
        return hit[1] if hit is not None else []
    if threading.current_thread() is not threading.main_thread():
        return hit[1] if hit is not None else []
    return ctx.run(refresh(key, ctx))  # nothing runs the loop now: run it (not nested), a second at most


def changed(ctx: Any, *hints: tuple) -> None:
    """Names may have changed (a magic ran): every entry goes stale; the ones Tab used, and ``hints``, refresh."""
    if ctx is None or not ctx.connected:
        _cache.clear()
        return
    keys = {k for k in _cache if k[0] == ctx.alias} | {(ctx.alias, *h) for h in hints}
    for key in keys:
        when, names = _cache.get(key, (0.0, []))
        _cache[key] = (0.0, names)  # stale, kept until the refresh lands: Tab still offers the old ones
        _schedule(key, ctx)


def clear() -> None:
    """Forget every cached name (unloading the extension, tests)."""
    _cache.clear()
