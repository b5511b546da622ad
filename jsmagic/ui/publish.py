"""How a publish reads in a notebook: the acks table with its one-line summary.

The core (:class:`jsmagic.publishing.result.PublishResult`) holds the acks and the counts;
this module writes them the way a user reads them::

    2 messages → stream ORDERS, seq 1–2
    3 messages → stream ORDERS, seq 1–3, 3 duplicates (already stored, not stored again)
    interrupted: 20,480 messages → stream ORDERS, seq 1–20480; acknowledged: messages 1–20480 of the publish; …
"""

from __future__ import annotations

from ..core.units import plural
from ..publishing.result import PublishResult, ranges
from .display import ResultFrame, result_frame


def summary_text(result: PublishResult) -> str:
    """``2 messages → stream ORDERS, seq 41–42`` (+ duplicates, failures, interruption, unsent)."""
    acked = result.acked_positions()
    where = "; ".join(
        f"stream {s}, seq {lo}" + (f"–{hi}" if hi != lo else "") for s, (lo, hi) in result.seq_ranges(acked).items()
    )
    text = plural(len(acked), "message") + (f" → {where}" if where else " acknowledged")
    dups = result.duplicates(acked)
    if dups:
        text += f", {plural(dups, 'duplicate')} (already stored, not stored again)"
    for why, refs in result.failures().items():
        text += f"; {len(refs):,} failed ({result.ref_name}s {ranges(refs)}): {why}"
    if result.interrupted:
        # positions, not lines: with --count a line is sent many times
        missing = [k + 1 for k in result.unanswered_positions()]
        text = f"interrupted: {text}"
        if acked:
            text += f"; acknowledged: messages {ranges(k + 1 for k in acked)} of the publish"
        if missing:
            text += f"; {len(missing):,} sent without ack (messages {ranges(missing)})"
    if result.batches:
        text += _batches(result)
    if result.unsent:  # also when a stall stopped the send loop
        text += f"; {result.unsent:,} not sent"
    for note in result.notes:  # a late --msg-id re-run, a stream's own count after a cut
        text += f"; {note}"
    return text


def interrupted_left(result: PublishResult, msg_id: bool) -> str:
    """What an interrupted publish left on the server, and how to finish it without storing anything twice."""
    stored = f"{plural(result.acked, 'message')} stored" + (
        f" ({', '.join(f'stream {s}' for s in result.seq_ranges())})" if result.acked else "")
    window = "within the stream's duplicate window (2 min by default)"
    if msg_id:
        return f"{stored}; rerun the same cell {window}: the server skips the ids it already stored"
    return (f"{stored}; to publish the rest without storing any twice, rerun with --msg-id (e.g. --msg-id "
            f"order-{{{{Count}}}}) — and use --msg-id from the first run on: a rerun is exact {window}")


def _batches(result: PublishResult) -> str:
    """``, one atomic batch (id 3f2a…, 3 messages)`` or how a split publish was cut."""
    if not result.split:
        _first, _last, batch_id, count = result.batches[0]
        return f", one atomic batch (id {batch_id}, {plural(count, 'message')}: all or nothing)"
    return (f", {len(result.batches)} atomic batches of up to {max(b[3] for b in result.batches):,} "
            "(--split: each all or nothing, the whole publish not)")


def publish_frame(result: PublishResult) -> ResultFrame:
    """The acks, shown as the summary plus only the failures and duplicates (every ack stays in the frame).

    With ``--count`` a line is sent many times: a ``message`` column (1-based, ``{{Count}}``'s
    number) leads, so each row says which message it was.
    """
    df = result.frame()
    ref = result.ref_name
    if len(df) and ref in df.columns and not df[ref].is_unique:
        df.insert(0, "message", range(1, len(df) + 1))
    return result_frame(df, summary_text(result), only=("error", "duplicate"))
