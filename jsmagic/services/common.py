"""What the services share: read notes as warnings, and live results as async iterators."""

from __future__ import annotations

import logging
import warnings
from typing import Any, AsyncIterator, Awaitable, Callable, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class ReadWarning(UserWarning):
    """A read or listing came back with notes: what the summary line of its magic would say.

    The notes are on the frame too (`df.attrs["notes"]`).  Make them errors with
    `warnings.simplefilter("error", jsmagic.ReadWarning)`, or `replay(..., strict=True)`.
    """


def warn_notes(frame: Any, what: str = "", stacklevel: int = 3) -> Any:
    """Warn each note of `frame.attrs["notes"]` as a `ReadWarning`; returns `frame`."""
    for note in getattr(frame, "attrs", {}).get("notes") or []:
        warnings.warn(f"{what}: {note}" if what else note, ReadWarning, stacklevel=stacklevel)
    return frame


class Feed:
    """Where a live result's callbacks put what they see (holds no reference back to the `Live`).

    Keeping the callbacks free of the `Live` lets a `Live` left by a bare `break` be
    collected at once (no reference cycle), which stops its watch.
    """

    END = object()

    def __init__(self) -> None:
        import asyncio

        self.queue: asyncio.Queue = asyncio.Queue()

    def put(self, item: Any) -> None:
        """One more item for the `async for`."""
        self.queue.put_nowait(item)

    def end(self, error: BaseException | None = None) -> None:
        """The end: the `async for` stops (or raises `error`)."""
        self.queue.put_nowait(error if error is not None else self.END)


class Live(Generic[T]):
    """A live result: an async iterator of changes that owns what it started on the server.

    `async for item in live` yields as things happen.  Leaving the loop (`break`, an
    exception, a cancelled task) or `aclose` stops it and deletes its consumer;
    `async with live:` makes the stop happen at the end of the block, deterministically.
    `live.handle` is the core object behind it (its `.df` holds everything so far).
    Items wait in memory until the loop takes them: a loop that cannot keep up with a busy
    bucket or stream reads `live.handle.df` (bounded) instead.
    """

    def __init__(self, start: Callable[[Feed], Awaitable[Any]], stop: Callable[[Any], Awaitable[None]]) -> None:
        self.handle: Any = None
        self._start, self._stop = start, stop
        self._feed = Feed()
        self._started = self._closed = False

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        if self._closed:
            raise StopAsyncIteration
        await self.start()
        try:
            item = await self._feed.queue.get()
        except BaseException:  # cancelled while waiting: stop what runs, then let the cancel through
            await self.aclose()
            raise
        if item is Feed.END:
            await self.aclose()
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            await self.aclose()
            raise item
        return item

    async def start(self) -> "Live[T]":
        """Start now rather than at the first `async for` step (a watch's consumer then exists)."""
        if not self._started:
            self._started = True
            try:
                self.handle = await self._start(self._feed)
            except BaseException:
                self._closed = True
                raise
        return self

    async def aclose(self) -> None:
        """Stop: the background read ends and its consumer is deleted before this returns."""
        if self._closed:
            return
        self._closed = True
        if self.handle is not None:
            await self._stop(self.handle)

    async def __aenter__(self) -> "Live[T]":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    def __del__(self) -> None:
        if not (self._started and not self._closed and self.handle is not None):
            return
        loop = getattr(getattr(self.handle, "ctx", None), "loop", None)
        try:  # left without aclose (a bare break): cancel the task; its finally deletes the consumer
            if loop is None or _running_loop() is loop:
                self.handle.stop()
            else:  # collected in another thread: stop it on its own loop
                loop.call_soon_threadsafe(self.handle.stop)
        except RuntimeError:  # the loop is already closed: the context's close ended it
            log.debug("live result collected after its loop closed")


def _running_loop() -> Any:
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def when(value: Any) -> Any:
    """A time in the magics' words: a datetime as is (naive means UTC), ISO text, or a duration meaning ago (`"2h"`)."""
    import datetime as dt

    from ..core.units import parse_when

    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return parse_when(value)
