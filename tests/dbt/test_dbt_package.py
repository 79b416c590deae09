"""The dbt package (dbt/) against real warehouses: the connector syncs the simulator over HTTP
through the SDK's runner, then the real `dbt build` runs on the DuckDB file it wrote.

Expected figures come from the simulator's ground truth (or from the warehouse's own
sync_health rows for the alerts), never from the package's output. Data the API would never
produce is planted in the simulator's store before a sync; rows the connector cannot write at
all (a row without an id, two rows with one id, a sync_health row without a sync_id) go into a
copy of the warehouse whose tables have no key, as each test's docstring says.

Every data test of the package is listed in TESTS with the scenario that shows it failing on
planted data; the clean run asserts that the package has exactly these tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import oracles
from package_support import (
    DBT_VENV,
    FIRST_TABLES,
    MODELS_SCRIPT,
    REFERENCES,
    TABLE_OF,
    Dbt,
    DbtRun,
    clean_dataset,
    copy_warehouse,
    dangling_reference,
    execute_duckdb,
    live_project_ids,
    planted,
    query_duckdb,
    read_results,
    start_dbt,
    sync_configuration,
    warehouse_of,
)

STG = "stg_xurrent__"
MONITORING = "xurrent__sync_monitoring"
PLANTED, ALERTS = "planted", "alerts"
#: The tables of the package's version 0.3.0, and what one of their records is called (the
#: staging model's key is `<entity>_key`).
NEW_TABLES = {
    "people": "person",
    "teams": "team",
    "sites": "site",
    "services": "service",
    "service_instances": "service_instance",
    "configuration_items": "configuration_item",
    "contracts": "contract",
    "project_tasks": "project_task",
    "time_entries": "time_entry",
}


def references_under_test() -> dict[tuple, tuple[str, str]]:
    """Every relationships test of a reference: (test, model, column) -> the simulator's
    collection and the field that makes it dangle (`service_provider`: the provider inside a
    service reference)."""
    found = {}
    for collection, fields in REFERENCES.items():
        model = STG + TABLE_OF.get(collection, collection)
        for field in fields:
            found[("relationships", model, f"{field}_id")] = (collection, field)
            if field == "service":
                found[("relationships", model, "service_provider_id")] = (
                    collection,
                    "service_provider",
                )
    return found


#: Every data test of the package: (test, model, column) -> the scenario that makes it fail.
TESTS = {
    **{
        (test, STG + "organizations", column): PLANTED
        for test, column in [
            ("relationships", "business_unit_organization_id"),
            ("relationships", "parent_id"),
            ("not_null", "organization_key"),
            ("unique", "organization_id"),
            ("xurrent_completeness", "organization_id"),
            ("xurrent_completeness", "name"),
            ("not_null", "created_at"),
            ("xurrent_not_in_future", "created_at"),
            ("not_null", "updated_at"),
            ("xurrent_not_before", "updated_at"),
            ("xurrent_not_in_future", "updated_at"),
        ]
    },
    **{
        (test, STG + "products", column): PLANTED
        for test, column in [
            ("not_null", "product_key"),
            ("xurrent_completeness", "brand"),
            ("xurrent_completeness", "category"),
            ("relationships", "financial_owner_id"),
            ("relationships", "supplier_id"),
            ("not_null", "created_at"),
            ("xurrent_not_in_future", "created_at"),
            ("not_null", "updated_at"),
            ("xurrent_not_before", "updated_at"),
            ("xurrent_not_in_future", "updated_at"),
        ]
    },
    **{
        (test, STG + "projects", column): PLANTED
        for test, column in [
            ("not_null", "project_key"),
            ("accepted_values", "status"),
            ("xurrent_completeness", "status"),
            ("xurrent_completeness", "customer_id"),
            ("relationships", "customer_id"),
            ("xurrent_not_in_future", "completed_at"),
            ("not_null", "created_at"),
            ("xurrent_not_in_future", "created_at"),
            ("not_null", "updated_at"),
            ("xurrent_not_before", "updated_at"),
            ("xurrent_not_in_future", "updated_at"),
        ]
    },
    **{
        ("xurrent_unique_combination", f"{STG}{table}_tmp", None): PLANTED
        for table in ("organizations", "products", "projects")
    },
    ("not_null", STG + "projects_removed", "project_key"): PLANTED,
    ("xurrent_not_in_future", STG + "projects_removed", "removed_at"): PLANTED,
    ("accepted_values", STG + "sync_health", "status"): PLANTED,
    ("unique", STG + "sync_health", "sync_health_key"): PLANTED,
    ("not_null", STG + "sync_health", "sync_health_key"): PLANTED,
    ("accepted_values", "xurrent__organization_hierarchy", "hierarchy_end"): PLANTED,
    ("not_null", "xurrent__products", "product_key"): PLANTED,
    ("not_null", "xurrent__projects", "project_key"): PLANTED,
    ("xurrent_unique_combination", "xurrent__products_by_category", None): PLANTED,
    ("accepted_values", "xurrent__project_status_history", "status"): PLANTED,
    ("xurrent_target_met", "xurrent__sync_freshness", "meets_operational_target"): PLANTED,
    ("xurrent_target_met", "xurrent__sync_freshness", "meets_analytics_target"): PLANTED,
    ("unique", MONITORING, "sync_health_key"): PLANTED,
    ("not_null", MONITORING, "sync_health_key"): PLANTED,
    ("not_null", "xurrent__table_sizes", "table_size_key"): PLANTED,
    ("xurrent_alert_error_rate", MONITORING, None): ALERTS,
    ("xurrent_alert_long_sync", MONITORING, None): ALERTS,
    ("xurrent_alert_consecutive_failures", MONITORING, None): ALERTS,
    ("xurrent_flag_not_raised", MONITORING, "is_rows_anomaly"): ALERTS,
    ("xurrent_flag_not_raised", MONITORING, "is_table_size_anomaly"): ALERTS,
    ("xurrent_flag_not_raised", "xurrent__project_status_daily", "is_anomaly"): ALERTS,
    # Version 0.3.0: every reference of every table, the new tables' keys and copies, and how
    # the organization chart's walk up the managers ended.
    **{key: PLANTED for key in references_under_test()},
    **{
        ("not_null", STG + table, f"{entity}_key"): PLANTED for table, entity in NEW_TABLES.items()
    },
    **{("xurrent_unique_combination", f"{STG}{table}_tmp", None): PLANTED for table in NEW_TABLES},
    ("accepted_values", "xurrent__organization_chart", "chain_end"): PLANTED,
}


def expected_hierarchy(parents: dict[int, int | None], limit: int = 50) -> dict[int, tuple]:
    """(depth, top-level id, how the walk ended, id path) per organization, walked in Python."""
    result = {}
    for org_id in parents:
        chain = [org_id]
        while True:
            parent = parents[chain[-1]]
            if parent is None:
                end = "top_level"
            elif parent not in parents:
                end = "parent_missing"
            elif parent in chain:
                end = "cycle"
            elif len(chain) - 1 >= limit:
                end = "max_depth"
            else:
                chain.append(parent)
                continue
            break
        path = "/" + "/".join(str(node) for node in reversed(chain)) + "/"
        result[org_id] = (len(chain) - 1, chain[-1], end, path)
    return result


def parent_map(sim) -> dict[int, int | None]:
    return {
        record["id"]: (record["parent"] or {}).get("id")
        for record in sim.ground_truth("organizations")
    }


def flagged_failures(run: DbtRun) -> dict[tuple, int]:
    return {key: test.failures for key, test in run.flagged().items()}


def stream_error_rates(warehouse: Path, max_rate: float = 0.02) -> set[str]:
    """Streams whose failed requests over the last day exceed max_rate of their requests,
    read straight from the connector's sync_health rows (the alert's oracle)."""
    rows = query_duckdb(
        warehouse,
        "select table_name, sum(requests), sum(failed_requests) from tester.sync_health"
        " where sync_started_at >= now() - interval 24 hour group by table_name",
    )
    return {table for table, requests, failed in rows if requests and failed > max_rate * requests}


# --- clean data -------------------------------------------------------------------------------


def _visible(sim, collection: str) -> list[int]:
    return sorted(row["id"] for row in sim.store.visible(collection))


#: (method, product settings, days in use, book value after t years) of the CIs planted, each
#: bought for 1000.00: the book value worked out by hand for each method.
DEPRECIATION_PLANTED = (
    # 1000 - (1000 - 200) x t / 4
    ("straight_line", dict(useful_life=4, salvage_value="200.00"), 730, lambda t: 1000 - 200 * t),
    # In year 2 of 5: 5 of the digits 1..5 (15) used, then 4 spread over the year.
    (
        "sum_of_the_years_digits",
        dict(useful_life=5, salvage_value=None),
        548,
        lambda t: 1000 - 1000 * (5 + 4 * (t - 1)) / 15,
    ),
    # 2 / 4 a year, above the salvage value.
    (
        "double_declining_balance",
        dict(useful_life=4, salvage_value="100.00"),
        730,
        lambda t: 1000 * 0.5**t,
    ),
    # 20 % a year, down to the salvage value after about 10 years.
    ("reducing_balance", dict(rate=20, salvage_value="120.00"), 3652, lambda t: 120.0),
)


def plant_model_figures(sim, projects: list[int]) -> dict:
    """What the organization chart, the asset inventory and the project progress must show,
    planted in a cleaned dataset (they are also checked against the ground truth as a whole):

    - a person whose manager is disabled: out of the chart, the person still reports to them;
    - CIs bought for 1000.00, of products depreciated by each method (DEPRECIATION_PLANTED);
      the first one's warranty ends in 30 days and its supplier (no other contract's) has a
      contract ending in 10 days, for no customer;
    - in a project's new phase, a task in progress past its deadline, planned 480 minutes, with
      300 and 60 minutes written on it, a completed task planned 240 minutes, an approved
      approval task planned 60 minutes and a canceled task past its deadline.
    """
    rows = sim.store.rows
    today = datetime.now(timezone.utc).date()
    people = [pid for pid in _visible(sim, "people") if not rows["people"][pid].get("disabled")]
    managers = {(row.get("manager") or {}).get("id") for row in rows["people"].values()}
    reporting = next(pid for pid in people if pid not in managers)
    manager = next(pid for pid in people if pid != reporting)
    planted(sim, "people", manager, disabled=True)
    planted(sim, "people", reporting, manager={"id": manager, "name": "planted"})

    # One CI of a product of each depreciation method, bought for 1000.00 (book values in
    # DEPRECIATION_PLANTED); the straight-line one's warranty ends in 30 days and its supplier
    # (no other contract's) has a contract ending in 10 days, for no customer.
    contract_suppliers = {
        (row.get("supplier") or {}).get("id") for row in rows["contracts"].values()
    }
    supplier = next(oid for oid in sorted(rows["organizations"]) if oid not in contract_suppliers)
    cis, contract = _visible(sim, "cis"), _visible(sim, "contracts")[0]
    products = _visible(sim, "products")[-len(DEPRECIATION_PLANTED) :]
    for ci, product, (method, settings, days, _) in zip(cis, products, DEPRECIATION_PLANTED):
        planted(sim, "products", product, depreciation_method=method, **settings)
        planted(
            sim,
            "cis",
            ci,
            product={"id": product, "name": "planted"},
            purchase_value="1000.00",
            in_use_since=(today - timedelta(days=days)).isoformat(),
        )
    ci = cis[0]
    planted(
        sim,
        "cis",
        ci,
        warranty_expiry_date=(today + timedelta(days=30)).isoformat(),
        supplier={"id": supplier, "name": "planted"},
    )
    planted(
        sim,
        "contracts",
        contract,
        supplier={"id": supplier, "name": "planted"},
        customer=None,
        status="active",
        start_date=(today - timedelta(days=355)).isoformat(),
        expiry_date=(today + timedelta(days=10)).isoformat(),
    )

    project, phase = projects[-1], {"id": 990001, "name": "Planted phase"}
    worked = {(row.get("project_task") or {}).get("id") for row in rows["time_entries"].values()}
    tasks = [tid for tid in _visible(sim, "project_tasks") if tid not in worked][:4]
    reference = {"id": project, "subject": rows["projects"][project]["subject"]}
    past = int(time.time()) - 2 * 86400
    # (status, category, deadline, planned effort) of four tasks of a new phase: one in
    # progress past its deadline, one completed, one approved, one canceled past its deadline.
    for task, (status, category, deadline, effort) in zip(
        tasks,
        (
            ("in_progress", "activity", past, 480),
            ("completed", "activity", None, 240),
            ("approved", "approval", None, 60),
            ("canceled", "activity", past, None),
        ),
    ):
        planted(
            sim,
            "project_tasks",
            task,
            project=reference,
            phase=phase,
            status=status,
            category=category,
            deadline=deadline,
            planned_effort=effort,
        )
    late = tasks[0]
    entries = [eid for eid in _visible(sim, "time_entries") if eid not in worked][:2]
    for entry, minutes in zip(entries, (300, 60)):
        planted(
            sim,
            "time_entries",
            entry,
            project_task={"id": late, "subject": "planted"},
            time_spent=minutes,
            deleted=False,
        )
    return {
        "reporting_to_disabled": reporting,
        "ci": ci,
        "depreciated_cis": {
            ci: (method, today - timedelta(days=days), value)
            for ci, (method, _, days, value) in zip(cis, DEPRECIATION_PLANTED)
        },
        "contract": contract,
        "project_phase": (project, phase["id"]),
    }


def test_make_models_on_clean_data_passes_every_test_and_matches_the_api(
    make_sim, runner, tmp_path
):
    """`dbt build` of the snapshot and the table sizes (and what they read) after a first sync
    (every table) of a cleaned dataset, then `tools/models.py` (what `make models` runs) after
    a second (the first three tables). Between them one project is archived and one trashed, a
    completed project reopens, another completes and a third gets a new completion target.
    Both runs pass every dbt test they run, the second exactly the tests of TESTS; the second
    (a rerun of the incremental model and the snapshot) agrees with the simulator's ground
    truth, the status history included; the organization chart,
    the asset inventory and the project progress agree with the ground truth and show the
    figures planted for them (plant_model_figures)."""
    start_dbt()  # dbt starts while the connector syncs
    sim = make_sim()
    clean_dataset(sim)
    live_ids = live_project_ids(sim)
    archived, trashed, reopened, completes, retargeted = live_ids[:5]
    planted(sim, "projects", reopened, status="completed")
    planted(sim, "projects", completes, status="in_progress")
    figures = plant_model_figures(sim, live_ids)
    configuration = sync_configuration(sim)
    runner.run(configuration)
    workdir = tmp_path / "dbt"
    database = workdir / "xurrent_dbt.duckdb"
    # The models that keep history (the snapshot, the table sizes) see the first sync; the
    # second run builds and tests everything.
    first = Dbt(warehouse_of(runner), workdir).build(
        select=("xurrent__projects_snapshot", "xurrent__table_sizes")
    )
    assert first.returncode == 0, first.describe()
    assert first.tests and first.flagged() == {}, first.describe()

    sim.archive_project(archived)
    sim.trash_project(trashed)
    target = sim.store.rows["projects"][retargeted]
    old_target = target["completion_target_at"]
    target["completion_target_at"] = (old_target or int(time.time())) + 7 * 86400
    for project_id, status in (
        (reopened, "in_progress"),
        (completes, "completed"),
        (retargeted, target["status"]),
    ):
        sim.update_rows("projects", ids=[project_id], changes={"status": status})
    runner.run(sync_configuration(sim, tables=FIRST_TABLES))
    started = time.monotonic()
    completed = run_models_script(tmp_path, warehouse_of(runner), workdir)
    seconds = time.monotonic() - started
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    run = DbtRun(completed.returncode, output, seconds)
    read_results(workdir / "target", run)
    assert {test.key for test in run.tests} == set(TESTS), output
    assert run.flagged() == {}, run.describe()
    assert set(run.nodes.values()) == {"success"}, run.nodes
    lines = completed.stdout.splitlines()
    assert len(lines) <= 40, output
    assert f"Tests: {len(run.tests)} passed, 0 warned, 0 failed, 0 skipped" in lines, output
    assert "Source freshness (_fivetran_synced; warn 6 h, error 24 h): 13 pass" in lines, output

    def rows(sql):
        return query_duckdb(database, sql.replace("{s}", "xurrent"))

    # The hierarchy against a walk of the API's parent references.
    hierarchy = expected_hierarchy(parent_map(sim))
    actual = {
        org_id: (depth, top, end, path)
        for org_id, depth, top, end, path in rows(
            "select organization_id, depth, top_organization_id, hierarchy_end, id_path"
            " from {s}.xurrent__organization_hierarchy"
        )
    }
    assert actual == hierarchy
    depths = [depth for depth, *_ in hierarchy.values()]
    top_level = sum(1 for depth in depths if depth == 0)
    assert (
        f"Organization hierarchy: {len(depths)} organizations, {top_level} top level, "
        f"depth up to {max(depths)} (average {sum(depths) / len(depths):.1f})"
    ) in lines, output

    # Live projects by status, today, against the API's live projects.
    live = [record for record in sim.ground_truth("projects")]
    assert {record["id"] for record in live} == set(live_project_ids(sim))
    statuses = Counter(record["status"] for record in live)
    today = rows(
        "select status, project_count from {s}.xurrent__project_status_daily"
        " where status_date = current_date and project_count > 0"
    )
    assert dict(today) == dict(statuses)
    listed = ", ".join(f"{status} {statuses[status]}" for status in sorted(statuses))
    assert any(line.endswith(f": {listed}") for line in lines), output

    # Archived and trashed projects leave the live models for their own.
    assert sorted(
        rows(
            "select project_id, removal_state, archived_at is not null, trashed_at is not null"
            " from {s}.stg_xurrent__projects_removed"
        )
    ) == sorted([(archived, "archived", True, False), (trashed, "trashed", False, True)])
    live_ids = {row[0] for row in rows("select project_id from {s}.xurrent__projects")}
    assert live_ids == set(live_project_ids(sim))

    # Projects carry their customer's hierarchy; products are counted by category.
    for project_id, customer_id, top in rows(
        "select project_id, customer_id, customer_top_organization_id from {s}.xurrent__projects"
    ):
        assert top == hierarchy[customer_id][1], project_id
    by_category = dict(
        rows(
            "select category, sum(product_count) from {s}.xurrent__products_by_category"
            " group by category"
        )
    )
    assert by_category == Counter(record["category"] for record in sim.ground_truth("products"))

    # Completeness is 100 % everywhere on clean data.
    assert rows(
        "select bool_and(meets_threshold), min(present_share) from {s}.xurrent__completeness"
    ) == [(True, 1.0)]

    # Monitoring: both syncs, every stream, rows as the connector reported them.
    health = sorted(
        query_duckdb(
            warehouse_of(runner),
            "select sync_id, table_name, rows_upserted, requests from tester.sync_health",
        )
    )
    monitored = sorted(
        rows(
            "select sync_id, table_name, rows_upserted, requests from {s}.xurrent__sync_monitoring"
        )
    )
    assert monitored == health and len({row[0] for row in health}) == 2
    assert rows(
        "select max(error_rate), max(consecutive_failed_syncs) from {s}.xurrent__sync_monitoring"
    ) == [(0.0, 0)]
    sizes = dict(
        rows(
            "select table_name, live_rows from {s}.xurrent__sync_monitoring"
            " where is_latest_sync and table_rows is not null"
        )
    )
    assert sizes == {
        "organizations": len(sim.ground_truth("organizations")),
        "products": len(sim.ground_truth("products")),
        "projects": len(live),
        "archive": 0,  # the soft-deleted projects are no live rows
        "trash": 0,
    }

    # The status history: one period per status (and lifecycle state) each project held.
    periods: dict[int, list] = {}
    for project_id, status, lifecycle, reopening, target_changes in rows(
        "select project_id, status, lifecycle_state, is_reopening, completion_target_changes"
        " from {s}.xurrent__project_status_history order by project_id, period_number"
    ):
        periods.setdefault(project_id, []).append((status, lifecycle, reopening, target_changes))
    status = {record["id"]: record["status"] for record in sim.ground_truth("projects")}
    assert periods[reopened] == [
        ("completed", "live", False, 0),
        ("in_progress", "live", True, 0),
    ]
    assert [period[0] for period in periods[completes]] == ["in_progress", "completed"]
    assert periods[retargeted] == [(status[retargeted], "live", False, 1)]
    assert [period[1] for period in periods[archived]] == ["live", "archived"]
    assert [period[1] for period in periods[trashed]] == ["live", "trashed"]
    unchanged = set(live_ids) - {archived, trashed, reopened, completes, retargeted}
    assert {project_id: len(periods[project_id]) for project_id in unchanged} == {
        project_id: 1 for project_id in unchanged
    }
    # The incremental table sizes: a row per table under each sync that read it.
    assert dict(
        rows(
            "select table_name, count(distinct sync_id) from {s}.xurrent__table_sizes"
            " group by table_name"
        )
    ) == {
        **{table: 1 for table in NEW_TABLES},
        **{table: 2 for table in ("archive", "organizations", "products", "projects", "trash")},
    }

    assert_model_figures(sim, figures, rows)


def assert_model_figures(sim, figures: dict, rows) -> None:
    """The organization chart, the asset inventory and the project progress against the
    simulator's ground truth (oracles.py), and the planted figures themselves."""
    chart = oracles.organization_chart(sim)
    columns = list(next(iter(chart.values())))
    found = {
        person_id: dict(zip(columns, values))
        for person_id, *values in rows(
            f"select person_id, {', '.join(columns)} from {{s}}.xurrent__organization_chart"
        )
    }
    assert found == chart
    reporting = found[figures["reporting_to_disabled"]]
    assert reporting["manager_status"] == "disabled" and reporting["management_depth"] >= 1

    # "Today" and "now" are the dbt run's (xurrent__table_sizes was measured in it).
    ((built_at,),) = rows(
        "select cast(max(measured_at) as varchar) from {s}.xurrent__table_sizes"
    )  # as text: the SDK's environment has no pytz, which DuckDB needs for zoned times
    built_at = datetime.fromisoformat(built_at).astimezone(timezone.utc)
    inventory = oracles.asset_inventory(sim, built_at.date())
    columns = list(next(iter(inventory.values())))
    found = {
        ci_id: dict(zip(columns, values))
        for ci_id, *values in rows(
            f"select configuration_item_id, {', '.join(columns)}"
            " from {s}.xurrent__asset_inventory"
        )
    }
    assert set(found) == set(inventory)
    for ci_id, expected in inventory.items():
        actual = dict(found[ci_id])
        value, actual["book_value"] = actual["book_value"], expected["book_value"]
        assert actual == expected, ci_id
        if value is not None or expected["book_value"] is not None:
            assert abs(float(value) - expected["book_value"]) <= 0.011, (ci_id, value, expected)
    assert {row["book_value_basis"] for row in inventory.values()} >= {
        "depreciated",
        "not_depreciated",
        "unknown_method",
    }
    for ci_id, (method, in_use_since, value) in figures["depreciated_cis"].items():
        years = (built_at.date() - in_use_since).days / 365.25
        assert found[ci_id]["book_value_basis"] == "depreciated", method
        # Rounded to cents in SQL: a hundredth at most from the exact figure.
        assert abs(float(found[ci_id]["book_value"]) - value(years)) <= 0.0051, method
    planted_ci = found[figures["ci"]]
    assert planted_ci["is_warranty_expiring"] and planted_ci["is_contract_expiring"]
    assert planted_ci["supplier_contract_id"] == figures["contract"]

    progress = oracles.project_progress(sim, built_at)
    columns = list(next(iter(progress.values())))
    found = {
        (project_id, phase_id): dict(zip(columns, values))
        for project_id, phase_id, *values in rows(
            f"select project_id, phase_id, {', '.join(columns)}"
            " from {s}.xurrent__project_progress"
        )
    }
    assert found == progress
    planted_phase = found[figures["project_phase"]]
    expected_phase = {
        "task_count": 4,
        "in_progress_task_count": 1,
        "completed_task_count": 1,
        "approved_task_count": 1,
        "canceled_task_count": 1,
        "completed_or_approved_task_count": 2,
        "overdue_task_count": 1,  # the canceled task past its deadline is finished
        "planned_effort_minutes": 780,
        "time_spent_minutes": 360,
        "time_entry_count": 2,
    }
    assert {name: planted_phase[name] for name in expected_phase} == expected_phase


# --- planted data -----------------------------------------------------------------------------

#: The planted failures that fail the run (error severity): keys, the grain of the products
#: by category, the analytics freshness target; the others are data-quality warnings.
ERRORS = {
    ("unique", STG + "sync_health", "sync_health_key"),
    ("unique", MONITORING, "sync_health_key"),
    ("xurrent_unique_combination", "xurrent__products_by_category", None),
    ("xurrent_target_met", "xurrent__sync_freshness", "meets_analytics_target"),
}


def _keyless(table: str) -> list[str]:
    """Statements that give a warehouse copy's table no primary key, so that it can take rows
    the connector never writes (no id, one id twice)."""
    return [
        f"create table tester.{table}_unkeyed as select * from tester.{table}",
        f"drop table tester.{table}",
        f"alter table tester.{table}_unkeyed rename to {table}",
    ]


#: The simulator's collection of a warehouse table, where the names differ.
TABLE_COLLECTION = {table: collection for collection, table in TABLE_OF.items()}
#: References planted by hand in test_every_data_test_fails_where_planted.
PLANTED_BY_HAND = {
    ("organizations", "parent"),
    ("organizations", "business_unit_organization"),
    ("products", "supplier"),
    ("products", "financial_owner"),
    ("projects", "customer"),
}


def plant_dangling_references(sim, reserved: dict[str, set]) -> None:
    """Every reference of REFERENCES not planted by hand dangles on one record of its own
    (a record of `reserved` is copied in the keyless copy, where it would count twice). A
    service reference dangles with its provider, so that one record fails both the service's
    and the provider's relationships test. A service's own provider shows in every reference
    to the service: it dangles on a service nothing references."""
    rows = sim.store.rows
    referenced = {
        (record.get("service") or {}).get("id")
        for collection in REFERENCES
        for record in rows[collection].values()
    }
    for collection, fields in REFERENCES.items():
        pool = [
            row for row in _visible(sim, collection) if row not in reserved.get(collection, ())
        ]
        for field in fields:
            if (collection, field) in PLANTED_BY_HAND:
                continue
            value = dangling_reference(f"Removed {field}")
            if field == "service":
                value["provider"] = dangling_reference("Removed provider")
            if field == "provider":
                pool = [row for row in pool if row not in referenced] + [
                    row for row in pool if row in referenced
                ]
                record = pool.pop(0)
            else:
                record = pool.pop()
            planted(sim, collection, record, **{field: value})


def plant_management_cycle(sim, reserved: set) -> int:
    """Two enabled people nobody reports to manage each other; returns how many people of the
    organization chart then end their walk up in a cycle (the oracle's count)."""
    people = sim.store.rows["people"]
    managers = {(row.get("manager") or {}).get("id") for row in people.values()}
    first, second = [
        pid
        for pid in _visible(sim, "people")
        if pid not in managers and pid not in reserved and not people[pid].get("disabled")
    ][:2]
    for one, other in ((first, second), (second, first)):
        planted(sim, "people", one, manager={"id": other, "name": people[other]["name"]})
    chart = oracles.organization_chart(sim)
    return sum(
        1 for row in chart.values() if row["chain_end"] not in ("top_level", "manager_missing")
    )


def test_every_data_test_fails_where_planted(make_sim, runner, tmp_path):
    """Every test of TESTS marked PLANTED fails, with the count planted, and no other test.

    Planted in the simulator and synced: dangling parent, business unit, customer, supplier and
    financial owner; an organization without a name; products without a category or a brand
    and projects without a status or a customer (each just below its threshold); an unknown
    status; a parent cycle; updated_at before created_at and timestamps in the future on each
    table. In a keyless copy of the warehouse (rows the connector cannot write): an
    organization, a product, a live and a removed project without an id (the removal in the
    future); a second copy of an organization, a product and a project; an organization's id
    owned by a second account; a product's service under another name; NULL created_at
    and updated_at; sync_health rows twice, with an unknown status, without a table and without
    a sync id. For the tables of version 0.3.0: every reference dangling once
    (plant_dangling_references), a management cycle, and in the keyless copy a row without an
    id and a second copy of a record of each table. Models and the snapshot are built first,
    then every test runs (a key failure would otherwise skip the models below it). Then, on an
    aged copy, source freshness warns after 6 hours and errors after 24."""
    start_dbt()  # dbt starts while the connector syncs
    sim = make_sim()
    clean_dataset(sim)
    rows = sim.store.rows
    organizations = sorted(rows["organizations"])
    products = sorted(rows["products"])
    projects = live_project_ids(sim)
    future = int(time.time()) + 30 * 86400
    # Relationships, completeness, accepted values, the cycle.
    planted(sim, "organizations", organizations[-1], parent=dangling_reference())
    planted(
        sim, "organizations", organizations[-2], business_unit_organization=dangling_reference()
    )
    planted(sim, "organizations", organizations[-3], name=None)
    first, second = organizations[3], organizations[4]
    for one, other in ((first, second), (second, first)):
        parent = {"id": other, "name": rows["organizations"][other]["name"]}
        planted(sim, "organizations", one, parent=parent)
    planted(sim, "products", products[0], supplier=dangling_reference())
    planted(sim, "products", products[1], financial_owner=dangling_reference())
    live_products = len(products) + 2  # with the copy's product without id and renamed service
    short = live_products // 20 + 1  # just below 95 %
    for product_id in products[2 : 2 + short]:
        planted(sim, "products", product_id, category=None)
    for product_id in products[2 + short : 2 + 2 * short]:
        planted(sim, "products", product_id, brand=None)
    live_projects = len(projects) + 1  # with the copy's project without id
    tenth = live_projects // 10 + 1  # just below 90 %
    for project_id in projects[:tenth]:
        planted(sim, "projects", project_id, status=None)
    for project_id in projects[tenth : 2 * tenth]:
        planted(sim, "projects", project_id, customer=None)
    planted(sim, "projects", projects[2 * tenth], customer=dangling_reference())
    planted(sim, "projects", projects[-1], status="on_hold")
    planted(sim, "projects", projects[-2], completed_at=future)
    # Timestamps: updated before created, and created (and so updated) in the future.
    for collection, record_id in (
        ("organizations", organizations[5]),
        ("products", products[-1]),
        ("projects", projects[-5]),
    ):
        created = rows[collection][record_id]["created_at"]
        planted(sim, collection, record_id, updated_at=created - 3600)
    for collection, record_id in (
        ("organizations", organizations[6]),
        ("products", products[-2]),
        ("projects", projects[-3]),
    ):
        planted(sim, collection, record_id, created_at=future, updated_at=future)
    in_cycle = sum(
        1 for *_, end, _ in expected_hierarchy(parent_map(sim)).values() if end == "cycle"
    )
    # Version 0.3.0's tables: a copy of one record each (in the keyless copy below), every
    # other reference dangling once, and a management cycle.
    copied = {table: _visible(sim, TABLE_COLLECTION.get(table, table))[0] for table in NEW_TABLES}
    reserved = {
        "organizations": {organizations[0], organizations[7]},  # copied in the keyless copy
        "products": {products[-3], products[-4]},
        "projects": {projects[-6]},
        **{TABLE_COLLECTION.get(table, table): {record} for table, record in copied.items()},
    }
    plant_dangling_references(sim, reserved)
    in_management_cycle = plant_management_cycle(sim, reserved["people"])
    runner.run(sync_configuration(sim))

    copy = copy_warehouse(runner, tmp_path / "copy" / "warehouse.db")
    statements = [
        statement
        for table in ("organizations", "products", "projects", "sync_health", *NEW_TABLES)
        for statement in _keyless(table)
    ]
    recent = "now() - interval 1 hour"
    statements += [
        # Rows without an id.
        "insert into tester.organizations (id, name, _fivetran_synced, _fivetran_deleted,"
        f" created_at, updated_at) values (null, 'Without id', now(), false, {recent}, {recent})",
        "insert into tester.products (id, name, category, brand, _fivetran_synced,"
        f" _fivetran_deleted, created_at, updated_at) values (null, 'Without id', 'computer',"
        f" 'Generic', now(), false, {recent}, {recent})",
        "insert into tester.projects (id, subject, status, customer_id, _fivetran_synced,"
        f" _fivetran_deleted, created_at, updated_at) values (null, 'Without id', 'registered',"
        f" {organizations[0]}, now(), false, {recent}, {recent})",
        # ... trashed in the future.
        "insert into tester.projects (id, subject, status, customer_id, _fivetran_synced,"
        " _fivetran_deleted, trashed_at, created_at, updated_at) values (null, 'Trashed',"
        f" 'registered', {organizations[0]}, now(), true, now() + interval 30 day, {recent},"
        f" {recent})",
        # One id twice in a connection; an organization's id owned by a second account.
        f"insert into tester.organizations select * from tester.organizations"
        f" where id = {organizations[0]}",
        f"insert into tester.products select * from tester.products where id = {products[-3]}",
        f"insert into tester.projects select * from tester.projects where id = {projects[-6]}",
        "insert into tester.organizations select * replace ('widget-other' as account_id)"
        f" from tester.organizations where id = {organizations[7]}",
        # A product in the same category, service and team as another, the service renamed.
        "insert into tester.products select * replace (987000 as id, 'Renamed service' as"
        f" service_name) from tester.products where id = {products[-4]}",
        # NULL timestamps.
        f"update tester.organizations set created_at = null where id = {organizations[8]}",
        f"update tester.organizations set updated_at = null where id = {organizations[9]}",
        f"update tester.products set created_at = null where id = {products[-5]}",
        f"update tester.products set updated_at = null where id = {products[-6]}",
        f"update tester.projects set created_at = null where id = {projects[-7]}",
        f"update tester.projects set updated_at = null where id = {projects[-8]}",
        # sync_health: a row twice; an unknown status; no table (its stream last succeeded
        # 3 days ago); no sync id (the latest sync of products).
        "insert into tester.sync_health select * from tester.sync_health"
        " where table_name = 'projects'",
        "insert into tester.sync_health by name select 'planted-paused' as sync_id,"
        " 'organizations' as table_name, 'paused' as status, now() - interval 2 day as"
        " sync_started_at, now() - interval 2 day as started_at, now() - interval 2 day as"
        " finished_at, 0 as requests, 0 as failed_requests, now() as _fivetran_synced,"
        " false as _fivetran_deleted",
        "insert into tester.sync_health by name select 'planted-no-table' as sync_id,"
        " null as table_name, 'succeeded' as status, now() - interval 3 day as"
        " sync_started_at, now() - interval 3 day as started_at, now() - interval 3 day as"
        " finished_at, 0 as requests, 0 as failed_requests, now() as _fivetran_synced,"
        " false as _fivetran_deleted",
        "insert into tester.sync_health by name select null as sync_id, 'products' as"
        " table_name, 'succeeded' as status, now() + interval 1 minute as sync_started_at,"
        " now() + interval 1 minute as started_at, now() + interval 2 minute as finished_at,"
        " 0 as requests, 0 as failed_requests, now() as _fivetran_synced,"
        " false as _fivetran_deleted",
    ]
    for table, record in copied.items():
        statements += [
            f"insert into tester.{table} (id, _fivetran_synced, _fivetran_deleted, created_at,"
            f" updated_at) values (null, now(), false, {recent}, {recent})",
            f"insert into tester.{table} select * from tester.{table} where id = {record}",
        ]
    execute_duckdb(copy, *statements)
    dbt = Dbt(copy, tmp_path / "dbt")
    built = dbt.run("build", "--exclude-resource-type", "test")
    assert built.returncode == 0, built.describe()
    run = dbt.run("test")

    assert run.returncode == 1, run.describe()
    assert in_cycle >= 2 and in_management_cycle >= 2  # accepted_values counts values: 1
    expected = {key: 1 for key, scenario in TESTS.items() if scenario == PLANTED}
    expected.update(
        {
            ("xurrent_completeness", STG + "products", "category"): short,
            ("xurrent_completeness", STG + "products", "brand"): short,
            ("xurrent_completeness", STG + "projects", "status"): tenth,
            ("xurrent_completeness", STG + "projects", "customer_id"): tenth,
            # Two duplicated ids: the second copy and the second account's.
            ("xurrent_unique_combination", STG + "organizations_tmp", None): 2,
            # The sync without a table and the sync without an id.
            ("not_null", STG + "sync_health", "sync_health_key"): 2,
        }
    )
    assert flagged_failures(run) == expected, run.describe()
    for test in run.flagged().values():
        error = test.key in ERRORS or test.name == "not_null"
        assert test.status == ("fail" if error else "warn"), test
    assert dbt.query(
        "select count(*) from {s}.xurrent__organization_hierarchy where hierarchy_end = 'cycle'"
    ) == [(in_cycle,)]
    assert dbt.query(
        "select count(*) from {s}.xurrent__organization_chart where chain_end = 'cycle'"
    ) == [(in_management_cycle,)]

    stale = copy_warehouse(runner, tmp_path / "stale" / "warehouse.db")
    execute_duckdb(
        stale,
        "update tester.organizations set _fivetran_synced = now() - interval 8 hour",
        "update tester.products set _fivetran_synced = now() - interval 30 hour",
    )
    freshness = Dbt(stale, tmp_path / "stale-dbt")
    result = freshness.run("source", "freshness")
    assert result.returncode == 1, result.output
    statuses = {
        entry["unique_id"].split(".")[-1]: entry["status"]
        for entry in json.loads((freshness.target / "sources.json").read_text())["results"]
    }
    assert statuses == {
        "organizations": "warn",
        "products": "error",
        **{table: "pass" for table in ("projects", "sync_health", *NEW_TABLES)},
    }


# --- alerts -----------------------------------------------------------------------------------


#: What the alerts test builds: the models the alerts and anomaly flags are on, their ancestors
#: and the tests of those (the other models are the clean and planted tests' business), but
#: not the relationships tests: the test syncs three tables, so that the references into the
#: others (a project's manager) name records of tables it does not sync.
MONITORED = {
    "select": ("xurrent__sync_monitoring", "xurrent__project_status_daily"),
    "exclude": ("test_name:relationships",),
}


def test_alerts_and_anomaly_flags_fire(make_sim, runner, tmp_path):
    """Real syncs of the first three tables: a clean one, then one whose first stream request
    answers 503 (retried, so the sync succeeds with failed requests), then, with the token
    revoked, three failing ones. dbt builds the monitoring models (MONITORED) each time.

    What the connector cannot produce against the simulator goes into a copy of the warehouse
    taken after the 503 sync: a sync of five hours, and six syncs a week ago that wrote exactly
    what the clean sync wrote per stream (a steady history). After a first build, dbt's own
    tables get a history too: table sizes for those six syncs (100 rows more than now) and
    twenty days of project statuses (5 projects more per status than today).

    First build on the copy: the error-rate alert fails for exactly the streams whose failures
    exceed 2 %, the long-sync alert for the planted sync, the rows anomaly warns for the streams
    whose rows differ from the steady history. Second build adds the table-size anomaly (every
    stream) and the status anomaly (every status). On the original after three failures the
    consecutive-failures alert fails (runs of 1, 2, 3)."""
    start_dbt()  # dbt starts while the connector syncs
    sim = make_sim()
    clean_dataset(sim)
    configuration = sync_configuration(sim, tables=FIRST_TABLES)
    runner.run(configuration)
    sim.reset_stats()
    sim.configure(fault_schedule={"2": "503"})  # the first request of a stream (1 is /v1/me)
    runner.run(configuration)

    copy = copy_warehouse(runner, tmp_path / "long" / "warehouse.db")
    (first_sync,), (latest_sync,) = query_duckdb(
        copy, "select sync_id from tester.sync_health group by sync_id order by min(started_at)"
    )
    written = dict(
        query_duckdb(
            copy,
            "select table_name, rows_upserted from tester.sync_health where sync_id = ?",
            [first_sync],
        )
    )
    latest = dict(
        query_duckdb(
            copy,
            "select table_name, rows_upserted from tester.sync_health where sync_id = ?",
            [latest_sync],
        )
    )
    history = [
        "insert into tester.sync_health by name select"
        f" 'planted-history-{day}' as sync_id, '{table}' as table_name, 'succeeded' as status,"
        f" now() - interval {day} day as sync_started_at,"
        f" now() - interval {day} day as started_at,"
        f" now() - interval {day} day + interval 1 minute as finished_at,"
        f" {rows} as rows_upserted, 1 as requests, 0 as failed_requests,"
        " now() as _fivetran_synced, false as _fivetran_deleted"
        for day in range(7, 13)
        for table, rows in written.items()
    ]
    execute_duckdb(
        copy,
        "insert into tester.sync_health by name select 'planted-long-sync' as sync_id,"
        " 'organizations' as table_name, 'succeeded' as status,"
        " now() - interval 5 hour as sync_started_at, now() - interval 5 hour as started_at,"
        " now() - interval 50 minute as finished_at, 15000.0 as duration_seconds,"
        " 25 as rows_upserted, 1 as requests, 0 as failed_requests, now() as _fivetran_synced,"
        " false as _fivetran_deleted",
        *history,
    )
    workdir = tmp_path / "dbt-long"
    dbt = Dbt(copy, workdir)
    first = dbt.build(store_failures=True, **MONITORED)
    erroring = stream_error_rates(copy)
    assert erroring, "the 503 left no failed request in sync_health"
    unusual = {table for table, rows in latest.items() if rows != written[table]}
    assert unusual, f"the second sync wrote what the first did: {latest}"
    expected = {
        ("xurrent_alert_error_rate", MONITORING, None): len(erroring),
        ("xurrent_alert_long_sync", MONITORING, None): 1,
        ("xurrent_flag_not_raised", MONITORING, "is_rows_anomaly"): len(unusual),
    }
    assert first.returncode == 1, first.describe()
    assert flagged_failures(first) == expected, first.describe()
    tests = {test.name: test for test in first.flagged().values()}
    assert tests["xurrent_alert_error_rate"].status == "fail"
    assert tests["xurrent_alert_long_sync"].status == "fail"
    assert tests["xurrent_flag_not_raised"].status == "warn"
    error_rows = stored_failures(workdir, tests["xurrent_alert_error_rate"], "table_name")
    assert {table for (table,) in error_rows} == erroring
    long_rows = stored_failures(workdir, tests["xurrent_alert_long_sync"], "sync_id")
    assert long_rows == [("planted-long-sync",)]
    rows_flagged = stored_failures(workdir, tests["xurrent_flag_not_raised"], "table_name")
    assert {table for (table,) in rows_flagged} == unusual

    today = dict(
        dbt.query(
            "select status, project_count from {s}.xurrent__project_status_daily"
            " where is_latest_day"
        )
    )
    assert set(today) == set(Counter(record["status"] for record in sim.ground_truth("projects")))
    execute_duckdb(
        dbt.database,
        "insert into xurrent.xurrent__table_sizes (table_size_key, source_relation, sync_id,"
        " table_name, table_rows, live_rows, measured_at) select 'planted/' || sync_id || '/'"
        " || table_name, source_relation, sync_id, table_name, sizes.table_rows + 100,"
        " sizes.live_rows + 100, now() from (select distinct sync_id, table_name"
        " from xurrent.stg_xurrent__sync_health where sync_id like 'planted-history-%')"
        " as planted join (select table_name as sized, source_relation, table_rows, live_rows"
        " from xurrent.xurrent__table_sizes) as sizes on sizes.sized = planted.table_name",
        *(
            "insert into xurrent.xurrent__projects_snapshot (project_key, source_relation,"
            " status, lifecycle_state, dbt_scd_id, dbt_updated_at, dbt_valid_from,"
            f" dbt_valid_to) select 'planted:{status}:' || i, 'xurrent_connector.tester',"
            f" '{status}', 'live', md5('planted:{status}:' || i), current_date - 20,"
            " current_date - 20, cast(current_date as timestamp)"
            f" from range({count + 5}) as numbers(i)"
            for status, count in today.items()
        ),
    )
    second = dbt.build(**MONITORED)
    expected[("xurrent_flag_not_raised", MONITORING, "is_table_size_anomaly")] = len(written)
    expected[("xurrent_flag_not_raised", "xurrent__project_status_daily", "is_anomaly")] = len(
        today
    )
    assert flagged_failures(second) == expected, second.describe()

    sim.tokens.clear()
    for _ in range(3):
        assert runner.run(configuration, expect_failure=True).error is not None
    failures_dbt = Dbt(warehouse_of(runner), tmp_path / "dbt-failures")
    failures = failures_dbt.build(**MONITORED)
    assert failures.returncode == 1, failures.describe()
    assert flagged_failures(failures) == {
        ("xurrent_alert_consecutive_failures", MONITORING, None): 1,
        ("xurrent_alert_error_rate", MONITORING, None): len(
            stream_error_rates(warehouse_of(runner))
        ),
    }, failures.describe()
    runs = failures_dbt.query(
        "select sync_status, max(consecutive_failed_syncs), bool_or(is_latest_sync)"
        " from {s}.xurrent__sync_monitoring group by sync_id, sync_status"
        " order by min(sync_started_at)"
    )
    assert runs == [
        ("succeeded", 0, False),
        ("succeeded", 0, False),
        ("failed", 1, False),
        ("failed", 2, False),
        ("failed", 3, True),
    ]


def stored_failures(workdir: Path, test, column: str) -> list[tuple]:
    """One column of the rows a test returned, kept by --store-failures in dbt's audit
    schema."""
    node = json.loads((workdir / "target" / "manifest.json").read_text())["nodes"][test.unique_id]
    return query_duckdb(
        workdir / "xurrent_dbt.duckdb", f"select {column} from {node['relation_name']}"
    )


# --- make models' guards ----------------------------------------------------------------------


def run_models_script(
    tmp_path: Path, warehouse: Path, workdir: Path | None = None
) -> subprocess.CompletedProcess:
    """tools/models.py (what `make models` runs) with dbt's file, target and logs in workdir."""
    workdir = workdir or tmp_path / "out"
    return subprocess.run(
        [
            str(DBT_VENV / "bin" / "python"),
            str(MODELS_SCRIPT),
            "--warehouse",
            str(warehouse),
            "--output",
            str(workdir / "xurrent_dbt.duckdb"),
            "--target-path",
            str(workdir / "target"),
            "--log-path",
            str(workdir / "logs"),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, DO_NOT_TRACK="1"),
        timeout=300,
    )


def test_make_models_explains_a_missing_or_busy_warehouse(tmp_path):
    """No warehouse yet: it says to sync first. A warehouse another process holds open for
    writing (as `fivetran debug` does during a sync): it says to wait. dbt never starts."""
    missing = run_models_script(tmp_path, tmp_path / "files" / "warehouse.db")
    assert missing.returncode == 1
    assert "No warehouse at" in missing.stderr and "run a sync first" in missing.stderr
    assert not (tmp_path / "out" / "target").exists()

    import duckdb

    busy_file = tmp_path / "busy" / "warehouse.db"
    busy_file.parent.mkdir()
    writer = duckdb.connect(str(busy_file))
    try:
        writer.execute("create schema tester")
        writer.execute("create table tester.organizations (id bigint)")
        busy = run_models_script(tmp_path, busy_file)
    finally:
        writer.close()
    assert busy.returncode == 1
    assert "in use by another process" in busy.stderr, busy.stderr
    assert not (tmp_path / "out" / "target").exists()

    incomplete = run_models_script(tmp_path, busy_file)
    assert incomplete.returncode == 1
    assert "has no products, projects, sync_health in schema tester" in incomplete.stderr
