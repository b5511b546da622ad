"""What a publish returns: every sent message and its ack, as data.

A :class:`PublishResult` stores one small entry per message, column-wise (a publish of
millions of lines must not cost a Python object per line), and answers with numbers:
how many were sent, acknowledged, stored as duplicates, refused and why, left unsent.
``frame()`` is a plain DataFrame of the acks.  The one-line summary a notebook shows
under it ("2 messages → stream ORDERS, seq 1–2") is written by :mod:`jsmagic.ui.publish`.
"""

from __future__ import annotations

import dataclasses
from array import array
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..core.errors import PublishError

NO_ACK_INTERRUPTED = "sent, no ack (interrupted)"
UNKNOWN = "unknown: sent as the connection was lost, no ack came (stored or not)"
MSG_ID_HINT = ("a rerun with --msg-id (e.g. --msg-id order-{{Count}}) is exact: the server stores each id once "
               "within the stream's duplicate window (2 min by default)")


def ranges(refs: Iterable[int], limit: int = 4) -> str:
    """``1, 2, 3, 7`` → ``1–3, 7`` (at most ``limit`` ranges, then ``…``): which lines, rows or messages."""
    out: list[str] = []
    start = prev = None
    for r in sorted(set(refs)):
        if prev is not None and r == prev + 1:
            prev = r
            continue
        if start is not None:
            out.append(f"{start}–{prev}" if prev != start else f"{start}")
        start = prev = r
    if start is not None:
        out.append(f"{start}–{prev}" if prev != start else f"{start}")
    return ", ".join(out[:limit]) + (", …" if len(out) > limit else "")


@dataclasses.dataclass(eq=False)
class PublishResult:
    """Every sent message and its ack, stored column-wise (one small entry per message).

    ``refs`` are what each message came from (its cell line or row, named by ``ref_name``);
    ``seqs`` is 0 and ``streams`` None until an ack says otherwise; ``errors`` maps a
    message's position to the server's reason for refusing it.
    """

    ref_name: str = "line"
    total: int | None = None
    refs: array = dataclasses.field(default_factory=lambda: array("q"), repr=False)
    subjects: list[str] = dataclasses.field(default_factory=list, repr=False)
    streams: list[str | None] = dataclasses.field(default_factory=list, repr=False)
    seqs: array = dataclasses.field(default_factory=lambda: array("q"), repr=False)
    duplicate: bytearray = dataclasses.field(default_factory=bytearray, repr=False)
    answered: bytearray = dataclasses.field(default_factory=bytearray, repr=False)
    errors: dict[int, str] = dataclasses.field(default_factory=dict, repr=False)
    interrupted: bool = False
    #: atomic batches (server 2.12): ``(first position, last position, batch id, count)`` each
    batches: list[tuple[int, int, str, int]] = dataclasses.field(default_factory=list, repr=False)
    split: bool = False  # several atomic batches: each all-or-nothing, the whole not
    notes: list[str] = dataclasses.field(default_factory=list, repr=False)  # e.g. a stream's own count after a cut

    # ---- counts ------------------------------------------------------------------------
    @property
    def sent(self) -> int:
        return len(self.refs)

    @property
    def acked(self) -> int:
        """Messages the server acknowledged (stored, or recognised as a duplicate)."""
        return self.sent - len(self.errors) - self.answered.count(0)

    @property
    def failed(self) -> int:
        """Messages refused, or given up on (no ack in time), each with a reason in ``errors``."""
        return len(self.errors)

    @property
    def unsent(self) -> int:
        """Messages of ``total`` never sent (an interrupt, a stall, or a check that stopped the publish)."""
        return self.total - self.sent if self.total is not None and self.total > self.sent else 0

    def acked_positions(self) -> list[int]:
        """Positions (0-based, in sending order) of the acknowledged messages."""
        return [k for k in range(self.sent) if self.answered[k] and k not in self.errors]

    @property
    def unknown(self) -> int:
        """Messages whose ack a lost connection swallowed: stored or not, no ack says."""
        return sum(1 for why in self.errors.values() if why == UNKNOWN)

    def unanswered_positions(self) -> list[int]:
        """Positions of messages sent that got no answer at all (only after an interrupt)."""
        return [k for k, a in enumerate(self.answered) if not a]

    def duplicates(self, positions: list[int] | None = None) -> int:
        """How many acknowledged messages were duplicates (already stored, not stored again)."""
        positions = self.acked_positions() if positions is None else positions
        return sum(self.duplicate[k] for k in positions)

    def seq_ranges(self, positions: list[int] | None = None) -> dict[str, tuple[int, int]]:
        """``{stream: (first seq, last seq)}`` of the acknowledged messages, streams in order of first ack."""
        positions = self.acked_positions() if positions is None else positions
        out: dict[str, tuple[int, int]] = {}
        for k in positions:
            stream, seq = self.streams[k], self.seqs[k]
            if seq <= 0:  # stored, its sequence not told (a fast batch acks its last message only)
                continue
            lo, hi = out.get(stream, (seq, seq))
            out[stream] = (min(lo, seq), max(hi, seq))
        return out

    def failures(self) -> dict[str, list[int]]:
        """Refs of failed messages grouped by reason (the server's words)."""
        groups: dict[str, list[int]] = {}
        for k, why in self.errors.items():
            groups.setdefault(why, []).append(self.refs[k])
        return groups

    # ---- failing loudly ------------------------------------------------------------------
    def error(self) -> PublishError | None:
        """The error to raise when messages were refused: reasons and the lines/rows they hit; ``.result`` is this result.

        ``2 of 4 messages failed: maximum messages exceeded (error 10077) (lines 3–4)``
        """
        failures = self.failures()
        if not failures:
            return None
        failed = sum(len(r) for r in failures.values())
        unsent = (self.total or self.sent) - self.sent
        unknown = self.unknown
        if unknown:  # a cut connection: what is known stored, what is not known, and the exact way on
            refused = "; ".join(f"{len(refs):,} failed: {why} ({self.ref_name}s {ranges(refs)})"
                                for why, refs in failures.items() if why != UNKNOWN)
            text = (f"{self.acked:,} of {self.total or self.sent:,} messages stored (acknowledged), {unknown:,} unknown "
                    f"(sent as the connection was lost: no ack came, stored or not)"
                    + (f"; {refused}" if refused else "") + (f"; {unsent:,} not sent" if unsent > 0 else "")
                    + "".join(f"; {n}" for n in self.notes))
            err = PublishError(text, hint=MSG_ID_HINT)
            err.result = self
            return err
        reasons = "; ".join(f"{why} ({self.ref_name}s {ranges(refs)})" for why, refs in failures.items())
        reasons += f"; {unsent:,} not sent (the publish stopped)" if unsent > 0 else ""
        err = PublishError(f"{failed:,} of {self.total or self.sent:,} messages failed: {reasons}",
                           hint="the error's .result has every ack")
        err.result = self
        return err

    def raise_for_errors(self) -> None:
        """Raise :meth:`error` if any message was refused (scripts: nothing fails silently)."""
        err = self.error()
        if err is not None:
            raise err

    # ---- the table -----------------------------------------------------------------------
    def frame(self) -> pd.DataFrame:
        """The acks: ref, subject, stream, seq, duplicate (+ error when any failed or went unanswered)."""
        seqs = np.frombuffer(self.seqs, dtype=np.int64) if self.sent else np.zeros(0, np.int64)
        cols: dict[str, Any] = {
            self.ref_name: np.frombuffer(self.refs, dtype=np.int64).copy() if self.sent else np.zeros(0, np.int64),
            "subject": self.subjects,
            "stream": self.streams,
            "seq": pd.array(seqs, dtype="Int64"),
            "duplicate": np.frombuffer(bytes(self.duplicate), dtype=np.uint8).astype(bool),
        }
        cols["seq"][seqs <= 0] = pd.NA
        unanswered = self.unanswered_positions() if self.acked + len(self.errors) < self.sent else []
        if self.errors or unanswered:
            err: list[str | None] = [None] * self.sent
            for k, why in self.errors.items():
                err[k] = why
            for k in unanswered:
                err[k] = NO_ACK_INTERRUPTED
            cols["error"] = err
        if self.batches:
            cols["batch"], cols["batch_count"] = self._batch_columns()
        return pd.DataFrame(cols)

    def _batch_columns(self) -> tuple[list[str | None], list[int | None]]:
        """Each row's atomic batch id and that batch's message count."""
        ids: list[str | None] = [None] * self.sent
        counts: list[int | None] = [None] * self.sent
        for first, last, batch_id, count in self.batches:
            ids[first:last + 1] = [batch_id] * (last - first + 1)
            counts[first:last + 1] = [count] * (last - first + 1)
        return ids, counts
