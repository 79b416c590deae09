"""Time in one place: reading the API's timestamps, writing the UTC text the state and the
filters use, and comparing moments.

The API renders timestamps in a local zone with any offset (``-05:00``, ``+01:00``, ``Z``).
Everything the connector keeps or sends is canonical UTC text, ``2024-05-01T10:00:00Z``
(fractions of a second kept when present). Moments are compared as instants, never as text:
text stops sorting as time does once fractions appear (``...00.5Z`` sorts before ``...00Z``)
or when two offsets meet.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timezone
from typing import Any

from .errors import RecordFormatError

UTC = timezone.utc


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_timestamp(value: Any) -> datetime | None:
    """An aware datetime from an API value: ISO 8601 text with any offset (none means UTC),
    or None for null.

    Columns hand the SDK this object rather than text: the SDK re-parses every datetime string
    (about 10 µs each), while an aware datetime is converted arithmetically to the same value.
    """
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise RecordFormatError(f"not an ISO 8601 date-time: {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_date(value: Any) -> date | None:
    """A calendar day from ``yyyy-mm-dd`` text, or None for null (dates have no zone)."""
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise RecordFormatError(f"not a yyyy-mm-dd date: {value!r}") from None


def parse_utc(text: str) -> datetime:
    """The instant of canonical (or any ISO 8601) timestamp text, in UTC."""
    parsed = datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def format_utc(moment: datetime) -> str:
    """Canonical UTC text ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` of an aware datetime."""
    return moment.astimezone(UTC).isoformat()[:-6] + "Z"


def to_utc_text(value: Any) -> str | None:
    """Canonical UTC text of an API timestamp: the form cursors and filters use."""
    moment = parse_timestamp(value)
    return None if moment is None else format_utc(moment)


def canonical_saved(text: str) -> str:
    """Canonical UTC text of a timestamp read back from a saved state; ``ValueError`` names
    the problem when it is not ISO 8601 or has no offset (a state is never written so)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"is not an ISO 8601 timestamp ({text[:40]!r})") from None
    if parsed.tzinfo is None:
        raise ValueError(f"has no UTC offset ({text[:40]!r})")
    return format_utc(parsed)


def earlier(left: str | None, right: str) -> bool:
    """Whether ``left`` is an earlier instant than ``right`` (None: no bound, the earliest)."""
    return left is None or parse_utc(left) < parse_utc(right)


def later(left: str | None, right: str | None) -> str | None:
    """The later of two timestamps (None counts as the earliest)."""
    if left is None or right is None:
        return left or right
    return left if parse_utc(left) >= parse_utc(right) else right


def same_instant(left: str, right: str) -> bool:
    return parse_utc(left) == parse_utc(right)


def clock_time(epoch: float) -> str:
    """``HH:MM UTC`` of an epoch: when something will happen, for a message."""
    return time.strftime("%H:%M UTC", time.gmtime(epoch))
