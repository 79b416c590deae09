"""Write dbt/integration_tests/seeds and the seeds' column types from real syncs.

    .venv/bin/python tests/dbt/make_integration_seeds.py

Two simulators (a directory account and a support domain, as tests/dbt/test_dbt_engines.py
builds them, with small counts) are cleaned (package_support.clean_dataset: every reference
names a record the seeds hold, so every test of the package passes on them) and synced by the
real connector: the directory's every table (its collections show archived and trashed
records, so that each table with archive and trash has removed rows), the support domain's
organizations and projects (no products table; its JSON columns kept as text). The support
account's own organizations are left out of the directory's, as a directory account does not
hold them. Each table becomes <connection>_<table>.csv (DuckDB's CSV, times in UTC), and
dbt/integration_tests/dbt_project.yml gets each seed's column types (DuckDB's types), between
the markers it holds. Run it again when the connector gains columns.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(HERE)]

from package_support import clean_dataset, execute_duckdb, query_duckdb  # noqa: E402
from testkit import ACCOUNT, TOKEN, ConnectorRunner  # noqa: E402

from simulator import SimConfig, Simulator  # noqa: E402

INTEGRATION = ROOT / "dbt" / "integration_tests"
DIRECTORY_ACCOUNT = "widget-directory"
#: Small counts: every reference beyond them dangles and is cleaned away.
COUNTS = dict(
    organizations=25,
    products=24,
    projects=12,
    people=30,
    teams=8,
    sites=4,
    services=10,
    service_instances=6,
    cis=12,
    contracts=6,
    project_tasks=16,
    time_entries=20,
)
SUPPORT_TABLES = "organizations,projects"
#: DuckDB's type of a warehouse column -> the seed's column type.
SEED_TYPES = {
    "BIGINT": "bigint",
    "VARCHAR": "varchar",
    "BOOLEAN": "boolean",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "DOUBLE": "double",
    "DATE": "date",
    "JSON": "json",
    "DECIMAL(38,10)": "decimal(38,10)",
}
#: JSON a destination keeps as text (the support connection's projects.custom_fields), so that
#: the package reads JSON of both kinds.
JSON_AS_TEXT = {("support", "projects", "custom_fields")}
START, END = "    # seeds: begin (make_integration_seeds.py)", "    # seeds: end"


class _NoCapture:
    def readouterr(self):
        return SimpleNamespace(out="", err="")


def sync(sim: Simulator, project: Path, tables: str | None = None) -> Path:
    configuration = {
        "oauth_token": sim.config.token,
        "account_id": sim.config.account,
        "base_url": sim.api_url,
        "initial_sync_days": "all",
    }
    if tables:
        configuration["tables"] = tables
    ConnectorRunner(str(project), _NoCapture()).run(configuration)
    return project / "files" / "warehouse.db"


def simulator(**overrides) -> Simulator:
    values = dict(token=TOKEN, account=ACCOUNT, scale="tiny", seed=1, rate_limit=False)
    values.update(latency_ms=0, **COUNTS, **overrides)
    return Simulator(SimConfig(**values)).start()


def main() -> int:
    directory = simulator(
        account=DIRECTORY_ACCOUNT, directory_share=0.0, hide_archived_and_trashed=False
    )
    support = simulator(directory_account=DIRECTORY_ACCOUNT, directory_share=0.5)
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        try:
            for sim in (directory, support):
                clean_dataset(sim)
            warehouses = {
                "directory": sync(directory, root / "directory"),
                "support": sync(support, root / "support", SUPPORT_TABLES),
            }
            owned = [
                record["id"]
                for record in support.ground_truth("organizations")
                if support.account_of("organizations", record["id"]) == ACCOUNT
            ]
            execute_duckdb(
                warehouses["directory"],
                f"delete from tester.organizations where id in ({', '.join(map(str, owned))})",
            )
        finally:
            directory.stop()
            support.stop()
        seeds = INTEGRATION / "seeds"
        shutil.rmtree(seeds)
        seeds.mkdir()
        types = {}
        for connection, warehouse in warehouses.items():
            for table, columns in catalog(warehouse).items():
                name = f"{connection}_{table}"
                types[name] = (connection, table, columns)
                execute_duckdb(
                    warehouse,
                    "set TimeZone = 'UTC'",
                    f"copy (select * from tester.{table} order by all)"
                    f" to '{seeds / name}.csv' (header)",
                )
    write_column_types(types)
    return 0


def catalog(warehouse: Path) -> dict[str, list[tuple[str, str]]]:
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in query_duckdb(
        warehouse,
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = 'tester' order by table_name, ordinal_position",
    ):
        tables.setdefault(table, []).append((column, SEED_TYPES[kind.replace(", ", ",")]))
    return tables


def write_column_types(types: dict) -> None:
    lines = [START]
    for name, (connection, table, columns) in sorted(types.items()):
        columns = [
            (column, "varchar" if (connection, table, column) in JSON_AS_TEXT else kind)
            for column, kind in columns
        ]
        lines += [
            f"    {name}:",
            f"      +schema: xurrent_{connection}",
            f"      +alias: {table}",
            "      +column_types:",
            *(f"        {column}: {kind}" for column, kind in columns),
        ]
    lines.append(END)
    project = INTEGRATION / "dbt_project.yml"
    text = project.read_text()
    pattern = re.compile(re.escape(START) + ".*" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{project} lacks the lines {START!r} ... {END!r}")
    project.write_text(pattern.sub(lambda _: "\n".join(lines), text))


if __name__ == "__main__":
    sys.exit(main())
