"""The one place jsmagic switches Python's cyclic garbage collector off, and back.

A bulk replay builds millions of small objects that form no cycles; the collector,
triggered every few hundred allocations, re-walks them all and adds about 40% to the
load.  So a replay (not a follow, which runs for hours) pauses it: :func:`paused`.

The collector is process-wide, so the pause is counted: the first of any number of
concurrent replays (tasks or threads) records whether it was on and switches it off; the
last one to finish restores exactly that state.  Nothing else is touched (no thresholds,
no ``gc.freeze``).  A program that itself calls ``gc.disable()`` *during* a replay sees
the collector on again when the last replay ends (gc has no hook to notice the call):
such a program reads with ``JSMAGIC_GC_PAUSE=0`` in its environment, and jsmagic then
never touches the collector.  See ``docs/event-loop.md``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
from typing import Iterator

log = logging.getLogger(__name__)

_lock = threading.Lock()
_holders = 0
_was_enabled = False


def wanted() -> bool:
    """Whether jsmagic may pause the collector (``JSMAGIC_GC_PAUSE=0`` says no)."""
    return os.environ.get("JSMAGIC_GC_PAUSE", "1").strip().lower() not in ("0", "false", "no", "off")


def hold(active: bool = True) -> bool:
    """Pause the collector (when ``active`` and allowed); returns whether this caller holds a pause."""
    if not active or not wanted():
        return False
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    return True


def release(held: bool) -> None:
    """End a pause :func:`hold` gave; the last one restores the state the first one found."""
    global _holders
    if not held:
        return
    with _lock:
        _holders -= 1
        if _holders == 0 and _was_enabled:
            gc.enable()
            log.debug("garbage collector on again after the last replay")


@contextlib.contextmanager
def paused(active: bool = True) -> Iterator[None]:
    """The cyclic collector off while the block runs (when ``active``); the state found, restored."""
    held = hold(active)
    try:
        yield
    finally:
        release(held)
