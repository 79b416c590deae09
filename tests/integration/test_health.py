"""The ``sync_health`` table end to end: connector.py through the SDK runner, simulator over HTTP.

Every expected figure is computed here from the simulator's own records (its request log,
fault schedule and ground truth), never from the connector's accumulators.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime, timedelta

import pytest
from xurrent_testkit import api_requests, configuration_for

TABLES = ("organizations", "products", "projects")
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
        for column in ("errors_by_kind", "status_distribution", "shortfalls"):
            if isinstance(row[column], str):
                row[column] = json.loads(row[column])
        for column in ("sync_started_at", "started_at", "finished_at", "cursor_reached"):
            if row[column] is not None:
                row[column] = datetime.fromisoformat(row[column])
    return {(row["sync_id"], row["table_name"]): row for row in rows}


# The alert queries of docs/sync_health.md, run here so the documented SQL keeps working.
ERROR_RATE_ALERT = """
select sync_id, table_name, error_rate, failed_requests, requests
from tester.sync_health
where error_rate > 0.02 and finished_at > now() - interval 1 day
"""
DURATION_ALERT = """
select sync_id, min(sync_started_at) as started, max(finished_at) as finished
from tester.sync_health
group by sync_id
having max(finished_at) - min(sync_started_at) > interval 4 hour
"""


def query(runner, sql: str) -> list[tuple]:
    """Rows of ``sql``; timestamp columns are left out (to Python they would need pytz)."""
    import duckdb

    path = os.path.join(runner.project_dir, "files", "warehouse.db")
    connection = duckdb.connect(path, read_only=True)
    try:
        return connection.execute(
            f"select * exclude (started, finished) from ({sql})" if "started" in sql else sql
        ).fetchall()
    finally:
        connection.close()


def last_sync(rows: dict) -> dict[str, dict]:
    """The rows of the most recent sync, by table."""
    latest = max(row["sync_started_at"] for row in rows.values())
    return {row["table_name"]: row for row in rows.values() if row["sync_started_at"] == latest}


def share(records, present) -> float:
    return sum(1 for record in records if present(record)) / len(records)


def has_text(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


def dangling_in(sim, records, fields) -> int:
    """References in ``records`` to organization ids the simulator does not have."""
    org_ids = {record["id"] for record in sim.ground_truth("organizations")}
    return sum(
        1
        for record in records
        for field in fields
        if record.get(field) is not None and record[field]["id"] not in org_ids
    )


REFERENCES = {
    "organizations": ("parent",),
    "products": ("supplier", "financial_owner"),
    "projects": ("customer",),
}


def log_by_table(sim) -> dict[str, list[dict]]:
    return {table: api_requests(sim, table) for table in TABLES}


# --- a clean sync -------------------------------------------------------------------------------


def test_clean_sync_health_rows_equal_the_simulators_figures(make_sim, runner):
    sim = make_sim(rate_limit=True, burst_limit=None, hourly_limit=HOURLY_LIMIT)
    result = runner.run(configuration_for(sim, max_records_per_page="7"))

    rows = last_sync(health_rows(runner))
    assert set(rows) == set(TABLES)
    assert len({row["sync_id"] for row in rows.values()}) == 1
    logs = log_by_table(sim)
    total_requests = len(api_requests(sim))
    for table in TABLES:
        row, truth, log = rows[table], sim.ground_truth(table), logs[table]
        assert row["status"] == "succeeded" and row["error"] is None
        assert row["rows_upserted"] == len(truth)
        assert row["requests"] == len(log) > 1
        assert row["retries"] == row["throttled_429"] == row["failed_requests"] == 0
        assert row["error_rate"] == 0.0
        assert row["mean_response_ms"] > 0 and row["p_95_response_ms"] >= 0
        assert row["ratelimit_limit"] == HOURLY_LIMIT
        assert HOURLY_LIMIT - total_requests <= row["ratelimit_remaining"]
        assert row["ratelimit_remaining"] <= HOURLY_LIMIT - len(log)
        assert row["cursor_reached"] == datetime.fromisoformat(
            result.state["tables"][table]["cursor"]
        )
        assert row["started_at"] <= row["finished_at"]
        assert row["duration_seconds"] >= 0
        # Data quality, computed from the simulator's records.
        name_field = "subject" if table == "projects" else "name"
        assert row["id_share"] == 1.0
        assert row["name_share"] == share(truth, lambda r: has_text(r[name_field]))
        assert row["created_at_share"] == row["updated_at_share"] == 1.0
        assert row["dangling_org_refs"] == dangling_in(sim, truth, REFERENCES[table])
        assert row["shortfalls"] == []
    products, projects = sim.ground_truth("products"), sim.ground_truth("projects")
    assert rows["products"]["category_share"] == share(products, lambda r: has_text(r["category"]))
    assert rows["products"]["brand_share"] == share(products, lambda r: has_text(r["brand"]))
    assert rows["projects"]["status_share"] == share(projects, lambda r: has_text(r["status"]))
    assert rows["projects"]["customer_share"] == share(projects, lambda r: r["customer"])
    assert rows["projects"]["status_distribution"] == dict(
        Counter(record["status"] for record in projects)
    )
    assert rows["organizations"]["status_distribution"] is None
    assert rows["organizations"]["category_share"] is None
    # The simulator generates a few references to organizations that do not exist.
    assert rows["products"]["dangling_org_refs"] > 0
    assert "dangling_org_refs_fp_rate" not in rows["products"]


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
    table_log = [entry for log in logs.values() for entry in log]
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
    assert set(rows) == set(TABLES)
    # Tables sync concurrently: one still running when projects failed was stopped too, and
    # its row says so with the same error.
    for table in ("organizations", "products"):
        assert rows[table]["status"] in ("succeeded", "failed")
        if rows[table]["status"] == "failed":
            assert rows[table]["error"] == rows["projects"]["error"]
    projects = rows["projects"]
    assert projects["status"] == "failed"
    assert "503" in projects["error"] and "XurrentApiError" in projects["error"]
    assert projects["requests"] == 2 and projects["failed_requests"] == 2
    assert projects["error_rate"] == 1.0
    assert projects["rows_upserted"] == 0
    # The cursor reached is the one the state kept (projects did not advance).
    assert projects["cursor_reached"] == datetime.fromisoformat(
        failed.state["tables"]["projects"]["cursor"]
    )


# --- dangling references and the organization id set -------------------------------------------


def test_dangling_references_use_the_id_set_saved_in_the_state(make_sim, runner):
    sim = make_sim(products=300)
    configuration = configuration_for(sim)
    first = runner.run(configuration)
    products = sim.ground_truth("products")
    assert last_sync(health_rows(runner))["products"]["dangling_org_refs"] == dangling_in(
        sim, products, REFERENCES["products"]
    )

    # Next sync: organizations have nothing new, so every organization id the check needs
    # comes from the id set in the state. Re-read products include dangling ones.
    dangling_ids = [
        record["id"] for record in products if dangling_in(sim, [record], REFERENCES["products"])
    ]
    known_ids = [record["id"] for record in products if record["id"] not in dangling_ids]
    chosen = dangling_ids[:4] + known_ids[:6]
    sim.update_rows("products", ids=chosen)
    sim.reset_stats()
    runner.run(configuration)

    rows = last_sync(health_rows(runner))
    truth = {record["id"]: record for record in sim.ground_truth("products")}
    reread = [
        truth[product_id]
        for product_id in truth
        if datetime.fromisoformat(truth[product_id]["updated_at"])
        >= datetime.fromisoformat(first.state["tables"]["products"]["cursor"])
        - timedelta(minutes=5)
    ]
    assert set(chosen) <= {record["id"] for record in reread}
    assert rows["products"]["rows_upserted"] == len(reread)
    expected = dangling_in(sim, reread, REFERENCES["products"])
    assert rows["products"]["dangling_org_refs"] == expected >= 4
    assert rows["organizations"]["dangling_org_refs"] == 0


def test_state_stays_small_and_carries_the_exact_id_set(make_sim, runner):
    sim = make_sim(organizations=600, products=100)
    result = runner.run(configuration_for(sim))
    saved = result.state["health"]["organization_ids"]
    assert saved["scheme"] == "idset-delta-v1" and saved["complete"] is True
    assert saved["count"] == 600
    assert len(json.dumps(saved)) < 2_000
    assert len(json.dumps(result.state)) < 20_000
    rows = last_sync(health_rows(runner))
    assert rows["organizations"]["rows_upserted"] == 600
    products = sim.ground_truth("products")
    assert rows["products"]["dangling_org_refs"] == dangling_in(
        sim, products, REFERENCES["products"]
    )


# --- shortfall warnings -------------------------------------------------------------------------


def test_shortfalls_log_a_warning_naming_the_figure_and_threshold(make_sim, runner):
    sim = make_sim()
    products = [record["id"] for record in sim.ground_truth("products")]
    projects = [record["id"] for record in sim.ground_truth("projects")]
    organizations = [record["id"] for record in sim.ground_truth("organizations")]
    sim.update_rows("products", ids=products[:6], changes={"category": None})  # 10 %: < 95 %
    sim.update_rows("products", ids=products[6:8], changes={"brand": "  "})  # 3.3 %: >= 95 %
    sim.update_rows("projects", ids=projects[:2], changes={"status": None})  # 14 %: < 90 %
    sim.update_rows("organizations", ids=organizations[:1], changes={"name": None})

    result = runner.run(configuration_for(sim))

    rows = last_sync(health_rows(runner))
    assert rows["products"]["category_share"] == pytest.approx(54 / 60)
    assert rows["products"]["brand_share"] == pytest.approx(58 / 60)
    assert rows["products"]["shortfalls"] == ["category_share < 95%"]
    assert rows["projects"]["shortfalls"] == ["status_share < 90%"]
    assert rows["projects"]["status_distribution"]["(none)"] == 2
    assert rows["organizations"]["shortfalls"] == ["name_share < 100%"]
    warnings = [line for line in result.output.splitlines() if "sync_health:" in line]
    assert any("products category_share is 90.00%" in w and "95%" in w for w in warnings)
    assert any("projects status_share" in w and "90%" in w for w in warnings)
    assert any("organizations name_share" in w and "100%" in w for w in warnings)
    assert not any("brand_share" in w for w in warnings)
