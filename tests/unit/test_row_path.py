"""The per-row fast path stores exactly what the old canonical-text path stored.

UTC_DATETIME columns now carry aware datetimes instead of canonical ``...Z`` text, which spares
the SDK a ``strptime`` per value. The SDK's own encoder (``encode_row_data``, the first step of
``op.upsert``) must produce the same bytes for both.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from fivetran_connector_sdk_cli.type_coercion import encode_row_data
from fivetran_connector_sdk_core.model import DataType

from xurrent_connector.tables import PROJECTS, RecordFormatError, to_utc_datetime, to_utc_text

MOMENTS = [
    "2016-03-22T21:02:50-05:00",
    "2016-03-14T03:10:50-06:00",
    "2017-01-13T09:00:00+01:00",
    "2016-03-30T11:26:45Z",
    "2016-03-30T11:26:45.250+02:00",
    "2016-03-30T11:26:45.123456-03:30",
    "2016-03-30T11:26:45",  # no offset: read as UTC
    "2024-12-31T23:30:00-01:00",
    "2024-03-31T01:59:59+00:00",
]


@pytest.mark.parametrize("moment", MOMENTS)
def test_sdk_encodes_the_datetime_object_like_the_canonical_text(moment):
    types = {"t": DataType.UTC_DATETIME}
    as_object = encode_row_data(types, {"t": to_utc_datetime(moment)})
    as_text = encode_row_data(types, {"t": to_utc_text(moment)})
    assert as_object == as_text


@pytest.mark.parametrize("garbage", ["yesterday", "", "2016-13-40T00:00:00Z", 12345])
def test_unparseable_datetimes_still_fail_naming_the_value(garbage):
    with pytest.raises(RecordFormatError):
        to_utc_datetime(garbage)


def test_flattened_project_datetimes_are_aware():
    row = PROJECTS.flatten(
        {"id": 1, "created_at": MOMENTS[0], "updated_at": MOMENTS[6], "completed_at": None}
    )
    assert row["created_at"] == datetime.fromisoformat("2016-03-23T02:02:50+00:00")
    assert row["updated_at"].utcoffset().total_seconds() == 0
    assert row["completed_at"] is None
