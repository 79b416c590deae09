"""Build or compile the dbt package on one warehouse engine, in the dbt environment.

Run with .venv-dbt's Python (dbt, its adapters, fakesnow and sqlglot live there, not in the
SDK's environment the tests run in); tests/dbt/engines.py starts one process per engine (one for
both compiled engines) so the engines build side by side. Every engine gets the same input: the
tables of a DuckDB warehouse the connector wrote, with each column's type mapped to the type
that engine's Fivetran destination uses (TYPES).

    build   duckdb | postgres | snowflake: load the warehouse (PostgreSQL over its socket,
            Snowflake into fakesnow, patched in this process), run the dbt commands given, then
            dump every model's and the snapshot's rows, normalized for comparison, as JSON.
    compile bigquery | redshift | bigquery,redshift (both in one process, in <workdir>/<engine>):
            no emulator exists, so `dbt compile` runs with the adapter's own macros while its
            introspection (which relations exist, their columns) is answered from the
            warehouse's catalog instead of a connection; then every compiled model, snapshot
            and test is parsed and checked by sql_rules.py.

The package is parsed first, once for all the commands (--wait-for: then the tool waits for
the warehouse, so that dbt starts and parses while the tests still sync). Prints one JSON
object (paths and counts) on its last line.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import decimal
import importlib.util
import io
import json
import os
import sys
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1] / "dbt"

#: DuckDB type of the connector's warehouse -> the type of each engine's Fivetran destination.
#: A column a connection stores as text (VARCHAR) stays text everywhere, JSON included.
TYPES = {
    "postgres": {
        "BIGINT": "bigint",
        "INTEGER": "integer",
        "VARCHAR": "text",
        "BOOLEAN": "boolean",
        "DOUBLE": "double precision",
        "TIMESTAMP WITH TIME ZONE": "timestamptz",
        "TIMESTAMP": "timestamp",
        "DATE": "date",
        "JSON": "jsonb",
        "DECIMAL(38,10)": "numeric(38,10)",
    },
    "snowflake": {
        "BIGINT": "NUMBER(38,0)",
        "INTEGER": "NUMBER(38,0)",
        "VARCHAR": "VARCHAR",
        "BOOLEAN": "BOOLEAN",
        "DOUBLE": "FLOAT",
        "TIMESTAMP WITH TIME ZONE": "TIMESTAMP_TZ",
        "TIMESTAMP": "TIMESTAMP_NTZ",
        "DATE": "DATE",
        "JSON": "VARIANT",
        "DECIMAL(38,10)": "NUMBER(38,10)",
    },
    "bigquery": {
        "BIGINT": "INT64",
        "INTEGER": "INT64",
        "VARCHAR": "STRING",
        "BOOLEAN": "BOOL",
        "DOUBLE": "FLOAT64",
        "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
        "TIMESTAMP": "DATETIME",
        "DATE": "DATE",
        "JSON": "JSON",
        "DECIMAL(38,10)": "BIGNUMERIC",
    },
    # Fivetran creates Redshift text as VARCHAR(256) and widens it when longer values come.
    "redshift": {
        "BIGINT": "bigint",
        "INTEGER": "integer",
        "VARCHAR": "character varying(256)",
        "BOOLEAN": "boolean",
        "DOUBLE": "double precision",
        "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
        "TIMESTAMP": "timestamp without time zone",
        "DATE": "date",
        "JSON": "super",
        "DECIMAL(38,10)": "numeric(38,10)",
    },
}

PROFILES = {
    "duckdb": """
xurrent:
  target: proof
  outputs:
    proof:
      type: duckdb
      path: "{workdir}/xurrent_dbt.duckdb"
      schema: xurrent
      threads: 2
      settings: {{TimeZone: UTC}}
      attach:
        - path: "{warehouse}"
          alias: xurrent_connector
          read_only: true
""",
    "postgres": """
xurrent:
  target: proof
  outputs:
    proof:
      type: postgres
      host: "{socket}"
      port: {port}
      user: postgres
      password: ""
      dbname: xurrent_connector
      schema: xurrent
      threads: 2
""",
    # fakesnow accepts any account and credentials; dbt-snowflake never reaches a network.
    "snowflake": """
xurrent:
  target: proof
  outputs:
    proof:
      type: snowflake
      account: fakesnow
      user: fake
      password: snow
      database: XURRENT_CONNECTOR
      warehouse: fake
      schema: xurrent
      threads: 1
""",
    "bigquery": """
xurrent:
  target: proof
  outputs:
    proof:
      type: bigquery
      method: oauth
      project: xurrent_connector
      dataset: xurrent
      threads: 1
""",
    "redshift": """
xurrent:
  target: proof
  outputs:
    proof:
      type: redshift
      host: redshift.invalid
      port: 5439
      user: proof
      password: proof
      dbname: xurrent_connector
      schema: xurrent
      threads: 1
""",
}


# --- the warehouse the connector wrote --------------------------------------------------------


def catalog(warehouse: Path) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """{(schema, table): [(column, DuckDB type)]} of every table outside DuckDB's own schemas."""
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as connection:
        rows = connection.execute(
            "select table_schema, table_name, column_name, data_type"
            " from information_schema.columns where table_schema not in ('main', 'pg_catalog')"
            " order by table_schema, table_name, ordinal_position"
        ).fetchall()
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, kind in rows:
        tables.setdefault((schema, table), []).append((column, kind))
    return tables


def mapped(engine: str, kind: str) -> str:
    try:
        return TYPES[engine][kind.replace(", ", ",")]
    except KeyError:
        raise SystemExit(f"{engine}: no type for DuckDB's {kind} in engine_tool.TYPES") from None


def table_rows(warehouse: Path, schema: str, table: str) -> list[tuple]:
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as connection:
        connection.execute("set TimeZone = 'UTC'")
        return connection.execute(f'select * from "{schema}"."{table}"').fetchall()


def load_postgres(warehouse: Path, socket: str, port: int) -> None:
    """Every table into database xurrent_connector, through COPY (CSV)."""
    import psycopg2

    with contextlib.closing(
        psycopg2.connect(host=socket, port=port, user="postgres", dbname="postgres")
    ) as admin:
        admin.autocommit = True
        admin.cursor().execute("create database xurrent_connector")
    with (
        contextlib.closing(
            psycopg2.connect(host=socket, port=port, user="postgres", dbname="xurrent_connector")
        ) as connection,
        connection.cursor() as cursor,
    ):
        for (schema, table), columns in catalog(warehouse).items():
            cursor.execute(f'create schema if not exists "{schema}"')
            definition = ", ".join(
                f'"{name}" {mapped("postgres", kind)}' for name, kind in columns
            )
            cursor.execute(f'create table "{schema}"."{table}" ({definition})')
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for row in table_rows(warehouse, schema, table):
                writer.writerow(["\\N" if value is None else _csv_value(value) for value in row])
            buffer.seek(0)
            cursor.copy_expert(
                f'copy "{schema}"."{table}" from stdin with (format csv, null \'\\N\')', buffer
            )
        connection.commit()


def _csv_value(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def load_snowflake(warehouse: Path) -> None:
    """Every table into fakesnow's database XURRENT_CONNECTOR: created through the (patched)
    Snowflake connector, so that fakesnow knows each column's Snowflake type, then filled by
    fakesnow's DuckDB straight from the warehouse file (attached read-only): an INSERT with
    the rows as values would go through fakesnow's SQL translation, seconds per table. The
    columns are created in the warehouse's order, so `select *` fills them; DuckDB casts each
    value to its column's type (JSON into VARIANT, which fakesnow keeps as JSON)."""
    import snowflake.connector

    with contextlib.closing(snowflake.connector.connect(database="XURRENT_CONNECTOR")) as conn:
        cursor = conn.cursor()
        for (schema, table), columns in catalog(warehouse).items():
            cursor.execute(f"create schema if not exists {schema}")
            definition = ", ".join(f"{name} {mapped('snowflake', kind)}" for name, kind in columns)
            cursor.execute(f"create table {schema}.{table} ({definition})")
        duck = conn._duck_conn  # fakesnow's own DuckDB connection (its write_pandas uses it)
        duck.execute(f"attach '{warehouse}' as connector_warehouse (read_only)")
        try:
            for schema, table in catalog(warehouse):
                duck.execute(
                    f'insert into XURRENT_CONNECTOR."{schema}"."{table}"'
                    f' select * from connector_warehouse."{schema}"."{table}"'
                )
        finally:
            duck.execute("detach connector_warehouse")


# --- running dbt ------------------------------------------------------------------------------


#: The project as parse_project() parsed it, per workdir (one per engine), for every command of
#: this process (dbt's own programmatic use: a preloaded manifest); none, or None when the
#: parse failed: each command then parses, and reports, itself.
PARSED: dict[Path, object] = {}


def dbt_flags(workdir: Path, variables: dict) -> list[str]:
    return [
        "--project-dir",
        str(PROJECT),
        "--profiles-dir",
        str(workdir),
        "--target-path",
        str(workdir / "target"),
        "--log-path",
        str(workdir / "logs"),
        "--vars",
        json.dumps(variables),
    ]


def parse_project(workdir: Path, variables: dict) -> None:
    """Parse the package once; it needs the profile but no warehouse, so it runs while the
    tests still sync and combine the warehouse (--wait-for)."""
    from dbt.cli.main import dbtRunner

    parsed = dbtRunner().invoke(["parse", *dbt_flags(workdir, variables)])
    PARSED[workdir] = parsed.result if parsed.success else None


def wait_for(path: str | None, timeout: float = 900) -> None:
    """Until `path` exists (the tests create it once the warehouse is ready)."""
    deadline = time.monotonic() + timeout
    while path and not Path(path).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} did not appear within {timeout} seconds")
        time.sleep(0.1)


def run_dbt(workdir: Path, command: list[str], variables: dict) -> dict:
    """One dbt command in this process; its results as the tests read them."""
    from dbt.cli.main import dbtRunner

    target = workdir / "target"
    arguments = [*command, *dbt_flags(workdir, variables)]
    outcome = dbtRunner(manifest=PARSED.get(workdir)).invoke(arguments)
    results = []
    results_file = target / "run_results.json"
    if results_file.exists() and command[0] in ("build", "run", "test", "snapshot"):
        for result in json.loads(results_file.read_text())["results"]:
            results.append(
                {
                    "unique_id": result["unique_id"],
                    "status": result["status"],
                    "failures": result.get("failures"),
                    "message": (result.get("message") or "")[:300],
                }
            )
    if command[:2] == ["source", "freshness"] and (target / "sources.json").exists():
        for result in json.loads((target / "sources.json").read_text())["results"]:
            results.append({"unique_id": result["unique_id"], "status": result["status"]})
    return {
        "command": command,
        "success": outcome.success,
        "error": None if outcome.exception is None else str(outcome.exception)[:2000],
        "results": results,
    }


def model_relations(workdir: Path) -> dict[str, str]:
    """{name: relation} of every model and snapshot of the package."""
    nodes = json.loads((workdir / "target" / "manifest.json").read_text())["nodes"]
    return {
        node["name"]: node["relation_name"]
        for node in nodes.values()
        if node["resource_type"] in ("model", "snapshot") and node["package_name"] == "xurrent"
    }


def dump_models(workdir: Path, fetch) -> dict[str, dict]:
    """{model: {"columns": [...], "rows": [...]}}, values normalized (normalize())."""
    dumped = {}
    for name, relation in sorted(model_relations(workdir).items()):
        columns, rows = fetch(f"select * from {relation}")
        names = [column.lower() for column in columns]
        dumped[name] = {
            "columns": names,
            "rows": sorted(
                ([normalize(value) for value in row] for row in rows),
                key=lambda row: json.dumps(row, sort_keys=True),
            ),
        }
    return dumped


def normalize(value):
    """One value in a form every engine's driver agrees on: numbers as int or as a float of 9
    significant digits (engines differ in decimal vs float results and in their last digits),
    timestamps in UTC to the microsecond (naive ones are UTC), JSON parsed and re-serialized
    with sorted keys (jsonb and VARIANT reorder and reformat)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float, decimal.Decimal)):
        number = float(value)
        return int(number) if number.is_integer() else float(f"{number:.9g}")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return str(value)


def _fetcher(cursor):
    def fetch(sql):
        cursor.execute(sql)
        return [description[0] for description in cursor.description], cursor.fetchall()

    return fetch


def write_profile(arguments) -> None:
    workdir = Path(arguments.workdir)
    settings = dict(workdir=workdir, warehouse=arguments.warehouse, socket=arguments.socket)
    profile = PROFILES[arguments.engine].format(port=arguments.port, **settings)
    (workdir / "profiles.yml").write_text(profile)


def build(arguments) -> dict:
    workdir = Path(arguments.workdir)
    engine = arguments.engine
    variables = json.loads(arguments.vars)
    steps = [json.loads(step) for step in arguments.step]
    if engine == "duckdb":
        runs = [run_dbt(workdir, step, variables) for step in steps]
        # dbt-duckdb keeps its database open for the process's lifetime (a class attribute,
        # so that in-memory databases outlive a command); DuckDB lets no other connection
        # with other settings in until it is closed.
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None
        with contextlib.closing(
            duckdb.connect(str(workdir / "xurrent_dbt.duckdb"), read_only=True)
        ) as connection:
            connection.execute("set TimeZone = 'UTC'")
            write_rows(workdir, _duckdb_fetch(connection))
        return {"runs": runs, "rows": str(workdir / "rows.json")}
    if engine == "postgres":
        import psycopg2

        load_postgres(Path(arguments.warehouse), arguments.socket, arguments.port)
        with contextlib.closing(
            psycopg2.connect(
                host=arguments.socket,
                port=arguments.port,
                user="postgres",
                dbname="xurrent_connector",
            )
        ) as connection:
            connection.autocommit = True
            return _run_steps(workdir, steps, variables, _fetcher(connection.cursor()))
    import fakesnow
    import snowflake.connector

    with fakesnow.patch():  # one in-memory DuckDB behind every connection of this process
        load_snowflake(Path(arguments.warehouse))
        with contextlib.closing(snowflake.connector.connect(database="XURRENT_CONNECTOR")) as c:
            return _run_steps(workdir, steps, variables, _fetcher(c.cursor()))


def _duckdb_fetch(connection):
    def fetch(sql):
        cursor = connection.execute(sql)
        return [description[0] for description in cursor.description], cursor.fetchall()

    return fetch


def _run_steps(workdir: Path, steps: list, variables: dict, fetch) -> dict:
    runs = [run_dbt(workdir, step, variables) for step in steps]
    write_rows(workdir, fetch)
    return {"runs": runs, "rows": str(workdir / "rows.json")}


def write_rows(workdir: Path, fetch) -> None:
    (workdir / "rows.json").write_text(json.dumps(dump_models(workdir, fetch)))


# --- compiling without a warehouse ------------------------------------------------------------


def compile_offline(arguments) -> dict:
    """`dbt compile` with the adapter's macros; introspection answered from the catalog."""
    workdir = Path(arguments.workdir)
    engine = arguments.engine
    tables = catalog(Path(arguments.warehouse))
    _answer_introspection(engine, tables)
    ANSWERED.clear()  # the queries of this engine's compile
    run = run_dbt(workdir, ["compile", "--no-populate-cache"], json.loads(arguments.vars))
    report = None
    if run["success"]:
        # Not on sys.path: dbt imports every dbt_* module it finds there as a plugin.
        spec = importlib.util.spec_from_file_location("sql_rules", HERE / "sql_rules.py")
        sql_rules = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sql_rules)
        report = sql_rules.check_project(workdir / "target", engine)
    return {"runs": [run], "report": report, "answered_queries": list(ANSWERED)}


def _answer_introspection(engine: str, tables: dict) -> None:
    """Patch the adapter class: which relations exist and their columns come from the
    connector's catalog (types as that engine's Fivetran destination creates them); any other
    relation (dbt's own models, before a first run) does not exist yet, as on a new warehouse.
    No other query is answered: a macro that needs one fails the compile."""
    from dbt.adapters.contracts.connection import AdapterResponse, ConnectionState
    from dbt_common.clients.agate_helper import table_from_data_flat

    if engine == "bigquery":
        from dbt.adapters.bigquery.connections import BigQueryConnectionManager as Manager
        from dbt.adapters.bigquery.impl import BigQueryAdapter as Adapter
    else:
        from dbt.adapters.redshift.connections import RedshiftConnectionManager as Manager
        from dbt.adapters.redshift.impl import RedshiftAdapter as Adapter
    known = {
        (schema.lower(), table.lower()): columns for (schema, table), columns in tables.items()
    }

    def get_relation(self, database, schema, identifier):
        if (schema.lower(), identifier.lower()) not in known:
            return None
        return self.Relation.create(
            database=database, schema=schema, identifier=identifier, type="table"
        )

    def get_columns_in_relation(self, relation):
        columns = known.get((relation.schema.lower(), relation.identifier.lower()), [])
        return [_column(self.Column, engine, name, kind) for name, kind in columns]

    def execute(self, sql, auto_begin=False, fetch=False, limit=None):
        # dbt.date_spine asks the warehouse how many days lie between its bounds while it
        # compiles (xurrent__project_status_daily, whose first day is the snapshot's). The
        # answer only sets the series' length, not its SQL: say 1, and report every query
        # answered this way, so that the tests see there is no other.
        ANSWERED.append(sql)
        return AdapterResponse(_message="answered offline"), table_from_data_flat(
            [{"n": 1}], ["n"]
        )

    def open_offline(cls, connection):
        # Both adapters open their connection (credentials, a client) before a node compiles,
        # though compiling runs no query; the handle refuses any that a macro would send.
        connection.handle = _NoWarehouse()
        connection.state = ConnectionState.OPEN
        return connection

    Adapter.get_relation = get_relation
    Adapter.get_columns_in_relation = get_columns_in_relation
    Adapter.execute = execute
    Manager.open = classmethod(open_offline)


#: The queries `compile` sent and the harness answered (see execute above).
ANSWERED: list[str] = []


class _NoWarehouse:
    def close(self):
        pass

    def __getattr__(self, name):
        raise RuntimeError(f"no warehouse here: a compile-time query ({name}) cannot be answered")


def _column(column_class, engine: str, name: str, kind: str):
    sql_type = mapped(engine, kind)
    if sql_type.startswith("character varying("):
        return column_class(name, "character varying", char_size=int(sql_type[18:-1]))
    return column_class(name, sql_type)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("build", "compile"))
    parser.add_argument(
        "engine",
        help=f"one of {', '.join(sorted(PROFILES))}; to compile, several, comma-separated"
        " (one process: dbt starts once), each in <workdir>/<engine>",
    )
    parser.add_argument("--warehouse", required=True, help="the connector's DuckDB warehouse")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--vars", default="{}", help="dbt variables, JSON")
    parser.add_argument(
        "--step", action="append", default=[], help="a dbt command as a JSON list (repeatable)"
    )
    parser.add_argument("--socket", help="PostgreSQL's socket directory")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument(
        "--wait-for", help="parse the package, then wait until this file exists to go on"
    )
    arguments = parser.parse_args(argv)
    engines = arguments.engine.split(",")
    if any(engine not in PROFILES for engine in engines):
        parser.error(f"unknown engine in {arguments.engine}")
    if len(engines) > 1 and arguments.action != "compile":
        parser.error("several engines only compile")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    each = [
        argparse.Namespace(
            **{
                **vars(arguments),
                "engine": engine,
                "workdir": (
                    arguments.workdir if len(engines) == 1 else f"{arguments.workdir}/{engine}"
                ),
            }
        )
        for engine in engines
    ]
    for engine_arguments in each:
        Path(engine_arguments.workdir).mkdir(parents=True, exist_ok=True)
        write_profile(engine_arguments)
        parse_project(Path(engine_arguments.workdir), json.loads(arguments.vars))
    wait_for(arguments.wait_for)
    summaries = {
        engine_arguments.engine: (
            build(engine_arguments)
            if arguments.action == "build"
            else compile_offline(engine_arguments)
        )
        for engine_arguments in each
    }
    print(json.dumps(summaries[engines[0]] if len(engines) == 1 else {"engines": summaries}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
