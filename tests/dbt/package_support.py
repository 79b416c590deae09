"""Helpers of the dbt package tests: run dbt from its own environment, read what it did, and
shape the simulator's data (clean it, or plant what the business's tests must catch).

dbt runs in .venv-dbt (dbt cannot live in the SDK's environment), with the connector's
warehouse attached read-only and dbt's tables in a DuckDB file of the test's own, exactly as
`make models` runs it (dbt/profiles.yml). The commands go to one long-lived dbt process
(persistent_dbt.py), which runs each as the `dbt` executable would, without paying dbt's start
(seconds of CPU) for every command. Results come from dbt's artifacts (run_results.json and
manifest.json), not from its console output.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xurrent_connector.streams import TABLE_NAMES

ROOT = Path(__file__).resolve().parents[2]
DBT_VENV = ROOT / ".venv-dbt"
DBT_BIN = DBT_VENV / "bin" / "dbt"
DBT_PROJECT = ROOT / "dbt"
MODELS_SCRIPT = ROOT / "tools" / "models.py"
PERSISTENT_DBT = Path(__file__).resolve().parent / "persistent_dbt.py"
#: The longest a dbt command may take before the test gives up on it.
DBT_TIMEOUT_SECONDS = 600
#: The alias dbt/profiles.yml gives the connector's warehouse.
WAREHOUSE_ALIAS = "xurrent_connector"
OUTPUT_SCHEMA = "xurrent"
STATUSES = ("registered", "in_progress", "progress_halted", "completed")
#: The tables a test syncs unless it says otherwise: all of them.
ALL_TABLES = ",".join(TABLE_NAMES)
#: The tables of the package's first version, for tests that need no other.
FIRST_TABLES = "organizations,products,projects"


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
        "tables": ALL_TABLES,
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
        """What this warehouse's commands need in dbt's environment (dbt/profiles.yml)."""
        return {
            "XURRENT_WAREHOUSE": str(self.warehouse),
            "XURRENT_DBT_DATABASE": str(self.database),
        }

    def run(self, *command: str, variables: dict | None = None) -> DbtRun:
        values = {"xurrent_database": WAREHOUSE_ALIAS, "xurrent_schema": self.schema}
        values.update(variables or {})
        flags = [
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
        returncode, output = _PersistentDbt.run(
            list(command), flags, self.environment(), DBT_PROJECT
        )
        run = DbtRun(returncode, output, time.monotonic() - started)
        if command[0] in ("build", "test", "run"):
            read_results(self.target, run)
        return run

    def build(
        self,
        variables: dict | None = None,
        store_failures: bool = False,
        select: tuple = (),
        exclude: tuple = (),
    ) -> DbtRun:
        """`dbt build`, of everything or of the models `select` names with their ancestors and
        the tests of those models only (a test of a model outside the selection would find
        no table), without what `exclude` names (dbt's node selection syntax)."""
        extra = ("--store-failures",) if store_failures else ()
        if select:
            extra += ("--select", *(f"+{model}" for model in select))
            extra += ("--indirect-selection", "cautious")
        if exclude:
            extra += ("--exclude", *exclude)
        return self.run("build", *extra, variables=variables)

    def query(self, sql: str) -> list[tuple]:
        """Rows of dbt's output (schema xurrent); cast timestamps to text in the SQL."""
        return query_duckdb(self.database, sql.replace("{s}", OUTPUT_SCHEMA))


def start_dbt() -> None:
    """Start the session's dbt process now, if it is not running: a test calls it before it
    syncs, so that dbt starts (seconds of CPU) while the connector syncs."""
    require_dbt()
    _PersistentDbt.start()


class _PersistentDbt:
    """The one dbt process of the test session (started by start_dbt() or on first use,
    stopped at exit)."""

    process: subprocess.Popen | None = None

    @classmethod
    def start(cls) -> None:
        if cls.process is None or cls.process.poll() is not None:
            cls.process = subprocess.Popen(
                [str(DBT_VENV / "bin" / "python"), str(PERSISTENT_DBT)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false", DO_NOT_TRACK="1"),
            )
            atexit.register(cls.stop)

    @classmethod
    def run(
        cls, command: list[str], flags: list[str], environment: dict, cwd: Path
    ) -> tuple[int, str]:
        cls.start()
        request = {"command": command, "flags": flags, "env": environment, "cwd": str(cwd)}
        try:
            cls.process.stdin.write(json.dumps(request) + "\n")
            cls.process.stdin.flush()
            ready, _, _ = select.select([cls.process.stdout], [], [], DBT_TIMEOUT_SECONDS)
            answer = cls.process.stdout.readline() if ready else ""
        except BaseException:
            # Interrupted (a test's timeout): the process may still answer this command, so
            # the next one gets a new process.
            cls.stop()
            raise
        if not answer:
            cls.stop()
            pytest.fail(f"dbt {' '.join(command)} gave no answer within the time allowed")
        reply = json.loads(answer)
        return reply["returncode"], reply["output"]

    @classmethod
    def stop(cls) -> None:
        if cls.process is not None and cls.process.poll() is None:
            cls.process.kill()
            cls.process.wait()
        cls.process = None


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

#: Every reference the package tests, per simulator collection: API field -> the collection it
#: names (the warehouse table's references are `<field>_id`; a service reference also carries
#: the service's provider, an organization, as `service_provider_id`: the simulator renders it
#: from the service, so cleaning the services' providers cleans those too).
REFERENCES = {
    "services": {
        "provider": "organizations",
        "support_team": "teams",
        **{
            role: "people"
            for role in (
                "service_owner",
                "availability_manager",
                "capacity_manager",
                "change_manager",
                "continuity_manager",
                "knowledge_manager",
                "problem_manager",
                "release_manager",
            )
        },
    },
    "organizations": {
        "parent": "organizations",
        "business_unit_organization": "organizations",
        "manager": "people",
        "substitute": "people",
    },
    "products": {
        "service": "services",
        "support_team": "teams",
        "supplier": "organizations",
        "financial_owner": "organizations",
        "workflow_manager": "people",
    },
    "projects": {"manager": "people", "customer": "organizations", "service": "services"},
    "people": {"organization": "organizations", "site": "sites", "manager": "people"},
    "teams": {"manager": "people", "coordinator": "people", "configuration_manager": "people"},
    "service_instances": {
        "service": "services",
        "support_team": "teams",
        "first_line_team": "teams",
    },
    "cis": {
        "product": "products",
        "support_team": "teams",
        "service": "services",
        "site": "sites",
        "supplier": "organizations",
        "financial_owner": "organizations",
        "workflow_manager": "people",
    },
    "contracts": {
        "customer": "organizations",
        "customer_rep": "people",
        "supplier": "organizations",
        "supplier_contact": "people",
    },
    "project_tasks": {
        "project": "projects",
        "team": "teams",
        "manager": "people",
        "supplier": "organizations",
    },
    "time_entries": {
        "person": "people",
        "organization": "organizations",
        "customer": "organizations",
        "service": "services",
        "project_task": "project_tasks",
    },
}
#: The warehouse table of a simulator collection, where the names differ.
TABLE_OF = {"cis": "configuration_items"}


def clean_dataset(sim) -> None:
    """Make every record pass the package's quality tests, explicitly.

    The generator deliberately produces references to records that do not exist (and may
    leave brand or category empty); a clean baseline must not depend on those defaults. A
    reference must name a record the sync will write: one its collection shows (archived and
    trashed records are hidden unless the simulator shows them), else it becomes null (a
    project's customer becomes the first organization).
    """
    rows = sim.store.rows
    organizations = rows["organizations"]
    known = {
        collection: {row["id"] for row in sim.store.visible(collection)}
        for collection in {target for fields in REFERENCES.values() for target in fields.values()}
    }
    clean = _Cleaner(known, int(time.time()))
    some_org = {"id": min(organizations), "name": organizations[min(organizations)]["name"]}
    for collection, fields in REFERENCES.items():
        for record in rows[collection].values():
            clean.references(record, fields)
    for org in organizations.values():
        if not (org.get("name") or "").strip():
            org["name"] = f"Organization {org['id']}"
        clean.times(org)
    for product in rows["products"].values():
        product["category"] = product.get("category") or "computer/laptop"
        product["brand"] = product.get("brand") or "Generic"
        clean.times(product)
    for project in rows["projects"].values():
        project["customer"] = project["customer"] or dict(some_org)
        if project.get("status") not in STATUSES:
            project["status"] = "registered"
        clean.times(project)
    sim.store.invalidate()


class _Cleaner:
    """What ``clean_dataset`` does to one reference or one record's timestamps."""

    def __init__(self, known: dict[str, set], now: int):
        self.known, self.now = known, now

    def references(self, record: dict, fields: dict[str, str]) -> None:
        """Each reference of `fields` (field -> the collection it names) kept if it names a
        record the sync writes, else None."""
        for name, collection in fields.items():
            reference = record.get(name)
            if not reference or reference.get("id") not in self.known[collection]:
                record[name] = None

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
