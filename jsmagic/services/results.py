"""A finished read, checked: complete with its notes warned, or an `IncompleteError` holding what arrived."""

from __future__ import annotations

import warnings
from typing import Any

from ..core.errors import IncompleteError
from ..core.units import plural
from .common import ReadWarning

SHORT = "SHORT"  # a note that starts with this word says rows are missing (the engine could not read them all)


def checked(result: Any, strict: bool = False, frame: Any = None) -> Any:
    """A finished replay's frame carrying its notes, or `IncompleteError` when it is short.

    Parameters
    ----------
    result : Replay
        What `jsmagic.reading.reader.replay` returned.
    strict : bool
        Raise on any note too.
    frame : optional
        The result in another form (an Arrow table, a Polars frame); `result.frame` by default.

    Returns
    -------
    The frame, `attrs["notes"]` and `attrs["method"]` set when it is pandas.
    """
    frame = result.frame if frame is None else frame
    notes, stream = list(result.notes), result.stream
    if hasattr(frame, "attrs"):
        frame.attrs["notes"], frame.attrs["method"] = notes, result.method
    said = f" ({'; '.join(notes)})" if notes else ""
    if result.failed:
        raise IncompleteError(f"{stream}: the read failed ({result.failed}) after {plural(result.acknowledged, 'message')} "
                              f"were {result.action}ed as they arrived; every one of them is in the error's .frame",
                              frame=frame)
    if result.interrupted or result.timed_out:
        why = "interrupted" if result.interrupted else "no message arrived within the timeout"
        raise IncompleteError(f"replay of {stream} stopped early ({why}) after {plural(len(frame), 'message')}{said}",
                              frame=frame, hint="raise timeout=, or read again from the last seq")
    short = [n for n in notes if n.startswith(SHORT)]
    if short:
        raise IncompleteError(f"replay of {stream} came back short with {plural(len(frame), 'message')}: {'; '.join(short)}",
                              frame=frame, hint="read it again")
    if strict and notes:
        raise IncompleteError(f"replay of {stream} has notes (strict=True) with {plural(len(frame), 'message')}{said}",
                              frame=frame, hint="the frame is in the error's .frame; strict=False returns it with warnings")
    for note in notes:
        warnings.warn(f"replay of {stream}: {note}", ReadWarning, stacklevel=3)
    return frame


def checked_export(result: Any, strict: bool = False) -> Any:
    """An export's `Export`, or `IncompleteError` when the file is short."""
    out = result.export
    notes = list(result.notes)
    said = f" ({'; '.join(notes)})" if notes else ""
    short = [n for n in notes if n.startswith(SHORT)]
    stopped = ("interrupted" if result.interrupted else "no message arrived within the timeout" if result.timed_out
               else "; ".join(short) if short else "it has notes (strict=True)" if strict and notes else None)
    if stopped:
        raise IncompleteError(f"export of {result.stream} is short ({stopped}): {plural(out.rows, 'message')} written to "
                              f"{out.path}, a valid file{said}", frame=out, hint="export again")
    for note in notes:
        warnings.warn(f"export of {result.stream}: {note}", ReadWarning, stacklevel=3)
    return out
