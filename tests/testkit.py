"""The shared test kit: test secrets, clocks, configurations, the SDK runner, the oracle.

Integration tests run connector.py through ``fivetran_connector_sdk_cli.core_adapter.run``, the
runner ``fivetran debug`` uses (fivetran_sdk.md §6 B), against the simulator over real HTTP on
loopback, and read the DuckDB warehouse it writes. The expected rows are derived from the
simulator's ground truth by ``expected_row``, written from the simulator's own field kinds
rather than from the connector's stream specs, so it is an independent oracle.

Fixtures built on these live in tests/conftest.py. Every ``*TOKEN``/``*SECRET`` constant here is
a secret the session-wide scanner (tests/secret_scan.py) looks for in every test's output.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
import requests

from simulator import SCALES, SimConfig
from simulator.hostile import FAULT_TARGETS
from simulator.schema import BOOL, DATETIME, DECIMAL, INT, JSON, ORGREF, REF, SPECS
from xurrent_connector.options import parse_settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Distinctive values, so a leak is easy to find in captured output.
TOKEN = "tok-SeCrEt-3f9a1c77e2b4"
WRONG_TOKEN = "setup-wrong-token-5b6f0e3d17"
LIMITED_TOKEN = "setup-limited-token-90ab4c1f"
CLIENT_ID = "connector-client"
CLIENT_SECRET = "csec-SECRET-77b1d0e4aa"
WRONG_CLIENT_SECRET = "setup-wrong-secret-4f2d9b6a01"
BACKUP_TOKEN = "tok-BaCkUp-8e2d4a6c1f09"
BACKUP_CLIENT_ID = "backup-client"
BACKUP_CLIENT_SECRET = "csec-BACKUP-3c5e7a9b1d2f"
ALL_SECRETS = (
    TOKEN,
    WRONG_TOKEN,
    LIMITED_TOKEN,
    CLIENT_SECRET,
    WRONG_CLIENT_SECRET,
    BACKUP_TOKEN,
    BACKUP_CLIENT_SECRET,
)
ACCOUNT = "widget"
TABLE_NAMES = ("organizations", "products", "projects")
#: Every table the connector writes, in its order; a table's collection when the names differ.
ALL_TABLES = (
    *TABLE_NAMES,
    "people",
    "teams",
    "sites",
    "services",
    "service_instances",
    "configuration_items",
    "contracts",
    "project_tasks",
    "time_entries",
)
COLLECTION_OF = {"configuration_items": "cis"}


def collection_of(table: str) -> str:
    return COLLECTION_OF.get(table, table)


# --- clocks and configurations -----------------------------------------------------------------


class FakeClock:
    """Time that moves only when someone sleeps, so backoff and pacing cost no wall time.

    ``follow_real_time=True`` adds the sleeps to the real monotonic clock instead (the runner
    uses it, so response times are still real). The wall clock starts at the real time: the
    simulator stamps resets and HTTP-dates with it.
    """

    def __init__(self, follow_real_time: bool = False):
        self.follow_real_time = follow_real_time
        self.now = 1000.0
        self.wall_offset = time.time() - self.now
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return time.monotonic() + self.now if self.follow_real_time else self.now

    def time(self) -> float:
        return self.now + self.wall_offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def sized(scale: str = "small", share: float = 1.0) -> dict:
    """Simulator counts for a test that syncs the three tables of ``TABLE_NAMES``: those at
    ``share`` of the ``scale`` preset, every other collection at its "tiny" size (generating
    nine unread collections at "seed" size costs seconds per simulator). Pass it with the same
    ``scale``, which also sets the preset's tie blocks."""
    counts = dict(SCALES["tiny"])
    counts.update({table: round(SCALES[scale][table] * share) for table in TABLE_NAMES})
    return counts


def configuration_for(sim, **overrides) -> dict:
    """A string-only configuration pointing the connector at the simulator."""
    values = {
        "oauth_token": TOKEN,
        "account_id": ACCOUNT,
        "base_url": sim.api_url,
        "initial_sync_days": "all",
        "lookback_minutes": "5",
        "request_timeout_seconds": "10",
        "tables": ",".join(TABLE_NAMES),
    }
    values.update({key: str(value) for key, value in overrides.items()})
    return {key: value for key, value in values.items() if value != "None"}


def settings_for(sim, *, client_credentials=False, **private_overrides):
    """Settings parsed like production, then changed past validation where a test needs it
    (e.g. a sub-second timeout, below the setting's 10 s minimum)."""
    configuration = {"account_id": ACCOUNT, "base_url": sim.api_url}
    if client_credentials:
        configuration.update(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_url=sim.token_url
        )
    else:
        configuration["oauth_token"] = TOKEN
    return dataclasses.replace(parse_settings(configuration), **private_overrides)


def settled_stats(sim) -> dict:
    """The simulator's counters once they stop changing: a request that timed out on the
    client's side is counted when the simulator gets round to answering it."""
    deadline = time.monotonic() + 2.0
    previous = sim.stats()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        current = sim.stats()
        if current == previous:
            return current
        previous = current
    return previous


def sends_per_window(send_times, window):
    """Largest number of sends inside any half-open window of the given length."""
    best = 0
    for i, start in enumerate(send_times):
        best = max(best, sum(1 for t in send_times[i:] if t < start + window))
    return best


def api_requests(sim, collection: str | None = None) -> list[dict]:
    """The simulator's log of /v1 requests (optionally for one collection)."""
    entries = [entry for entry in sim.request_log if entry["path"].startswith("/v1/")]
    if collection is not None:
        entries = [entry for entry in entries if entry["path"] == f"/v1/{collection}"]
    return entries


class Recorder:
    """A stand-in for the SDK's ``Operations`` with the same signatures: records every call."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.states: list[dict] = []

    def upsert(self, table: str, data: dict) -> None:
        self.calls.append(("upsert", table, data))

    def update(self, table: str, modified: dict) -> None:
        self.calls.append(("update", table, modified))

    def delete(self, table: str, keys: dict) -> None:
        self.calls.append(("delete", table, keys))

    def checkpoint(self, state: dict) -> None:
        json.dumps(state)  # the SDK refuses what is not JSON-serialisable
        self.calls.append(("checkpoint", state))
        self.states.append(state)

    def warning(self, message: str) -> None:
        self.calls.append(("warning", message))

    def warnings(self) -> list[str]:
        return [call[1] for call in self.calls if call[0] == "warning"]

    def rows(self, table: str) -> list[dict]:
        return [call[2] for call in self.calls if call[0] == "upsert" and call[1] == table]


# --- running the connector through the SDK ----------------------------------------------------

_module_counter = itertools.count()


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
        self.clock = FakeClock(follow_real_time=True)
        self.outputs: list[str] = []
        #: Settings replaced past validation for the client only, e.g. a sub-second
        #: ``request_timeout_seconds`` so that timeout faults cost fractions of a second.
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
        except BaseException as error:  # noqa: B036 - the SDK raises BaseException subclasses
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


# --- the warehouse -----------------------------------------------------------------------------


def read_table(project_dir: str, table: str, schema: str = "tester") -> list[dict]:
    """Every row of a warehouse table as {column: text}, ordered by its first column; [] if absent.

    Values are cast to VARCHAR in SQL (TIMESTAMPTZ to Python would need pytz), with the
    session time zone UTC so timestamps read as "YYYY-MM-DD HH:MM:SS+00".
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
        order = 'CAST("id" AS BIGINT)' if "id" in columns else "1"
        rows = connection.execute(
            f'select {selection} from "{schema}"."{table}" order by {order}'
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


# --- the oracle --------------------------------------------------------------------------------

SYSTEM_COLUMNS = {"_fivetran_synced", "_fivetran_deleted"}
#: References to records a directory account may own carry the account they live in.
OWNED_TYPES = ("Person", "Site")


def _snake(name: str) -> str:
    """A field's column as Fivetran names it: ``sourceID`` -> ``source_id`` (the API's only
    camelCase is a trailing ``ID``), and letters and digits apart (``24h`` -> ``24_h``)."""
    name = name[:-2] + "_id" if name.endswith("ID") else name
    return re.sub(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])", "_", name)


def _utc_text(value: str) -> str:
    moment = datetime.fromisoformat(value).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S+00")


def _account_of(value: dict | None, own_account: str) -> tuple:
    """A record's or reference's account: its own ``account``, else the connection's
    (DX-TYPES); nothing for a null reference."""
    if value is None:
        return ("str", None)
    return ("str", (value.get("account") or {}).get("id", own_account))


def _label(value: dict | None):
    """A reference's label: a project's or request's subject, anything else's name."""
    if value is None:
        return None
    return value["subject"] if value.get("subject") is not None else value.get("name")


def _reference_columns(spec, name: str, kind: str, value, own_account: str) -> dict:
    column = _snake(name)
    expected = {
        f"{column}_id": (INT, None if value is None else value["id"]),
        f"{column}_name": ("str", _label(value)),
    }
    if kind == ORGREF or spec.ref_type(name) in OWNED_TYPES:
        expected[f"{column}_account_id"] = _account_of(value, own_account)
    if name == "service":
        provider = (value or {}).get("provider")
        expected["service_provider_id"] = (INT, (provider or {}).get("id"))
        expected["service_provider_name"] = ("str", (provider or {}).get("name"))
        expected["service_provider_account_id"] = _account_of(provider, own_account)
    return expected


def expected_row(collection: str, record: dict, own_account: str = ACCOUNT) -> dict:
    """What the warehouse should hold for a ground-truth record, as (kind, value) per column.

    Derived from the simulator's field kinds: references become <field>_id/<field>_name (and
    <field>_account_id for organizations, people and sites; the service also its provider),
    camelCase names become snake_case, projects' unselectable ``note`` is absent, ``nodeID``
    is ``node_id``, and every record has the account that owns it (its ``account``, else the
    connection's). Records that can be archived have ``archived_at``/``trashed_at``, null
    while they are listed.
    """
    spec = SPECS[collection_of(collection)]
    expected = {
        "account_id": _account_of(record, own_account),
        "node_id": ("str", record.get("nodeID")),  # returned by itself, never selected
    }
    for name, kind in spec.fields.items():
        value = record.get(name)
        if name in spec.not_selectable:
            continue
        if kind in (REF, ORGREF):
            expected.update(_reference_columns(spec, name, kind, value, own_account))
        elif name in ("disabled", "deleted"):
            expected[name] = (BOOL, bool(value))
        else:
            expected[_snake(name)] = (kind, value)
    if spec.bin_type:
        # Set only on rows of archived or trashed records; every listed record is live.
        expected["archived_at"] = (DATETIME, None)
        expected["trashed_at"] = (DATETIME, None)
    return expected


def _matches(kind: str, actual: str | None, value) -> bool:
    if value is None or actual is None:
        return value is None and actual is None
    compare = {
        INT: lambda: actual == str(int(value)),
        BOOL: lambda: actual == ("true" if value else "false"),
        DATETIME: lambda: actual == _utc_text(value),
        DECIMAL: lambda: Decimal(actual) == Decimal(value),
        JSON: lambda: json.loads(actual) == value,
    }
    return compare.get(kind, lambda: actual == str(value))()


def _row_problems(collection: str, record: dict, actual: dict, options: dict) -> list[str]:
    expected = expected_row(collection, record, **options)
    problems = []
    undeclared = set(actual) - set(expected) - SYSTEM_COLUMNS
    if undeclared:
        problems.append(f"{collection}: undeclared columns {sorted(undeclared)}")
    for column, (kind, value) in expected.items():
        if column not in actual:
            problems.append(f"{collection}: column {column} missing")
        elif not _matches(kind, actual[column], value):
            problems.append(
                f"{collection} id {record['id']} {column}: "
                f"warehouse {actual[column]!r} != api {value!r}"
            )
    deleted = actual.get("_fivetran_deleted") not in (None, "false")
    if deleted != (record.get("deleted") is True):  # a time entry flagged deleted is deleted
        problems.append(f"{collection} id {record['id']} deleted is {deleted}")
    return problems


def mismatches(collection: str, actual_rows: list[dict], truth: list[dict], **options) -> list:
    """Differences between warehouse rows and ground-truth records (empty when equal)."""
    actual_by_id = {int(row["id"]): row for row in actual_rows}
    truth_ids = {record["id"] for record in truth}
    problems = []
    missing = sorted(truth_ids - set(actual_by_id))
    extra = sorted(set(actual_by_id) - truth_ids)
    if missing:
        problems.append(f"{collection}: missing ids {missing}")
    if extra:
        problems.append(f"{collection}: unexpected ids {extra}")
    for record in truth:
        if record["id"] in actual_by_id:
            problems += _row_problems(collection, record, actual_by_id[record["id"]], options)
        if len(problems) > 20:
            break
    return problems


#: How a record made odd by a simulator record fault (simulator/hostile.py) should land: the
#: record as the warehouse should then hold it, or None when it cannot become a row. Written
#: from the issue's rules (lone surrogates become U+FFFD; a value not of its column's type
#: becomes NULL, the rest of the row kept; a record without an id is skipped), not from the
#: connector's code.
_LANDS_AS = {
    "lone_surrogate": lambda c, r: {_title(c): f"{r.get(_title(c)) or ''} \ufffd"},
    "lone_surrogate_in_json": lambda c, r: {
        "custom_fields": [{"id": "note", "value": "half \ufffd emoji"}]
    },
    "text_for_number": lambda c, r: _nulled(r, FAULT_TARGETS["text_for_number"][c]),
    "object_for_text": lambda c, r: {_title(c): None},
    "text_for_reference": lambda c, r: _nulled(r, FAULT_TARGETS["text_for_reference"][c]),
    "bad_decimal": lambda c, r: _nulled(r, FAULT_TARGETS["bad_decimal"][c]),
    "no_updated_at": lambda c, r: {"updated_at": None},
    "bad_updated_at": lambda c, r: {"updated_at": None},
}


def _title(collection: str) -> str:
    return FAULT_TARGETS["title"][collection][0]


def _nulled(record: dict, path: tuple) -> dict:
    """The top-level change that puts None at ``path`` (the simulator's field for a fault),
    keeping the rest of a reference it reaches into."""
    if len(path) == 1:
        return {path[0]: None}
    return {
        path[0]: {**(record.get(path[0]) or {}), **_nulled(record.get(path[0]) or {}, path[1:])}
    }


def landed_as(collection: str, record: dict, kind: str | None) -> dict | None:
    """The ground-truth ``record`` as it should land when the simulator serves it with the
    record fault ``kind`` (None: unchanged); None when it cannot become a row."""
    if kind is None:
        return record
    if kind == "no_id":
        return None
    return {**record, **_LANDS_AS[kind](collection, record)}


def truth_with_faults(sim, table: str) -> list[dict]:
    """The simulator's ground truth of ``table`` as it should land under its record faults."""
    faults = sim.config.record_faults
    collection = collection_of(table)
    landed = (
        landed_as(collection, record, faults.get(f"{collection}/{record['id']}"))
        for record in sim.ground_truth(collection)
    )
    return [record for record in landed if record is not None]


def assert_matches_truth(runner: ConnectorRunner, sim, tables=None):
    """Every configured table holds exactly the simulator's rows, every column equal (records
    made odd by a record fault as they should land)."""
    problems = []
    own = sim.config.account
    for table in tables or TABLE_NAMES:
        truth = truth_with_faults(sim, table)
        problems += mismatches(table, runner.rows(table), truth, own_account=own)
    assert not problems, "\n".join(problems)


def documented_queries() -> dict[str, str]:
    """The SQL blocks of docs/sync_health.md by their first comment line, so the documented
    queries are the ones tested."""
    text = (Path(ROOT) / "docs" / "sync_health.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
    return {
        block.splitlines()[0].lstrip("- ").strip(): block.strip().rstrip(";") for block in blocks
    }


def query(runner: ConnectorRunner, sql: str) -> list[tuple]:
    """Rows of ``sql`` on the runner's warehouse, as text (a TIMESTAMPTZ to Python needs pytz)."""
    import duckdb

    path = os.path.join(runner.project_dir, "files", "warehouse.db")
    connection = duckdb.connect(path, read_only=True)
    try:
        return connection.execute(f"select columns(*)::varchar from ({sql})").fetchall()
    finally:
        connection.close()


def updated_at_of(record: dict) -> datetime:
    return datetime.fromisoformat(record["updated_at"]).astimezone(timezone.utc)


# --- talking to the simulator directly (its own tests) -----------------------------------------

ANCHOR = "2026-03-29T12:00:00Z"  # a DST switch week: offsets vary within the data


class Api:
    """Thin requests wrapper that sends the documented headers by default."""

    def __init__(self, sim, token="T", account="A"):
        self.sim = sim
        self.session = requests.Session()
        self.headers = {"Authorization": f"Bearer {token}", "X-Xurrent-Account": account}

    def get(self, path, params=None, headers=None, **kwargs):
        url = path if path.startswith("http") else self.sim.api_url + path
        merged = dict(self.headers)
        merged.update(headers or {})
        kwargs.setdefault("timeout", 10)
        return self.session.get(url, params=params, headers=merged, **kwargs)

    def post(self, path, **kwargs):
        kwargs.setdefault("timeout", 10)
        return self.session.post(self.sim.api_url + path, headers=self.headers, **kwargs)

    def walk(self, path, params=None, limit=10000):
        """Follow rel=next links; return (rows, responses)."""
        response = self.get(path, params)
        rows, responses = [], []
        while True:
            assert response.status_code == 200, response.text
            responses.append(response)
            rows.extend(response.json())
            if "next" not in response.links or len(responses) >= limit:
                return rows, responses
            response = self.get(response.links["next"]["url"])


def make_config(**overrides):
    values = dict(token="T", account="A", scale="tiny", seed=1, anchor=ANCHOR, rate_limit=False)
    values.update(overrides)
    return SimConfig(**values)


def served_references(collection: str, record: dict):
    """(field, target collection, reference) for every reference of a record to a record
    type the simulator serves; a service reference's nested provider is one too."""
    from simulator.schema import COLLECTION_OF_TYPE

    spec = SPECS[collection]
    for name, kind in spec.fields.items():
        value = record.get(name)
        if kind not in (REF, ORGREF) or not isinstance(value, dict):
            continue
        record_type = "Organization" if kind == ORGREF else spec.ref_type(name)
        target = COLLECTION_OF_TYPE.get(record_type)
        if target:
            yield name, target, value
        if target == "services" and value.get("provider"):
            yield f"{name}.provider", "organizations", value["provider"]
