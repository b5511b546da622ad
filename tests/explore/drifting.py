"""A stream with known drifts, written by plain nats-py, and an independent count of its fields.

Sequences (one subject ``NAME.orders``, plus ``NAME.audit`` every 10th message):

* 1..60 orders ``{"id", "amount", "status", "customer": {"id", "tier"}}``;
* ``coupon`` (str) appears at :data:`COUPON_AT`;
* ``amount`` changes type int → str at :data:`AMOUNT_STR_AT`;
* ``customer.region`` (nested) appears at :data:`REGION_AT`;
* ``legacy`` is present up to :data:`LEGACY_LAST` and gone after;
* ``status`` is null in every 7th message;
* then 3 binary payloads and 2 plain-text payloads (not JSON).
"""

from __future__ import annotations

import json

ORDERS = 60
COUPON_AT = 21
AMOUNT_STR_AT = 41
REGION_AT = 31
LEGACY_LAST = 49
BINARY = [b"\xff\xfe\x00\x01", b"\x80\x81\x82", b"\x00\xff"]
TEXT = [b"hello there", b"plain text"]


def order(seq: int) -> dict:
    o = {"id": seq, "amount": seq * 10 if seq < AMOUNT_STR_AT else f"{seq * 10}.00",
         "status": None if seq % 7 == 0 else "new", "customer": {"id": 1000 + seq, "tier": "gold"}}
    if seq >= COUPON_AT:
        o["coupon"] = f"C{seq}"
    if seq >= REGION_AT:
        o["customer"]["region"] = "eu" if seq % 2 else "us"
    if seq <= LEGACY_LAST:
        o["legacy"] = True
    return o


def fill(run, js, name: str) -> None:
    """Create the stream and publish the messages (stream sequence = the order's seq)."""
    run(js.add_stream(name=name, subjects=[f"{name}.>"]))
    for seq in range(1, ORDERS + 1):
        subject = f"{name}.audit" if seq % 10 == 0 else f"{name}.orders"
        run(js.publish(subject, json.dumps(order(seq)).encode()))
    for data in BINARY + TEXT:
        run(js.publish(f"{name}.raw", data))


def read_plain(run, js, name: str) -> list:
    """Every message of the stream by plain nats-py gets: (seq, subject, data)."""
    info = run(js.stream_info(name))
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        m = run(js.get_msg(name, seq))
        out.append((m.seq, m.subject, m.data))
    return out


def _type(v) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", dict: "object", list: "array",
            type(None): "null"}[type(v)]


def count_fields(messages: list, by_subject: bool = False) -> tuple[dict, int]:
    """``{(subject|None, dotted field): {type: count}}`` and the number of payloads that are not JSON."""
    counts: dict = {}
    non_json = 0

    def walk(scope, obj, prefix=""):
        for k, v in obj.items():
            key = (scope, prefix + k)
            counts.setdefault(key, {})
            counts[key][_type(v)] = counts[key].get(_type(v), 0) + 1
            if isinstance(v, dict):
                walk(scope, v, prefix + k + ".")

    for _seq, subject, data in messages:
        try:
            value = json.loads(data)
        except ValueError:
            non_json += 1
            continue
        if isinstance(value, dict):
            walk(subject if by_subject else None, value)
    return counts, non_json
