"""Writing a KV value, delete marker or purge marker — on the subject the connection's API needs.

nats-py's ``KeyValue`` publishes to ``$KV.<bucket>.<key>`` whatever the JetStream domain or
API prefix; from a leaf node with ``--domain hub`` (or an account that imports JetStream
under a prefix) that subject reaches no stream and the put fails with "no response from
stream".  Here the subject comes from ``ctx.api.kv_put`` (ADR-8: ``$JS.hub.API.$KV.…``),
and the optimistic-concurrency error keeps nats-py's ``KeyWrongLastSequenceError``.
Every KV write of jsmagic goes through :func:`write` (put, update, create, delete, purge,
their ``--ttl`` forms, revert).
"""

from __future__ import annotations

import nats.js.errors

from ..core.context import JSContext
from ..core.registry import current, jetstream

KV_OP = "KV-Operation"
TTL = "Nats-TTL"
_WRONG_LAST = (10071, 10164)  # JSStreamWrongLastSequence(Constant)Err


async def write(bucket: str, key: str, value: bytes = b"", *, last: int | None = None, op: str | None = None,
                ttl: float | None = None, ctx: JSContext | None = None) -> int:
    """Publish one record for ``key``; its revision.  ``last``: the revision the key must be at
    (0: must not exist); ``op``: ``DEL`` or ``PURGE`` for a marker; ``ttl``: whole seconds the
    record lives (``Nats-TTL``, server 2.11+: a key that expires, a purge marker that goes)."""
    ctx = current(ctx)
    js = await jetstream(ctx)
    headers: dict[str, str] = {}
    if last is not None:
        headers["Nats-Expected-Last-Subject-Sequence"] = str(last)
    if op == "PURGE":
        headers.update({KV_OP: "PURGE", "Nats-Rollup": "sub"})
    elif op:
        headers[KV_OP] = op
    if ttl is not None:
        headers[TTL] = str(int(ttl))
    try:
        ack = await js.publish(ctx.api.kv_put(bucket, key), value, headers=headers or None)
    except nats.js.errors.APIError as err:
        if err.err_code in _WRONG_LAST:
            raise nats.js.errors.KeyWrongLastSequenceError(description=err.description) from None
        raise
    return ack.seq
