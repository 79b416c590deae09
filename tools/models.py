"""Build the dbt package (dbt/) on the connector's local warehouse and print a short summary.

`make models` runs this with the Python of the dbt environment (.venv-dbt, from
requirements-dbt.txt) after a sync:

1. check that files/warehouse.db exists and that no other process (a running `fivetran debug`)
   holds it: DuckDB lets only one process open a file that another writes to;
2. `dbt build` (models, snapshot, tests) and `dbt source freshness`, with the warehouse attached
   read-only and dbt's own tables in files/xurrent_dbt.duckdb (dbt/profiles.yml);
3. print the tests that warned or failed, then the organization hierarchy, today's project
   status distribution, the completeness figures and the latest sync, read from dbt's tables.

Exits non-zero when dbt does (an error-severity test failed, or a model did not build) or when
the warehouse cannot be read; warnings alone exit 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_DIR / "dbt"
DEFAULT_WAREHOUSE = PROJECT_DIR / "files" / "warehouse.db"
DEFAULT_OUTPUT = PROJECT_DIR / "files" / "xurrent_dbt.duckdb"
#: The alias under which dbt/profiles.yml attaches the warehouse, and dbt's output schema.
WAREHOUSE_ALIAS = "xurrent_connector"
OUTPUT_SCHEMA = "xurrent"
TABLES = ("organizations", "products", "projects", "sync_health")
#: Test lines printed at most; the rest are counted.
MAX_LISTED_TESTS = 10


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="dbt's DuckDB file")
    parser.add_argument("--schema", default="tester", help="the connector's schema")
    parser.add_argument("--target-path", type=Path, default=DBT_PROJECT_DIR / "target")
    parser.add_argument("--log-path", type=Path, default=DBT_PROJECT_DIR / "logs")
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a dbt variable (repeatable); VALUE is read as JSON when it parses, else as text",
    )
    parser.add_argument("--verbose", action="store_true", help="print dbt's own output too")
    return parser.parse_args(argv)


def shown(path: Path) -> str:
    """A path relative to the repository when it is inside it (shorter to read)."""
    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def check_warehouse(path: Path, schema: str) -> str | None:
    """Why the warehouse cannot be read now, or None when it can."""
    import duckdb

    if not path.exists():
        return (
            f"No warehouse at {shown(path)} yet: run a sync first (`make demo`, or "
            "`fivetran debug` with your configuration), then `make models`."
        )
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        if "lock" in str(error).lower():
            return (
                f"{shown(path)} is in use by another process (a `fivetran debug` still "
                "syncing?). Wait until the sync has finished, then run `make models` again."
            )
        return f"Cannot open {shown(path)}: {error}"
    try:
        found = {
            row[0]
            for row in connection.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [schema],
            ).fetchall()
        }
    finally:
        connection.close()  # the next sync cannot start while a connection is open
    missing = [table for table in TABLES if table not in found]
    if missing:
        return (
            f"{shown(path)} has no {', '.join(missing)} in schema {schema}: run a complete "
            "sync first (or pass --schema)."
        )
    return None


def run_dbt(arguments, command: list[str]) -> tuple[int, str]:
    dbt = Path(sys.executable).parent / "dbt"
    variables = {"xurrent_database": WAREHOUSE_ALIAS, "xurrent_schema": arguments.schema}
    for assignment in arguments.var:
        name, _, value = assignment.partition("=")
        try:
            variables[name.strip()] = json.loads(value)
        except ValueError:
            variables[name.strip()] = value
    environment = dict(
        os.environ,
        XURRENT_WAREHOUSE=str(arguments.warehouse.resolve()),
        XURRENT_DBT_DATABASE=str(arguments.output.resolve()),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DO_NOT_TRACK="1",
    )
    full_command = [
        str(dbt),
        *command,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(arguments.target_path.resolve()),
        "--log-path",
        str(arguments.log_path.resolve()),
        "--vars",
        json.dumps(variables),
    ]
    completed = subprocess.run(
        full_command, cwd=DBT_PROJECT_DIR, env=environment, capture_output=True, text=True
    )
    output = completed.stdout + completed.stderr
    if arguments.verbose:
        print(output)
    return completed.returncode, output


def _short_model(unique_id: str | None) -> str:
    name = (unique_id or "").split(".")[-1]
    for prefix in ("stg_xurrent__", "xurrent__"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def test_label(node: dict) -> str:
    """'relationships products.supplier_id' for a test node of the manifest."""
    metadata = node.get("test_metadata") or {}
    name = metadata.get("name") or node.get("name", "?")
    model = _short_model(node.get("attached_node"))
    column = node.get("column_name")
    return f"{name} {model}.{column}" if column else f"{name} {model}"


def load_results(target_path: Path) -> tuple[list[dict], dict]:
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    manifest = json.loads((target_path / "manifest.json").read_text())
    return results, manifest


def error_reason(result: dict) -> str:
    """The line of dbt's error message that says what went wrong."""
    for line in (result.get("message") or "").splitlines():
        line = line.strip()
        if line and not line.startswith((">", "Compilation Error", "Runtime Error")):
            return line[:150]
    return "see dbt's log"


def print_build_results(results: list[dict], manifest: dict, seconds: float) -> bool:
    """Print what dbt built and the tests that did not pass; False when a model failed."""
    kinds, tests, broken = _tally(results, manifest["nodes"])
    built = ", ".join(
        f"{count} {kind}{'' if count == 1 else 's'}" for kind, count in sorted(kinds.items())
    )
    print(f"dbt build ({built}) in {seconds:.1f} s")
    statuses = {status: 0 for status in ("pass", "warn", "fail", "error", "skipped")}
    for result, _ in tests:
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    failed = statuses["fail"] + statuses["error"]
    print(
        f"Tests: {statuses['pass']} passed, {statuses['warn']} warned, {failed} failed, "
        f"{statuses['skipped']} skipped"
    )
    _print_broken(broken)
    _print_flagged(tests)
    if statuses["warn"]:
        print("  (WARN: a data-quality finding in Xurrent's data; the models are built anyway)")
    if failed:
        print("  (FAIL: a test of error severity, e.g. an alert: dbt/README.md, Tests)")
    if any(result["status"] == "error" for result, _ in broken):
        print("Models did not build.")
    elif broken:
        print("Models that depend on a failed test were not rebuilt.")
    return not broken


def _tally(results: list[dict], nodes: dict) -> tuple[dict, list, list]:
    """Nodes built per kind, the tests, and the models that did not build."""
    kinds: dict[str, int] = {}
    tests, broken = [], []
    for result in results:
        node = nodes.get(result["unique_id"], {})
        kind = node.get("resource_type", result["unique_id"].split(".")[0])
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "test":
            tests.append((result, node))
        elif result["status"] not in ("success", "pass"):
            broken.append((result, node))
    return kinds, tests, broken


def _print_broken(broken: list) -> None:
    for result, node in [item for item in broken if item[0]["status"] == "error"][:3]:
        print(f"  ERROR {node.get('name', result['unique_id'])}: {error_reason(result)}")
    skipped = sum(1 for result, _ in broken if result["status"] == "skipped")
    if skipped:
        print(f"  {skipped} models skipped")


def _print_flagged(tests: list) -> None:
    flagged = sorted(
        (result["status"], test_label(node), result.get("failures"))
        for result, node in tests
        if result["status"] in ("warn", "fail", "error")
    )
    for status, label, failures in flagged[:MAX_LISTED_TESTS]:
        count = "" if failures is None else f": {failures} row{'' if failures == 1 else 's'}"
        print(f"  {status.upper():5} {label}{count}")
    if len(flagged) > MAX_LISTED_TESTS:
        print(f"  ... and {len(flagged) - MAX_LISTED_TESTS} more (dbt/target/run_results.json)")


def print_freshness(target_path: Path) -> None:
    sources_file = target_path / "sources.json"
    if not sources_file.exists():
        print("Source freshness: not checked")
        return
    results = json.loads(sources_file.read_text())["results"]
    counts: dict[str, int] = {}
    for result in results:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    stale = [
        f"{result['unique_id'].split('.')[-1]} {result['status']}"
        for result in results
        if result["status"] != "pass"
    ]
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    print(f"Source freshness (_fivetran_synced; warn 6 h, error 24 h): {summary}")
    if stale:
        print(f"  {', '.join(stale)}")


def print_summary(output: Path) -> None:
    import duckdb

    connection = duckdb.connect(str(output), read_only=True)
    try:
        connection.execute("set TimeZone = 'UTC'")

        def rows(sql):
            return connection.execute(sql.replace("{s}", OUTPUT_SCHEMA)).fetchall()

        _print_hierarchy(rows)
        _print_statuses(rows)
        _print_completeness(rows)
        _print_latest_syncs(rows)
    finally:
        connection.close()


def _print_hierarchy(rows) -> None:
    total, top_level, deepest, average, odd = rows(
        "select count(*), count(*) filter (where depth = 0), max(depth), avg(depth),"
        " count(*) filter (where hierarchy_end <> 'top_level')"
        " from {s}.xurrent__organization_hierarchy"
    )[0]
    if total:
        line = (
            f"Organization hierarchy: {total} organizations, {top_level} top level, "
            f"depth up to {deepest} (average {average:.1f})"
        )
        print(line + (f", {odd} with a missing parent or a cycle" if odd else ""))


def _print_statuses(rows) -> None:
    statuses = rows(
        "select status_date, status, project_count from {s}.xurrent__project_status_daily"
        " where status_date = (select max(status_date)"
        " from {s}.xurrent__project_status_daily) order by status"
    )
    if statuses:
        listed = ", ".join(f"{status} {count}" for _, status, count in statuses)
        print(f"Projects by status on {statuses[0][0]}: {listed}")


def _print_completeness(rows) -> None:
    print("Completeness (live rows with a value, required share):")
    for table, column, share, threshold, missing, meets in rows(
        "select table_name, column_name, sum(present_count) / sum(row_count),"
        " max(threshold), sum(missing_count), bool_and(meets_threshold)"
        " from {s}.xurrent__completeness group by table_name, column_name"
        " order by table_name, column_name"
    ):
        verdict = "ok" if meets else f"BELOW ({missing} missing)"
        name = f"{table}.{column}"
        print(f"  {name:29} {share * 100:5.1f} % of {threshold * 100:.0f} %  {verdict}")


def _print_latest_syncs(rows) -> None:
    latest = rows(
        "select sync_id, any_value(sync_status), count(*), sum(rows_upserted),"
        " sum(requests), sum(failed_requests), max(sync_duration_seconds),"
        " max(consecutive_failed_syncs)"
        " from {s}.xurrent__sync_monitoring where is_latest_sync"
        " group by sync_id order by max(sync_started_at) desc"
    )
    for sync_id, status, streams, upserted, requests, failed, seconds, streak in latest[:3]:
        rate = 100.0 * (failed or 0) / requests if requests else 0.0
        line = (
            f"Latest sync {str(sync_id)[:8]}: {status}, {streams} streams, "
            f"{upserted or 0} rows, {requests or 0} requests, {rate:.1f} % failed, "
            f"{seconds or 0} s"
        )
        print(line + (f", failed {streak} times in a row" if streak else ""))


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    problem = check_warehouse(arguments.warehouse, arguments.schema)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"dbt: {shown(arguments.warehouse)} (schema {arguments.schema}, read-only) -> "
        f"{shown(arguments.output)} (schema {OUTPUT_SCHEMA})"
    )
    started = time.monotonic()
    code, output = run_dbt(arguments, ["build"])
    seconds = time.monotonic() - started
    try:
        results, manifest = load_results(arguments.target_path)
    except (OSError, ValueError, KeyError):
        results = None
    if results is None or code not in (0, 1):
        # dbt stopped before running anything (a compilation or connection error).
        print("\n".join(output.strip().splitlines()[-15:]), file=sys.stderr)
        print(f"dbt build failed (exit code {code}); see {shown(arguments.log_path)}/dbt.log")
        return code or 2
    if not print_build_results(results, manifest, seconds):
        print(f"dbt's log: {shown(arguments.log_path)}/dbt.log")
        return code or 1
    run_dbt(arguments, ["source", "freshness"])
    print_freshness(arguments.target_path)
    try:
        print_summary(arguments.output)
    except Exception as error:  # noqa: BLE001 - a summary problem must not hide dbt's result
        print(f"(summary not available: {error})")
    print(f"Tables: {shown(arguments.output)}, schema {OUTPUT_SCHEMA} (dbt/README.md lists them)")
    return code


if __name__ == "__main__":
    sys.exit(main())
