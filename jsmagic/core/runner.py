"""Run coroutines from synchronous code (a magic, ``read_stream``) without changing the process.

The strategy is written down in ``docs/event-loop.md``; in short:

* Nothing is patched at import, and no process-wide switch stays changed after a call.
* A Jupyter cell runs *inside* the kernel's running loop, so a synchronous magic cannot
  simply ``run_until_complete``: for the duration of :func:`run` that one loop *instance*
  is made re-entrant (:func:`reentrant`: its class is swapped for a private subclass that
  ``nest_asyncio2``'s loop patch is applied to) and put back when the call returns.  The
  ``asyncio`` module, its Task/Future classes, the event-loop policy, ``asyncio.run``,
  tornado and every other loop of the process are left alone.
* Without a running loop (terminal IPython, a script) we use the loop the IPython layer
  registered (:func:`set_loop_provider`: IPython's own asyncio loop, the one top-level
  ``await`` runs on) so objects created by magics and by ``await`` in cells share one loop;
  in any thread but the main one, that thread's own loop.
* Synchronous entry points that open a connection of their own (``jsmagic.dask``) use
  :func:`run_apart`: ``asyncio.run`` when no loop runs in this thread, else a fresh loop in
  a helper thread (a Jupyter cell, before or after any magic ran).

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
import concurrent.futures
import contextlib
import signal
import threading
from typing import Any, Awaitable, Callable, Coroutine, Iterator, TypeVar

T = TypeVar("T")

_reentrant_classes: dict[type, type] = {}  # a loop class -> its private re-entrant subclass
_depth: dict[int, int] = {}  # id(loop) -> how many run() calls are nested on it now
_lock = threading.Lock()


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
    if _loop_provider is not None and threading.current_thread() is threading.main_thread():
        return _loop_provider()  # IPython's loop belongs to the main thread; another thread gets its own
    try:
        return asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return loop


def _make_reentrant(loop: asyncio.AbstractEventLoop) -> type:
    """Swap ``loop``'s class for its private re-entrant subclass; returns the original class."""
    cls = type(loop)
    sub = _reentrant_classes.get(cls)
    if sub is None:
        sub = _reentrant_classes[cls] = type(f"Reentrant{cls.__name__}", (cls,), {"__module__": __name__})
    loop.__class__ = sub
    if not getattr(sub, "_nest_patched", False):
        import nest_asyncio2

        # nest_asyncio2's public apply() also patches the asyncio module, the policy, tornado
        # and the loop's class; its loop patch alone, on our subclass, touches only this loop
        nest_asyncio2._patch_loop(loop)
    return cls


@contextlib.contextmanager
def reentrant(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Make this one running ``loop`` re-entrant while the block runs, then put it back.

    Only the instance changes (its ``__class__`` becomes a private subclass carrying
    nest_asyncio2's loop methods): other loops, ``asyncio``'s module functions, its C
    Task/Future, the policy and ``asyncio.run`` stay as they are.  Nested calls share the
    swap; the outermost one restores the class.  A loop already patched by someone else
    (``nest_asyncio2.apply()`` in the user's own code) is used as it is.
    """
    cls = type(loop)
    if getattr(cls, "_nest_patched", False) and id(loop) not in _depth:
        yield  # re-entrant already (someone applied nest_asyncio to its class): not ours to undo
        return
    with _lock:
        first = _depth.get(id(loop), 0) == 0
        if first:
            original = _make_reentrant(loop)
        _depth[id(loop)] = _depth.get(id(loop), 0) + 1
    try:
        yield
    finally:
        with _lock:
            _depth[id(loop)] -= 1
            if _depth[id(loop)] == 0:
                del _depth[id(loop)]
                if first:
                    loop.__class__ = original


def is_reentrant(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop`` is inside a :func:`reentrant` block now (tests and docs check it is not, after a call)."""
    return id(loop) in _depth


def run_apart(coro: Coroutine[Any, Any, T]) -> T:
    """Run a self-contained ``coro`` (it opens and closes its own connection) to completion.

    With no loop running in this thread: ``asyncio.run``.  Inside a running loop (a
    Jupyter cell, a coroutine calling synchronous code): on a fresh loop in a helper
    thread, waited for here, so nothing is patched and the caller's loop is not re-entered.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="jsmagic-apart") as pool:
        return pool.submit(asyncio.run, coro).result()


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
        with reentrant(loop):
            return _run(coro, loop)
    return _run(coro, loop)


def _run(coro: Awaitable[T], loop: asyncio.AbstractEventLoop) -> T:
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
