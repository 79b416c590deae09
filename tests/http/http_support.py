"""Constants and helpers shared by the HTTP layer tests (a uniquely named module: several test
folders have a conftest.py, so importing names from "conftest" would be ambiguous)."""

import dataclasses
import time

from xurrent_connector.settings import parse_settings

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
