"""Permission refusals: turn the server's asynchronous -ERR into a clear, immediate error.

The server answers a publish or subscribe that the user's permissions forbid with an
asynchronous -ERR; nats-py only hands it to the error callback, so the publish "works"
and a JetStream publish just times out.  We keep the refusals per connection so that
core code can turn them into a clear PermissionDeniedError (and at once, not after the
timeout).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from typing import Any, Awaitable

from ..core.errors import PermissionDeniedError

logger = logging.getLogger(__name__)  # "log" names the refusals log here

_PERMISSION = re.compile(r"permissions violation for (publish|subscription) to \"?([^\"']+)", re.IGNORECASE)
_refusals: "weakref.WeakKeyDictionary[Any, Refusals]" = weakref.WeakKeyDictionary()


class Refusals:
    """The permission refusals the server sent on one connection (the last 100)."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str, str]] = []  # (monotonic time, "publish"/"subscribe", subject)
        self.changed = asyncio.Event()

    def note(self, e: BaseException) -> None:
        """Record ``e`` if it is a permissions violation."""
        m = _PERMISSION.search(str(e))
        if m is None:
            return
        op = "publish" if m.group(1).lower() == "publish" else "subscribe"
        self.seen = [*self.seen[-99:], (time.monotonic(), op, m.group(2))]
        self.changed.set()

    def find(self, op: str, subject: str, since: float) -> PermissionDeniedError | None:
        """The error for a refusal of ``op`` on ``subject`` noted after ``since``."""
        for when, seen_op, seen_subject in reversed(self.seen):
            if when >= since and seen_op == op and seen_subject == subject:
                return permission_denied(op, subject)
        return None


    def subjects_since(self, op: str, since: float) -> list[str]:
        """Subjects whose ``op`` was refused after ``since`` (oldest first, no repeats)."""
        return list(dict.fromkeys(s for when, o, s in self.seen if when >= since and o == op))


def permission_denied(op: str, subject: str) -> PermissionDeniedError:
    """The one-line error for a refused publish/subscribe."""
    return PermissionDeniedError(f"permission denied: this user may not {op} to {subject!r}")


def track(nc: Any, log: Refusals) -> None:
    """Keep ``log`` (filled by the connection's error callback) as ``nc``'s refusal log."""
    _refusals[nc] = log


def refusals(nc: Any) -> Refusals:
    """The refusal log of a connection opened by :func:`open_connection` (empty otherwise)."""
    log = _refusals.get(nc)
    if log is None:
        log = _refusals[nc] = Refusals()
    return log


def refused(nc: Any, subject: str, op: str = "publish", since: float = 0.0) -> PermissionDeniedError | None:
    """The PermissionDeniedError if the server refused ``op`` on ``subject`` (after ``since``).

    For callers that got a timeout from a JetStream publish: was it really a refusal?
    """
    return refusals(nc).find(op, subject, since)


async def barrier(nc: Any, timeout: float = 5) -> None:
    """Return once the server has processed everything sent before (and answered it).

    One ``nc.flush()`` is not enough: nats-py writes its PING straight to the socket
    while earlier PUB/SUB commands may still wait in its pending buffer for the flusher
    task, so the PONG can come back before the server saw them.  The first round trip
    lets the flusher run; the second PING then travels behind every earlier command.
    """
    await nc.flush(timeout)
    await nc.flush(timeout)


async def publish_checked(nc: Any, subject: str, payload: bytes = b"", headers: dict | None = None, timeout: float = 5) -> None:
    """Core publish that raises PermissionDeniedError when the server refuses the subject.

    The :func:`barrier` makes the server's answer arrive before we return: it sends
    the -ERR before the PONG.
    """
    since = time.monotonic()
    await nc.publish(subject, payload, headers=headers)
    await barrier(nc, timeout)
    error = refused(nc, subject, "publish", since)
    if error is not None:
        raise error


async def subscribe_checked(nc: Any, subject: str, timeout: float = 5, **kwargs: Any) -> Any:
    """``nc.subscribe`` that unsubscribes and raises PermissionDeniedError when refused."""
    since = time.monotonic()
    sub = await nc.subscribe(subject, **kwargs)
    await barrier(nc, timeout)
    error = refused(nc, subject, "subscribe", since)
    if error is not None:
        try:
            await sub.unsubscribe()
        except Exception as e:  # noqa: BLE001 - the refusal is what the user needs to hear
            logger.debug("unsubscribe after a refused subscribe to %s: %r", subject, e)
        raise error
    return sub


async def js_publish_checked(js: Any, nc: Any, subject: str, payload: bytes = b"", **kwargs: Any) -> Any:
    """``js.publish`` that fails at once with PermissionDeniedError instead of timing out."""
    since = time.monotonic()
    log = refusals(nc)
    return await _unless_refused(js.publish(subject, payload, **kwargs), log, "publish", subject, since)


async def _unless_refused(coro: Awaitable[Any], log: Refusals, op: str, subject: str, since: float) -> Any:
    """Await ``coro`` unless the server refuses ``op`` on ``subject`` first."""
    task = asyncio.ensure_future(coro)
    try:
        while True:
            log.changed.clear()
            error = log.find(op, subject, since)
            if error is not None:
                raise error
            waiter = asyncio.ensure_future(log.changed.wait())
            try:
                await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
            if task.done():
                error = log.find(op, subject, since)
                if error is not None and task.exception() is not None:
                    raise error from None
                return task.result()
    finally:
        if not task.done():
            task.cancel()
            for outcome in await asyncio.gather(task, return_exceptions=True):  # a cancel of this task propagates
                logger.debug("abandoned %s to %s ended with %r", op, subject, outcome)
