"""The ``sync_health`` table end to end: connector.py through the SDK runner, simulator over HTTP.

Every expected figure is computed here from the simulator's own records (its request log,
fault schedule and ground truth), never from the connector's accumulators.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

import pytest
from testkit import api_requests, configuration_for, documented_queries, query

TABLES = ("organizations", "products", "projects")
BINS = ("archive", "trash")
HOURLY_LIMIT = 100_000
FAILED_FAULTS = {"500", "502", "503", "504", "malformed", "drop", "truncated"}


def health_rows(runner) -> dict[tuple[str, str], dict]:
    """sync_health rows keyed by (sync_id, table_name); numbers and JSON decoded."""
    import duckdb

    connection = duckdb.connect(
        os.path.join(runner.project_dir, "files", "warehouse.db"), read_only=True
    )
    try:
        connection.execute("SET TimeZone = 'UTC'")
        types = connection.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'tester' and table_name = 'sync_health' "
            "and column_name not like '_fivetran%'"
        ).fetchall()
        # TIMESTAMPTZ to Python needs pytz: read those as text and parse them here.
        selection = ", ".join(
            f'CAST("{name}" AS VARCHAR) AS "{name}"' if "TIME ZONE" in kind else f'"{name}"'
            for name, kind in types
        )
        cursor = connection.execute(f"select {selection} from tester.sync_health")
        columns = [description[0] for description in cursor.description]
        rows = [dict(zip(columns, values)) for values in cursor.fetchall()]
    finally:
        connection.close()
    for row in rows:
        if isinstance(row["errors_by_kind"], str):
            row["errors_by_kind"] = json.loads(row["errors_by_kind"])
        for column in ("sync_started_at", "started_at", "finished_at", "cursor_reached"):
            if row[column] is not None:
                row[column] = datetime.fromisoformat(row[column])
    return {(row["sync_id"], row["table_name"]): row for row in rows}


QUERIES = documented_queries()
ERROR_RATE_ALERT = QUERIES["Error rate above 2 % in the last day"]
DURATION_ALERT = QUERIES[
    "Syncs that took longer than 4 hours (first stream start to last stream end)"
]
FAILED_ALERT = QUERIES["Streams that failed in the last day"]
LATEST_SYNC = QUERIES["The latest sync, stream by stream"]


def last_sync(rows: dict) -> dict[str, dict]:
    """The rows of the most recent sync, by stream."""
    latest = max(row["sync_started_at"] for row in rows.values())
    return {row["table_name"]: row for row in rows.values() if row["sync_started_at"] == latest}


def log_by_table(sim) -> dict[str, list[dict]]:
    return {table: api_requests(sim, table) for table in TABLES + BINS}


# --- a clean sync -------------------------------------------------------------------------------


def test_clean_sync_health_rows_equal_the_simulators_figures(make_sim, runner):
    sim = make_sim(rate_limit=True, burst_limit=None, hourly_limit=HOURLY_LIMIT)
    result = runner.run(configuration_for(sim, max_records_per_page="7"))

    rows = last_sync(health_rows(runner))
    assert set(rows) == set(TABLES + BINS)
    assert len({row["sync_id"] for row in rows.values()}) == 1
    logs = log_by_table(sim)
    total_requests = len(api_requests(sim))
    for table in TABLES + BINS:
        row, log = rows[table], logs[table]
        assert row["status"] == "succeeded" and row["error"] is None
        assert row["requests"] == row["pages"] == len(log)
        assert row["retries"] == row["throttled_429"] == row["failed_requests"] == 0
        assert row["error_rate"] == 0.0 and row["errors_by_kind"] == {}
        assert row["mean_response_ms"] > 0 and row["p_95_response_ms"] >= 0
        assert row["ratelimit_limit"] == HOURLY_LIMIT
        assert HOURLY_LIMIT - total_requests <= row["ratelimit_remaining"]
        assert row["ratelimit_remaining"] <= HOURLY_LIMIT - len(log)
        cursor = result.state["streams"][table]["cursor"]
        assert row["cursor_reached"] == (cursor and datetime.fromisoformat(cursor))
        assert row["started_at"] <= row["finished_at"]
        assert row["duration_seconds"] >= 0
    for table in TABLES:
        assert rows[table]["rows_upserted"] == len(sim.ground_truth(table)) > 7
        assert rows[table]["rows_deleted"] == 0
    # The archive and trash rows count the projects they marked deleted, and write no rows.
    for listing in BINS:
        entries = [e for e in sim.store.rows[listing].values() if e.get("project")]
        assert rows[listing]["rows_deleted"] == len(entries)
        assert rows[listing]["rows_upserted"] == 0
    assert rows["archive"]["rows_deleted"] + rows["trash"]["rows_deleted"] > 0


# --- faults -------------------------------------------------------------------------------------


def test_injected_faults_show_as_retries_429s_and_error_rate(make_sim, runner):
    sim = make_sim()
    # Request numbers within the three walks (7 rows a page: 4 + 9 + 2 pages, plus retries);
    # which table each one hits does not matter: every figure is checked per table.
    schedule = {2: "503", 3: "429", 6: "500", 7: "malformed", 9: "429", 12: "drop", 17: "502"}
    sim.configure(fault_schedule=schedule)
    runner.run(configuration_for(sim, max_records_per_page="7", retry_attempts="5"))

    rows = last_sync(health_rows(runner))
    logs = log_by_table(sim)
    table_log = [entry for table in TABLES for entry in logs[table]]
    # Every scheduled fault hit a table request (the lifecycle listings come after them).
    assert sorted(entry["seq"] for entry in table_log if entry["fault"]) == sorted(schedule)
    for table in TABLES:
        row, log = rows[table], logs[table]
        throttled = sum(1 for entry in log if entry["fault"] == "429")
        failed = sum(1 for entry in log if entry["fault"] in FAILED_FAULTS)
        assert row["status"] == "succeeded"
        assert row["requests"] == len(log)
        assert row["throttled_429"] == throttled
        assert row["failed_requests"] == failed
        assert row["retries"] == throttled + failed
        assert row["error_rate"] == pytest.approx(failed / len(log))
        assert sum(row["errors_by_kind"].values()) == throttled + failed
        assert row["rows_upserted"] == len(sim.ground_truth(table))
    assert sum(row["throttled_429"] for row in rows.values()) == 2
    assert sum(row["failed_requests"] for row in rows.values()) == 5
    assert query(runner, FAILED_ALERT) == []
    latest = query(runner, LATEST_SYNC)
    assert {row[0] for row in latest} == set(TABLES + BINS)
    alerting = {row[1] for row in query(runner, ERROR_RATE_ALERT)}
    assert alerting == {table for table, row in rows.items() if row["error_rate"] > 0.02}
    assert alerting  # the faults pushed at least one table over 2 %
    assert query(runner, DURATION_ALERT) == []


def test_a_failing_table_still_records_its_row_and_the_finished_tables(make_sim, runner):
    sim = make_sim()
    configuration = configuration_for(sim, max_records_per_page="7", retry_attempts="2")
    runner.run(configuration)  # a first, clean sync
    sim.reset_stats()
    sim.update_rows("projects", count=3)
    # The second sync: every projects request answers 503, so projects gives up after two
    # attempts (a hook schedules the fault for each projects request as it arrives, whatever
    # order the tables' requests come in).
    failing: dict[int, str] = {}

    def fail_projects(simulator, info):
        if info["path"] == "/v1/projects":
            failing[info["seq"]] = "503"
            simulator.configure(fault_schedule=dict(failing))

    sim.add_request_hook(fail_projects)
    failed = runner.run(configuration, expect_failure=True)
    assert "503" in str(failed.error)

    rows = last_sync(health_rows(runner))
    # The archive and trash never started: their rows say so, with the error that stopped them.
    assert set(rows) == set(TABLES + BINS)
    for listing in BINS:
        assert rows[listing]["status"] == "failed" and rows[listing]["requests"] == 0
        assert rows[listing]["error"] == rows["projects"]["error"]
    # Tables sync concurrently: one still running when projects failed was stopped too, and
    # its row says so with the same error.
    for table in ("organizations", "products"):
        assert rows[table]["status"] in ("succeeded", "failed")
        if rows[table]["status"] == "failed":
            assert rows[table]["error"] == rows["projects"]["error"]
    failed_streams = {row[1] for row in query(runner, FAILED_ALERT)}
    assert {"projects", "archive", "trash"} <= failed_streams
    projects = rows["projects"]
    assert projects["status"] == "failed"
    assert "503" in projects["error"] and "XurrentApiError" in projects["error"]
    assert projects["requests"] == 2 and projects["failed_requests"] == 2
    assert projects["error_rate"] == 1.0
    assert projects["rows_upserted"] == 0
    # The cursor reached is the one the state kept (projects did not advance).
    assert projects["cursor_reached"] == datetime.fromisoformat(
        failed.state["streams"]["projects"]["cursor"]
    )
