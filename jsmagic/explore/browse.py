"""A stream browser's pages, read by get: no consumer is ever created (any retention is safe).

:class:`Browser` keeps a position in a stream (on a subject filter) and reads one page of
messages at a time through the read engine's consumer-less reader
(:func:`jsmagic.reading.get.read_by_get`: batched direct get when the stream allows it, else
pipelined ``STREAM.MSG.GET``; the server's statuses are told from stored messages there).
It pages forward and back (interior deletes and a filter skip nothing: each read asks for
the next message on the filter), jumps to a sequence or a time, and says which
``%js_consume`` line reads the same page.  :attr:`Browser.page` is a DataFrame: ``seq,
subject, time, size, headers, value`` (+ ``decode_error``), the payloads decoded by the
registry (:mod:`jsmagic.core.decode`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pandas as pd

from ..core.context import JSContext
from ..core.decode import decoder, value_column
from ..core.errors import InputError
from ..core.registry import current
from ..core.units import parse_when
from ..reading.frames import Bounds, Rows
from ..reading.get import read_by_get
from ..reading.reader import check_stream
from ..reading.selection import Selection

PAGE = 20  # messages per page
COLUMNS = ["seq", "subject", "time", "size", "headers", "value"]


@dataclasses.dataclass
class Page:
    """One page: its frame, and the stream's first and last sequence when it was read."""

    frame: pd.DataFrame
    first_seq: int
    last_seq: int

    @property
    def start(self) -> int | None:
        return int(self.frame["seq"].iloc[0]) if len(self.frame) else None

    @property
    def end(self) -> int | None:
        return int(self.frame["seq"].iloc[-1]) if len(self.frame) else None


class Browser:
    """Pages of ``stream`` on ``subject`` (a filter; None: every subject), ``page_size`` messages each."""

    def __init__(self, stream: str, subject: str | None = None, *, page_size: int = PAGE, decode: Any = "auto",
                 ctx: JSContext | None = None) -> None:
        if page_size < 1:
            raise InputError("a page holds at least one message", hint="give page_size >= 1")
        decoder(decode)
        self.stream, self.subject, self.page_size, self.decode = stream, subject or None, page_size, decode
        self.ctx = current(ctx)
        self.info: Any = None
        self.page = Page(pd.DataFrame(columns=COLUMNS), 0, 0)

    # ---- reading ---------------------------------------------------------------------------
    async def _read(self, start: int, end: int | None = None, count: int | None = None,
                    since: dt.datetime | None = None) -> pd.DataFrame:
        """Messages on the filter from ``start`` (or the first at/after ``since``) up to ``end``/``count``."""
        self.info = info = await check_stream(self.stream, ctx=self.ctx)
        last = info.state.last_seq
        end = last if end is None else min(end, last)
        sel = Selection(self.stream, subjects=[self.subject] if self.subject else [],
                        deliver="since" if since else "start_seq", start_seq=None if since else max(start, 1),
                        since=since, batch=max(count or 0, self.page_size, 16))
        rows = Rows()
        if since is not None or start <= end:
            await read_by_get(info, sel, rows, Bounds(end_seq=end, count=count), ctx=self.ctx)
        return self._frame(rows)

    def _frame(self, rows: Rows) -> pd.DataFrame:
        chunks = rows.chunks
        seq = [int(s) for c in chunks for s in c.seq]
        headers = [h for c in chunks for h in c.headers]
        payloads = [c.payload(i) for c in chunks for i in range(len(c))]
        values, errors = decoder(self.decode).many(payloads, headers, seq)
        df = pd.DataFrame({
            "seq": pd.Series(seq, dtype="uint64"),
            "subject": [s for c in chunks for s in c.subjects],
            "time": pd.to_datetime([int(t) for c in chunks for t in c.time_ns], unit="ns", utc=True),
            "size": pd.Series([int(x) for c in chunks for x in c.sizes], dtype="int64"),
            "headers": value_column(headers) if headers else pd.Series([], dtype=object),
            "value": value_column(values) if values else pd.Series([], dtype=object),
        })
        if any(e is not None for e in errors):
            df["decode_error"] = errors
        return df

    def _set(self, frame: pd.DataFrame) -> Page:
        st = self.info.state
        self.page = Page(frame.reset_index(drop=True), st.first_seq, st.last_seq)
        return self.page

    # ---- moving ----------------------------------------------------------------------------
    async def open(self, seq: int | None = None, at: dt.datetime | None = None) -> Page:
        """The first page: at ``seq``, at time ``at``, else at the start of the stream."""
        if at is not None:
            return await self.at_time(at, strict=False)
        return await self.at_seq(seq if seq is not None else 1, strict=False)

    async def at_seq(self, seq: int, strict: bool = True) -> Page:
        """The page starting at ``seq`` (or the next message on the filter after it).

        ``strict``: with no message there, the page stays and :class:`InputError` says so."""
        frame = await self._read(max(int(seq), 1), count=self.page_size)
        if strict and not len(frame):
            raise self._nothing(f"at or after sequence {int(seq)}")
        return self._set(frame)

    async def at_time(self, when: dt.datetime, strict: bool = True) -> Page:
        """The page starting at the first message stored at or after ``when`` (``strict``: as :meth:`at_seq`)."""
        frame = await self._read(1, count=self.page_size, since=when)
        if strict and not len(frame):
            raise self._nothing(f"stored at or after {when.isoformat()}")
        return self._set(frame)

    async def at_text(self, text: Any) -> Page:
        """The page at a sequence typed in a box (``"120"``); anything else is a one-line error."""
        try:
            seq = int(str(text).strip())
        except ValueError:
            raise InputError(f"{text!r} is not a sequence", hint="type a number") from None
        return await self.at_seq(seq)

    async def at_time_text(self, text: str) -> Page:
        """The page at a time typed in a box: ISO/RFC 3339, or a duration meaning ago (``2h``)."""
        return await self.at_time(parse_when(text))

    async def filtered(self, text: str) -> Page:
        """Narrow to a subject filter (empty: every subject) from this page on; a bad filter leaves it as it was."""
        old = self.subject
        self.subject = text.strip() or None
        try:
            return await self.at_seq(self.page.start or 1, strict=False)
        except Exception:
            self.subject = old
            raise

    def _nothing(self, where: str) -> InputError:
        on = f" on {self.subject}" if self.subject else ""
        return InputError(f"no message{on} {where} in {self.stream}", hint="the page stays; try last, or an earlier point")

    async def first(self) -> Page:
        return await self.at_seq(1, strict=False)

    async def next(self) -> Page:
        """The page after this one (the same page when this one is the last)."""
        if self.page.end is None:
            return await self.at_seq(self.page.first_seq or 1, strict=False)
        frame = await self._read(self.page.end + 1, count=self.page_size)
        return self._set(frame) if len(frame) else self.page

    async def previous(self) -> Page:
        """The ``page_size`` messages on the filter before this page (the first page stays)."""
        if self.page.start is None:
            return await self.last()
        return self._set(await self._before(self.page.start))

    async def last(self) -> Page:
        """The last ``page_size`` messages on the filter."""
        self.info = await check_stream(self.stream, ctx=self.ctx)
        return self._set(await self._before(self.info.state.last_seq + 1, stay=False))

    async def _before(self, start: int, stay: bool = True) -> pd.DataFrame:
        """The last ``page_size`` messages on the filter below ``start``: windows widened until full.

        ``stay``: with nothing before ``start``, the current page stays (previous on the first page)."""
        first = max(self.info.state.first_seq, 1) if self.info else 1
        width = self.page_size
        while True:
            lo = max(first, start - width)
            frame = await self._read(lo, end=start - 1)
            if len(frame) >= self.page_size or lo <= first:
                if not len(frame) and stay:
                    return self.page.frame  # nothing before it: stay
                return frame.tail(self.page_size)
            width *= 4

    # ---- what the page says ----------------------------------------------------------------
    def message(self, seq: int) -> dict:
        """One message of the page: seq, subject, time, size, headers, value (+ decode_error)."""
        hit = self.page.frame[self.page.frame["seq"] == seq]
        if not len(hit):
            raise InputError(f"sequence {seq} is not on this page", hint="jump to it with at_seq")
        return hit.iloc[0].to_dict()

    def consume_line(self) -> str:
        """The ``%js_consume`` line that reads this page as a DataFrame."""
        parts = ["%js_consume", self.stream]
        if self.subject:
            parts += ["-s", _quoted(self.subject)]
        if self.page.start is not None:
            parts += ["--start-seq", str(self.page.start), "-n", str(len(self.page.frame))]
        return " ".join(parts)

    def describe(self) -> str:
        p = self.page
        where = f"seq {p.start}..{p.end}" if p.start is not None else "no messages"
        on = f" on {self.subject}" if self.subject else ""
        return f"{self.stream}{on}: {where} ({len(p.frame)} shown; stream seq {p.first_seq}..{p.last_seq})"


def _quoted(text: str) -> str:
    return f"'{text}'" if any(ch in text for ch in "*> ") else text
