"""Human units for durations, sizes and points in time, in the ``nats`` CLI's spelling.

``1d3h``, ``90s``, ``500ms`` are durations; ``10MB``, ``1.5GiB``, ``512`` are sizes;
a point in time is an ISO/RFC 3339 timestamp or a duration meaning "that long ago".
"""

from __future__ import annotations

import datetime as dt
import re

from .errors import InputError

_DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
    "d": 86400.0, "w": 7 * 86400.0, "y": 365 * 86400.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)(b?)\s*$", re.IGNORECASE)
_SIZE_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def parse_duration(text: str | float | int) -> float:
    """Seconds in ``1d3h``, ``90s``, ``1.5h``, ``250ms`` (a bare number means seconds)."""
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return _in_range(float(s), text)
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(s):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(s) or not s:
        raise InputError(f"bad duration {text!r}", hint="use e.g. 90s, 15m, 2h, 1d3h")
    return _in_range(total, text)


_MAX_SECONDS = (2**63 - 1) / 1e9  # NATS sends durations as int64 nanoseconds: about 292 years


def _in_range(seconds: float, text: str) -> float:
    """Refuse a duration NATS cannot carry (it failed deep in nats-py or datetime, as a raw error)."""
    if seconds >= _MAX_SECONDS:
        raise InputError(f"duration {text!r} is too long", hint="NATS durations end at about 292 years (106751d)")
    return seconds


def parse_size(text: str | int) -> int:
    """Bytes in ``10MB``, ``1.5GiB``, ``512K`` or ``4096`` (``-1`` stays -1: unlimited)."""
    if isinstance(text, int):
        return text
    s = str(text).strip()
    if s in ("-1", "unlimited"):
        return -1
    match = _SIZE.match(s)
    if not match:
        raise InputError(f"bad size {text!r}", hint="use e.g. 512, 64KB, 10MB, 1GiB")
    number, prefix, binary, _ = match.groups()
    base = 1024 if binary else 1000
    return int(float(number) * base ** _SIZE_POWERS[prefix.lower()])


def format_size(n: int | float | None) -> str:
    """``1536`` → ``1.5 KiB``; ``-1`` → ``unlimited``."""
    if n is None:
        return "-"
    if n < 0:
        return "unlimited"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover - loop always returns


def format_duration(seconds: float | None) -> str:
    """``93784`` → ``1d2h3m4s``; 0 or None → ``unlimited`` (JetStream's 'no limit')."""
    if not seconds:
        return "unlimited"
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    out, rest = [], int(round(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(out) or "0s"


def parse_when(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """A tz-aware UTC time from ISO/RFC 3339 text, or from a duration meaning "ago"."""
    now = now or dt.datetime.now(dt.timezone.utc)
    s = str(text).strip()
    try:
        return now - dt.timedelta(seconds=parse_duration(s))
    except InputError:
        pass
    try:
        when = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"bad time {text!r}", hint="use an ISO time like 2026-11-26T10:00:00Z or a duration like 2h (ago)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    when = when.astimezone(dt.timezone.utc)
    nanos = re.search(r"T[\d:]+\.\d{6}(\d{1,3})", s)  # a time copied from a frame keeps its nanoseconds
    if nanos:
        import pandas as pd

        return pd.Timestamp(when) + pd.Timedelta(int(nanos.group(1).ljust(3, "0")), "ns")
    return when


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def utc(when: dt.datetime) -> dt.datetime:
    """``when`` as an aware UTC time; a naive time means UTC (as everywhere in jsmagic)."""
    return when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when.astimezone(dt.timezone.utc)


def epoch_ns(when: dt.datetime) -> int:
    """Nanoseconds since the epoch, exactly (the server's message times are integers of ns).

    ``int(when.timestamp() * 1e9)`` goes through a float, whose step at today's epoch is
    256 ns: a ``--until`` one microsecond after a message's time then fell before it.  A
    ``pandas.Timestamp`` keeps its nanoseconds.
    """
    nanos = getattr(when, "nanosecond", 0)
    delta = utc(when) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000 + nanos


def rfc3339(when: dt.datetime) -> str:
    """The RFC 3339 UTC text the server's JSON takes (``opt_start_time``, ``start_time``, ``pause_until``).

    All nine digits: a ``--since`` copied from a frame (a ``pandas.Timestamp``) keeps its nanoseconds.
    """
    return rfc3339_ns(epoch_ns(when))


def rfc3339_ns(ns: int) -> str:
    """RFC 3339 UTC text with all nine digits of ``ns`` (nanoseconds since the epoch), exactly.

    A point in a stream's history (``start_time`` one nanosecond after a message's own time)
    needs the nanoseconds the server stores; :func:`rfc3339` of a time goes through here.
    """
    secs, frac = divmod(int(ns), 1_000_000_000)
    return (_EPOCH + dt.timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def plural(n: int, word: str) -> str:
    """``1 key``, ``2 keys``, ``1,000 messages``, ``2 advisories``: the count with its noun."""
    if n == 1:
        return f"{n:,} {word}"
    return f"{n:,} {word[:-1]}ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else f"{n:,} {word}s"
