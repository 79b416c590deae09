"""Fixtures of the whole suite; the helpers they use are in tests/testkit.py."""

from __future__ import annotations

import json
import random

import pytest
import secret_scan
from testkit import (
    ACCOUNT,
    BACKUP_CLIENT_ID,
    BACKUP_CLIENT_SECRET,
    BACKUP_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    LIMITED_TOKEN,
    TOKEN,
    ConnectorRunner,
    FakeClock,
)

from simulator import SimConfig, Simulator


def pytest_configure(config):
    """Every test of the suite runs under the secret scanner (tests/secret_scan.py)."""
    if not config.pluginmanager.is_registered(secret_scan):
        config.pluginmanager.register(secret_scan, "secret_scan")


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory):
    """A HOME whose SDK version checks are already "done", and no telemetry: otherwise every
    run may spend seconds asking PyPI for a newer SDK (fivetran_sdk.md §1.6)."""
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


@pytest.fixture(autouse=True)
def sdk_logging():
    """A log level for every test (the SDK logger raises TypeError while it is unset), and
    the SDK's logging mode put back afterwards: the runner switches it to debug process-wide,
    and tests that check log lines expect the defaults whatever ran before them."""
    from fivetran_connector_sdk import Logging
    from fivetran_connector_sdk_common import constants

    previous = (Logging.LOG_LEVEL, constants.DEBUGGING)
    Logging.LOG_LEVEL = Logging.Level.INFO
    yield
    Logging.LOG_LEVEL, constants.DEBUGGING = previous


@pytest.fixture
def one_walk_per_stream(monkeypatch):
    """Walks never split, whatever the response times: for tests of one walk's mechanics
    (resume points, cursor restarts) that count its requests."""
    import xurrent_connector.sync

    monkeypatch.setattr(xurrent_connector.sync, "WALKS_AT_ONCE", 1)


@pytest.fixture
def split_eagerly(monkeypatch):
    """Walks split whenever at least ``SPLIT_MIN_PAGES`` pages are left, as at high response
    times (on loopback a page takes a millisecond, and one walk keeps the rate busy)."""
    import xurrent_connector.sync

    monkeypatch.setattr(xurrent_connector.sync, "WALKS_PER_RATE_SECOND", 1e9)


@pytest.fixture
def make_sim():
    """Factory for started simulators (tiny, no rate limits, no latency, the kit's token and
    OAuth client, a limited token, and backup credentials of another user); all are stopped
    at teardown."""
    started = []

    def factory(**overrides) -> Simulator:
        values = dict(
            token=TOKEN,
            account=ACCOUNT,
            scale="tiny",
            seed=1,
            rate_limit=False,
            latency_ms=0,
            clients={CLIENT_ID: CLIENT_SECRET},
        )
        values.update(overrides)
        simulator = Simulator(SimConfig(**values)).start()
        simulator.add_token(LIMITED_TOKEN, scopes={"organizations"})
        simulator.add_token(BACKUP_TOKEN, name="Backup Integration User")
        simulator.add_client(BACKUP_CLIENT_ID, BACKUP_CLIENT_SECRET, name="Backup OAuth App")
        started.append(simulator)
        return simulator

    yield factory
    for simulator in started:
        simulator.stop()


@pytest.fixture
def sim(make_sim) -> Simulator:
    return make_sim()


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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock):
    """Clients on the fake clock (no real sleeping); all are closed after the test."""
    from xurrent_connector.http import XurrentClient

    clients = []

    def factory(settings, **options):
        options.setdefault("sleep", clock.sleep)
        options.setdefault("monotonic", clock.monotonic)
        options.setdefault("wall_clock", clock.time)
        options.setdefault("rng", random.Random(7))
        client = XurrentClient(settings, **options)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
