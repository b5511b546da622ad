"""How results look in a notebook: frames limited to ``JSMagic.display_limit`` rows with a footer.

Magics return a :class:`ResultFrame`: a complete pandas DataFrame (``df = %js_consume …``
gets every row) whose *display* shows the first and last rows up to ``display_limit``, a
footer ``showing 10 + 10 of 1,000,000 rows``, times as ``2026-11-28 17:15:06.665`` (the full
value stays in the frame), no all-empty ``headers`` column, and the magic's one-line summary.
``only=("error", "duplicate")`` shows just the rows where one of those columns is set (a
publish shows its failures and duplicates; every ack stays in the frame).  Anything derived from it (``df[df.qty > 2]``) is a plain
DataFrame again.
"""

from __future__ import annotations

import html
import weakref
from typing import Any

import pandas as pd

from ..core.config import settings
from .tablestyle import format_time


class ResultFrame(pd.DataFrame):
    """A DataFrame that displays at most ``JSMagic.display_limit`` rows, with a summary line."""

    _metadata = ["summary", "only", "shown", "quiet", "formats"]

    @property
    def _constructor(self):
        return pd.DataFrame

    def _limited(self) -> tuple[pd.DataFrame | None, str]:
        self.shown = True  # the summary reached the cell's output with the table (see magics.base)
        if getattr(self, "quiet", None) is not None and self.quiet == _cell_number():
            return None, ""  # -o NAME: this cell shows the summary; the variable shows the table later
        df = pd.DataFrame(self)
        only = [c for c in getattr(self, "only", None) or () if c in df.columns]
        if getattr(self, "only", None):
            mask = pd.Series(False, index=df.index)
            for c in only:
                mask |= df[c].notna() & (df[c] != False)  # noqa: E712 - set: a text, or True
            df = df[mask]
            if not len(df):
                return None, ""
        limit = settings().display_limit
        footer = ""
        total = len(df)
        if total > limit:
            first = (limit + 1) // 2
            df = pd.concat([df.head(first), df.tail(limit - first)])
            footer = f"showing the first {first:,} and last {limit - first:,} of {total:,} rows"
        if "headers" in df.columns and df["headers"].isna().all():
            df = df.drop(columns=["headers"])
        formats = getattr(self, "formats", None) or {}
        for col in df.columns:
            if col in formats:  # e.g. bytes shown as KiB/MiB, the frame keeps the number
                df = df.assign(**{col: df[col].map(formats[col])})
            elif pd.api.types.is_datetime64_any_dtype(df[col]):
                df = df.assign(**{col: df[col].map(format_time)})
        return df, footer

    def _notes(self, footer: str) -> list[str]:
        return [n for n in (getattr(self, "summary", None), footer) if n]

    def __repr__(self) -> str:
        head, footer = self._limited()
        lines = [repr(head)] if head is not None else []
        return "\n".join([*lines, *self._notes(footer)])

    def _repr_html_(self) -> str:
        head, footer = self._limited()
        notes = "".join(f"<div><small>{html.escape(n)}</small></div>" for n in self._notes(footer))
        return ((head._repr_html_() or "") if head is not None else "") + notes


def _cell_number() -> int | None:
    from IPython import get_ipython

    shell = get_ipython()
    return shell.execution_count if shell is not None else None


def result_frame(df: pd.DataFrame, summary: str | None = None, only: tuple[str, ...] = (),
                 formats: dict | None = None) -> ResultFrame:
    """Wrap ``df`` (no copy) so it displays limited, with ``summary`` underneath; ``formats``: column -> display text."""
    out = ResultFrame(df, copy=False)
    out.attrs.update(df.attrs)  # the constructor drops them: what the core said (missing, notes) stays on the result
    out.summary = summary
    out.only = only
    out.shown = False
    out.quiet = None
    out.formats = formats
    return out


def noted(df: pd.DataFrame, summary: str) -> str:
    """``summary`` led by the core's notes on ``df`` (``attrs["notes"]``: what a listing could not list)."""
    return "; ".join([*(df.attrs.get("notes") or []), summary])


def said(obj: Any) -> Any:
    """``obj``, which its magic has already announced in a sentence: returned unassigned, it shows nothing more.

    ``%js_connect`` prints "Connected to …", a backup its sentence, a ``--follow`` its live
    table; the object itself is still returned (``ctx = %js_connect``), but the cell that
    made it does not add its repr under the sentence.  In later cells it shows as usual.
    Uses IPython's public formatter API (``for_type``), removed again when the cell ends.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return obj
    shell = get_ipython()
    if shell is None:
        return obj
    formatter = shell.display_formatter.ipython_display_formatter
    kind = type(obj)
    quiet = _SAID.setdefault(kind, [])
    if not quiet:  # the first in this cell: others of the type show as usual, this one not at all

        def printer(o: Any) -> None:
            if any(o is q() for q in _SAID.get(kind, ())):
                return
            formatter.pop(kind, None)  # as usual: IPython's own formatters, without this printer
            try:
                from IPython.display import display

                display(o)
            finally:
                formatter.for_type(kind, printer)

        formatter.for_type(kind, printer)

        def cell_ended(*_a: Any) -> None:
            shell.events.unregister("post_execute", cell_ended)
            _SAID.pop(kind, None)
            formatter.pop(kind, None)

        shell.events.register("post_execute", cell_ended)
    quiet.append(_ref(obj))  # weak: a shell whose cells never end (a script) keeps no frame alive
    return obj


def _ref(obj: Any) -> Any:
    try:
        return weakref.ref(obj)
    except TypeError:  # not weakly referable: held until the cell ends
        return lambda: obj


_SAID: dict[type, list] = {}
