"""The dbt package on every destination the business uses, from one warehouse the connector
wrote: built on DuckDB, on a real PostgreSQL server and on fakesnow (Snowflake), compiled for
BigQuery and Redshift with their adapters' macros and checked by sql_rules.py.

The warehouse holds two connections (a directory account syncing every table, whose simulator
shows archived and trashed records so that one sync writes removed rows of every kind, and a
support domain syncing the first three tables, each synced by the real connector from a
simulator) with what broke the package on some warehouses planted in it: one organization's copy
without updated_at (NULLs sort first on PostgreSQL and Snowflake, last on DuckDB), the support
connection's projects.custom_fields stored as text while the directory's is JSON, no products
table in the support connection, and the support connection's organizations synced 8 hours
ago. DuckDB, PostgreSQL and fakesnow run `dbt build` and `dbt source
freshness` (the first two also a rerun of the incremental model and the snapshot, which fakesnow
cannot run), BigQuery and Redshift `dbt compile`: side by side, one process each (one for both
compiles), started before the syncs so that dbt's start and parse overlap them (about two
minutes of two cores).
Expected figures come from the simulators' ground truth; the other engines must then equal
DuckDB value for value, every model and every test result.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from engines import PostgresServer, finish_engine, start_engine, stop_engine
from package_support import (
    DBT_VENV,
    FIRST_TABLES,
    TABLE_OF,
    clean_dataset,
    execute_duckdb,
    live_project_ids,
    query_duckdb,
    require_dbt,
    sync_configuration,
)
from testkit import ACCOUNT, TOKEN, ConnectorRunner

from xurrent_connector.streams import TABLE_NAMES as TABLES

from simulator import SimConfig, Simulator

DIRECTORY, SUPPORT = "xurrent_directory", "xurrent_support"
#: The tables whose records go to the archive and the trash, by simulator collection.
REMOVABLE = ("projects", "people", "cis", "project_tasks", "time_entries")
RELATIONS = {f"xurrent_connector.{DIRECTORY}", f"xurrent_connector.{SUPPORT}"}
VARIABLES = {
    "xurrent_database": "xurrent_connector",
    "xurrent_schema": DIRECTORY,
    "xurrent_connections": [
        {"database": "xurrent_connector", "schema": DIRECTORY},
        {"database": "xurrent_connector", "schema": SUPPORT},
    ],
    "xurrent_projects_pass_through_columns": ["cost_center", {"name": "tier", "alias": "tier"}],
    "xurrent_organizations_pass_through_columns": [{"name": "cost_center", "alias": "org_cc"}],
}
BUILD, RERUN, FRESHNESS = (
    ["build"],
    # A rerun: the incremental model merges, the snapshot compares (their second-run SQL).
    ["build", "--select", "xurrent__table_sizes", "xurrent__projects_snapshot"],
    ["source", "freshness"],
)
STEPS = {
    "duckdb": (BUILD, RERUN, FRESHNESS),
    "postgres": (BUILD, RERUN, FRESHNESS),
    # fakesnow cannot run the rerun: dbt-snowflake stages it in a temporary table named with
    # its database and schema, which DuckDB (under fakesnow) refuses.
    "snowflake": (BUILD, FRESHNESS),
}
BUILT = ("duckdb", "postgres", "snowflake")
COMPILED = ("bigquery", "redshift")


class _NoCapture:
    """The runner reads the SDK's output through capsys, which a module fixture cannot have."""

    def readouterr(self):
        return SimpleNamespace(out="", err="")


def _simulator(**overrides) -> Simulator:
    values = dict(token=TOKEN, account=ACCOUNT, scale="tiny", seed=1, rate_limit=False)
    values.update(latency_ms=0, **overrides)
    return Simulator(SimConfig(**values)).start()


def _sync(sim: Simulator, project: Path, **settings) -> Path:
    """One sync into project/files/warehouse.db. The runner switches the SDK's logging mode
    process-wide; it is put back, as conftest's sdk_logging does around every test (this runs
    in a module fixture, outside it), so that later tests see the defaults."""
    from fivetran_connector_sdk import Logging
    from fivetran_connector_sdk_common import constants

    previous = (Logging.LOG_LEVEL, constants.DEBUGGING)
    project.mkdir(parents=True)
    try:
        ConnectorRunner(str(project), _NoCapture()).run(sync_configuration(sim, **settings))
    finally:
        Logging.LOG_LEVEL, constants.DEBUGGING = previous
    return project / "files" / "warehouse.db"


def _combine(directory_file: Path, support_file: Path, combined: Path, support) -> dict:
    """The two warehouses as two schemas of one file, with the planted rows; returns what was
    planted (the test's oracle)."""
    statements = [
        f"attach '{directory_file}' as directory_side (read_only)",
        f"attach '{support_file}' as support_side (read_only)",
    ]
    for schema, side, path in (
        (DIRECTORY, "directory_side", directory_file),
        (SUPPORT, "support_side", support_file),
    ):
        statements.append(f"create schema {schema}")
        for (table,) in query_duckdb(
            path,
            "select table_name from information_schema.tables where table_schema = 'tester'",
        ):
            statements.append(
                f"create table {schema}.{table} as select * from {side}.tester.{table}"
            )
    # The support account's own organizations do not exist in the directory account. (Its
    # products do: the support connection has no products table, and the directory's
    # configuration items name them.)
    owned = [
        record["id"]
        for record in support.ground_truth("organizations")
        if support.account_of("organizations", record["id"]) == ACCOUNT
    ]
    statements.append(
        f"delete from {DIRECTORY}.organizations where id in ({', '.join(map(str, owned))})"
    )
    execute_duckdb(combined, *statements)
    # An organization both connections see: the support copy lost its updated_at (and says
    # something else), so the directory's copy must be kept on every engine.
    (shared_id, name), *_ = query_duckdb(
        combined,
        f"select id, name from {DIRECTORY}.organizations where id in"
        f" (select id from {SUPPORT}.organizations) order by id",
    )
    execute_duckdb(
        combined,
        f"update {SUPPORT}.organizations set updated_at = null, name = 'Stale copy'"
        f" where id = {shared_id}",
        # JSON the support destination keeps as text.
        f"alter table {SUPPORT}.projects alter custom_fields type varchar",
        # A connection without the products table (its `tables` setting left it out).
        f"drop table {SUPPORT}.products",
        # The support connection's organizations were last synced 8 hours ago.
        f"update {SUPPORT}.organizations set _fivetran_synced = _fivetran_synced - interval 8 hour",
    )
    return {"shared_organization": (shared_id, name)}


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """Start every engine (each parses the package while the warehouse is made), sync two
    simulators, combine, then let the engines build and compile at once."""
    require_dbt()
    root = tmp_path_factory.mktemp("engines")
    warehouse = root / "combined" / "warehouse.db"
    warehouse.parent.mkdir()
    ready = warehouse.parent / "ready"
    # The directory's collections show archived and trashed records: one sync reads them, then
    # its archive and trash streams mark them removed (removed rows of every kind).
    directory = _simulator(
        account="widget-directory", directory_share=0.0, hide_archived_and_trashed=False
    )
    support = _simulator(directory_account="widget-directory", directory_share=0.5)
    postgres, started = None, []
    try:
        postgres = PostgresServer().start()
        for engine in BUILT:
            workdir = root / engine
            workdir.mkdir()
            server = postgres if engine == "postgres" else None
            started.append(
                start_engine(
                    "build", engine, warehouse, workdir, VARIABLES, STEPS[engine], server, ready
                )
            )
        # Compiling takes no warehouse engine: both in one process, dbt started once.
        started.append(
            start_engine(
                "compile", ",".join(COMPILED), warehouse, root, VARIABLES, (), None, ready
            )
        )
        for sim in (directory, support):
            clean_dataset(sim)
        directory_file = _sync(directory, root / "directory")
        support_file = _sync(support, root / "support", tables=FIRST_TABLES)
        planted = _combine(directory_file, support_file, warehouse, support)
        planted["removed"] = _removed(directory)
        ready.touch()
        runs = {run.engine: run for finished in map(finish_engine, started) for run in finished}
        yield SimpleNamespace(
            runs=runs,
            directory=directory,
            support=support,
            warehouse=warehouse,
            planted=planted,
            root=root,
        )
    finally:
        for engine in started:
            stop_engine(engine)
        if postgres is not None:
            postgres.stop()
        directory.stop()
        support.stop()


def _removed(sim: Simulator) -> dict[str, set]:
    """Per table, the (id, removal state) of every record the sync writes as removed: archived,
    trashed, or a time entry whose `deleted` field is true."""
    removed = {}
    for collection in REMOVABLE:
        states = {record_id: "archived" for record_id in sim.archived_ids(collection)}
        states.update({record_id: "trashed" for record_id in sim.trashed_ids(collection)})
        if collection == "time_entries":
            for record_id, row in sim.store.rows[collection].items():
                if row.get("deleted") and record_id not in states:
                    states[record_id] = "deleted"
        removed[TABLE_OF.get(collection, collection)] = set(states.items())
    return removed


def _built(engines, engine: str):
    run = engines.runs[engine]
    assert run.returncode == 0 and run.summary, run.describe()
    return run


def _model_rows(engines, engine: str, model: str) -> list[dict]:
    table = _built(engines, engine).rows()[model]
    return [dict(zip(table["columns"], row)) for row in table["rows"]]


def _runtime_columns(engines) -> dict[str, set[str]]:
    """Columns whose values depend on when dbt ran (meta runtime_dependent in the package's
    YAML): left out of the value comparison, as two builds never run at the same instant."""
    manifest = json.loads((engines.root / "duckdb" / "target" / "manifest.json").read_text())
    found: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "snapshot"):
            found[node["name"]] = {
                name
                for name, column in node["columns"].items()
                if (column.get("meta") or {}).get("runtime_dependent")
            }
    return found


# --- DuckDB against the ground truth ------------------------------------------------------------


def test_several_connections_stack_with_source_relation_one_row_per_owner(engines):
    """Every organization once, keyed by its owning account; products from the one connection
    that has the table (the directory, which owns them all); projects and sync_health per
    connection; every model carries source_relation; every test passes (a missing table is a
    warning, not a failure)."""
    duckdb_run = _built(engines, "duckdb")
    build = duckdb_run.run(BUILD)
    assert build["success"], build
    assert {result["status"] for result in build["results"]} == {"pass", "success"}, build
    assert "no table products in xurrent_connector.xurrent_support" in duckdb_run.output.replace(
        "\n", " "
    )

    directory, support = engines.directory, engines.support
    expected = {
        f"{support.account_of('organizations', record['id'])}:{record['id']}"
        for record in support.ground_truth("organizations")
    }
    found = _model_rows(engines, "duckdb", "stg_xurrent__organizations")
    assert sorted(row["organization_key"] for row in found) == sorted(expected)
    assert {row["source_relation"] for row in found} == RELATIONS
    products = _model_rows(engines, "duckdb", "stg_xurrent__products")
    assert sorted((row["product_key"], row["source_relation"]) for row in products) == sorted(
        (f"widget-directory:{record['id']}", f"xurrent_connector.{DIRECTORY}")
        for record in directory.ground_truth("products")
    )
    projects = {}
    for row in _model_rows(engines, "duckdb", "xurrent__projects"):
        key = (row["account_id"], row["source_relation"])
        projects[key] = projects.get(key, 0) + 1
    assert projects == {
        (ACCOUNT, f"xurrent_connector.{SUPPORT}"): len(live_project_ids(support)),
        ("widget-directory", f"xurrent_connector.{DIRECTORY}"): len(live_project_ids(directory)),
    }
    for model, table in duckdb_run.rows().items():
        if model != "xurrent__projects_snapshot":
            relations = {row[table["columns"].index("source_relation")] for row in table["rows"]}
            assert relations and relations <= RELATIONS, model


def test_staging_keeps_every_column_the_connector_writes(engines):
    """Each table's staging columns hold every column of the connector's declaration (the
    *_account_id columns of references included, in the live models too); the removed rows
    of each table with archive and trash are the ones archived, trashed (or, for time
    entries, deleted)."""
    from xurrent_connector import health, streams

    rows = _built(engines, "duckdb").rows()
    declared = {name: [c.name for c in stream.columns] for name, stream in streams.TABLES.items()}
    declared["sync_health"] = list(health.HEALTH_COLUMNS)
    # Named like a reserved word (credentials: Redshift) or a type (date).
    renamed = {"credentials": "credentials_used", "date": "spent_on"}
    for table, columns in declared.items():
        model = (
            f"stg_xurrent__{table}_tmp" if table != "sync_health" else "stg_xurrent__sync_health"
        )
        staged = set(rows[model]["columns"])
        missing = [c for c in columns if renamed.get(c, c) not in staged]
        assert missing == [], (table, missing)
    for table in streams.TABLES:
        accounts = {c for c in declared[table] if c.endswith("_account_id")} - {"account_id"}
        assert accounts <= set(rows[f"stg_xurrent__{table}"]["columns"]), table
    for table, expected in engines.planted["removed"].items():
        entity = {"people": "person", "time_entries": "time_entry"}.get(table, table[:-1])
        removed = {
            (row[f"{entity}_id"], row["removal_state"])
            for row in _model_rows(engines, "duckdb", f"stg_xurrent__{table}_removed")
        }
        assert removed == expected and expected, table


def test_each_connector_table_is_read_by_one_model(engines):
    """Only the _tmp models (and sync_health's staging model) read the connector's tables:
    the live and the removed rows share one read and one deduplication, and the table sizes
    count from staging (before, both project models deduplicated the raw table and the sizes
    read it a third time)."""
    from xurrent_connector import streams

    compiled = engines.root / "duckdb" / "target" / "compiled" / "xurrent" / "models"
    tables = [f'"{schema}".' for schema in (DIRECTORY, SUPPORT)]
    readers = {
        path.stem for path in compiled.rglob("*.sql") if any(t in path.read_text() for t in tables)
    }
    assert readers == {f"stg_xurrent__{table}_tmp" for table in streams.TABLES} | {
        "stg_xurrent__sync_health"
    }


def test_every_model_and_column_is_described(engines):
    """Every column of every built model and of the snapshot has a description in the
    package's YAML (pass-through custom field columns excepted: they are the user's)."""
    manifest = json.loads((engines.root / "duckdb" / "target" / "manifest.json").read_text())
    passed = {"cost_center", "tier", "org_cc"}
    undocumented = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "snapshot"):
            continue
        assert node["description"].strip(), node["name"]
        built = _built(engines, "duckdb").rows()[node["name"]]["columns"]
        described = {n for n, c in node["columns"].items() if c["description"].strip()}
        missing = sorted(set(built) - described - passed)
        if missing:
            undocumented[node["name"]] = missing
        assert set(node["columns"]) <= set(built), node["name"]  # no stale entries
    assert undocumented == {}


def test_the_most_recently_updated_copy_is_kept_whatever_the_null_order(engines):
    """The support copy without updated_at loses to the directory's copy, on every engine
    (before `nulls last`, PostgreSQL and Snowflake kept the copy without updated_at)."""
    shared_id, name = engines.planted["shared_organization"]
    for engine in BUILT:
        kept = [
            (row["name"], row["source_relation"], row["updated_at"] is not None)
            for row in _model_rows(engines, engine, "stg_xurrent__organizations")
            if row["organization_id"] == shared_id
        ]
        assert kept == [(name, f"xurrent_connector.{DIRECTORY}", True)], engine


def test_custom_fields_become_columns_from_json_and_from_text(engines):
    """xurrent_projects_pass_through_columns: cost_center and tier of every live project equal
    the API's custom fields, from the directory's JSON and the support's text column alike."""
    for sim, relation in ((engines.directory, DIRECTORY), (engines.support, SUPPORT)):
        truth, live = {}, set(live_project_ids(sim))
        for record in sim.ground_truth("projects"):
            if record["id"] not in live:
                continue  # the directory's simulator shows archived and trashed projects too
            fields = {field["id"]: field["value"] for field in record.get("custom_fields") or []}
            truth[record["id"]] = (fields.get("cost_center"), fields.get("tier"))
        assert any(values[0] for values in truth.values()), "no custom field to read"
        for engine in BUILT:
            found = {
                row["project_id"]: (row["cost_center"], row["tier"])
                for row in _model_rows(engines, engine, "stg_xurrent__projects")
                if row["source_relation"] == f"xurrent_connector.{relation}"
            }
            assert found == truth, (engine, relation)


# --- every engine equals DuckDB -----------------------------------------------------------------


@pytest.mark.parametrize("engine", ["postgres", "snowflake"])
def test_engine_builds_the_same_rows_and_test_results_as_duckdb(engines, engine):
    """Every model and the snapshot, value for value (columns measured against the time dbt
    ran excepted), and every test's status, in the build and in the rerun."""
    reference = _built(engines, "duckdb")
    other = _built(engines, engine)
    for command in STEPS[engine][:-1]:  # the builds; freshness is compared below
        assert other.run(command)["success"], other.run(command)
        assert other.statuses(command) == reference.statuses(command), command
    skip = _runtime_columns(engines)
    expected, found = reference.rows(), other.rows()
    assert sorted(found) == sorted(expected)
    for model, table in expected.items():
        assert found[model]["columns"] == table["columns"], model
        kept = [i for i, name in enumerate(table["columns"]) if name not in skip.get(model, ())]

        def values(rows, kept=kept):
            return sorted(json.dumps([row[i] for i in kept]) for row in rows)

        assert values(found[model]["rows"]) == values(table["rows"]), model
        assert table["rows"], model  # every model has rows to compare


def test_source_freshness_checks_every_connection(engines):
    """Only the support connection's organizations are stale (8 hours: warn after 6); the
    directory's are fresh, so freshness on the first connection alone would pass."""
    for engine in BUILT:
        statuses = {
            unique_id.split(".")[-1]: status
            for unique_id, status in _built(engines, engine).statuses(FRESHNESS).items()
        }
        assert statuses == {
            "organizations": "warn",
            **{table: "pass" for table in (*TABLES, "sync_health") if table != "organizations"},
        }, engine


# --- BigQuery and Redshift, compiled ------------------------------------------------------------


@pytest.mark.parametrize("engine", COMPILED)
def test_compiles_and_keeps_the_warehouse_rules(engines, engine):
    """`dbt compile` with the adapter's macros succeeds; every compiled model and test parses
    in the dialect and keeps its rules (sql_rules.py); the only query the compile needed is the
    date spine's length, answered offline."""
    run = _built(engines, engine)
    assert run.run(["compile", "--no-populate-cache"])["success"], run.describe()
    report = run.summary["report"]
    assert report["problems"] == {}, report["problems"]
    manifest = json.loads((engines.root / engine / "target" / "manifest.json").read_text())
    nodes = [n for n in manifest["nodes"].values() if n["package_name"] == "xurrent"]
    assert report["kinds"] == {
        "models": sum(1 for n in nodes if n["resource_type"] == "model"),
        "snapshots": 0,  # dbt compile leaves snapshots to `dbt snapshot`
        "tests": sum(1 for n in nodes if n["resource_type"] == "test"),
    }
    (query,) = run.summary["answered_queries"]
    assert "xurrent__projects_snapshot" in query


BAD_SQL = {
    "bigquery": [
        # The alert tests and not-in-future tests before the fix (dbt.dateadd).
        "select * from m where sync_started_at >= datetime_add("
        "cast(current_timestamp() as datetime), interval -24 hour)",
        # The daily status model before the fix.
        "with calendar as (select cast('2026-01-01' as date) as status_date) select * from"
        " calendar join s on s.dbt_valid_from < datetime_add(cast(calendar.status_date as"
        " datetime), interval 1 day)",
        "select from where",
    ],
    "redshift": [
        # The hierarchy before the fix: no column list, VARCHAR(256) paths.
        "with recursive walk as (select 1 as steps, cast('/1/' as varchar) as id_path union"
        " all select steps + 1, cast(id_path || '2/' as varchar) from walk where steps < 3)"
        " select * from walk",
        "select credentials from s",
        "select cast(name as text) from s",
    ],
}


def test_sql_rules_catch_each_defect_they_are_for():
    """sql_rules on SQL as the package compiled before its fixes: every statement has a
    problem (and the fixed forms have none, test_compiles_and_keeps_the_warehouse_rules)."""
    require_dbt()
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import sql_rules;"
        " print(json.dumps({e: [sql_rules.check_sql(s, e) for s in q]"
        " for e, q in json.loads(sys.argv[2]).items()}))"
    )
    completed = subprocess.run(
        [str(DBT_VENV / "bin" / "python"), "-c", script, str(Path(__file__).parent),
         json.dumps(BAD_SQL)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    found = json.loads(completed.stdout)
    assert [len(problems) > 0 for problems in found["bigquery"]] == [True, True, True], found
    assert "DATETIME compared with a TIMESTAMP" in found["bigquery"][0][0]
    assert "does not parse" in found["bigquery"][2][0]
    walk, credentials, text = found["redshift"]
    assert any("without a column list" in problem for problem in walk), walk
    assert any("VARCHAR" in problem for problem in walk), walk
    assert credentials == ["unquoted reserved word credentials"]
    assert text and "at most 256" in text[0]
