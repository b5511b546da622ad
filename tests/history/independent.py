"""The independent reading time travel is compared with: a plain nats-py replay of the whole stream.

Every stored message, read by a plain pull consumer (nats-py only, no jsmagic), with its
stream sequence and its stored time in nanoseconds from the ack subject; the state at a
point is then computed here: the last message per subject stored at or before it.
"""

from __future__ import annotations

import asyncio

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


async def replay_all(client, js, stream: str, subject: str) -> list[tuple[int, str, int, dict | None, bytes]]:
    """``(seq, subject, time_ns, headers, data)`` of every message ``stream`` stores under ``subject``.

    A push consumer delivering to a plain subscription: nats-py's own pull ``fetch`` takes a
    stored message with a ``Status: 404`` header for the end of the batch.
    """
    state = (await js.stream_info(stream, subjects_filter=subject)).state
    want = sum((state.subjects or {}).values())
    inbox = client.new_inbox()
    sub = await client.subscribe(inbox, pending_msgs_limit=-1, pending_bytes_limit=-1)
    cfg = ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=60.0,
                         deliver_subject=inbox, filter_subject=subject)
    ci = await js.add_consumer(stream, cfg)
    out: list[tuple] = []
    try:
        while len(out) < want:
            m = await sub.next_msg(timeout=10)
            if not (m.reply or "").startswith("$JS.ACK."):
                continue  # a status of the server's own (heartbeat, flow control): none are asked for
            tokens = m.reply.split(".")  # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
            assert len(tokens) == 9, m.reply
            out.append((int(tokens[5]), m.subject, int(tokens[7]), dict(m.headers) if m.headers else None,
                        bytes(m.data)))
    finally:
        await js.delete_consumer(stream, ci.name)
        await asyncio.shield(sub.unsubscribe())
    return sorted(out)


def last_per_subject(records, upto_ns: int | None = None, upto_seq: int | None = None) -> dict[str, tuple]:
    """Subject → its last record stored at or before the point."""
    last: dict[str, tuple] = {}
    for rec in records:
        if (upto_ns is None or rec[2] <= upto_ns) and (upto_seq is None or rec[0] <= upto_seq):
            last[rec[1]] = rec
    return last


def kv_state(records, prefix: str, upto_ns: int | None = None, upto_seq: int | None = None) -> dict[str, tuple]:
    """Key → (revision, value bytes) at the point, deleted and purged keys left out."""
    out = {}
    for subject, rec in last_per_subject(records, upto_ns, upto_seq).items():
        if (rec[3] or {}).get("KV-Operation") in ("DEL", "PURGE"):
            continue
        out[subject[len(prefix):]] = (rec[0], rec[4])
    return out


def kv_diff(records, prefix: str, t1: int, t2: int | None = None) -> dict[str, tuple]:
    """Key → (change, old revision, new revision) between two points, as a user would compute it."""
    a, b = kv_state(records, prefix, t1), kv_state(records, prefix, t2)
    out = {}
    for key in set(a) | set(b):
        if key not in b:
            out[key] = ("deleted", a[key][0])
        elif key not in a:
            out[key] = ("added", b[key][0])
        elif a[key][0] != b[key][0]:
            out[key] = ("changed", a[key][0], b[key][0])
    return out
