"""Run coroutines from synchronous magics on the kernel's own asyncio loop.

A Jupyter cell runs *inside* the kernel's running loop, so a synchronous magic cannot
simply ``run_until_complete``: the loop must be made re-entrant first.  We apply
``nest_asyncio2`` (what ipykernel itself uses) lazily, to that one loop, the first time
a magic needs it - never at import.  Without a running loop (terminal IPython, a
script) we use the loop the IPython layer registered (:func:`set_loop_provider`:
IPython's own asyncio loop, the one top-level ``await`` runs on), so objects created by
magics and by ``await`` in cells share one loop.

A kernel interrupt (SIGINT) during :func:`run` cancels the coroutine instead of
raising ``KeyboardInterrupt`` wherever the interpreter happens to be (which could be
inside nats-py's reader task and break the connection).  The coroutine sees
``CancelledError`` at an ``await``, cleans up, and may return what it has so far.
A second Ctrl-C during that clean-up cancels it again (a clean-up that waits on the
server stops waiting); it never raises inside the loop either.  Clean-ups that must
finish (deleting a consumer) run as tasks the context owns and waits for on close.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Awaitable, Callable, TypeVar

T = TypeVar("T")

_patched: set[int] = set()


_loop_provider: Callable[[], asyncio.AbstractEventLoop] | None = None


def set_loop_provider(provider: Callable[[], asyncio.AbstractEventLoop] | None) -> None:
    """Where to find the loop when none is running: the IPython layer gives IPython's asyncio loop.

    Loading the extension registers ``IPython.core.async_helpers.get_asyncio_loop``, the
    loop terminal IPython's top-level ``await`` runs on, so objects made by magics and by
    ``await`` in cells share one loop; the core itself never imports IPython.
    """
    global _loop_provider
    _loop_provider = provider


def current_loop() -> asyncio.AbstractEventLoop:
    """The loop jsmagic should live on: the running one, else the registered provider's, else this thread's."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    if _loop_provider is not None:
        return _loop_provider()
    try:
        return asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return loop


def _make_reentrant(loop: asyncio.AbstractEventLoop) -> None:
    """Apply nest_asyncio2 to ``loop`` once (only needed when it is already running)."""
    if id(loop) in _patched:
        return
    import nest_asyncio2

    nest_asyncio2.apply(loop)
    _patched.add(id(loop))


class Interrupted(KeyboardInterrupt):
    """Raised by :func:`run` when the user interrupted and the coroutine kept nothing."""

    def _render_traceback_(self) -> list[str]:
        """One line in a notebook, like jsmagic's errors (a traceback into the runner helps nobody)."""
        return ["\x1b[0;31mInterrupted: stopped before anything was kept; nothing is left running\x1b[0m"]


def run(coro: Awaitable[T], loop: asyncio.AbstractEventLoop | None = None) -> T:
    """Run ``coro`` to completion on ``loop`` from synchronous code and return its result.

    On SIGINT the coroutine is cancelled; if it handles the cancellation and returns a
    value (partial results), that value is returned, otherwise :class:`Interrupted`.
    """
    loop = loop or current_loop()
    if loop.is_closed():
        raise RuntimeError("the event loop jsmagic was bound to is closed")
    if loop.is_running():
        _make_reentrant(loop)
    task = asyncio.ensure_future(coro, loop=loop)
    interrupted = []

    def on_sigint(signum, frame):
        # never raise here: the signal lands wherever the interpreter is, maybe in nats-py's reader.
        # Every Ctrl-C cancels the task again (a second one stops a clean-up that waits on the server).
        interrupted.append(True)
        loop.call_soon_threadsafe(task.cancel)

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            if interrupted:
                raise Interrupted() from None
            raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if not task.done():  # interrupted hard (second Ctrl-C): do not leave it running
            task.cancel()



def check_cancelled() -> None:
    """Re-raise a cancellation (kernel interrupt) that an inner ``wait_for`` swallowed.

    Python 3.11's ``asyncio.wait_for`` (used inside nats-py) drops an outer cancel that
    races with the inner future completing; the task still counts it in ``cancelling()``.
    Long loops call this once per batch so an interrupt always stops them.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()
