"""Helpers shared by the simulator tests (a uniquely named module, unlike conftest)."""

import os
import sys

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from simulator import SimConfig  # noqa: E402

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
