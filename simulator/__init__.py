"""A faithful, stateful simulator of the Xurrent (formerly 4me) REST API v1.

It serves organizations, products, projects, people, teams, sites, services, service instances,
configuration items, contracts, project tasks, time entries, archive and trash with the
documented fields, filters, sorting, field selection, cursor pagination (Link rel="next" with
search_after), the 100,000-row walk cap, OAuth client credentials, rate limiting and injectable
faults, so the connector can be tested against production behaviour without a real account.

Usage::

    from simulator import Simulator, SimConfig
    with Simulator(SimConfig(token="T", account="A", scale="tiny", seed=1)) as sim:
        sim.api_url  # http://127.0.0.1:<port>/v1
"""

from .config import FAULT_KINDS, SCALES, SimConfig, parse_fault_schedule
from .server import Simulator

__all__ = ["Simulator", "SimConfig", "FAULT_KINDS", "SCALES", "parse_fault_schedule"]
