"""The live views displayed and not yet ended: at kernel shutdown each becomes its snapshot.

A view's output is replaced by its static HTML through its display id when it ends; a
kernel that shuts down with views still live ends them all (:func:`finish_all`, run at
exit and by ``docs/generate.py`` after the last cell), so a saved or rendered notebook
shows tables, never "model not found" or a widget frozen at "● live".
"""

from __future__ import annotations

import atexit
import logging
import weakref
from typing import Any

log = logging.getLogger("jsmagic.ui.liveshown")

_SHOWN: "weakref.WeakSet[Any]" = weakref.WeakSet()  # displayed and not yet ended


def track(view: Any) -> None:
    """``view`` (anything with ``finish(note=...)``) is displayed and live."""
    if not _SHOWN:
        atexit.register(finish_all)
    _SHOWN.add(view)


def untrack(view: Any) -> None:
    _SHOWN.discard(view)


def finish_all(note: str | None = "kernel shut down") -> int:
    """End every displayed live view: each output becomes its snapshot; returns how many were ended.

    ``note``: said in each header (None keeps each view's own).
    """
    views = list(_SHOWN)
    for view in views:
        try:
            view.finish(note=note)
        except Exception as e:  # noqa: BLE001 -- the kernel's channels may already be gone: best effort (logged)
            log.debug("finishing a live view at shutdown failed: %r", e)
    atexit.unregister(finish_all)
    return len(views)
