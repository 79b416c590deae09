"""Fixtures for the setup-form tests: a tiny simulator and configurations that point at it."""

import os
import socket
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for path in (ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from simulator import SimConfig, Simulator  # noqa: E402

from setup_support import (  # noqa: E402
    ACCOUNT,
    CLIENT_ID,
    CLIENT_SECRET,
    LIMITED_TOKEN,
    TOKEN,
)


@pytest.fixture(scope="module")
def sim():
    """One simulator per module: the setup tests only read, so they can share it."""
    config = SimConfig(token=TOKEN, account=ACCOUNT, scale="tiny", seed=1, rate_limit=False)
    with Simulator(config) as simulator:
        simulator.add_token(LIMITED_TOKEN, scopes={"organizations"})
        simulator.add_client(CLIENT_ID, CLIENT_SECRET)
        yield simulator


@pytest.fixture
def good_configuration(sim):
    """A configuration that passes every setup test against the simulator."""
    return {
        "oauth_token": TOKEN,
        "account_id": ACCOUNT,
        "base_url": sim.api_url,
        "tables": "organizations,products,projects",
    }


@pytest.fixture
def closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
