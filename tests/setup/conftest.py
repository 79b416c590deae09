"""Fixtures for the setup-form tests: a tiny simulator and configurations that point at it."""

import os
import socket
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from simulator import SimConfig, Simulator  # noqa: E402

# Long, distinctive secrets: a leak shows up as a plain substring in any message.
TOKEN = "setup-good-token-7d41c2a9e8"
WRONG_TOKEN = "setup-wrong-token-5b6f0e3d17"
LIMITED_TOKEN = "setup-limited-token-90ab4c1f"
CLIENT_ID = "setup-client"
CLIENT_SECRET = "setup-client-secret-c3e8a1f27b"
WRONG_CLIENT_SECRET = "setup-wrong-secret-4f2d9b6a01"
ACCOUNT = "widget"
ALL_SECRETS = (TOKEN, WRONG_TOKEN, LIMITED_TOKEN, CLIENT_SECRET, WRONG_CLIENT_SECRET)


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
