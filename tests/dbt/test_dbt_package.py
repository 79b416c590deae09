"""The dbt package (dbt/) against real warehouses: the connector syncs the simulator over HTTP
through the SDK's runner, then the real `dbt build` runs on the DuckDB file it wrote.

Expected figures come from the simulator's ground truth (or from the warehouse's own
sync_health rows for the alerts), never from the package's output. Data the API would never
produce is planted in the simulator's store before a sync; rows the connector cannot write at
all (an organization without an id, a sync of four hours, the redesigned connector's
account_id column) go into a copy of the warehouse, as each test's docstring says.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from pathlib import Path

from dbt_package_support import (
    DBT_VENV,
    MODELS_SCRIPT,
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
    sync_configuration,
    warehouse_of,
)

STG = "stg_xurrent__"
MONITORING = "xurrent__sync_monitoring"


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


def test_make_models_on_clean_data_passes_every_test_and_matches_the_api(
    make_sim, runner, tmp_path
):
    """`tools/models.py` (what `make models` runs) after two syncs of a cleaned dataset: one
    project archived and one trashed between them. Every dbt test passes, and the models agree
    with the simulator's ground truth."""
    sim = make_sim()
    clean_dataset(sim)
    configuration = sync_configuration(sim)
    runner.run(configuration)
    archived, trashed = live_project_ids(sim)[:2]
    sim.archive_project(archived)
    sim.trash_project(trashed)
    runner.run(configuration)

    workdir = tmp_path / "dbt"
    database = workdir / "xurrent_dbt.duckdb"
    started = time.monotonic()
    completed = subprocess.run(
        [
            str(DBT_VENV / "bin" / "python"),
            str(MODELS_SCRIPT),
            "--warehouse",
            str(warehouse_of(runner)),
            "--output",
            str(database),
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
    seconds = time.monotonic() - started
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    run = DbtRun(completed.returncode, output, seconds)
    read_results(workdir / "target", run)
    assert len(run.tests) > 40, output
    assert run.flagged() == {}, run.describe()
    assert set(run.nodes.values()) == {"success"}, run.nodes
    lines = completed.stdout.splitlines()
    assert len(lines) <= 40, output
    assert f"Tests: {len(run.tests)} passed, 0 warned, 0 failed, 0 skipped" in lines, output
    assert "Source freshness (_fivetran_synced; warn 6 h, error 24 h): 4 pass" in lines, output

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


# --- planted data -----------------------------------------------------------------------------


def test_planted_problems_warn_exactly_where_planted(make_sim, runner, tmp_path):
    """A clean dataset with three planted problems (planted in the simulator, then synced):
    an organization whose parent does not exist, 5 % + 1 of the products without a category
    (below the 95 % the business requires) and a project updated before it was created.
    Exactly those three tests warn, each with the planted count; nothing fails. Then, on a
    copy of the warehouse whose _fivetran_synced values are aged, source freshness warns
    after 6 hours and errors after 24."""
    sim = make_sim()
    clean_dataset(sim)
    organizations = sorted(sim.store.rows["organizations"])
    products = sorted(sim.store.rows["products"])
    project_id = live_project_ids(sim)[0]
    planted(sim, "organizations", organizations[-1], parent=dangling_reference())
    without_category = len(products) // 20 + 1
    for product_id in products[:without_category]:
        planted(sim, "products", product_id, category=None)
    created = sim.store.rows["projects"][project_id]["created_at"]
    planted(sim, "projects", project_id, updated_at=created - 3600)
    runner.run(sync_configuration(sim))

    run = Dbt(warehouse_of(runner), tmp_path / "dbt").build()

    assert run.returncode == 0, run.describe()
    assert flagged_failures(run) == {
        ("relationships", STG + "organizations", "parent_id"): 1,
        ("xurrent_completeness", STG + "products", "category"): without_category,
        ("xurrent_not_before", STG + "projects", "updated_at"): 1,
    }, run.describe()
    assert {test.status for test in run.flagged().values()} == {"warn"}
    assert set(run.nodes.values()) == {"success"}
    # The organization below the missing parent is still placed in the hierarchy.
    assert run.tests and Dbt(warehouse_of(runner), tmp_path / "dbt").query(
        "select depth, hierarchy_end from {s}.xurrent__organization_hierarchy"
        f" where organization_id = {organizations[-1]}"
    ) == [(0, "parent_missing")]

    stale = copy_warehouse(runner, tmp_path / "stale" / "warehouse.db")
    execute_duckdb(
        stale,
        "update tester.organizations set _fivetran_synced = now() - interval 8 hour",
        "update tester.products set _fivetran_synced = now() - interval 30 hour",
    )
    freshness = Dbt(stale, tmp_path / "stale-dbt")
    result = freshness.run("source", "freshness")
    assert result.returncode == 1, result.output
    import json

    statuses = {
        entry["unique_id"].split(".")[-1]: entry["status"]
        for entry in json.loads((freshness.target / "sources.json").read_text())["results"]
    }
    assert statuses == {
        "organizations": "warn",
        "products": "error",
        "projects": "pass",
        "sync_health": "pass",
    }


def test_every_reference_completeness_and_timestamp_test_can_fail(make_sim, runner, tmp_path):
    """One planted problem per remaining data-quality test: a dangling customer, supplier,
    financial owner and business unit; an organization without a name; products without a
    brand and projects without a status or a customer (each just below its threshold); an
    unknown status; a completion in the future; a parent cycle. All planted in the simulator
    and synced, except an organization without an id, which the connector cannot write (id is
    the primary key): that row goes into a copy of the warehouse whose table has no key."""
    sim = make_sim()
    clean_dataset(sim)
    organizations = sorted(sim.store.rows["organizations"])
    products = sorted(sim.store.rows["products"])
    projects = live_project_ids(sim)
    rows = sim.store.rows

    planted(sim, "projects", projects[0], customer=dangling_reference())
    planted(sim, "products", products[0], supplier=dangling_reference())
    planted(sim, "products", products[1], financial_owner=dangling_reference())
    planted(
        sim, "organizations", organizations[-2], business_unit_organization=dangling_reference()
    )
    planted(sim, "organizations", organizations[-3], name=None)
    without_brand = len(products) // 20 + 1
    for product_id in products[2 : 2 + without_brand]:
        planted(sim, "products", product_id, brand=None)
    tenth = len(projects) // 10 + 1
    for project_id in projects[1 : 1 + tenth]:
        planted(sim, "projects", project_id, status=None)
    for project_id in projects[1 + tenth : 1 + 2 * tenth]:
        planted(sim, "projects", project_id, customer=None)
    planted(sim, "projects", projects[-1], status="on_hold")
    planted(sim, "projects", projects[-2], completed_at=int(time.time()) + 30 * 86400)
    first, second = organizations[3], organizations[4]
    planted(
        sim,
        "organizations",
        first,
        parent={"id": second, "name": rows["organizations"][second]["name"]},
    )
    planted(
        sim,
        "organizations",
        second,
        parent={"id": first, "name": rows["organizations"][first]["name"]},
    )
    in_cycle = sum(
        1 for *_, end, _ in expected_hierarchy(parent_map(sim)).values() if end == "cycle"
    )
    runner.run(sync_configuration(sim))

    copy = copy_warehouse(runner, tmp_path / "copy" / "warehouse.db")
    execute_duckdb(
        copy,
        "create table tester.organizations_unkeyed as select * from tester.organizations",
        "drop table tester.organizations",
        "alter table tester.organizations_unkeyed rename to organizations",
        "insert into tester.organizations (id, name, _fivetran_synced, _fivetran_deleted,"
        " created_at, updated_at) values (null, 'Without id', now(), false, now(), now())",
    )
    dbt = Dbt(copy, tmp_path / "dbt")
    run = dbt.build()

    assert run.returncode == 0, run.describe()
    assert in_cycle >= 2
    assert flagged_failures(run) == {
        ("relationships", STG + "projects", "customer_id"): 1,
        ("relationships", STG + "products", "supplier_id"): 1,
        ("relationships", STG + "products", "financial_owner_id"): 1,
        ("relationships", STG + "organizations", "business_unit_organization_id"): 1,
        ("xurrent_completeness", STG + "organizations", "organization_id"): 1,
        ("xurrent_completeness", STG + "organizations", "name"): 1,
        ("xurrent_completeness", STG + "products", "brand"): without_brand,
        ("xurrent_completeness", STG + "projects", "status"): tenth,
        ("xurrent_completeness", STG + "projects", "customer_id"): tenth,
        ("accepted_values", STG + "projects", "status"): 1,
        ("xurrent_not_in_future", STG + "projects", "completed_at"): 1,
        # accepted_values returns one row per unexpected value: 'on_hold', 'cycle'.
        ("accepted_values", "xurrent__organization_hierarchy", "hierarchy_end"): 1,
    }, run.describe()
    assert {test.status for test in run.flagged().values()} == {"warn"}
    assert dbt.query(
        "select count(*) from {s}.xurrent__organization_hierarchy where hierarchy_end = 'cycle'"
    ) == [(in_cycle,)]


# --- alerts -----------------------------------------------------------------------------------


def test_alerts_and_anomaly_flags_fire(make_sim, runner, tmp_path):
    """Real syncs: a clean one, then one whose first stream request answers 503 (retried, so the
    sync succeeds with failed requests), then, with the token revoked, three failing ones.

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
    sim = make_sim()
    clean_dataset(sim)
    configuration = sync_configuration(sim)
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
    first = dbt.build(store_failures=True)
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
    second = dbt.build()
    expected[("xurrent_flag_not_raised", MONITORING, "is_table_size_anomaly")] = len(written)
    expected[("xurrent_flag_not_raised", "xurrent__project_status_daily", "is_anomaly")] = len(
        today
    )
    assert flagged_failures(second) == expected, second.describe()

    sim.tokens.clear()
    for _ in range(3):
        assert runner.run(configuration, expect_failure=True).error is not None
    failures_dbt = Dbt(warehouse_of(runner), tmp_path / "dbt-failures")
    failures = failures_dbt.build()
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
    import json

    node = json.loads((workdir / "target" / "manifest.json").read_text())["nodes"][test.unique_id]
    return query_duckdb(
        workdir / "xurrent_dbt.duckdb", f"select {column} from {node['relation_name']}"
    )


# --- several connections ----------------------------------------------------------------------


def test_several_connections_union_with_source_relation_and_one_row_per_owner(
    make_sim, runner, tmp_path
):
    """A directory account and a support-domain account, each synced by its own connection
    (two simulators with the same seed). Half of what the support account's API lists belongs
    to the directory (the connector stores the owner in account_id); the support account's own
    records are removed from the directory's copy, since the directory does not have them. The
    two warehouses become two schemas of one file. Every organization and product appears once,
    keyed by its owning account; every model carries source_relation; every test passes."""
    directory = make_sim(account="widget-directory", directory_share=0.0)
    support = make_sim(directory_account="widget-directory", directory_share=0.5)
    for sim in (directory, support):
        clean_dataset(sim)
    runner.run(sync_configuration(directory))
    directory_file = copy_warehouse(runner, tmp_path / "directory.db")
    for name in ("warehouse.db", "state.json"):
        os.remove(Path(runner.project_dir) / "files" / name)
    runner.run(sync_configuration(support))

    combined = tmp_path / "combined" / "warehouse.db"
    combined.parent.mkdir()
    statements = [
        f"attach '{directory_file}' as directory_side (read_only)",
        f"attach '{warehouse_of(runner)}' as support_side (read_only)",
        "create schema xurrent_directory",
        "create schema xurrent_support",
    ]
    for table in ("organizations", "products", "projects", "sync_health"):
        for schema, side in (
            ("xurrent_directory", "directory_side"),
            ("xurrent_support", "support_side"),
        ):
            statements.append(
                f"create table {schema}.{table} as select * from {side}.tester.{table}"
            )
    # The support account's own records do not exist in the directory account.
    for collection in ("organizations", "products"):
        owned = [
            row_id
            for row_id in (record["id"] for record in support.ground_truth(collection))
            if support.account_of(collection, row_id) == "widget"
        ]
        listed = ", ".join(map(str, owned))
        statements.append(f"delete from xurrent_directory.{collection} where id in ({listed})")
    execute_duckdb(combined, *statements)

    dbt = Dbt(combined, tmp_path / "dbt", schema="xurrent_directory")
    run = dbt.build(
        variables={
            "xurrent_connections": [
                {"database": "xurrent_connector", "schema": "xurrent_directory"},
                {"database": "xurrent_connector", "schema": "xurrent_support"},
            ]
        }
    )
    assert run.returncode == 0, run.describe()
    assert run.flagged() == {}, run.describe()

    relations = {"xurrent_connector.xurrent_directory", "xurrent_connector.xurrent_support"}
    for collection, model, key in (
        ("organizations", "stg_xurrent__organizations", "organization_key"),
        ("products", "stg_xurrent__products", "product_key"),
    ):
        ids = [record["id"] for record in directory.ground_truth(collection)]
        assert ids == [record["id"] for record in support.ground_truth(collection)]
        owners = {support.account_of(collection, row_id) for row_id in ids}
        assert owners == {"widget", "widget-directory"}, collection  # both kinds present
        expected = {f"{support.account_of(collection, row_id)}:{row_id}" for row_id in ids}
        found = dbt.query(f"select {key}, source_relation from {{s}}.{model}")
        assert sorted(k for k, _ in found) == sorted(expected), collection  # once per owner
        assert {relation for _, relation in found} <= relations

    projects = dbt.query(
        "select account_id, source_relation, count(*) from {s}.xurrent__projects group by all"
    )
    assert sorted(projects) == sorted(
        [
            ("widget", "xurrent_connector.xurrent_support", len(live_project_ids(support))),
            (
                "widget-directory",
                "xurrent_connector.xurrent_directory",
                len(live_project_ids(directory)),
            ),
        ]
    )
    health = dbt.query(
        "select source_relation, account_id, count(*) from {s}.xurrent__sync_monitoring"
        " group by all"
    )
    assert sorted(health) == [  # five streams each: the tables, the archive and the trash
        ("xurrent_connector.xurrent_directory", "widget-directory", 5),
        ("xurrent_connector.xurrent_support", "widget", 5),
    ]
    for model in (
        "xurrent__organization_hierarchy",
        "xurrent__products_by_category",
        "xurrent__project_status_daily",
        "xurrent__completeness",
        "xurrent__table_sizes",
    ):
        found = {
            relation
            for (relation,) in dbt.query(f"select distinct source_relation from {{s}}.{model}")
        }
        assert found and found <= relations, model


# --- make models' guards ----------------------------------------------------------------------


def run_models_script(tmp_path: Path, warehouse: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(DBT_VENV / "bin" / "python"),
            str(MODELS_SCRIPT),
            "--warehouse",
            str(warehouse),
            "--output",
            str(tmp_path / "out" / "xurrent_dbt.duckdb"),
            "--target-path",
            str(tmp_path / "out" / "target"),
            "--log-path",
            str(tmp_path / "out" / "logs"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
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
