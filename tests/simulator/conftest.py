"""Shared fixtures: a tiny simulator per test plus a small HTTP helper bound to it."""

import pytest
from testkit import Api, make_config

from simulator import Simulator


@pytest.fixture
def sim():
    with Simulator(make_config()) as simulator:
        yield simulator


@pytest.fixture
def api(sim):
    client = Api(sim)
    yield client
    client.session.close()
