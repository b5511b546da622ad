"""Filters applied while reading, and columns taken from subjects and headers.

A :class:`Shape` is applied chunk by chunk (:meth:`jsmagic.reading.frames.Rows.matching`),
so a filtered replay only ever holds its matches:

* ``grep``: a regular expression searched in the raw payload bytes, before any decoding;
* ``headers``: ``K=V`` pairs a message's headers must all carry;
* ``where``: a pandas query over the chunk's decoded frame (payload columns plus ``seq``,
  ``subject``, ``time`` and the columns below); the frame built for it is kept with the
  chunk, so the matches are not decoded twice.

``subject_cols='orders.{region}.{kind}'`` turns named subject tokens into columns (``*``
skips a token, ``>`` the rest; a subject that does not fit gives nulls), and
``header_cols=['trace-id']`` turns header values into columns.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import InputError

META = ("seq", "subject", "time", "headers", "size", "consumer_seq", "num_delivered", "pending")


@dataclasses.dataclass
class Shape:
    """What to keep (``where``, ``grep``, ``headers``) and which columns to add."""

    where: str | None = None
    grep: str | None = None
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    subject_cols: str | None = None
    header_cols: list[str] = dataclasses.field(default_factory=list)
    _seen_rows: bool = dataclasses.field(default=False, repr=False)

    def __post_init__(self) -> None:
        try:
            self._grep = re.compile(self.grep.encode()) if self.grep else None
        except re.error as e:
            raise InputError(f"--grep: not a regular expression ({e})") from None
        self._subject = subject_pattern(self.subject_cols) if self.subject_cols else None

    @property
    def filters(self) -> bool:
        return bool(self.where or self.grep or self.headers)

    def __bool__(self) -> bool:
        return self.filters or bool(self.subject_cols or self.header_cols)

    def select(self, chunk: Any, rows: Any) -> Any:
        """The messages of ``chunk`` that pass every filter."""
        if self._grep is not None:
            rx = self._grep
            chunk = chunk.select(np.flatnonzero([rx.search(p) is not None for p in chunk.payloads()]))
        if self.headers:
            chunk = chunk.select(np.flatnonzero([_has_headers(h, self.headers) for h in chunk.headers]))
        if self.where and len(chunk):
            df = rows.frame_of([chunk], observe=False)  # the rows kept are recorded when kept
            mask = self._query(df)
            chunk = chunk.select(np.flatnonzero(mask))
            chunk.frame_cache = df[mask].reset_index(drop=True)
        return chunk

    def _query(self, df: pd.DataFrame) -> np.ndarray:
        """``where`` over one chunk's frame, as a boolean mask (a name missing from a later chunk matches nothing)."""
        try:
            mask = df.eval(self.where)
        except pd.errors.UndefinedVariableError as e:
            if self._seen_rows:  # a key that only some chunks carry
                return np.zeros(len(df), dtype=bool)
            cols = ", ".join(c for c in df.columns if c != "headers")
            raise InputError(f"--where: {e}", hint=f"the columns are: {cols}") from None
        except Exception as e:  # noqa: BLE001 -- pandas raises many kinds for a bad expression
            raise InputError(f"--where {self.where!r}: {type(e).__name__}: {e}",
                             hint="write a pandas query, e.g. --where \"amount > 100 and region == 'eu'\"") from None
        self._seen_rows = True
        if not isinstance(mask, pd.Series) or mask.dtype != bool:
            if isinstance(mask, pd.Series) and str(mask.dtype) == "boolean":
                return mask.fillna(False).to_numpy(dtype=bool)
            raise InputError(f"--where {self.where!r} is not a condition", hint="compare columns, e.g. amount > 100")
        return mask.to_numpy()

    def add_columns(self, df: pd.DataFrame) -> pd.DataFrame:
        """The frame with the subject-token and header columns, placed after the metadata columns."""
        new: dict[str, Any] = {}
        if self._subject is not None and len(df.columns):
            parts = df["subject"].astype(object).str.extract(self._subject, expand=True)
            for name in parts.columns:
                new[name] = parts[name].astype("str") if parts[name].notna().all() else parts[name]
        for name in self.header_cols:
            new[name] = pd.Series([_header(h, name) for h in df["headers"]], index=df.index, dtype=object)
        if not new:
            return df
        at = max(i for i, c in enumerate(df.columns) if c in META) + 1 if len(df.columns) else 0
        for k, (name, col) in enumerate(new.items()):
            df.insert(at + k, name if name not in df.columns else f"_{name}", col)
        return df


def subject_pattern(template: str) -> str:
    """``orders.{region}.{kind}`` → a regex with one named group per ``{name}`` token."""
    out, names = [], set()
    tokens = template.split(".")
    for i, tok in enumerate(tokens):
        m = re.fullmatch(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", tok)
        if m:
            if m.group(1) in names:
                raise InputError(f"--subject-cols: {{{m.group(1)}}} appears twice in {template!r}")
            names.add(m.group(1))
            out.append(f"(?P<{m.group(1)}>[^.]+)")
        elif tok == "*":
            out.append("[^.]+")
        elif tok == ">" and i == len(tokens) - 1:
            out.append(".+")
        elif "{" in tok or "}" in tok or not tok:
            raise InputError(f"--subject-cols: bad token {tok!r} in {template!r}",
                             hint="name whole tokens, e.g. 'orders.{region}.{kind}' (* skips one, > the rest)")
        else:
            out.append(re.escape(tok))
    if not names:
        raise InputError(f"--subject-cols {template!r} names no token", hint="e.g. 'orders.{region}.{kind}'")
    return "^" + r"\.".join(out) + "$"


def parse_header_filters(items: list[str]) -> list[tuple[str, str]]:
    """``["trace-id=abc"]`` → ``[("trace-id", "abc")]``; a pair without ``=`` is refused."""
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--header {item!r}: expected K=V", hint="e.g. --header trace-id=abc123")
        out.append((key, value))
    return out


def _header(headers: dict | None, name: str) -> Any:
    if not headers:
        return None
    if name in headers:
        return headers[name]
    low = name.lower()
    return next((v for k, v in headers.items() if k.lower() == low), None)


def _has_headers(headers: dict | None, wanted: list[tuple[str, str]]) -> bool:
    return bool(headers) and all(_header(headers, k) == v for k, v in wanted)
