"""Pure state functions: loading (with the version-1 migration and the guard against future
timestamps), windows, advancing walks, splitting a second, restarting after a refused cursor."""

from __future__ import annotations

import json
from dataclasses import replace
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
    cursor_params,
    dump_state,
    incremental_start,
    initial_window_start,
    load_state,
    plan,
    restart_after_refused_cursor,
    split,
    successor,
)
from xurrent_connector.sync import WALKS_AT_ONCE

NOW = datetime(2024, 5, 10, 12, 30, 45, 123456, tzinfo=timezone.utc)


def one(cursor, walk) -> StreamState:
    """A stream state with one walk in progress."""
    return StreamState(cursor, (walk,))


def only(state: StreamState) -> Walk:
    [walk] = state.walks
    return walk


def advanced(state: StreamState, page) -> StreamState:
    """The state after a page of the stream's only walk, fetched as planned."""
    walk = only(state)
    return after_page(state, walk, walk, page)[0]


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
    assert only(state).query == Query(">=", "2024-02-10T12:30:45Z")
    assert only(state).query.params("updated_at") == {"updated_at": ">=2024-02-10T12:30:45Z"}
    assert only(state).query.params("created_at") == {"created_at": ">=2024-02-10T12:30:45Z"}
    state, mode = planned(None, initial_sync_days=None)
    assert only(state).query.params("updated_at") == {}


def test_later_sync_starts_at_cursor_minus_lookback():
    state, mode = planned(StreamState(cursor="2024-05-09T08:00:00Z"))
    assert mode == "incremental"
    assert only(state).query == Query(">=", "2024-05-09T07:55:00Z")
    assert state.cursor == "2024-05-09T08:00:00Z"  # kept until the walk completes


def test_incremental_disabled_rereads_the_initial_window():
    state, mode = planned(StreamState(cursor="2024-05-09T08:00:00Z"), incremental=False)
    assert mode == "full"
    assert only(state).query == Query(">=", "2024-02-10T12:30:45Z")


def test_a_walk_in_progress_is_resumed_as_saved():
    walk = Walk(
        Query(">=", "2024-05-01T00:00:00Z"), {"search_after": "a"}, "2024-05-02T00:00:00Z", 7
    )
    state, mode = planned(one("2024-04-01T00:00:00Z", walk), incremental=False)
    assert mode == "resume"
    assert state.walks == (walk,)


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
    table = one("2024-01-01T00:00:00Z", Walk(Query(">=", "2024-04-30T00:00:00Z")))
    after = advanced(table, summary())
    assert after.cursor == "2024-01-01T00:00:00Z"
    assert only(after).next_page == {"search_after": "a"}
    assert only(after).position == "2024-05-01T10:00:00Z"
    assert only(after).last_id == 9


def test_last_page_completes_the_table_with_the_last_position_as_cursor():
    table = one(None, Walk(Query(">=", "2024-04-30T00:00:00Z")))
    after = advanced(table, summary(link=None))
    assert after == StreamState(cursor="2024-05-01T10:00:00Z")


def test_empty_walk_keeps_the_window_start_and_never_moves_the_cursor_back():
    table = one(None, Walk(Query(">=", "2024-04-30T00:00:00Z")))
    assert advanced(table, summary(rows=0, link=None, position=None, last_id=None)).cursor == (
        "2024-04-30T00:00:00Z"
    )
    # A later empty re-read of the lookback window must not drag the cursor back by 5 minutes.
    table = one("2024-05-01T10:00:00Z", Walk(Query(">=", "2024-05-01T09:55:00Z")))
    after = advanced(table, summary(rows=0, link=None, position=None, last_id=None))
    assert after.cursor == "2024-05-01T10:00:00Z"
    # "all" with no rows at all: nothing to remember yet.
    table = one(None, Walk(Query(">=", None)))
    assert advanced(table, summary(rows=0, link=None, position=None, last_id=None)).cursor is None


def test_empty_page_keeps_the_previous_position():
    table = one(None, Walk(Query(">=", None), {"search_after": "1"}, "2024-05-01T10:00:00Z", 4))
    after = advanced(
        table, summary(rows=0, link=("search_after", "2"), position=None, last_id=None)
    )
    assert (only(after).position, only(after).last_id) == ("2024-05-01T10:00:00Z", 4)


def test_truncated_walk_continues_inclusively_from_its_last_row():
    table = one(None, Walk(Query(">=", "2024-04-01T00:00:00Z")))
    after = advanced(table, summary(link=None, throttled=True))
    assert after.cursor is None
    assert after.walks == (Walk(Query(">=", "2024-05-01T10:00:00Z")),)


def test_throttled_flag_is_sticky_across_the_pages_of_a_walk():
    table = one(None, Walk(Query(">=", None)))
    table = advanced(table, summary(throttled=True))
    table = advanced(table, summary(link=None, throttled=False, position="2024-05-02T00:00:00Z"))
    assert table.walks == (Walk(Query(">=", "2024-05-02T00:00:00Z")),)


def test_truncated_walk_without_progress_splits_the_second_by_id():
    moment = "2024-05-01T10:00:00Z"
    walk = Walk(Query(">=", moment), position=moment, last_id=120, throttled=True)
    assert successor(walk) == Walk(Query("=", moment, after_id=120))
    assert Query("=", moment, after_id=120).params("updated_at") == {
        "updated_at": moment,
        "id": ">120",
    }
    # The split walk truncated again: continue by id within the same second.
    by_id = Walk(Query("=", moment, 120), position=moment, last_id=250, throttled=True)
    assert successor(by_id) == Walk(Query("=", moment, after_id=250))
    # The split finished: continue strictly after the second (to the same end).
    done = Walk(Query("=", moment, 250), position=moment, last_id=300, end="2024-06-01T00:00:00Z")
    assert successor(done) == Walk(Query(">", moment), end="2024-06-01T00:00:00Z")
    assert Query(">", moment).params("created_at") == {"created_at": ">" + moment}


def test_no_progress_is_detected_across_offset_spellings():
    walk = Walk(
        Query(">=", "2024-05-01T10:00:00Z"),
        position="2024-05-01T10:00:00.000000Z",
        last_id=5,
        throttled=True,
    )
    assert successor(walk).query.op == "="


def test_untruncated_walk_is_the_end_and_truncated_empty_walk_is_an_error():
    assert successor(Walk(Query(">=", None), position="2024-05-01T10:00:00Z", last_id=1)) is None
    with pytest.raises(XurrentApiError, match="truncated"):
        successor(Walk(Query(">=", None), throttled=True))


def test_a_finished_walk_moves_the_cursor_to_the_later_moment():
    empty = summary(rows=0, link=None, position=None, last_id=None)
    assert advanced(one(None, Walk(Query(">", "2024-05-01T10:00:00Z"))), empty).cursor == (
        "2024-05-01T10:00:00Z"
    )
    later = one("2024-06-01T00:00:00Z", Walk(Query(">", "2024-05-01T10:00:00Z")))
    assert advanced(later, empty).cursor == "2024-06-01T00:00:00Z"


# --- refused cursors ---------------------------------------------------------------------------

CURSOR = {"search_after": "x"}


def test_refused_cursor_restarts_inclusively_at_the_position_then_exactly_by_id():
    walk = Walk(Query(">=", "2024-04-01T00:00:00Z"), CURSOR, "2024-05-01T10:00:00Z", 77)
    restarted = restart_after_refused_cursor(walk)
    assert restarted == Walk(Query(">=", "2024-05-01T10:00:00Z"))
    # Refused again at the same position (its page held only that second): go by id.
    again = replace(restarted, next_page=CURSOR, position="2024-05-01T10:00:00Z", last_id=77)
    assert restart_after_refused_cursor(again) == Walk(
        Query("=", "2024-05-01T10:00:00Z", after_id=77)
    )
    # Refused again further on: an inclusive restart there.
    further = replace(again, position="2024-05-02T00:00:00Z", last_id=90)
    assert restart_after_refused_cursor(further) == Walk(Query(">=", "2024-05-02T00:00:00Z"))
    split_second = Walk(Query("=", "2024-05-01T10:00:00Z", 5), CURSOR, "2024-05-01T10:00:00Z", 80)
    assert restart_after_refused_cursor(split_second) == Walk(
        Query("=", "2024-05-01T10:00:00Z", after_id=80)
    )
    fresh = Walk(Query(">=", "2024-04-01T00:00:00Z"), CURSOR)
    assert restart_after_refused_cursor(fresh) == Walk(Query(">=", "2024-04-01T00:00:00Z"))
    # A walk with an end keeps it.
    ending = replace(walk, end="2024-06-01T00:00:00Z")
    assert restart_after_refused_cursor(ending).end == "2024-06-01T00:00:00Z"


# --- splitting a walk ---------------------------------------------------------------------------

SYNC_START = datetime(2024, 5, 11, 1, 0, 0, tzinfo=timezone.utc)  # an hour after the end


def test_a_long_walk_splits_at_the_middle_of_what_it_has_left():
    walk = Walk(Query(">=", None), CURSOR, "2024-05-01T00:00:00Z", 77)
    state = one("2024-04-01T00:00:00Z", walk)
    # Its last page spanned one day; ten days are left until the sync started.
    state, (lower, upper) = split(state, walk, "2024-04-30T00:00:00Z", SYNC_START, 4)
    # The lower half is the same walk, page cursor and all, ending at the middle ...
    assert lower == replace(walk, end="2024-05-06T00:00:00Z")
    # ... and the upper half a new walk from there, with no end: later rows are its own. It
    # starts with the lower half's position, the latest row read when it was split off.
    assert upper == Walk(Query(">=", "2024-05-06T00:00:00Z"), position="2024-05-01T00:00:00Z")
    assert state.walks == (lower, upper) and state.cursor == "2024-04-01T00:00:00Z"
    # A lower half splits again within its own end.
    state, (low, middle) = split(state, lower, "2024-04-30T00:00:00Z", SYNC_START, 4)
    assert (low.end, middle.query.at, middle.end) == (
        "2024-05-03T12:00:00Z",
        "2024-05-03T12:00:00Z",
        "2024-05-06T00:00:00Z",
    )
    assert state.walks == (low, middle, upper)


def test_an_empty_upper_range_never_moves_the_cursor_to_the_split_point():
    # This machine's clock runs hours ahead of the API's: the split point lies past every row.
    walk = Walk(Query(">=", None), CURSOR, "2024-05-01T00:00:00Z", 77)
    state, (lower, upper) = split(one(None, walk), walk, "2024-04-30T00:00:00Z", SYNC_START, 4)
    empty = PageSummary(0, None, None, None, False)
    state, following = after_page(state, upper, upper, empty)
    assert following == () and state.walks == (lower,)
    # The cursor is the latest row read, never the middle only this machine's clock vouches
    # for: rows the API stamps later, however its clock runs, are read by the next sync.
    assert state.cursor == "2024-05-01T00:00:00Z"
    last = PageSummary(3, None, "2024-05-02T08:00:00Z", 80, False)
    state, _ = after_page(state, lower, lower, last)
    assert state.walks == () and state.cursor == "2024-05-02T08:00:00Z"


def test_a_walk_near_its_end_or_without_a_next_page_is_not_split():
    walk = Walk(Query(">=", None), CURSOR, "2024-05-08T00:00:00Z", 77)
    state = one(None, walk)
    # Three days left at a day a page: fewer than four pages.
    assert split(state, walk, "2024-05-07T00:00:00Z", SYNC_START, 4) is None
    assert split(state, walk, "2024-05-07T00:00:00Z", SYNC_START, 3) is not None
    # A page within one second says nothing about the pace; a last page has nothing left.
    assert split(state, walk, "2024-05-08T00:00:00Z", SYNC_START, 1) is None
    last = replace(walk, next_page=None)
    assert split(one(None, last), last, "2024-05-01T00:00:00Z", SYNC_START, 1) is None
    # Less than two seconds left: no middle to split at.
    tight = replace(walk, position="2024-05-10T23:59:59Z")
    assert split(one(None, tight), tight, "2024-05-10T23:59:00Z", SYNC_START, 1) is None


def test_a_walk_past_its_end_is_done_and_moves_the_cursor_to_its_last_kept_row():
    lower = Walk(Query(">=", None), CURSOR, "2024-05-01T00:00:00Z", 7, end="2024-05-06T00:00:00Z")
    upper = Walk(Query(">=", "2024-05-06T00:00:00Z"))
    state = StreamState("2024-04-01T00:00:00Z", (lower, upper))
    page = PageSummary(2, None, "2024-05-05T23:59:59Z", 9, True, reached_end=True)
    after, following = after_page(state, lower, lower, page)
    # Done even though the server marked the walk truncated: every row before the end came.
    assert following == () and after.walks == (upper,)
    assert after.cursor == "2024-05-05T23:59:59Z"
    assert after.reached is None or after.reached == after.cursor
    # The topmost walk finishing first moves the cursor; the lower walks are resumed first.
    top_done = PageSummary(1, None, "2024-05-10T00:00:00Z", 3, False)
    after, _ = after_page(state, upper, upper, top_done)
    assert after.walks == (lower,) and after.cursor == "2024-05-10T00:00:00Z"
    assert after.reached == "2024-05-01T00:00:00Z"
    assert planned(after)[1] == "resume"


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
            (
                Walk(
                    Query("=", "2024-05-01T10:00:00Z", 12),
                    {"search_after": CURSOR_TOKEN},
                    "2024-05-01T10:00:00Z",
                    40,
                    True,
                    end="2024-05-02T00:00:00Z",
                ),
                Walk(Query(">=", "2024-05-02T00:00:00Z"), {"search_after": CURSOR_TOKEN}),
            ),
        ),
        "organizations": StreamState("2024-05-01T09:00:00Z"),
        "trash": one(None, Walk(Query(">=", None))),
    }
    dumped = dump_state(streams)
    text = json.dumps(dumped)
    assert dumped["version"] == 2
    assert list(dumped["streams"]) == ["organizations", "products", "trash"]
    assert load_state(json.loads(text), NOW) == streams
    # The largest state a sync can checkpoint does not grow with the data: the three tables
    # mid-walk with a page cursor each (the archive and trash are walked after them) ...
    walk = streams["products"].walks[0]
    busy = {name: one(None, replace(walk, end=None)) for name in STREAM_NAMES[:3]}
    busy.update(archive=streams["trash"], trash=streams["trash"])
    assert len(json.dumps(dump_state(busy), separators=(",", ":"))) < 1000
    # ... and, when responses are slow, as many walks as a sync keeps in flight.
    busy["products"] = StreamState(None, (walk,) * (WALKS_AT_ONCE - 2))
    assert len(json.dumps(dump_state(busy), separators=(",", ":"))) < 2000


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
    return {"version": 2, "streams": {"products": {"walks": [walk]}}}


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
        ({"version": 2, "streams": {"requests": {}}}, ["unknown stream 'requests'"]),
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
        (products([]), ["streams.products.walks[0]"]),
        ({"version": 2, "streams": {"products": {"walks": {}}}}, ["streams.products.walks"]),
        (
            products({"query": {"op": ">=", "at": "2024-05-01T10:00:00Z"}, "end": "2024-05-01"}),
            ["streams.products.walks[0].end"],
        ),
        (
            products(
                {
                    "query": {"op": ">=", "at": "2024-05-01T10:00:00Z"},
                    "end": "2024-05-01T09:00:00Z",
                }
            ),
            ["walks[0].end", "not after"],
        ),
        (
            {
                "version": 2,
                "streams": {
                    "products": {
                        "walks": [
                            {"query": {"op": ">=", "at": None}, "end": "2024-05-02T00:00:00Z"},
                            {"query": {"op": ">=", "at": "2024-05-01T00:00:00Z"}},
                        ]
                    }
                },
            },
            ["streams.products.walks", "overlap"],
        ),
        (
            {
                "version": 2,
                "streams": {
                    "products": {
                        "walks": [
                            {"query": {"op": ">=", "at": None}},
                            {"query": {"op": ">=", "at": "2024-05-01T00:00:00Z"}},
                        ]
                    }
                },
            },
            ["streams.products.walks", "overlap"],
        ),
        ({"version": 1, "tables": []}, ["'tables'"]),
        ({"version": 1, "tables": {"requests": {}}}, ["unknown stream 'requests'"]),
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
            ["tables.products.walks[0].next_page"],
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
                "walks": [{"query": {"op": ">=", "at": close}, "position": close}],
            },
            "projects": {"walks": [{"query": {"op": ">=", "at": None}}]},
        },
    }
    assert set(load_state(raw, NOW)) == {"organizations", "products", "projects"}


@pytest.mark.parametrize(
    "entry, field",
    [
        ({"cursor": "2099-01-01T00:00:00Z"}, "streams.archive.cursor"),
        (
            {"walks": [{"query": {"op": ">", "at": "2099-01-01T00:00:00Z"}}]},
            "streams.archive.walks[0].query.at",
        ),
        (
            {"walks": [{"query": {"op": ">=", "at": None}, "position": "2099-01-01T00:00:00Z"}]},
            "streams.archive.walks[0].position",
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
    assert loaded["products"] == one(
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
        assert loaded[listing] == one(None, Walk(Query(">=", None)))
        assert planned(loaded[listing])[1] == "resume"
    # Without projects nothing of the kind is added.
    assert set(load_state({"version": 1, "tables": {"products": {}}}, NOW)) == {"products"}
