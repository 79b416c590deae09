"""Saved timestamps later than now are refused (xurrent_connector/state_guard.py)."""

from datetime import datetime, timedelta, timezone

import pytest

from xurrent_connector.state import Query, StateError, TableState, Walk
from xurrent_connector.state_guard import MAX_CLOCK_SKEW, refuse_future_positions

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)


def text(moment: datetime) -> str:
    return moment.isoformat()[:-6] + "Z"


def test_past_and_slightly_skewed_positions_are_accepted():
    close = text(NOW + MAX_CLOCK_SKEW - timedelta(seconds=1))
    tables = {
        "organizations": TableState(cursor=text(NOW - timedelta(days=3))),
        "products": TableState(cursor=close, walk=Walk(Query(">=", close), position=close)),
        "projects": TableState(walk=Walk(Query(">=", None))),
    }
    refuse_future_positions(tables, NOW)


@pytest.mark.parametrize(
    "table_state, field",
    [
        (TableState(cursor="2099-01-01T00:00:00Z"), "tables.products.cursor"),
        (
            TableState(walk=Walk(Query(">", "2099-01-01T00:00:00Z"))),
            "tables.products.walk.query.at",
        ),
        (
            TableState(walk=Walk(Query(">=", None), position="2099-01-01T00:00:00Z", last_id=5)),
            "tables.products.walk.position",
        ),
    ],
)
def test_a_future_timestamp_is_refused_naming_the_field_and_the_fix(table_state, field):
    with pytest.raises(StateError) as caught:
        refuse_future_positions({"products": table_state}, NOW)
    message = str(caught.value)
    assert field in message and "2099-01-01T00:00:00Z" in message and "reset" in message
