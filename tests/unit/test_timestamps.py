"""Time in one place: API timestamps read in any offset, canonical UTC text, and comparisons
of instants (never of text, which sorts fractions of a second before whole seconds)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from xurrent_connector.errors import RecordFormatError
from xurrent_connector.timestamps import (
    canonical_saved,
    clock_time,
    earlier,
    later,
    parse_utc,
    same_instant,
    to_utc_text,
)


@pytest.mark.parametrize(
    "given, expected",
    [
        ("2016-03-22T21:02:50-05:00", "2016-03-23T02:02:50Z"),
        ("2016-03-14T03:10:50-06:00", "2016-03-14T09:10:50Z"),
        ("2017-01-13T09:00:00+01:00", "2017-01-13T08:00:00Z"),
        ("2016-03-30T11:26:45Z", "2016-03-30T11:26:45Z"),
        ("2016-03-30T11:26:45+00:00", "2016-03-30T11:26:45Z"),
        ("2016-03-30T11:26:45.250+02:00", "2016-03-30T09:26:45.250000Z"),
        ("2016-03-30T11:26:45", "2016-03-30T11:26:45Z"),  # no offset: read as UTC
        ("2024-12-31T23:30:00-01:00", "2025-01-01T00:30:00Z"),  # crosses a year in UTC
        (None, None),
    ],
)
def test_datetimes_become_canonical_utc(given, expected):
    assert to_utc_text(given) == expected


@pytest.mark.parametrize("garbage", ["yesterday", "", "2016-13-40T00:00:00Z", 12345])
def test_unparseable_datetimes_fail_loudly(garbage):
    with pytest.raises(RecordFormatError):
        to_utc_text(garbage)


WHOLE = "2024-05-01T10:00:00Z"
HALF_PAST = "2024-05-01T10:00:00.500000Z"  # later, yet sorts first as text


def test_text_would_order_these_wrongly_which_is_why_nothing_compares_text():
    assert HALF_PAST < WHOLE  # the trap
    assert parse_utc(HALF_PAST) > parse_utc(WHOLE)


def test_comparisons_are_of_instants():
    assert later(WHOLE, HALF_PAST) == HALF_PAST
    assert later(HALF_PAST, WHOLE) == HALF_PAST
    assert later(None, WHOLE) == WHOLE and later(WHOLE, None) == WHOLE
    assert earlier(WHOLE, HALF_PAST) and not earlier(HALF_PAST, WHOLE)
    assert earlier(None, WHOLE)  # no lower bound is the earliest
    assert same_instant("2024-05-01T12:00:00+02:00", WHOLE)
    assert later("2024-05-01T11:00:00+02:00", WHOLE) == WHOLE  # 09:00 UTC is earlier


@pytest.mark.parametrize(
    "saved, problem",
    [("2024-05-01 10:00", "has no UTC offset"), ("noon", "is not an ISO 8601 timestamp")],
)
def test_a_saved_timestamp_must_be_iso_8601_with_an_offset(saved, problem):
    with pytest.raises(ValueError, match=problem):
        canonical_saved(saved)
    assert canonical_saved("2024-05-01T12:00:00+02:00") == WHOLE


def test_clock_time_names_the_minute_in_utc():
    epoch = datetime(2026, 12, 7, 21, 5, 59, tzinfo=timezone.utc).timestamp()
    assert clock_time(epoch) == "21:05 UTC"
