"""Human units: what a user types for durations, sizes and times."""

import datetime as dt

import pytest

from jsmagic.core.errors import InputError
from jsmagic.core.units import format_duration, format_size, parse_duration, parse_size, parse_when


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("2h", 7200), ("1d3h", 97200), ("250ms", 0.25), ("15", 15), ("1.5h", 5400)])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "1x", "h1", "1h30"])
def test_bad_durations_say_what_to_write(text):
    with pytest.raises(InputError, match="bad duration"):
        parse_duration(text)


@pytest.mark.parametrize("text,n", [("512", 512), ("10MB", 10_000_000), ("1GiB", 1024**3), ("64KiB", 65536), ("-1", -1)])
def test_sizes(text, n):
    assert parse_size(text) == n


def test_formatting_round_trips_readably():
    assert format_size(1536) == "1.5 KiB"
    assert format_size(-1) == "unlimited"
    assert format_duration(97200) == "1d3h"
    assert format_duration(0) == "unlimited"


def test_when_accepts_iso_and_ago():
    now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.timezone.utc)
    assert parse_when("2h", now) == now - dt.timedelta(hours=2)
    assert parse_when("2026-11-26T10:00:00Z") == dt.datetime(2026, 11, 26, 10, tzinfo=dt.timezone.utc)
    assert parse_when("2026-11-26T11:00:00+01:00") == dt.datetime(2026, 11, 26, 10, tzinfo=dt.timezone.utc)
    with pytest.raises(InputError, match="bad time"):
        parse_when("yesterday-ish")
