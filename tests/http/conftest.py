"""Fixtures for the HTTP layer tests: a fake clock, a simulator per test, clients bound to both."""

import os
import random
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from fivetran_connector_sdk import Logging  # noqa: E402

from http_support import ACCOUNT, CLIENT_ID, CLIENT_SECRET, TOKEN, FakeClock  # noqa: E402
from simulator import SimConfig, Simulator  # noqa: E402
from xurrent_connector.http import XurrentClient  # noqa: E402


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
