"""Tables fetched concurrently: the same warehouse as a sequential sync, safe resumes, and a
shared pacer that keeps three fetchers under the real rate limits without a single 429.

Everything runs over real HTTP against the simulator; the syncs go through the SDK's runner
except the rate-limit test, which needs the client's real clock (the runner fixture swaps in a
fake one so backoff costs no time) and therefore drives ``run_sync`` directly with a recorder
in place of the SDK's operations.
"""

from __future__ import annotations

import math
import re
import time

from fivetran_connector_sdk_common.logger import Logging
from testkit import (
    Recorder,
    api_requests,
    assert_matches_truth,
    configuration_for,
    query,
    sized,
)

from xurrent_connector.http import XurrentClient
from xurrent_connector.options import parse_settings
from xurrent_connector.timestamps import format_utc, parse_utc
from xurrent_connector.sync import WALKS_AT_ONCE, run_sync

TABLES = ("organizations", "products", "projects")
#: Two fifths of the "small" preset: enough pages to interleave, split and fail midway.
SIZES = sized("small", 0.4)


def interleaved(sim) -> bool:
    """Whether requests of different tables alternate (tables were fetched at the same time)."""
    paths = [entry["path"] for entry in api_requests(sim) if entry["path"] != "/v1/archive"]
    first_of = {path: paths.index(path) for path in set(paths)}
    last_of = {path: len(paths) - 1 - paths[::-1].index(path) for path in set(paths)}
    return any(
        first_of[other] < last_of[path] and first_of[path] < last_of[other]
        for path in first_of
        for other in first_of
        if other != path
    )


def fail_requests_of(sim, collection: str, after: int):
    """Every request to ``collection`` after its first ``after`` fails with 500 until switched
    off (by the returned function)."""
    seen = {"count": 0, "on": True}

    def hook(simulator, info):
        if info["path"] == f"/v1/{collection}":
            seen["count"] += 1
            if seen["on"] and seen["count"] > after:
                schedule = dict(simulator.config.fault_schedule)
                schedule[info["seq"]] = "500"
                simulator.configure(fault_schedule=schedule)

    sim.add_request_hook(hook)
    return lambda: seen.update(on=False)


def test_concurrent_sync_lands_the_ground_truth_with_tables_interleaved(
    make_sim, runner, one_walk_per_stream
):
    sim = make_sim(scale="small", **SIZES, latency_ms=2)
    result = runner.run(configuration_for(sim, max_records_per_page=50))
    assert_matches_truth(runner, sim)
    assert interleaved(sim), "tables were fetched one after the other"
    # No wasted request: one per full page, no request for an empty last page. One walk a
    # table: on a loaded machine slow answers would split walks, and each split costs one
    # partial page (the split tests count those).
    for table in TABLES:
        rows = len(sim.ground_truth(table))
        assert len(api_requests(sim, table)) == max(1, math.ceil(rows / 50)), table
    # A checkpoint after every page (plus the health rows and the archive/trash walks), and
    # the final state is complete.
    pages = sum(len(api_requests(sim, table)) for table in TABLES)
    assert result.counts["Checkpoints"] >= pages
    assert all(result.state["streams"][table]["walks"] == [] for table in TABLES)
    assert "Fetching 3 streams at once" in result.output


def test_each_tables_progress_counts_only_its_own_requests(make_sim, runner):
    """With tables fetched at the same time, a table's summary line must not be credited with
    the other tables' requests (as it would be if it read the shared client's totals)."""
    sim = make_sim(scale="small", **SIZES, latency_ms=2)
    result = runner.run(configuration_for(sim, max_records_per_page=50))
    assert interleaved(sim)
    for table in TABLES:
        pattern = rf"{table}: succeeded, \d+ records in \d+ pages, (\d+) requests"
        match = re.search(pattern, result.output)
        assert match, f"no summary line for {table}"
        assert int(match.group(1)) == len(api_requests(sim, table)), table


def test_failure_in_one_table_keeps_what_the_others_did_and_resumes_without_loss(
    make_sim, runner, one_walk_per_stream
):
    sim = make_sim(scale="small", **SIZES, latency_ms=1)
    stop_failing = fail_requests_of(sim, "products", after=6)
    configuration = configuration_for(sim, max_records_per_page=20, retry_attempts=1)

    failed = runner.run(configuration, expect_failure=True)
    assert "500" in str(failed.error)
    saved = failed.state["streams"]
    # products stopped midway, exactly after its last consumed page ...
    products_walks = saved["products"]["walks"]
    assert products_walks and all(
        walk["next_page"] and walk["position"] for walk in products_walks
    )
    # ... while the other tables' progress, made at the same time, was committed too.
    progressed = {
        table: saved[table]
        for table in ("organizations", "projects")
        if not saved.get(table, {}).get("walks") or saved[table]["walks"][0].get("position")
    }
    assert progressed, saved
    first_run_rows = {table: len(runner.rows(table)) for table in TABLES}
    assert all(first_run_rows[table] > 0 for table in progressed)

    stop_failing()
    sim.configure(fault_schedule={})
    sim.reset_stats()
    runner.run(configuration)
    assert_matches_truth(runner, sim)
    # Nothing was read twice beyond the resume points: each table's second run asked for
    # fewer pages than a full read, and products continued from its saved cursor.
    resumed = api_requests(sim, "products")[0]["query"]
    saved_cursors = [walk["next_page"]["search_after"] for walk in products_walks]
    assert resumed["search_after"] in saved_cursors
    for table in progressed:
        full = math.ceil(len(sim.ground_truth(table)) / 20)
        assert len(api_requests(sim, table)) < full, table


def test_three_fetchers_share_one_pacer_and_never_see_a_429_under_the_real_limits(make_sim):
    # The real limits: 20 requests per 2 s and 3600 per hour, with the real clock.
    sim = make_sim(rate_limit=True, latency_ms=5)
    settings = parse_settings(configuration_for(sim, max_records_per_page=3))
    recorder, waits = Recorder(), []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    previous = Logging.LOG_LEVEL
    Logging.LOG_LEVEL = Logging.Level.WARNING
    client = XurrentClient(settings, sleep=sleep)
    try:
        run_sync(settings, {}, client, op=recorder)
    finally:
        client.close()
        Logging.LOG_LEVEL = previous
    requests = api_requests(sim)
    assert len(requests) > 25  # more than one burst window's worth
    assert interleaved(sim)
    assert [entry for entry in requests if entry["status"] == 429] == []
    assert sum(waits) > 0  # the burst limit was binding, and paced, not hit
    health = {row["table_name"]: row for row in recorder.rows("sync_health")}
    assert all(row["throttled_429"] == 0 for row in health.values())
    for table in TABLES:
        assert len(recorder.rows(table)) == len(sim.ground_truth(table)), table


# --- one stream read as several walks -----------------------------------------------------------


def walk_starts(requests: list[dict]) -> list[dict]:
    """The first request of every walk: the one without a page cursor."""
    return [entry for entry in requests if "search_after" not in entry["query"]]


def test_at_high_response_times_a_long_walk_is_split_and_every_row_lands_once(make_sim, runner):
    # 150 ms a page: one walk makes under 7 requests a second, the burst limit allows 10.
    sim = make_sim(scale="small", **SIZES, latency_ms=150)
    result = runner.run(configuration_for(sim, max_records_per_page=50, tables="products"))

    assert_matches_truth(runner, sim, tables=("products",))
    requests = api_requests(sim, "products")
    starts = walk_starts(requests)
    assert 2 <= len(starts) <= 2 * WALKS_AT_ONCE  # split, and not into a walk a page
    # A split re-reads nothing: the health row counts every row exactly once ...
    rows = len(sim.ground_truth("products"))
    health = query(
        runner,
        "SELECT rows_upserted, pages, requests FROM tester.sync_health "
        "WHERE table_name = 'products'",
    )
    assert health == [(str(rows), str(len(requests)), str(len(requests)))]
    # ... and costs at most one page per walk: each walk's last page is its only short one.
    assert len(requests) <= rows // 50 + len(starts)
    assert sum(entry["rows"] < 50 for entry in requests) <= len(starts)
    # The halves start where the walk they came from was told to end, in the state's order.
    assert all(entry["query"]["updated_at"].startswith(">=") for entry in starts[1:])
    assert result.state["streams"]["products"]["walks"] == []
    assert "products: succeeded" in result.output


def test_a_sync_failing_while_a_stream_is_split_resumes_every_walk_without_loss(
    make_sim, runner, split_eagerly
):
    sim = make_sim(scale="small", **SIZES, latency_ms=1)
    stop_failing = fail_requests_of(sim, "products", after=12)
    configuration = configuration_for(
        sim, max_records_per_page=20, retry_attempts=1, tables="products"
    )
    failed = runner.run(configuration, expect_failure=True)
    assert "500" in str(failed.error)
    walks = failed.state["streams"]["products"]["walks"]
    assert len(walks) >= 2 and all(walk.get("end") for walk in walks[:-1])
    assert "end" not in walks[-1]  # the topmost walk keeps the rows written during the sync
    for lower, upper in zip(walks, walks[1:]):
        assert lower["end"] <= upper["query"]["at"]
    saved_cursors = {walk["next_page"]["search_after"] for walk in walks if walk.get("next_page")}
    assert saved_cursors

    stop_failing()
    sim.configure(fault_schedule={})
    sim.reset_stats()
    resumed = runner.run(configuration)
    assert_matches_truth(runner, sim, tables=("products",))
    asked = {entry["query"].get("search_after") for entry in api_requests(sim, "products")}
    assert saved_cursors <= asked  # every walk continued from its own page cursor
    # Nothing was read twice: the two syncs wrote every row exactly once between them.
    written = query(
        runner,
        "SELECT rows_upserted FROM tester.sync_health WHERE table_name = 'products' "
        "ORDER BY sync_started_at",
    )
    assert sum(int(rows) for (rows,) in written) == len(sim.ground_truth("products"))
    assert resumed.state["streams"]["products"]["walks"] == []


def test_split_walks_never_move_the_cursor_past_the_rows_read_whatever_the_clocks_say(
    make_sim, runner, split_eagerly
):
    # The data ends six hours before this machine's clock, as if the API's clock lagged by six
    # hours: the split points near the top lie past every row, and their ranges read nothing.
    anchor = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 6 * 3600))
    sim = make_sim(scale="small", **SIZES, anchor=anchor)
    # Busy last hour (a page spans minutes), so walks near the top are split too.
    recent = [row["id"] for row in sim.ground_truth("products")][::5]
    for offset, row_id in enumerate(recent):
        sim.update_rows(
            "products", ids=[row_id], at=sim.anchor - 3600 + offset * 3600 // len(recent)
        )
    configuration = configuration_for(
        sim, max_records_per_page=50, tables="products", lookback_minutes=0
    )
    first = runner.run(configuration)
    assert len(walk_starts(api_requests(sim, "products"))) > 2
    newest = format_utc(max(parse_utc(row["updated_at"]) for row in sim.ground_truth("products")))
    assert first.state["streams"]["products"]["cursor"] == newest

    # Edits the API stamps after the newest row, each earlier than any split point.
    edited = [row["id"] for row in sim.ground_truth("products")][::7]
    for offset, row_id in enumerate(edited, start=1):
        sim.update_rows("products", ids=[row_id], at=sim.anchor + offset)
    runner.run(configuration)
    assert_matches_truth(runner, sim, tables=("products",))
