#!/usr/bin/env bash
# Portability check, run by hand: build the package on PostgreSQL with the data of a DuckDB
# warehouse and compare every test result and model row count with a DuckDB build of the same
# data. Not part of `make test` (CI has no PostgreSQL server).
#
#   bash dbt/integration/postgres_check.sh [path/to/warehouse.db]    # default files/warehouse.db
#
# Needs the PostgreSQL server binaries (Debian: apt-get install postgresql) and PyPI. Starts a
# throw-away cluster on a Unix socket in a temporary directory (as the postgres user when run as
# root), installs dbt-postgres next to dbt-core in a temporary virtualenv, and removes both.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WAREHOUSE="$(realpath "${1:-$ROOT/files/warehouse.db}")"
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
PORT="${PG_PORT:-54329}"
WORK="$(mktemp -d)"
chmod 755 "$WORK"
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
    as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pgdata" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

[ -f "$WAREHOUSE" ] || { echo "no warehouse at $WAREHOUSE: run a sync first" >&2; exit 1; }
[ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL server binaries not found (PG_BIN)" >&2; exit 1; }

echo "PostgreSQL: $("$PG_BIN/postgres" --version)"
mkdir "$WORK/pgdata" "$WORK/socket"
[ "$(id -u)" = 0 ] && chown postgres "$WORK/pgdata" "$WORK/socket"
as_postgres "$PG_BIN/initdb" -D "$WORK/pgdata" -U postgres --auth=trust >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pgdata" -l "$WORK/socket/log" -w \
    -o "-p $PORT -k $WORK/socket -c listen_addresses=''" start >/dev/null

python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check \
    "$(grep '^dbt-core==' "$ROOT/requirements-dbt.txt")" dbt-postgres==1.11.0 \
    "$(grep '^duckdb==' "$ROOT/requirements-dbt.txt")" 2>&1 | grep -v "is ignored" || true
echo "dbt: $("$WORK/venv/bin/dbt" --version | grep -E 'installed|postgres:' | tr -s ' ' | paste -sd ' ')"

# The connector's tables, copied with their types (DuckDB's CSV, PostgreSQL's \copy).
"$WORK/venv/bin/python" - "$WAREHOUSE" "$WORK" <<'PYTHON'
import sys
import duckdb

warehouse, work = sys.argv[1], sys.argv[2]
types = {"BIGINT": "bigint", "VARCHAR": "text", "BOOLEAN": "boolean", "DOUBLE": "double precision",
         "TIMESTAMP WITH TIME ZONE": "timestamptz", "JSON": "jsonb", "INTEGER": "integer"}
connection = duckdb.connect(warehouse, read_only=True)
connection.execute("set TimeZone = 'UTC'")
script = ["create schema tester;"]
for (table,) in connection.execute(
    "select table_name from information_schema.tables where table_schema = 'tester'"
).fetchall():
    columns = connection.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'tester' and table_name = ? order by ordinal_position", [table]
    ).fetchall()
    definition = ", ".join(
        f'"{name}" {types.get(kind, kind.lower())}' for name, kind in columns
    )
    script.append(f"create table tester.{table} ({definition});")
    path = f"{work}/{table}.csv"
    connection.execute(f"copy tester.{table} to '{path}' (header)")
    script.append(f"\\copy tester.{table} from '{path}' with (format csv, header)")
connection.close()
open(f"{work}/load.sql", "w").write("\n".join(script) + "\n")
PYTHON
chmod 644 "$WORK"/*.csv
"$PG_BIN/psql" -q -h "$WORK/socket" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -f "$WORK/load.sql"

cat >"$WORK/profiles.yml" <<YAML
xurrent:
  target: postgres
  outputs:
    postgres:
      type: postgres
      host: $WORK/socket
      port: $PORT
      user: postgres
      password: ""
      dbname: postgres
      schema: xurrent
      threads: 2
YAML

# build <name> <dbt executable> <profiles dir> <vars>: dbt-duckdb is not in the temporary
# virtualenv, so the DuckDB side runs with the project's .venv-dbt.
build() {
    local started=$SECONDS status=0
    (cd "$ROOT/dbt" && XURRENT_WAREHOUSE="$WAREHOUSE" XURRENT_DBT_DATABASE="$WORK/$1.duckdb" \
        "$2" build --profiles-dir "$3" --target-path "$WORK/$1-target" \
        --log-path "$WORK/$1-logs" --vars "$4" >"$WORK/$1.out" 2>&1) || status=$?
    echo "$1: dbt build exit $status, $((SECONDS - started)) s; $(grep -o 'Done\..*' "$WORK/$1.out")"
}
[ -x "$ROOT/.venv-dbt/bin/dbt" ] || { echo "run make venv-dbt first" >&2; exit 1; }
build postgres "$WORK/venv/bin/dbt" "$WORK" '{xurrent_schema: tester}'
build duckdb "$ROOT/.venv-dbt/bin/dbt" "$ROOT/dbt" '{xurrent_database: xurrent_connector}'

# Compare: every node's status and failure count, and every model's row count.
"$WORK/venv/bin/python" - "$WORK" "$PG_BIN" "$PORT" <<'PYTHON'
import json
import subprocess
import sys

import duckdb

work, pg_bin, port = sys.argv[1:4]


def results(name):
    nodes = json.load(open(f"{work}/{name}-target/manifest.json"))["nodes"]
    found = {}
    for result in json.load(open(f"{work}/{name}-target/run_results.json"))["results"]:
        found[result["unique_id"]] = (result["status"], result.get("failures"))
    return found, nodes


postgres, nodes = results("postgres")
duck, _ = results("duckdb")
differences = [
    (unique_id, duck.get(unique_id), postgres.get(unique_id))
    for unique_id in sorted(set(postgres) | set(duck))
    if postgres.get(unique_id) != duck.get(unique_id)
]
models = sorted(
    node["alias"] for node in nodes.values() if node["resource_type"] in ("model", "snapshot")
)
connection = duckdb.connect(f"{work}/duckdb.duckdb", read_only=True)
for model in models:
    in_duckdb = connection.execute(f"select count(*) from xurrent.{model}").fetchone()[0]
    in_postgres = int(subprocess.run(
        [f"{pg_bin}/psql", "-qtA", "-h", f"{work}/socket", "-p", port, "-U", "postgres",
         "-d", "postgres", "-c", f"select count(*) from xurrent.{model}"],
        capture_output=True, text=True, check=True).stdout.strip())
    if in_duckdb != in_postgres:
        differences.append((model, in_duckdb, in_postgres))
connection.close()
statuses = {}
for status, _ in postgres.values():
    statuses[status] = statuses.get(status, 0) + 1
print(f"PostgreSQL results: {statuses}; {len(models)} models and snapshots compared")
for difference in differences:
    print("DIFFERENT (duckdb, postgres):", *difference)
if differences:
    sys.exit(1)
print("Same test results (status and failure counts) and row counts on PostgreSQL and DuckDB.")
PYTHON
