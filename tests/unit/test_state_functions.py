"""Pure state functions: loading/validation, windows, advancing walks, splitting, restarts."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from xurrent_connector.state import (
    PageSummary,
    Query,
    StateError,
    TableState,
    TruncatedWithoutRows,
    Walk,
    after_page,
    completed_cursor,
    dump_state,
    incremental_start,
    initial_window_start,
    link_is_reusable,
    load_state,
    plan_table,
    restart_after_stale_link,
    successor,
)

NOW = datetime(2024, 5, 10, 12, 30, 45, 123456, tzinfo=timezone.utc)


def plan(table, **overrides):
    options = dict(now=NOW, initial_sync_days=90, lookback_minutes=5, incremental=True)
    options.update(overrides)
    return plan_table(table, **options)


# --- windows ----------------------------------------------------------------------------------


def test_initial_window_is_whole_seconds_in_utc_z_form():
    assert initial_window_start(NOW, 90) == "2024-02-10T12:30:45Z"
    assert initial_window_start(NOW, 1) == "2024-05-09T12:30:45Z"
    assert initial_window_start(NOW, None) is None
    local = NOW.astimezone(timezone.utc).replace(tzinfo=None)
    offset_now = datetime.fromisoformat(local.isoformat() + "+00:00")
    assert initial_window_start(offset_now, 90) == "2024-02-10T12:30:45Z"


def test_incremental_start_subtracts_the_lookback():
    assert incremental_start("2024-05-01T00:02:00Z", 5) == "2024-04-30T23:57:00Z"
    assert incremental_start("2024-05-01T00:02:00Z", 0) == "2024-05-01T00:02:00Z"


def test_first_sync_uses_the_initial_window_or_no_filter_for_all():
    state, mode = plan(None)
    assert mode == "initial"
    assert state.walk.query == Query(">=", "2024-02-10T12:30:45Z")
    assert state.walk.query.params() == {"updated_at": ">=2024-02-10T12:30:45Z"}
    state, mode = plan(None, initial_sync_days=None)
    assert state.walk.query.params() == {}


def test_later_sync_starts_at_cursor_minus_lookback():
    state, mode = plan(TableState(cursor="2024-05-09T08:00:00Z"))
    assert mode == "incremental"
    assert state.walk.query == Query(">=", "2024-05-09T07:55:00Z")
    assert state.cursor == "2024-05-09T08:00:00Z"  # kept until the walk completes


def test_incremental_disabled_rereads_the_initial_window():
    state, mode = plan(TableState(cursor="2024-05-09T08:00:00Z"), incremental=False)
    assert mode == "full"
    assert state.walk.query == Query(">=", "2024-02-10T12:30:45Z")


def test_a_walk_in_progress_is_resumed_as_saved():
    walk = Walk(
        Query(">=", "2024-05-01T00:00:00Z"), "https://x/v1/products?a=1", "2024-05-02T00:00:00Z", 7
    )
    state, mode = plan(TableState("2024-04-01T00:00:00Z", walk), incremental=False)
    assert mode == "resume"
    assert state.walk == walk


# --- advancing --------------------------------------------------------------------------------


def summary(
    rows=3,
    link="https://x/v1/p?search_after=a",
    position="2024-05-01T10:00:00Z",
    last_id=9,
    throttled=False,
):
    return PageSummary(rows, link, position, last_id, throttled)


def test_page_with_next_link_records_position_and_link():
    table = TableState("2024-01-01T00:00:00Z", Walk(Query(">=", "2024-04-30T00:00:00Z")))
    after = after_page(table, summary())
    assert after.cursor == "2024-01-01T00:00:00Z"
    assert after.walk.next_link == "https://x/v1/p?search_after=a"
    assert after.walk.position == "2024-05-01T10:00:00Z"
    assert after.walk.last_id == 9


def test_last_page_completes_the_table_with_the_last_position_as_cursor():
    table = TableState(None, Walk(Query(">=", "2024-04-30T00:00:00Z")))
    after = after_page(table, summary(link=None))
    assert after == TableState(cursor="2024-05-01T10:00:00Z", walk=None)


def test_empty_walk_keeps_the_window_start_and_never_moves_the_cursor_back():
    table = TableState(None, Walk(Query(">=", "2024-04-30T00:00:00Z")))
    assert after_page(table, summary(rows=0, link=None, position=None, last_id=None)).cursor == (
        "2024-04-30T00:00:00Z"
    )
    # A later empty re-read of the lookback window must not drag the cursor back by 5 minutes.
    table = TableState("2024-05-01T10:00:00Z", Walk(Query(">=", "2024-05-01T09:55:00Z")))
    after = after_page(table, summary(rows=0, link=None, position=None, last_id=None))
    assert after.cursor == "2024-05-01T10:00:00Z"
    # "all" with no rows at all: nothing to remember yet.
    table = TableState(None, Walk(Query(">=", None)))
    assert (
        after_page(table, summary(rows=0, link=None, position=None, last_id=None)).cursor is None
    )


def test_empty_page_keeps_the_previous_position():
    table = TableState(None, Walk(Query(">=", None), "https://x/1", "2024-05-01T10:00:00Z", 4))
    after = after_page(table, summary(rows=0, link="https://x/2", position=None, last_id=None))
    assert (after.walk.position, after.walk.last_id) == ("2024-05-01T10:00:00Z", 4)


def test_truncated_walk_continues_inclusively_from_its_last_row():
    table = TableState(None, Walk(Query(">=", "2024-04-01T00:00:00Z")))
    after = after_page(table, summary(link=None, throttled=True))
    assert after.cursor is None
    assert after.walk == Walk(Query(">=", "2024-05-01T10:00:00Z"))


def test_throttled_flag_is_sticky_across_the_pages_of_a_walk():
    table = TableState(None, Walk(Query(">=", None)))
    table = after_page(table, summary(throttled=True))
    table = after_page(table, summary(link=None, throttled=False, position="2024-05-02T00:00:00Z"))
    assert table.walk == Walk(Query(">=", "2024-05-02T00:00:00Z"))


def test_truncated_walk_without_progress_splits_the_second_by_id():
    moment = "2024-05-01T10:00:00Z"
    walk = Walk(Query(">=", moment), position=moment, last_id=120, throttled=True)
    assert successor(walk) == Query("=", moment, after_id=120)
    assert Query("=", moment, after_id=120).params() == {"updated_at": moment, "id": ">120"}
    # The split walk truncated again: continue by id within the same second.
    split = Walk(Query("=", moment, 120), position=moment, last_id=250, throttled=True)
    assert successor(split) == Query("=", moment, after_id=250)
    # The split finished: continue strictly after the second.
    done = Walk(Query("=", moment, 250), position=moment, last_id=300)
    assert successor(done) == Query(">", moment)
    assert Query(">", moment).params() == {"updated_at": ">" + moment}


def test_no_progress_is_detected_across_offset_spellings():
    walk = Walk(
        Query(">=", "2024-05-01T10:00:00Z"),
        position="2024-05-01T10:00:00.000000Z",
        last_id=5,
        throttled=True,
    )
    assert successor(walk).op == "="


def test_untruncated_walk_is_the_end_and_truncated_empty_walk_is_an_error():
    assert successor(Walk(Query(">=", None), position="2024-05-01T10:00:00Z", last_id=1)) is None
    with pytest.raises(TruncatedWithoutRows):
        successor(Walk(Query(">=", None), throttled=True))


def test_completed_cursor_prefers_the_later_moment():
    walk = Walk(Query(">", "2024-05-01T10:00:00Z"))
    assert completed_cursor(None, walk) == "2024-05-01T10:00:00Z"
    assert completed_cursor("2024-06-01T00:00:00Z", walk) == "2024-06-01T00:00:00Z"


# --- stale links ------------------------------------------------------------------------------


def test_stale_link_restarts_inclusively_at_the_position_then_exactly_by_id():
    walk = Walk(Query(">=", "2024-04-01T00:00:00Z"), "https://x/2", "2024-05-01T10:00:00Z", 77)
    assert restart_after_stale_link(walk, False) == Walk(Query(">=", "2024-05-01T10:00:00Z"))
    assert restart_after_stale_link(walk, True) == Walk(
        Query("=", "2024-05-01T10:00:00Z", after_id=77)
    )
    split = Walk(Query("=", "2024-05-01T10:00:00Z", 5), "https://x/3", "2024-05-01T10:00:00Z", 80)
    assert restart_after_stale_link(split, False) == Walk(
        Query("=", "2024-05-01T10:00:00Z", after_id=80)
    )
    fresh = Walk(Query(">=", "2024-04-01T00:00:00Z"), "https://x/2")
    assert restart_after_stale_link(fresh, False) == Walk(Query(">=", "2024-04-01T00:00:00Z"))


def test_link_reuse_requires_same_host_fields_and_sort():
    link = "https://api.xurrent.com/v1/products?sort=updated_at%2Cid&fields=a%2Cb&search_after=x"
    ours = {"sort": "updated_at,id", "fields": "a,b", "per_page": "100"}
    assert link_is_reusable(link, "https://api.xurrent.com/v1", ours)
    assert not link_is_reusable(link, "https://api.uk.xurrent.com/v1", ours)
    assert not link_is_reusable(link, "https://api.xurrent.com/v1", {**ours, "fields": "a,b,c"})
    assert not link_is_reusable(link, "https://api.xurrent.com/v1", {**ours, "sort": "id"})
    # A link that does not mention fields/sort is fine: they are added when it is followed.
    bare = "https://api.xurrent.com/v1/products?per_page=25&search_after=x"
    assert link_is_reusable(bare, "https://api.xurrent.com/v1", ours)


# --- loading and dumping ----------------------------------------------------------------------


def test_round_trip_is_json_and_small():
    tables = {
        "products": TableState(
            "2024-05-01T10:00:00Z",
            Walk(
                Query("=", "2024-05-01T10:00:00Z", 12),
                "https://x/v1/p?s=1",
                "2024-05-01T10:00:00Z",
                40,
                True,
            ),
        ),
        "organizations": TableState("2024-05-01T09:00:00Z"),
    }
    dumped = dump_state(tables)
    text = json.dumps(dumped)
    assert len(text) < 1000
    assert dumped["version"] == 1
    assert list(dumped["tables"]) == ["organizations", "products"]
    assert load_state(json.loads(text)) == tables


def test_empty_state_is_a_first_sync():
    assert load_state({}) == {}
    assert load_state(None) == {}


def test_offsets_in_saved_timestamps_are_normalised():
    loaded = load_state(
        {"version": 1, "tables": {"projects": {"cursor": "2024-05-01T12:00:00+02:00"}}}
    )
    assert loaded["projects"].cursor == "2024-05-01T10:00:00Z"


@pytest.mark.parametrize(
    "raw, words",
    [
        (
            {"organizations_cursor": "2024-01-01T00:00:00Z"},
            ["no 'version'", "organizations_cursor"],
        ),
        ({"version": 2, "tables": {}}, ["version 2"]),
        ({"version": "1", "tables": {}}, ["version '1'"]),
        ({"version": 1, "tables": []}, ["'tables'"]),
        ({"version": 1, "tables": {"people": {}}}, ["unknown table 'people'"]),
        (
            {"version": 1, "tables": {"products": {"cursor": "yesterday"}}},
            ["tables.products.cursor"],
        ),
        (
            {"version": 1, "tables": {"products": {"cursor": 1700000000}}},
            ["tables.products.cursor"],
        ),
        (
            {"version": 1, "tables": {"products": {"cursor": "2024-05-01T10:00:00"}}},
            ["no UTC offset"],
        ),
        (
            {"version": 1, "tables": {"products": {"walk": {"query": {"op": "<", "at": None}}}}},
            ["query.op"],
        ),
        (
            {"version": 1, "tables": {"products": {"walk": {"query": {"op": ">", "at": None}}}}},
            ["query.at"],
        ),
        (
            {
                "version": 1,
                "tables": {
                    "products": {"walk": {"query": {"op": "=", "at": "2024-05-01T10:00:00Z"}}}
                },
            },
            ["after_id"],
        ),
        (
            {
                "version": 1,
                "tables": {
                    "products": {"walk": {"query": {"op": ">=", "at": None}, "next_link": "/v1/x"}}
                },
            },
            ["next_link"],
        ),
        (
            {
                "version": 1,
                "tables": {
                    "products": {"walk": {"query": {"op": ">=", "at": None}, "last_id": "7"}}
                },
            },
            ["last_id"],
        ),
        ([1, 2], ["not a JSON object"]),
    ],
)
def test_bad_state_is_refused_with_instructions(raw, words):
    with pytest.raises(StateError) as caught:
        load_state(raw)
    message = str(caught.value)
    for word in words:
        assert word in message
    assert "fivetran reset" in message and "re-sync" in message
