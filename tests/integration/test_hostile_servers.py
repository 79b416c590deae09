"""A misbehaving API, end to end through the SDK runner against the simulator with the matching
hostile switch on: a sync never hangs, never loops, and one odd record never blocks it.

Each case ends in a repaired value (stored, counted in ``sync_health``, reported once), a
skipped record (the same), or a clear error whose next sync completes; never in a lost row.
The runner's clock is fake for sleeps, so what is checked is what the connector decided to
wait, never wall-clock time; the trickling body is a real one, against a deadline of 0.5 s.
"""

from __future__ import annotations

import json
import time
from email.utils import formatdate

import pytest
from testkit import (
    api_requests,
    assert_matches_truth,
    configuration_for,
    documented_queries,
    query,
    read_table,
)

from xurrent_connector.pacing import BURST_WINDOW_SECONDS

PAGE = 10  # tiny products: 60 rows, 6 pages of 10
TABLES = ("organizations", "products", "projects")
REPAIRED_ALERT = documented_queries()["Values repaired or records skipped in the last day"]


def health(runner) -> dict[str, dict]:
    """The last sync's sync_health rows by stream."""
    rows = runner.rows("sync_health")
    latest = max(row["sync_started_at"] for row in rows)
    return {row["table_name"]: row for row in rows if row["sync_started_at"] == latest}


def warnings(result) -> list[str]:
    return [line for line in result.output.splitlines() if "WARNING" in line]


def products_by_update(sim) -> list[dict]:
    return sorted(sim.ground_truth("products"), key=lambda r: (updated(r), r["id"]))


def updated(record) -> float:
    from datetime import datetime

    return datetime.fromisoformat(record["updated_at"]).timestamp()


# --- odd records -----------------------------------------------------------------------------


def test_a_lone_surrogate_lands_every_row_repaired_and_is_reported_once(make_sim, runner):
    sim = make_sim()
    ids = [record["id"] for record in products_by_update(sim)]
    faults = {f"products/{ids[3]}": "lone_surrogate", f"products/{ids[4]}": "lone_surrogate"}
    faults[f"products/{ids[40]}"] = "lone_surrogate_in_json"
    faults[f"organizations/{sim.ground_truth('organizations')[0]['id']}"] = "lone_surrogate"
    sim.configure(record_faults=faults)
    first = runner.run(configuration_for(sim))
    assert_matches_truth(runner, sim)  # every row, "\ufffd" where half an emoji was
    rows = {int(row["id"]): row for row in runner.rows("products")}
    assert rows[ids[3]]["name"].endswith(" \ufffd")
    figures = health(runner)
    assert figures["products"]["repaired_values"] == "3"
    assert figures["organizations"]["repaired_values"] == "1"
    assert figures["projects"]["repaired_values"] == "0"
    text = [line for line in warnings(first) if "UTF-8" in line]
    assert len(text) == 2  # once per table and sync
    assert f"products: column name of record {ids[3]}" in "".join(text)
    # The next sync reads the same records again, and completes the same way.
    sim.update_rows("products", ids=[ids[3]])
    runner.run(configuration_for(sim))
    assert_matches_truth(runner, sim)


def test_values_of_the_wrong_type_land_as_null_and_the_rest_of_the_row_with_them(make_sim, runner):
    sim = make_sim()
    products = [record["id"] for record in products_by_update(sim)]
    faults = dict(
        zip(
            (f"products/{row_id}" for row_id in products[10:15]),
            ("text_for_number", "object_for_text", "text_for_reference", "bad_decimal"),
        )
    )
    faults[f"products/{products[15]}"] = "bad_updated_at"
    faults[f"projects/{sim.ground_truth('projects')[0]['id']}"] = "text_for_number"
    faults[f"organizations/{sim.ground_truth('organizations')[2]['id']}"] = "text_for_number"
    sim.configure(record_faults=faults)
    result = runner.run(configuration_for(sim))
    assert_matches_truth(runner, sim)
    figures = health(runner)
    # The service as text empties its five columns; the rest one column each.
    assert figures["products"]["repaired_values"] == str(1 + 1 + 5 + 1 + 1)
    assert figures["projects"]["repaired_values"] == "1"
    assert figures["organizations"]["repaired_values"] == "1"
    assert all(row["status"] == "succeeded" for row in figures.values())
    reported = [line for line in warnings(result) if "not of the column's type" in line]
    assert len(reported) == 3  # once per table
    assert {row[1] for row in query(runner, REPAIRED_ALERT)} == set(TABLES)
    assert "twelve" not in result.output and "NaN" not in result.output  # never the value


def test_a_record_without_id_is_skipped_and_one_without_updated_at_never_moves_the_cursor(
    make_sim, runner
):
    sim = make_sim()
    ordered = products_by_update(sim)
    newest, before_it = ordered[-1], ordered[-2]
    assert updated(newest) > updated(before_it)
    sim.configure(
        record_faults={
            f"products/{ordered[5]['id']}": "no_id",
            f"products/{newest['id']}": "no_updated_at",
        }
    )
    configuration = configuration_for(sim, tables="products", max_records_per_page=PAGE)
    first = runner.run(configuration)
    assert_matches_truth(runner, sim, tables=("products",))  # all but the id-less one
    rows = {int(row["id"]): row for row in runner.rows("products")}
    assert ordered[5]["id"] not in rows and rows[newest["id"]]["updated_at"] is None
    cursor = first.state["streams"]["products"]["cursor"]
    assert updated({"updated_at": cursor.replace("Z", "+00:00")}) == updated(before_it)
    figures = health(runner)["products"]
    assert (figures["skipped_records"], figures["repaired_values"]) == ("1", "1")
    assert any("without a usable id (at updated_at" in line for line in warnings(first))
    runner.run(configuration)  # the next sync re-reads the newest row and completes
    assert health(runner)["products"]["status"] == "succeeded"


def test_an_archive_entry_without_a_usable_project_is_skipped_and_the_rest_applied(
    make_sim, runner
):
    sim = make_sim()
    configuration = configuration_for(sim, tables="projects")
    runner.run(configuration)
    broken, archived = [record["id"] for record in sim.ground_truth("projects")[:2]]
    for project in (broken, archived):
        sim.archive_project(project)
    entry = sim.store.bins["projects"][broken][1]
    sim.configure(record_faults={f"archive/{entry}": "broken_reference"})
    result = runner.run(configuration)
    figures = health(runner)["archive"]
    assert (figures["status"], figures["skipped_records"]) == ("succeeded", "1")
    deleted = {
        int(row["id"]): row["archived_at"] is not None
        for row in read_table(runner.project_dir, "projects")
        if row["_fivetran_deleted"] == "true"
    }
    assert deleted == {archived: True}  # the broken entry's project stays as it was
    assert any(
        "without a valid project reference; it was skipped" in line for line in warnings(result)
    )


# --- pagination that loops ----------------------------------------------------------------------


def test_a_looping_cursor_ends_the_sync_with_the_rows_before_it_landed_and_the_next_sync_completes(
    make_sim, runner, one_walk_per_stream
):
    sim = make_sim()
    sim.configure(fault_schedule={4: "repeat_cursor"})  # /me is 1: the third products page
    configuration = configuration_for(sim, tables="products", max_records_per_page=PAGE)
    failed = runner.run(configuration, expect_failure=True)
    message = str(failed.error)
    assert "products: the API linked to a page cursor this walk has followed already" in message
    assert "(at updated_at " in message and "pagination loops" in message
    assert len(api_requests(sim, "products")) == 3  # the repeated cursor was never asked for
    assert len(runner.rows("products")) == 3 * PAGE
    assert health(runner)["products"]["status"] == "failed"
    sim.configure(fault_schedule={})
    runner.run(configuration)
    assert_matches_truth(runner, sim, tables=("products",))


def test_the_same_page_under_a_new_cursor_costs_one_request(make_sim, runner, one_walk_per_stream):
    sim = make_sim()
    sim.configure(fault_schedule={4: "repeat_page"})
    configuration = configuration_for(sim, tables="products", max_records_per_page=PAGE)
    failed = runner.run(configuration, expect_failure=True)
    assert "answered a page this walk has read already" in str(failed.error)
    assert len(api_requests(sim, "products")) == 4
    assert len(runner.rows("products")) == 3 * PAGE
    sim.configure(fault_schedule={})
    runner.run(configuration)
    assert_matches_truth(runner, sim, tables=("products",))


def test_an_empty_page_that_links_on_and_a_page_beyond_per_page_lose_nothing(
    make_sim, runner, one_walk_per_stream
):
    sim = make_sim()
    sim.configure(fault_schedule={3: "empty_page", 6: "oversize_page"})
    runner.run(configuration_for(sim, tables="products", max_records_per_page=PAGE))
    assert_matches_truth(runner, sim, tables=("products",))
    faults = [entry["fault"] for entry in api_requests(sim, "products")]
    assert faults.count("empty_page") == faults.count("oversize_page") == 1
    assert len(faults) == 6  # an empty page, four pages, and two pages as one
    assert health(runner)["products"]["status"] == "succeeded"


# --- answers that never end or are not the API's ---------------------------------------------


def test_a_trickling_body_times_out_at_the_request_timeout_and_is_retried(make_sim, runner):
    sim = make_sim(trickle_bytes=16, trickle_interval_seconds=0.1)
    sim.configure(fault_schedule={3: "trickle"})
    runner.client_settings_overrides = {"request_timeout_seconds": 0.5}
    result = runner.run(configuration_for(sim, tables="products", max_records_per_page=PAGE))
    assert_matches_truth(runner, sim, tables=("products",))
    figures = health(runner)["products"]
    assert json.loads(figures["errors_by_kind"]) == {"timeout": 1}
    assert figures["retries"] == "1" and figures["status"] == "succeeded"
    log = api_requests(sim, "products")
    trickled = next(i for i, entry in enumerate(log) if entry["fault"] == "trickle")
    assert log[trickled + 1]["query"] == log[trickled]["query"]  # the same page, asked again
    assert any("no complete answer within 0.5 s" in line for line in warnings(result))


def test_an_html_page_is_retried_and_a_lying_content_type_is_ignored(make_sim, runner):
    sim = make_sim(content_type="text/html; charset=iso-8859-1")
    sim.configure(fault_schedule={3: "html"})
    result = runner.run(configuration_for(sim))
    assert_matches_truth(runner, sim)
    kinds = [json.loads(row["errors_by_kind"]) for row in health(runner).values()]
    assert kinds.count({"malformed_json": 1}) == 1
    assert any("not valid JSON (Content-Type text/html" in line for line in warnings(result))


# --- rate limits and clocks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "retry_after, waited",
    [
        ("soon", BURST_WINDOW_SECONDS),  # the other garbage is tests/unit/test_http.py's
        (formatdate(time.time() - 3600, usegmt=True), 1.0),  # in the past: go now
    ],
    ids=["text", "a past date"],  # stable names: every test worker collects the same tests
)
def test_a_burst_429_with_an_unusable_retry_after_is_retried_and_the_sync_completes(
    make_sim, runner, retry_after, waited
):
    """The 429 reports 3,5xx requests left of the hour: a burst refusal, whatever its
    Retry-After says; the sync waits a burst window and goes on, never stops for the hour."""
    sim = make_sim(rate_limit=True, burst_limit=None, burst_429_budget="actual")
    sim.configure(fault_schedule={3: "429"}, retry_after_text=retry_after)
    result = runner.run(configuration_for(sim, tables="products", max_records_per_page=PAGE))
    assert_matches_truth(runner, sim, tables=("products",))
    assert result.sleeps == [waited]
    figures = health(runner).values()
    assert {row["status"] for row in figures} == {"succeeded"}
    assert sum(int(row["throttled_429"]) for row in figures) == 1


def test_a_429_for_an_hour_really_spent_still_stops_cleanly_without_a_usable_retry_after(
    make_sim, runner
):
    sim = make_sim(rate_limit=True, burst_limit=None, hourly_limit=3, retry_after_text="soon")
    sim.add_token("tok-OtHeR-IntEgRaTiOn-77", user="user:api")  # the same user's budget
    other = {"Authorization": "Bearer tok-OtHeR-IntEgRaTiOn-77", "X-Xurrent-Account": "widget"}
    import requests

    for _ in range(3):
        assert requests.get(sim.api_url + "/me", headers=other, timeout=10).ok
    first = runner.run(configuration_for(sim))  # returns normally: stopped, not failed
    assert first.sleeps == []  # no hour's wait, no retry against a spent budget
    assert {row["status"] for row in health(runner).values()} == {"rate_limited"}
    sim.reset_rate_limits()  # an hour later, with the budget to finish
    sim.configure(hourly_limit=3600)
    runner.run(configuration_for(sim))
    assert_matches_truth(runner, sim)


@pytest.mark.parametrize("offset", [600, -3 * 3600])
def test_a_server_clock_minutes_ahead_or_hours_behind_changes_nothing(make_sim, runner, offset):
    """Its timestamps, its Date and its HTTP-date Retry-After are all on its own clock: the
    429 is waited out for the second it asks (not ten minutes more, which would stop the
    sync), and the cursor it stamped carries the next sync."""
    sim = make_sim(
        clock_offset_seconds=offset,
        rate_limit=True,
        burst_limit=None,
        retry_after_format="http-date",
    )
    sim.configure(fault_schedule={3: "429"})
    configuration = configuration_for(sim, tables="products", max_records_per_page=PAGE)
    first = runner.run(configuration)
    assert len(first.sleeps) == 1 and 1.0 <= first.sleeps[0] <= 2.0
    assert_matches_truth(runner, sim, tables=("products",))
    sim.update_rows("products", count=3, at=sim.now())
    sim.insert_rows("products", 2, at=sim.now())
    runner.run(configuration)
    assert_matches_truth(runner, sim, tables=("products",))
