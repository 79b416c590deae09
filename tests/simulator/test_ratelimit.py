"""Burst and hourly limiters: 429 body, Retry-After in both formats, x-ratelimit headers."""

import time
from email.utils import parsedate_to_datetime

import pytest
from testkit import Api, make_config

from simulator import Simulator


def burst(client, count):
    return [client.get("/organizations", {"per_page": 1}) for _ in range(count)]


def test_rate_limit_headers_on_every_response():
    with Simulator(make_config(rate_limit=True, burst_limit=None)) as sim:
        client = Api(sim)
        first, second = burst(client, 2)
        assert first.headers["x-ratelimit-limit"] == "3600"
        assert int(first.headers["x-ratelimit-remaining"]) == 3599
        assert int(second.headers["x-ratelimit-remaining"]) == 3598
        assert int(first.headers["x-ratelimit-reset"]) > time.time()
        assert "x-ratelimit-remaining" in client.get("/nope").headers


@pytest.mark.parametrize("fmt", ["seconds", "http-date"])
def test_burst_limiter_answers_429(fmt):
    config = make_config(rate_limit=True, burst_limit=5, retry_after_format=fmt)
    with Simulator(config) as sim:
        responses = burst(Api(sim), 7)
        assert [r.status_code for r in responses] == [200] * 5 + [429] * 2
        limited = responses[-1]
        assert limited.json() == {
            "message": "Too Many Requests",
            "documentation_url": "https://developer.xurrent.com/v1/#rate-limiting",
        }
        assert limited.headers["x-ratelimit-remaining"] == "0"
        value = limited.headers["Retry-After"]
        if fmt == "seconds":
            assert value.isdigit() and 1 <= int(value) <= 2
        else:
            assert parsedate_to_datetime(value).timestamp() > time.time() - 1
        assert sim.stats()["rate_limited"] == 2


def test_burst_window_recovers():
    config = make_config(rate_limit=True, burst_limit=3, burst_window_seconds=0.3)
    with Simulator(config) as sim:
        client = Api(sim)
        assert burst(client, 4)[-1].status_code == 429
        time.sleep(0.35)
        assert burst(client, 1)[0].status_code == 200


def test_hourly_budget_and_separate_users():
    with Simulator(make_config(rate_limit=True, burst_limit=None, hourly_limit=3)) as sim:
        sim.add_token("second")
        client = Api(sim)
        codes = [r.status_code for r in burst(client, 4)]
        assert codes == [200, 200, 200, 429]
        assert int(burst(client, 1)[0].headers["Retry-After"]) > 3000
        assert burst(Api(sim, token="second"), 1)[0].status_code == 200


def test_limiters_can_be_switched_off_at_runtime():
    with Simulator(make_config(rate_limit=True, burst_limit=2)) as sim:
        client = Api(sim)
        assert burst(client, 3)[-1].status_code == 429
        sim.configure(burst_limit=None)
        assert all(r.status_code == 200 for r in burst(client, 5))
