"""``%js_consumer add`` over an existing consumer: the same settings are no change, others are refused.

The server's own ``action: create`` does the comparison (an identical configuration is
idempotent, any other answers "consumer already exists"); here the refusal gets what
differs, setting by setting, and the pointer to ``edit`` (as ``nats consumer add`` does).
"""

from __future__ import annotations

from typing import Any

from ..core.context import JSContext
from ..core.errors import InputError

NANOS = 1_000_000_000
ALREADY_EXISTS = 10148  # JSConsumerAlreadyExists
_DURATIONS = ("ack_wait", "inactive_threshold", "idle_heartbeat")
_SKIP = ("durable_name", "name", "pause_until", "metadata")


def _shown(key: str, value: Any) -> str:
    """A setting as a user wrote it: durations in seconds, policies as words."""
    if key in _DURATIONS and isinstance(value, int):
        return f"{value / NANOS:g}s"
    if key == "backoff" and isinstance(value, list):
        return ",".join(f"{v / NANOS:g}s" for v in value)
    value = getattr(value, "value", value)
    return "(none)" if value is None or value == "" or value == [] else str(value)


def differences(wanted: dict[str, Any], existing: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(setting, existing, wanted)`` for each setting asked for that the consumer has otherwise.

    A zero/empty value asked for means "the server's default" and is not a difference.
    """
    out = []
    for key, value in wanted.items():
        if key in _SKIP or value is None or value == 0 or value == [] or value is False:
            continue
        have = existing.get(key)
        if getattr(value, "value", value) != have:
            out.append((key, have, value))
    return out


async def refuse_existing(stream: str, name: str, wanted: dict[str, Any], *, ctx: JSContext) -> InputError:
    """The error for an ``add`` whose consumer exists with other settings: what differs, and ``edit``."""
    existing = (await ctx.api.request(f"CONSUMER.INFO.{stream}.{name}"))["config"]
    diff = differences(wanted, existing)
    said = "; ".join(f"{k} {_shown(k, old)} → {_shown(k, new)}" for k, old, new in diff) or "other settings"
    return InputError(f"consumer {name} on {stream} already exists with other settings ({said}); nothing changed",
                      hint=f"change it with %js_consumer edit {stream} {name} …, or remove it first "
                           f"(%js_consumer rm {stream} {name} --force)")
