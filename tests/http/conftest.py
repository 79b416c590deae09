"""Fixtures for the HTTP layer tests: a fake clock, a simulator per test, clients bound to both."""

import dataclasses
import os
import random
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from fivetran_connector_sdk import Logging  # noqa: E402

from simulator import SimConfig, Simulator  # noqa: E402
from xurrent_connector.http import XurrentClient  # noqa: E402
from xurrent_connector.settings import parse_settings  # noqa: E402

# Long enough to be registered for redaction, distinctive enough to grep for in output.
TOKEN = "tok-SECRET-5f2a9c81e7"
CLIENT_ID = "connector-client"
CLIENT_SECRET = "csec-SECRET-77b1d0e4aa"
ACCOUNT = "acme"


class FakeClock:
    """Monotonic and wall clocks that only move when someone sleeps; records every sleep."""

    def __init__(self):
        # Wall time starts at the real time: the simulator stamps resets and HTTP-dates with it.
        self.now = 1000.0
        self.wall_offset = time.time() - self.now
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now + self.wall_offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def sdk_logging():
    """The SDK logger raises TypeError while LOG_LEVEL is unset; tests run outside a sync."""
    previous = Logging.LOG_LEVEL
    Logging.LOG_LEVEL = Logging.Level.INFO
    yield
    Logging.LOG_LEVEL = previous


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sim():
    """A tiny simulator with the burst limiter off (tests that need it switch it back on)."""
    config = SimConfig(
        token=TOKEN,
        account=ACCOUNT,
        scale="tiny",
        seed=1,
        burst_limit=None,
        clients={CLIENT_ID: CLIENT_SECRET},
        timeout_seconds=3.0,
    )
    with Simulator(config) as simulator:
        yield simulator


def settings_for(sim, *, client_credentials=False, **private_overrides):
    """Settings parsed like production, then adjusted past validation where a test needs it
    (e.g. a sub-second timeout, below the setting's 10 s minimum)."""
    configuration = {"account_id": ACCOUNT, "base_url": sim.api_url}
    if client_credentials:
        configuration.update(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_url=sim.token_url
        )
    else:
        configuration["oauth_token"] = TOKEN
    settings = parse_settings(configuration)
    return dataclasses.replace(settings, **private_overrides)


@pytest.fixture
def make_client(clock):
    """Build clients on the fake clock (no real sleeping); all are closed after the test."""
    clients = []

    def factory(settings, **kwargs):
        kwargs.setdefault("sleep", clock.sleep)
        kwargs.setdefault("monotonic", clock.monotonic)
        kwargs.setdefault("wall_clock", clock.time)
        kwargs.setdefault("rng", random.Random(7))
        client = XurrentClient(settings, **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
