"""Helpers of the dbt package tests: run dbt from its own environment, read what it did, and
shape the simulator's data (clean it, or plant what the business's tests must catch).

dbt runs as a subprocess of .venv-dbt (dbt cannot live in the SDK's environment), with the
connector's warehouse attached read-only and dbt's tables in a DuckDB file of the test's own,
exactly as `make models` runs it (dbt/profiles.yml). Results come from dbt's artifacts
(run_results.json and manifest.json), not from its console output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DBT_VENV = ROOT / ".venv-dbt"
DBT_BIN = DBT_VENV / "bin" / "dbt"
DBT_PROJECT = ROOT / "dbt"
MODELS_SCRIPT = ROOT / "tools" / "models.py"
#: The alias dbt/profiles.yml gives the connector's warehouse.
WAREHOUSE_ALIAS = "xurrent_connector"
OUTPUT_SCHEMA = "xurrent"
STATUSES = ("registered", "in_progress", "progress_halted", "completed")


def require_dbt() -> None:
    """Fail (not skip: CI must run these) when the dbt environment is missing."""
    if not DBT_BIN.exists():
        pytest.fail(f"{DBT_BIN} is missing: run `make venv-dbt` (`make test` does it)")


def sync_configuration(sim, **overrides) -> dict:
    values = {
        "oauth_token": sim.config.token,
        "account_id": sim.config.account,
        "base_url": sim.api_url,
        "initial_sync_days": "all",
        "tables": "organizations,products,projects",
    }
    values.update(overrides)
    return values


def warehouse_of(runner) -> Path:
    return Path(runner.project_dir) / "files" / "warehouse.db"


# --- running dbt ------------------------------------------------------------------------------


@dataclass
class Outcome:
    name: str  # the generic test: relationships, xurrent_completeness, ...
    model: str  # the model it is attached to
    column: str | None
    status: str  # pass, warn, fail, error, skipped
    failures: int | None
    unique_id: str

    @property
    def key(self) -> tuple:
        return (self.name, self.model, self.column)


@dataclass
class DbtRun:
    returncode: int
    output: str
    seconds: float
    tests: list[Outcome] = field(default_factory=list)
    nodes: dict[str, str] = field(default_factory=dict)  # model/snapshot name -> status

    def flagged(self) -> dict[tuple, Outcome]:
        """Tests that did not pass, by (test, model, column)."""
        return {test.key: test for test in self.tests if test.status != "pass"}

    def outcome(self, name: str, model: str, column: str | None = None) -> Outcome:
        matches = [test for test in self.tests if test.key == (name, model, column)]
        assert len(matches) == 1, f"{(name, model, column)}: {len(matches)} tests match"
        return matches[0]

    def describe(self) -> str:
        flagged = "\n".join(
            f"  {test.status} {test.key} failures={test.failures}"
            for test in self.flagged().values()
        )
        return f"dbt exit {self.returncode}, not passing:\n{flagged}\n--- dbt output ---\n" + (
            self.output[-6000:]
        )


class Dbt:
    """dbt on one warehouse, with dbt's own DuckDB file, target and logs under ``workdir``."""

    def __init__(self, warehouse: Path, workdir: Path, schema: str = "tester"):
        require_dbt()
        self.warehouse = Path(warehouse)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.database = self.workdir / "xurrent_dbt.duckdb"
        self.target = self.workdir / "target"
        self.schema = schema

    def environment(self) -> dict:
        return dict(
            os.environ,
            XURRENT_WAREHOUSE=str(self.warehouse),
            XURRENT_DBT_DATABASE=str(self.database),
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
            DO_NOT_TRACK="1",
        )

    def run(self, *command: str, variables: dict | None = None) -> DbtRun:
        values = {"xurrent_database": WAREHOUSE_ALIAS, "xurrent_schema": self.schema}
        values.update(variables or {})
        full = [
            str(DBT_BIN),
            *command,
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(self.target),
            "--log-path",
            str(self.workdir / "logs"),
            "--vars",
            json.dumps(values),
        ]
        started = time.monotonic()
        completed = subprocess.run(
            full, cwd=DBT_PROJECT, env=self.environment(), capture_output=True, text=True
        )
        run = DbtRun(
            completed.returncode,
            completed.stdout + completed.stderr,
            time.monotonic() - started,
        )
        if command[0] in ("build", "test", "run"):
            read_results(self.target, run)
        return run

    def build(self, variables: dict | None = None, store_failures: bool = False) -> DbtRun:
        extra = ("--store-failures",) if store_failures else ()
        return self.run("build", *extra, variables=variables)

    def query(self, sql: str) -> list[tuple]:
        """Rows of dbt's output (schema xurrent); cast timestamps to text in the SQL."""
        return query_duckdb(self.database, sql.replace("{s}", OUTPUT_SCHEMA))


def read_results(target: Path, run: DbtRun) -> None:
    results_file = target / "run_results.json"
    if not results_file.exists():
        return
    results = json.loads(results_file.read_text())["results"]
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    for result in results:
        node = nodes.get(result["unique_id"], {})
        if node.get("resource_type") == "test":
            metadata = node.get("test_metadata") or {}
            run.tests.append(
                Outcome(
                    name=metadata.get("name", node["name"]),
                    model=(node.get("attached_node") or "").split(".")[-1],
                    column=node.get("column_name"),
                    status=result["status"],
                    failures=result.get("failures"),
                    unique_id=result["unique_id"],
                )
            )
        else:
            run.nodes[node.get("name", result["unique_id"])] = result["status"]


def query_duckdb(path: Path, sql: str, parameters=None) -> list[tuple]:
    import duckdb

    connection = duckdb.connect(str(path), read_only=True)
    try:
        connection.execute("SET TimeZone = 'UTC'")
        return connection.execute(sql, parameters or []).fetchall()
    finally:
        connection.close()


def execute_duckdb(path: Path, *statements: str) -> None:
    """Change a warehouse file (a copy: the connector never writes such rows)."""
    import duckdb

    connection = duckdb.connect(str(path))
    try:
        for statement in statements:
            connection.execute(statement)
    finally:
        connection.close()


def copy_warehouse(runner, destination: Path) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(warehouse_of(runner), destination)
    return destination


# --- the simulator's data ---------------------------------------------------------------------

_DATETIME_FIELDS = ("created_at", "updated_at", "completed_at", "completion_target_at")


def clean_dataset(sim) -> None:
    """Make every record pass the package's quality tests, explicitly.

    The generator deliberately produces references to organizations that do not exist (and may
    leave brand or category empty); a clean baseline must not depend on those defaults.
    """
    rows = sim.store.rows
    organizations = rows["organizations"]
    clean = _Cleaner(set(organizations), int(time.time()))
    some_org = {"id": min(organizations), "name": organizations[min(organizations)]["name"]}
    for org in organizations.values():
        org["parent"] = clean.known(org.get("parent"))
        org["business_unit_organization"] = clean.known(org.get("business_unit_organization"))
        if not (org.get("name") or "").strip():
            org["name"] = f"Organization {org['id']}"
        clean.times(org)
    for product in rows["products"].values():
        product["supplier"] = clean.known(product.get("supplier"))
        product["financial_owner"] = clean.known(product.get("financial_owner"))
        product["category"] = product.get("category") or "computer/laptop"
        product["brand"] = product.get("brand") or "Generic"
        clean.times(product)
    for project in rows["projects"].values():
        project["customer"] = clean.known(project.get("customer")) or dict(some_org)
        if project.get("status") not in STATUSES:
            project["status"] = "registered"
        clean.times(project)
    sim.store.invalidate()


class _Cleaner:
    """What ``clean_dataset`` does to one reference or one record's timestamps."""

    def __init__(self, org_ids: set, now: int):
        self.org_ids, self.now = org_ids, now

    def known(self, reference):
        return reference if reference and reference.get("id") in self.org_ids else None

    def times(self, record) -> None:
        for name in _DATETIME_FIELDS:
            if name != "completion_target_at" and (record.get(name) or 0) > self.now - 60:
                record[name] = self.now - 60
        if record["updated_at"] < record["created_at"]:
            record["updated_at"] = record["created_at"]


def live_project_ids(sim) -> list[int]:
    hidden = set(sim.archived_ids()) | set(sim.trashed_ids())
    return sorted(set(sim.store.rows["projects"]) - hidden)


def planted(sim, collection: str, record_id: int, **changes) -> None:
    """Set fields of one record to values the API would never produce."""
    sim.store.rows[collection][record_id].update(changes)
    sim.store.invalidate()


def dangling_reference(name: str = "Removed Organization") -> dict:
    return {"id": 987654321, "name": name}
