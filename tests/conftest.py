"""Shared fixtures: an isolated HOME, simulators, the SDK's real runner, warehouse readers.

Integration tests run connector.py through ``fivetran_connector_sdk_cli.core_adapter.run``,
the runner ``fivetran debug`` uses (fivetran_sdk.md §6 B), against the simulator over real
HTTP on loopback, and read the resulting DuckDB warehouse. The expected rows are derived from
the simulator's ground truth by ``expected_row``, which is written from the simulator's own
field kinds rather than from the connector's table specs, so it is an independent oracle.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from functools import partial

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import secret_scan  # noqa: E402
from simulator import SimConfig, Simulator  # noqa: E402
from simulator.schema import BOOL, DATETIME, DECIMAL, INT, JSON, ORGREF, REF, SPECS  # noqa: E402

#: Distinctive values so a leak is easy to find in captured output.
TOKEN = "tok-SeCrEt-3f9a1c77e2b4"
ACCOUNT = "widget"
secret_scan.register_secret(TOKEN)


def pytest_configure(config):
    """Every test of the suite runs under the secret scanner (tests/secret_scan.py)."""
    if not config.pluginmanager.is_registered(secret_scan):
        config.pluginmanager.register(secret_scan, "secret_scan")


_module_counter = itertools.count()

# Test modules import the helpers below as ``xurrent_testkit``: several directories have a
# ``conftest.py`` (each imported as the module "conftest"), so ``from conftest import`` could
# bind to the wrong one. This conftest is always loaded before any test module under tests/.
sys.modules.setdefault("xurrent_testkit", sys.modules[__name__])


# --- environment ------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory):
    """A HOME whose SDK version checks are already "done", and no telemetry.

    Without this every run may spend seconds asking PyPI for a newer SDK/core version
    (fivetran_sdk.md §1.6).
    """
    home = tmp_path_factory.mktemp("home")
    sdk_dir = home / ".fivetran" / "connector_sdk"
    core_dir = home / ".fivetran" / "connector_sdk_core"
    sdk_dir.mkdir(parents=True)
    core_dir.mkdir(parents=True)
    (sdk_dir / "_last_version_check").write_text("9999999999")
    (core_dir / "_config.json").write_text(json.dumps({"lastVersionCheck": 9999999999}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("DO_NOT_TRACK", "1")
        yield home


# --- simulator --------------------------------------------------------------------------------


@pytest.fixture
def make_sim():
    """Factory for started simulators (tiny, no rate limits, no latency); stopped at teardown."""
    started = []

    def factory(**overrides) -> Simulator:
        values = dict(
            token=TOKEN,
            account=ACCOUNT,
            scale="tiny",
            seed=1,
            rate_limit=False,
            latency_ms=0,
        )
        values.update(overrides)
        simulator = Simulator(SimConfig(**values)).start()
        started.append(simulator)
        return simulator

    yield factory
    for simulator in started:
        simulator.stop()


@pytest.fixture
def sim(make_sim) -> Simulator:
    return make_sim()


def configuration_for(sim: Simulator, **overrides) -> dict:
    """A string-only configuration pointing the connector at the simulator."""
    values = {
        "oauth_token": TOKEN,
        "account_id": ACCOUNT,
        "base_url": sim.api_url,
        "initial_sync_days": "all",
        "enable_incremental_sync": "true",
        "lookback_minutes": "5",
        "max_records_per_page": "100",
        "request_timeout_seconds": "10",
        "retry_attempts": "3",
        "tables": "organizations,products,projects",
        "enable_debug_logging": "false",
    }
    values.update({key: str(value) for key, value in overrides.items()})
    return values


def api_requests(sim: Simulator, collection: str | None = None) -> list[dict]:
    """The simulator's log of /v1 requests (optionally for one collection)."""
    entries = [entry for entry in sim.request_log if entry["path"].startswith("/v1/")]
    if collection is not None:
        entries = [entry for entry in entries if entry["path"] == f"/v1/{collection}"]
    return entries


# --- running the connector --------------------------------------------------------------------


class FakeClock:
    """Monotonic time that advances when the client sleeps, so backoff and pacing cost no
    wall time while the client still sees time pass."""

    def __init__(self):
        self.offset = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += max(0.0, seconds)


@dataclass
class RunResult:
    counts: dict | None = None
    error: BaseException | None = None
    state: dict | None = None
    output: str = ""
    sleeps: list = field(default_factory=list)


def load_connector_module():
    """A fresh import of connector.py, as the SDK would load it."""
    name = f"connector_under_test_{next(_module_counter)}"
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "connector.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ConnectorRunner:
    """Runs the connector in-process through the SDK runner into one project directory."""

    def __init__(self, project_dir: str, capsys):
        self.project_dir = project_dir
        self.capsys = capsys
        self.module = load_connector_module()
        self.clock = FakeClock()
        self.outputs: list[str] = []
        #: Settings fields replaced past validation for the client only, e.g. a sub-second
        #: ``request_timeout_seconds`` (the setting's minimum is 10 s) so that timeout faults
        #: cost fractions of a second.
        self.client_settings_overrides: dict = {}

    def run(self, configuration: dict, state: dict | None = None, *, expect_failure=False):
        """One sync. ``state=None`` continues from files/state.json (like `fivetran debug`).

        ``expect_failure``: False re-raises a failure, True fails the test on success, None
        accepts either (the caller inspects ``RunResult.error``).
        """
        from fivetran_connector_sdk_cli import core_adapter
        from fivetran_connector_sdk_common import constants
        from fivetran_connector_sdk_common.logger import Logging

        from xurrent_connector.http import XurrentClient

        if state is None:
            state = self.saved_state() or {}
        constants.DEBUGGING = True
        Logging.LOG_LEVEL = Logging.Level.INFO
        connector = self.module.connector
        connector.configuration = None
        connector.state = None
        connector.project_path = self.project_dir
        self.module.XurrentClient = partial(
            _client_with_overrides,
            XurrentClient,
            dict(self.client_settings_overrides),
            sleep=self.clock.sleep,
            monotonic=self.clock.monotonic,
        )
        result = RunResult()
        try:
            result.counts = core_adapter.run(connector, self.project_dir, configuration, state)
        except BaseException as error:  # noqa: BLE001 - SDK failures include BaseException
            if expect_failure is False:
                raise
            result.error = error
        else:
            if expect_failure:
                pytest.fail(f"the sync was expected to fail but returned {result.counts}")
        captured = self.capsys.readouterr()
        result.output = captured.out + captured.err
        self.outputs.append(result.output)
        result.state = self.saved_state()
        result.sleeps = list(self.clock.sleeps)
        return result

    def saved_state(self) -> dict | None:
        path = os.path.join(self.project_dir, "files", "state.json")
        if not os.path.exists(path):
            return None
        with open(path) as state_file:
            return json.load(state_file)

    def write_state(self, state: dict) -> None:
        os.makedirs(os.path.join(self.project_dir, "files"), exist_ok=True)
        with open(os.path.join(self.project_dir, "files", "state.json"), "w") as state_file:
            json.dump(state, state_file)

    def rows(self, table: str) -> list[dict]:
        return read_table(self.project_dir, table)


def _client_with_overrides(client_class, overrides: dict, settings, **options):
    if overrides:
        settings = dataclasses.replace(settings, **overrides)
    return client_class(settings, **options)


@pytest.fixture
def runner(tmp_path, capsys) -> ConnectorRunner:
    project = tmp_path / "project"
    project.mkdir()
    connector_runner = ConnectorRunner(str(project), capsys)
    yield connector_runner
    # Shown by pytest as "captured stdout teardown" when the test fails.
    for number, output in enumerate(connector_runner.outputs, start=1):
        print(f"----- connector output, run {number} -----\n{output}")


@pytest.fixture
def run_connector(runner):
    """``run_connector(configuration, state=None, expect_failure=False) -> RunResult``."""
    return runner.run


# --- warehouse --------------------------------------------------------------------------------


def read_table(project_dir: str, table: str, schema: str = "tester") -> list[dict]:
    """Every row of a warehouse table as {column: text}, ordered by id; [] if absent.

    Values are cast to VARCHAR in SQL (TIMESTAMPTZ to Python would need pytz), with the
    session time zone set to UTC so timestamps read as "YYYY-MM-DD HH:MM:SS+00".
    """
    import duckdb

    path = os.path.join(project_dir, "files", "warehouse.db")
    if not os.path.exists(path):
        return []
    connection = duckdb.connect(path, read_only=True)
    try:
        connection.execute("SET TimeZone = 'UTC'")
        columns = [
            row[0]
            for row in connection.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
        ]
        if not columns:
            return []
        selection = ", ".join(f'CAST("{column}" AS VARCHAR) AS "{column}"' for column in columns)
        rows = connection.execute(
            f'select {selection} from "{schema}"."{table}" order by CAST("id" AS BIGINT)'
        ).fetchall()
        return [dict(zip(columns, row)) for row in rows]
    finally:
        connection.close()  # an open connection makes the next run fail on the file lock


def table_columns(project_dir: str, table: str, schema: str = "tester") -> dict[str, str]:
    """{column: DuckDB data type} of a warehouse table."""
    import duckdb

    connection = duckdb.connect(os.path.join(project_dir, "files", "warehouse.db"), read_only=True)
    try:
        return dict(
            connection.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchall()
        )
    finally:
        connection.close()


# --- the oracle -------------------------------------------------------------------------------

_CAMEL = {"sourceID": "source_id", "financialID": "financial_id", "productID": "product_id"}
SYSTEM_COLUMNS = {"_fivetran_synced", "_fivetran_deleted"}


def _utc_text(value: str) -> str:
    moment = datetime.fromisoformat(value).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S+00")


def expected_row(collection: str, record: dict, node_id_expected: bool = False) -> dict:
    """What the warehouse should hold for a ground-truth record, as (kind, value) per column.

    Derived from the simulator's field kinds: references become <field>_id/<field>_name (the
    service also its provider id, name and account id), camelCase names become snake_case,
    projects' unselectable ``note`` is absent, and ``nodeID`` is only expected when the
    simulator returns it without being asked.
    """
    spec = SPECS[collection]
    expected = {}
    for name, kind in spec.fields.items():
        if name in spec.not_selectable:
            continue
        value = record.get(name)
        if name == "nodeID":
            expected["node_id"] = ("str", value if node_id_expected else None)
            continue
        column = _CAMEL.get(name, name)
        if kind in (REF, ORGREF):
            expected[f"{column}_id"] = (INT, None if value is None else value["id"])
            expected[f"{column}_name"] = ("str", None if value is None else value.get("name"))
            if name == "service":
                provider = (value or {}).get("provider") or {}
                expected["service_provider_id"] = (INT, provider.get("id"))
                expected["service_provider_name"] = ("str", provider.get("name"))
                account = provider.get("account") or {}
                expected["service_provider_account_id"] = ("str", account.get("id"))
        elif name == "disabled":
            expected[column] = (BOOL, bool(value))
        else:
            expected[column] = (kind, value)
    if collection == "projects":
        # Set only on rows of archived or trashed projects (xurrent_connector/lifecycle.py);
        # every project the API lists is live and has neither.
        expected["archived_at"] = (DATETIME, None)
        expected["trashed_at"] = (DATETIME, None)
    return expected


def _matches(kind: str, actual: str | None, value) -> bool:
    if value is None:
        return actual is None
    if actual is None:
        return False
    if kind == INT:
        return actual == str(int(value))
    if kind == BOOL:
        return actual == ("true" if value else "false")
    if kind == DATETIME:
        return actual == _utc_text(value)
    if kind == DECIMAL:
        return Decimal(actual) == Decimal(value)
    if kind == JSON:
        return json.loads(actual) == value
    return actual == str(value)


def mismatches(collection: str, actual_rows: list[dict], truth: list[dict], **options) -> list:
    """Differences between warehouse rows and ground-truth records (empty when equal)."""
    problems = []
    actual_by_id = {int(row["id"]): row for row in actual_rows}
    truth_ids = {record["id"] for record in truth}
    missing = sorted(truth_ids - set(actual_by_id))
    extra = sorted(set(actual_by_id) - truth_ids)
    if missing:
        problems.append(f"{collection}: missing ids {missing}")
    if extra:
        problems.append(f"{collection}: unexpected ids {extra}")
    for record in truth:
        actual = actual_by_id.get(record["id"])
        if actual is None:
            continue
        expected = expected_row(collection, record, **options)
        unexpected_columns = set(actual) - set(expected) - SYSTEM_COLUMNS
        if unexpected_columns:
            problems.append(f"{collection}: undeclared columns {sorted(unexpected_columns)}")
        for column, (kind, value) in expected.items():
            if column not in actual:
                problems.append(f"{collection}: column {column} missing")
            elif not _matches(kind, actual[column], value):
                problems.append(
                    f"{collection} id {record['id']} {column}: "
                    f"warehouse {actual[column]!r} != api {value!r}"
                )
        if actual.get("_fivetran_deleted") not in (None, "false"):
            problems.append(f"{collection} id {record['id']} is marked deleted")
        if len(problems) > 20:
            break
    return problems


def assert_matches_truth(runner: ConnectorRunner, sim: Simulator, tables=None, **options):
    """Every configured table holds exactly the simulator's rows, every column equal."""
    problems = []
    for table in tables or ("organizations", "products", "projects"):
        problems += mismatches(table, runner.rows(table), sim.ground_truth(table), **options)
    assert not problems, "\n".join(problems)


def updated_at_of(record: dict) -> datetime:
    return datetime.fromisoformat(record["updated_at"]).astimezone(timezone.utc)
