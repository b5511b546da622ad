"""How results look in a notebook: frames limited to ``JSMagic.display_limit`` rows with a footer.

Magics return a :class:`ResultFrame`: a complete pandas DataFrame (``df = %js_consume …``
gets every row) whose *display* shows only the first ``display_limit`` rows, a footer
``showing 20 of 1,000,000 rows`` and the magic's one-line summary.  Anything derived from
it (``df[df.qty > 2]``) is a plain DataFrame again.
"""

from __future__ import annotations

import html

import pandas as pd

from ..core.config import settings


class ResultFrame(pd.DataFrame):
    """A DataFrame that displays at most ``JSMagic.display_limit`` rows, with a summary line."""

    _metadata = ["summary"]

    @property
    def _constructor(self):
        return pd.DataFrame

    def _limited(self) -> tuple[pd.DataFrame, str]:
        limit = settings().display_limit
        footer = f"showing {min(limit, len(self)):,} of {len(self):,} rows" if len(self) > limit else ""
        return pd.DataFrame(self).head(limit), footer

    def _notes(self, footer: str) -> list[str]:
        return [n for n in (getattr(self, "summary", None), footer) if n]

    def __repr__(self) -> str:
        head, footer = self._limited()
        return "\n".join([repr(head), *self._notes(footer)])

    def _repr_html_(self) -> str:
        head, footer = self._limited()
        notes = "".join(f"<div><small>{html.escape(n)}</small></div>" for n in self._notes(footer))
        return (head._repr_html_() or "") + notes


def result_frame(df: pd.DataFrame, summary: str | None = None) -> ResultFrame:
    """Wrap ``df`` (no copy) so it displays limited, with ``summary`` underneath."""
    out = ResultFrame(df, copy=False)
    out.summary = summary
    return out
