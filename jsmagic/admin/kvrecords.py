"""What a many-key KV read makes of its records: the latest per key, and the line for a stalled read."""

from __future__ import annotations

from ..core.context import JSContext
from ..core.errors import TimeoutError
from .kvwatch import operation


def stalled(bucket: str, records: int, ctx: JSContext) -> TimeoutError:
    """The one line for a read whose deliveries stopped (or, across an account import, never came)."""
    if records == 0 and ctx.options is not None and ctx.options.api_prefix and not ctx.options.domain:
        return TimeoutError(f"reading bucket {bucket!r}: no delivery arrived through the imported JetStream",
                            hint="deliveries come on subjects the JetStream account exports to yours: "
                                 "connect with --inbox-prefix set to that prefix")
    return TimeoutError(f"reading bucket {bucket!r} stalled")


def latest(records: list[tuple]) -> dict[str, tuple]:
    """The last record per key, deleted/purged keys dropped (a resumed read may repeat keys)."""
    last: dict[str, tuple] = {}
    for rec in records:
        last[rec[0]] = rec
    return {k: r for k, r in last.items() if operation(r[2]) == "PUT"}
