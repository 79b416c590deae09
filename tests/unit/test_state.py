"""Pure state functions: loading (with the version-1 migration and the guard against future
timestamps), windows, advancing walks, splitting a second, restarting after a refused cursor."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from xurrent_connector.errors import StateError, XurrentApiError
from xurrent_connector.state import (
    MAX_CLOCK_SKEW,
    PageSummary,
    Query,
    StreamState,
    Walk,
    after_page,
    completed_cursor,
    cursor_params,
    dump_state,
    incremental_start,
    initial_window_start,
    load_state,
    plan,
    restart_after_refused_cursor,
    successor,
)

NOW = datetime(2024, 5, 10, 12, 30, 45, 123456, tzinfo=timezone.utc)


def planned(state, **overrides):
    options = dict(now=NOW, initial_sync_days=90, lookback_minutes=5, incremental=True)
    options.update(overrides)
    return plan(state, **options)


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
    state, mode = planned(None)
    assert mode == "initial"
    assert state.walk.query == Query(">=", "2024-02-10T12:30:45Z")
    assert state.walk.query.params("updated_at") == {"updated_at": ">=2024-02-10T12:30:45Z"}
    assert state.walk.query.params("created_at") == {"created_at": ">=2024-02-10T12:30:45Z"}
    state, mode = planned(None, initial_sync_days=None)
    assert state.walk.query.params("updated_at") == {}


def test_later_sync_starts_at_cursor_minus_lookback():
    state, mode = planned(StreamState(cursor="2024-05-09T08:00:00Z"))
    assert mode == "incremental"
    assert state.walk.query == Query(">=", "2024-05-09T07:55:00Z")
    assert state.cursor == "2024-05-09T08:00:00Z"  # kept until the walk completes


def test_incremental_disabled_rereads_the_initial_window():
    state, mode = planned(StreamState(cursor="2024-05-09T08:00:00Z"), incremental=False)
    assert mode == "full"
    assert state.walk.query == Query(">=", "2024-02-10T12:30:45Z")


def test_a_walk_in_progress_is_resumed_as_saved():
    walk = Walk(
        Query(">=", "2024-05-01T00:00:00Z"), {"search_after": "a"}, "2024-05-02T00:00:00Z", 7
    )
    state, mode = planned(StreamState("2024-04-01T00:00:00Z", walk), incremental=False)
    assert mode == "resume"
    assert state.walk == walk


# --- advancing --------------------------------------------------------------------------------


def summary(
    rows=3,
    link=("search_after", "a"),
    position="2024-05-01T10:00:00Z",
    last_id=9,
    throttled=False,
):
    return PageSummary(rows, None if link is None else dict([link]), position, last_id, throttled)


def test_page_with_a_next_page_records_position_and_cursor():
    table = StreamState("2024-01-01T00:00:00Z", Walk(Query(">=", "2024-04-30T00:00:00Z")))
    after = after_page(table, summary())
    assert after.cursor == "2024-01-01T00:00:00Z"
    assert after.walk.next_page == {"search_after": "a"}
    assert after.walk.position == "2024-05-01T10:00:00Z"
    assert after.walk.last_id == 9


def test_last_page_completes_the_table_with_the_last_position_as_cursor():
    table = StreamState(None, Walk(Query(">=", "2024-04-30T00:00:00Z")))
    after = after_page(table, summary(link=None))
    assert after == StreamState(cursor="2024-05-01T10:00:00Z", walk=None)


def test_empty_walk_keeps_the_window_start_and_never_moves_the_cursor_back():
    table = StreamState(None, Walk(Query(">=", "2024-04-30T00:00:00Z")))
    assert after_page(table, summary(rows=0, link=None, position=None, last_id=None)).cursor == (
        "2024-04-30T00:00:00Z"
    )
    # A later empty re-read of the lookback window must not drag the cursor back by 5 minutes.
    table = StreamState("2024-05-01T10:00:00Z", Walk(Query(">=", "2024-05-01T09:55:00Z")))
    after = after_page(table, summary(rows=0, link=None, position=None, last_id=None))
    assert after.cursor == "2024-05-01T10:00:00Z"
    # "all" with no rows at all: nothing to remember yet.
    table = StreamState(None, Walk(Query(">=", None)))
    assert (
        after_page(table, summary(rows=0, link=None, position=None, last_id=None)).cursor is None
    )


def test_empty_page_keeps_the_previous_position():
    table = StreamState(
        None, Walk(Query(">=", None), {"search_after": "1"}, "2024-05-01T10:00:00Z", 4)
    )
    after = after_page(
        table, summary(rows=0, link=("search_after", "2"), position=None, last_id=None)
    )
    assert (after.walk.position, after.walk.last_id) == ("2024-05-01T10:00:00Z", 4)


def test_truncated_walk_continues_inclusively_from_its_last_row():
    table = StreamState(None, Walk(Query(">=", "2024-04-01T00:00:00Z")))
    after = after_page(table, summary(link=None, throttled=True))
    assert after.cursor is None
    assert after.walk == Walk(Query(">=", "2024-05-01T10:00:00Z"))


def test_throttled_flag_is_sticky_across_the_pages_of_a_walk():
    table = StreamState(None, Walk(Query(">=", None)))
    table = after_page(table, summary(throttled=True))
    table = after_page(table, summary(link=None, throttled=False, position="2024-05-02T00:00:00Z"))
    assert table.walk == Walk(Query(">=", "2024-05-02T00:00:00Z"))


def test_truncated_walk_without_progress_splits_the_second_by_id():
    moment = "2024-05-01T10:00:00Z"
    walk = Walk(Query(">=", moment), position=moment, last_id=120, throttled=True)
    assert successor(walk) == Query("=", moment, after_id=120)
    assert Query("=", moment, after_id=120).params("updated_at") == {
        "updated_at": moment,
        "id": ">120",
    }
    # The split walk truncated again: continue by id within the same second.
    split = Walk(Query("=", moment, 120), position=moment, last_id=250, throttled=True)
    assert successor(split) == Query("=", moment, after_id=250)
    # The split finished: continue strictly after the second.
    done = Walk(Query("=", moment, 250), position=moment, last_id=300)
    assert successor(done) == Query(">", moment)
    assert Query(">", moment).params("created_at") == {"created_at": ">" + moment}


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
    with pytest.raises(XurrentApiError, match="truncated"):
        successor(Walk(Query(">=", None), throttled=True))


def test_completed_cursor_prefers_the_later_moment():
    walk = Walk(Query(">", "2024-05-01T10:00:00Z"))
    assert completed_cursor(None, walk) == "2024-05-01T10:00:00Z"
    assert completed_cursor("2024-06-01T00:00:00Z", walk) == "2024-06-01T00:00:00Z"


# --- refused cursors ---------------------------------------------------------------------------

CURSOR = {"search_after": "x"}


def test_refused_cursor_restarts_inclusively_at_the_position_then_exactly_by_id():
    walk = Walk(Query(">=", "2024-04-01T00:00:00Z"), CURSOR, "2024-05-01T10:00:00Z", 77)
    assert restart_after_refused_cursor(walk, False) == Walk(Query(">=", "2024-05-01T10:00:00Z"))
    assert restart_after_refused_cursor(walk, True) == Walk(
        Query("=", "2024-05-01T10:00:00Z", after_id=77)
    )
    split = Walk(Query("=", "2024-05-01T10:00:00Z", 5), CURSOR, "2024-05-01T10:00:00Z", 80)
    assert restart_after_refused_cursor(split, False) == Walk(
        Query("=", "2024-05-01T10:00:00Z", after_id=80)
    )
    fresh = Walk(Query(">=", "2024-04-01T00:00:00Z"), CURSOR)
    assert restart_after_refused_cursor(fresh, False) == Walk(Query(">=", "2024-04-01T00:00:00Z"))


def test_next_link_keeps_only_its_cursor_parameters():
    link = (
        "https://api.4me.qa/v1/products?sort=updated_at%2Cid&fields=a%2Cb&per_page=100"
        "&updated_at=%3E%3D2024-01-01T00%3A00%3A00Z&search_after=eyJvZmZzZXQiOjF9%3D%3D"
    )
    assert cursor_params(link) == {"search_after": "eyJvZmZzZXQiOjF9=="}
    assert cursor_params("https://x/v1/products?page=3&per_page=25") == {"page": "3"}
    assert cursor_params("https://x/v1/products?per_page=25") is None


# --- loading and dumping ----------------------------------------------------------------------

CURSOR_TOKEN = "eyJvZmZzZXQiOjQwLCJjdXJzb3IiOlsxNzE0NTU3NjAwMDAwLDUxMjNdfQ=="


def test_round_trip_is_json_and_small():
    streams = {
        "products": StreamState(
            "2024-05-01T10:00:00Z",
            Walk(
                Query("=", "2024-05-01T10:00:00Z", 12),
                {"search_after": CURSOR_TOKEN},
                "2024-05-01T10:00:00Z",
                40,
                True,
            ),
        ),
        "organizations": StreamState("2024-05-01T09:00:00Z"),
        "trash": StreamState(None, Walk(Query(">=", None))),
    }
    dumped = dump_state(streams)
    text = json.dumps(dumped)
    assert dumped["version"] == 2
    assert list(dumped["streams"]) == ["organizations", "products", "trash"]
    assert load_state(json.loads(text), NOW) == streams
    # The largest state a sync can checkpoint: the three tables mid-walk with a page cursor
    # each (the archive and trash are walked after them), as compact as the SDK stores it.
    busy = {name: streams["products"] for name in STREAM_NAMES[:3]}
    busy.update(archive=streams["trash"], trash=streams["trash"])
    assert len(json.dumps(dump_state(busy), separators=(",", ":"))) < 1000


STREAM_NAMES = ("organizations", "products", "projects", "archive", "trash")


def test_empty_state_is_a_first_sync():
    assert load_state({}, NOW) == {}
    assert load_state(None, NOW) == {}


def test_offsets_in_saved_timestamps_are_normalised():
    loaded = load_state(
        {"version": 2, "streams": {"projects": {"cursor": "2024-05-01T12:00:00+02:00"}}}, NOW
    )
    assert loaded["projects"].cursor == "2024-05-01T10:00:00Z"


def products(walk: dict) -> dict:
    return {"version": 2, "streams": {"products": {"walk": walk}}}


@pytest.mark.parametrize(
    "raw, words",
    [
        (
            {"organizations_cursor": "2024-01-01T00:00:00Z"},
            ["no 'version'", "organizations_cursor"],
        ),
        ({"version": 3, "streams": {}}, ["version 3"]),
        ({"version": "2", "streams": {}}, ["version '2'"]),
        ({"version": True, "streams": {}}, ["version True"]),
        ({"version": 2, "streams": []}, ["'streams'"]),
        ({"version": 2, "streams": {"people": {}}}, ["unknown stream 'people'"]),
        ({"version": 2, "streams": {"products": []}}, ["streams.products"]),
        (
            {"version": 2, "streams": {"products": {"cursor": "yesterday"}}},
            ["streams.products.cursor"],
        ),
        (
            {"version": 2, "streams": {"products": {"cursor": 1700000000}}},
            ["streams.products.cursor"],
        ),
        (
            {"version": 2, "streams": {"products": {"cursor": "2024-05-01T10:00:00"}}},
            ["no UTC offset"],
        ),
        (products({"query": {"op": "<", "at": None}}), ["query.op"]),
        (products({"query": {"op": ">", "at": None}}), ["query.at"]),
        (products({"query": {"op": "=", "at": "2024-05-01T10:00:00Z"}}), ["after_id"]),
        (products({"query": {"op": ">=", "at": None}, "next_page": "/v1/x"}), ["next_page"]),
        (products({"query": {"op": ">=", "at": None}, "next_page": {}}), ["next_page"]),
        (
            products({"query": {"op": ">=", "at": None}, "next_page": {"search_after": 7}}),
            ["next_page"],
        ),
        (products({"query": {"op": ">=", "at": None}, "last_id": "7"}), ["last_id"]),
        (products({"query": {"op": ">=", "at": None}, "throttled": "no"}), ["throttled"]),
        (products([]), ["streams.products.walk"]),
        ({"version": 1, "tables": []}, ["'tables'"]),
        ({"version": 1, "tables": {"people": {}}}, ["unknown stream 'people'"]),
        (
            {"version": 1, "tables": {"products": {"cursor": "yesterday"}}},
            ["tables.products.cursor"],
        ),
        ({"version": 1, "lifecycle": {"archive": {"cursor": 5}}}, ["lifecycle.archive.cursor"]),
        (
            {
                "version": 1,
                "tables": {
                    "products": {"walk": {"query": {"op": ">=", "at": None}, "next_link": 5}}
                },
            },
            ["tables.products.walk.next_page"],
        ),
        ([1, 2], ["not a JSON object"]),
    ],
)
def test_bad_state_is_refused_with_instructions(raw, words):
    with pytest.raises(StateError) as caught:
        load_state(raw, NOW)
    message = str(caught.value)
    for word in words:
        assert word in message
    assert "fivetran reset" in message and "re-sync" in message


# --- the guard against timestamps in the future -------------------------------------------------


def text(moment: datetime) -> str:
    return moment.isoformat()[:-6] + "Z"


def test_past_and_slightly_skewed_positions_are_accepted():
    close = text(NOW + MAX_CLOCK_SKEW - timedelta(seconds=1))
    raw = {
        "version": 2,
        "streams": {
            "organizations": {"cursor": text(NOW - timedelta(days=3))},
            "products": {
                "cursor": close,
                "walk": {"query": {"op": ">=", "at": close}, "position": close},
            },
            "projects": {"walk": {"query": {"op": ">=", "at": None}}},
        },
    }
    assert set(load_state(raw, NOW)) == {"organizations", "products", "projects"}


@pytest.mark.parametrize(
    "entry, field",
    [
        ({"cursor": "2099-01-01T00:00:00Z"}, "streams.archive.cursor"),
        (
            {"walk": {"query": {"op": ">", "at": "2099-01-01T00:00:00Z"}}},
            "streams.archive.walk.query.at",
        ),
        (
            {"walk": {"query": {"op": ">=", "at": None}, "position": "2099-01-01T00:00:00Z"}},
            "streams.archive.walk.position",
        ),
    ],
)
def test_a_future_timestamp_is_refused_naming_the_field_and_the_fix(entry, field):
    with pytest.raises(StateError) as caught:
        load_state({"version": 2, "streams": {"archive": entry}}, NOW)
    message = str(caught.value)
    assert field in message and "2099-01-01T00:00:00Z" in message and "reset" in message


# --- the version-1 migration --------------------------------------------------------------------

VERSION_1_LINK = (
    "https://api.xurrent.com/v1/products?sort=updated_at%2Cid&per_page=100&fields=name%2Cbrand"
    f"&updated_at=%3E%3D2024-04-01T00%3A00%3A00Z&search_after={CURSOR_TOKEN}"
)


def test_a_version_1_state_loads_with_its_cursors_walks_and_listings():
    """A state written by connector 0.1 (tables, lifecycle, a next link, the id set)."""
    raw = {
        "version": 1,
        "tables": {
            "organizations": {"cursor": "2024-05-01T09:00:00Z", "walk": None},
            "products": {
                "cursor": "2024-04-01T00:05:00Z",
                "walk": {
                    "query": {"op": ">=", "at": "2024-04-01T00:00:00Z"},
                    "next_link": VERSION_1_LINK,
                    "position": "2024-04-02T00:00:00Z",
                    "last_id": 51,
                    "throttled": False,
                },
            },
            "projects": {"cursor": "2024-05-01T08:00:00Z", "walk": None},
        },
        "lifecycle": {"archive": {"cursor": "2024-05-01T07:00:00Z", "walk": None}},
        "health": {"organization_ids": {"scheme": "idset-delta-v1", "count": 3, "data": "eJw="}},
    }
    loaded = load_state(raw, NOW)
    assert set(loaded) == {"organizations", "products", "projects", "archive"}
    assert loaded["organizations"] == StreamState("2024-05-01T09:00:00Z")
    assert loaded["products"] == StreamState(
        "2024-04-01T00:05:00Z",
        Walk(
            Query(">=", "2024-04-01T00:00:00Z"),
            {"search_after": CURSOR_TOKEN},
            "2024-04-02T00:00:00Z",
            51,
        ),
    )
    assert loaded["archive"] == StreamState("2024-05-01T07:00:00Z")
    assert "health" not in json.dumps(dump_state(loaded))  # the id set is gone


def test_projects_synced_before_the_listings_were_read_get_them_read_in_full_once():
    raw = {"version": 1, "tables": {"projects": {"cursor": "2024-05-01T08:00:00Z"}}}
    loaded = load_state(raw, NOW)
    for listing in ("archive", "trash"):
        assert loaded[listing] == StreamState(None, Walk(Query(">=", None)))
        assert planned(loaded[listing])[1] == "resume"
    # Without projects nothing of the kind is added.
    assert set(load_state({"version": 1, "tables": {"products": {}}}, NOW)) == {"products"}
