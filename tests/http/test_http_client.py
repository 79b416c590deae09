"""XurrentClient against the real simulator over loopback HTTP.

Sleeping goes through the fake clock (nothing really waits) except where a test says otherwise.
Each test checks both sides: what the client returned or raised, and what the simulator saw.
"""

import dataclasses
import threading
import time

import pytest
from http_support import ACCOUNT, TOKEN, settings_for

from xurrent_connector import __version__
from xurrent_connector.http import (
    HTTP_POLICY,
    USER_AGENT,
    Action,
    XurrentApiError,
    classify_status,
)
from xurrent_connector.ratelimit import RequestPacer


def sim_stats(sim) -> dict:
    """The simulator's counters once they have settled.

    The simulator records a request after it has sent the answer, so right after the client
    returns, the last request may not be counted yet.
    """
    deadline = time.monotonic() + 2.0
    previous = sim.stats()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        current = sim.stats()
        if current == previous:
            return current
        previous = current
    return previous


def statuses(sim) -> dict:
    return sim_stats(sim)["by_status"]


def assert_clean(error: XurrentApiError):
    """Raised out of the client without a chained requests/urllib3 exception (headers, URLs)."""
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None
    text = str(error)
    assert TOKEN not in text and "Bearer" not in text
    assert "search_after" not in text and "?" not in text


# ---------------------------------------------------------------- the policy table itself


@pytest.mark.parametrize(
    "status, action",
    [
        (200, Action.RETURN),
        (204, Action.RETURN),
        (400, Action.FAIL),
        (401, Action.REFRESH_TOKEN_ONCE),
        (403, Action.FAIL),
        (404, Action.FAIL),
        (422, Action.FAIL),
        (405, Action.FAIL),
        (302, Action.FAIL),
        (429, Action.WAIT_RETRY_AFTER),
        (408, Action.BACKOFF),
        (500, Action.BACKOFF),
        (502, Action.BACKOFF),
        (503, Action.BACKOFF),
        (504, Action.BACKOFF),
    ],
)
def test_policy_table(status, action):
    assert HTTP_POLICY[classify_status(status)] is action


def test_every_transport_failure_kind_backs_off():
    for kind in ("timeout", "connection_error", "malformed_json", "token_endpoint_unavailable"):
        assert HTTP_POLICY[kind] is Action.BACKOFF


# ---------------------------------------------------------------- success path


def test_get_parses_json_links_headers_and_stats(sim, make_client):
    client = make_client(settings_for(sim, enable_debug_logging=True))
    first = client.get("/products", {"per_page": 7, "sort": "updated_at,id"})
    assert first.status == 200 and len(first.data) == 7
    assert first.headers["X-RATELIMIT-LIMIT"] == "3600"  # case-insensitive
    assert first.links["next"].startswith(sim.api_url + "/products?")
    second = client.get(first.links["next"])  # an absolute next link on the API host
    assert {row["id"] for row in first.data}.isdisjoint(row["id"] for row in second.data)

    stats = client.stats.snapshot()
    assert stats["requests"] == 2 and stats["retries"] == 0 and stats["errors_by_kind"] == {}
    assert stats["mean_response_ms"] is not None and stats["p95_response_ms"] is not None
    assert stats["ratelimit_limit"] == 3600 and stats["ratelimit_remaining"] == 3598
    assert statuses(sim) == {"200": 2}


def test_user_agent_names_connector_and_version(sim, make_client):
    client = make_client(settings_for(sim))
    seen = []
    client._session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request.headers))
    client.get("")
    assert __version__ in USER_AGENT and "xurrent" in USER_AGENT
    assert seen[0]["User-Agent"] == USER_AGENT
    assert seen[0]["X-Xurrent-Account"] == ACCOUNT
    assert seen[0]["Accept"] == "application/json"


def test_links_to_other_hosts_are_refused_before_any_request(sim, make_client):
    client = make_client(settings_for(sim))
    for url in (
        "https://evil.example.com/v1/products?search_after=abc",
        sim.base_url + "/oauth/token",
        sim.api_url.replace("127.0.0.1", "localhost") + "/products",
    ):
        with pytest.raises(XurrentApiError) as caught:
            client.get(url)
        assert caught.value.kind == "foreign_link"
    assert sim_stats(sim)["requests"] == 0


# ---------------------------------------------------------------- 429 handling


def test_429_with_retry_after_seconds_is_waited_and_retried(sim, make_client, clock):
    sim.configure(fault_schedule={1: "429", 2: "429"})
    client = make_client(settings_for(sim, retry_attempts=1))  # 429s do not use retry_attempts
    response = client.get("/organizations")
    assert response.status == 200
    assert clock.sleeps == [1.0, 1.0]
    stats = client.stats.snapshot()
    assert stats["throttled_429"] == 2 and stats["retries"] == 2
    assert stats["retry_after_sleep_seconds"] == pytest.approx(2.0)
    assert statuses(sim) == {"429": 2, "200": 1}


def test_429_with_http_date_retry_after(sim, make_client, clock):
    sim.configure(fault_schedule={1: "429"}, retry_after_format="http-date")
    client = make_client(settings_for(sim))
    assert client.get("/organizations").status == 200
    assert len(clock.sleeps) == 1
    assert 1.0 <= clock.sleeps[0] <= 2.0  # "now + 1 s" as a date, whole-second resolution
    assert statuses(sim) == {"429": 1, "200": 1}


def test_real_burst_limiter_429_is_honoured(sim, make_client, clock):
    """The simulator's own limiter (not a scheduled fault) with a pacer that does not pace."""
    sim.configure(burst_limit=2, burst_window_seconds=0.5)
    no_pacing = RequestPacer(burst_requests=1000, monotonic=clock.monotonic, sleep=clock.sleep)
    real_sleeps = []

    def really_sleep(seconds):
        real_sleeps.append(seconds)
        time.sleep(min(seconds, 1.0))  # Retry-After is whole seconds; the window is 0.5 s

    client = make_client(settings_for(sim), pacer=no_pacing, sleep=really_sleep)
    for _ in range(3):
        assert client.get("/products", {"per_page": 1}).status == 200
    assert real_sleeps == [1.0]
    assert statuses(sim) == {"200": 3, "429": 1}


def test_throttle_budget_is_bounded(sim, make_client, clock):
    sim.configure(fault_schedule={n: "429" for n in range(1, 10)})
    client = make_client(settings_for(sim), max_consecutive_429=3)
    with pytest.raises(XurrentApiError) as caught:
        client.get("/projects")
    error = caught.value
    assert error.status == 429 and error.kind == "throttled"
    assert "rate limited" in str(error) and "max_requests_per_hour" in str(error)
    assert_clean(error)
    assert sim_stats(sim)["requests"] == 4  # the first try plus three waits
    assert clock.sleeps == [1.0, 1.0, 1.0]


def test_throttle_budget_also_bounds_total_waiting(sim, make_client, clock):
    sim.configure(fault_schedule={n: "429" for n in range(1, 30)})
    client = make_client(settings_for(sim), max_throttle_wait_seconds=4.5)
    with pytest.raises(XurrentApiError):
        client.get("/projects")
    assert sum(clock.sleeps) <= 4.5
    assert sim_stats(sim)["requests"] == 5


# ---------------------------------------------------------------- transient failures


def test_5xx_then_success_with_full_jitter_backoff(sim, make_client, clock):
    sim.configure(fault_schedule={1: "503", 2: "502"})
    client = make_client(settings_for(sim, retry_attempts=3))
    assert client.get("/products").status == 200
    assert len(clock.sleeps) == 2
    assert 0.0 <= clock.sleeps[0] <= 1.0 and 0.0 <= clock.sleeps[1] <= 2.0
    stats = client.stats.snapshot()
    assert stats["errors_by_kind"] == {"server_error": 2}
    assert stats["backoff_sleep_seconds"] == pytest.approx(sum(clock.sleeps), abs=1e-3)
    assert statuses(sim) == {"503": 1, "502": 1, "200": 1}


def test_5xx_until_retry_attempts_exhausted(sim, make_client):
    sim.configure(fault_schedule={1: "500", 2: "503", 3: "504", 4: "500"})
    client = make_client(settings_for(sim, retry_attempts=3))
    with pytest.raises(XurrentApiError) as caught:
        client.get("/products", {"per_page": 100, "search_after": "opaque-cursor"})
    error = caught.value
    assert error.status == 504 and error.kind == "server_error"
    message = str(error)
    assert "GET /v1/products" in message and "3 attempts" in message and "HTTP 504" in message
    assert "retry_attempts" in message
    assert_clean(error)
    assert sim_stats(sim)["requests"] == 3  # attempts in total, not retries on top


def test_backoff_ceiling_grows_exponentially_and_is_capped(sim, make_client, clock):
    sim.configure(fault_schedule={n: "500" for n in range(1, 10)})

    class Highest:
        def uniform(self, low, high):
            return high

    client = make_client(
        settings_for(sim, retry_attempts=8), rng=Highest(), backoff_cap_seconds=10.0
    )
    with pytest.raises(XurrentApiError):
        client.get("/products")
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_timeout_is_retried(sim, make_client):
    sim.configure(fault_schedule={1: "timeout"}, timeout_seconds=3.0)
    client = make_client(settings_for(sim, request_timeout_seconds=0.3))
    assert client.get("/organizations").status == 200
    assert client.stats.snapshot()["errors_by_kind"] == {"timeout": 1}


def test_timeouts_until_exhausted_name_the_cause(sim, make_client):
    sim.configure(fault_schedule={1: "timeout", 2: "timeout"}, timeout_seconds=3.0)
    client = make_client(settings_for(sim, request_timeout_seconds=0.3, retry_attempts=2))
    with pytest.raises(XurrentApiError) as caught:
        client.get("/organizations")
    assert caught.value.status is None and caught.value.kind == "timeout"
    assert "no response within 0.3 s" in str(caught.value)
    assert_clean(caught.value)


@pytest.mark.parametrize(
    "fault, kinds",
    [
        ("drop", {"connection_error"}),
        ("malformed", {"malformed_json"}),
        ("truncated", {"connection_error", "malformed_json"}),
    ],
)
def test_broken_responses_are_retried(sim, make_client, fault, kinds):
    sim.configure(fault_schedule={1: fault})
    client = make_client(settings_for(sim))
    response = client.get("/products", {"per_page": 3})
    assert response.status == 200 and len(response.data) == 3
    assert set(client.stats.snapshot()["errors_by_kind"]) <= kinds
    assert sum(client.stats.snapshot()["errors_by_kind"].values()) == 1
    assert sim_stats(sim)["requests"] == 2


def test_connection_refused_is_retried_then_reported_without_status(sim, make_client):
    settings = settings_for(sim)
    sim.stop()  # nothing listens on the port any more
    client = make_client(settings)
    with pytest.raises(XurrentApiError) as caught:
        client.get("/products")
    assert caught.value.status is None and caught.value.kind == "connection_error"
    assert client.stats.snapshot()["requests"] == 3
    assert_clean(caught.value)


# ---------------------------------------------------------------- fail fast


def test_401_with_a_static_token_fails_fast(sim, make_client):
    settings = dataclasses.replace(settings_for(sim), oauth_token="tok-WRONG-000000000")
    client = make_client(settings)
    with pytest.raises(XurrentApiError) as caught:
        client.get("/products")
    error = caught.value
    assert error.status == 401 and error.kind == "unauthorized"
    assert "oauth_token" in str(error)
    assert "tok-WRONG-000000000" not in str(error)
    assert_clean(error)
    assert sim_stats(sim)["requests"] == 1


def test_403_names_the_collection_the_scope_and_the_account(sim, make_client):
    sim.add_token("tok-ORGS-ONLY-12345", scopes={"organizations"})
    settings = dataclasses.replace(settings_for(sim), oauth_token="tok-ORGS-ONLY-12345")
    client = make_client(settings)
    assert client.get("/organizations").status == 200
    with pytest.raises(XurrentApiError) as caught:
        client.get("/projects", {"per_page": 1})
    message = str(caught.value)
    assert caught.value.status == 403
    assert "'projects'" in message and "scope" in message and f"'{ACCOUNT}'" in message
    assert "tables" in message
    assert_clean(caught.value)
    assert sim_stats(sim)["requests"] == 2


def test_404_points_at_account_id_and_base_url(sim, make_client):
    client = make_client(dataclasses.replace(settings_for(sim), account_id="someone-else"))
    with pytest.raises(XurrentApiError) as caught:
        client.get("/products")
    message = str(caught.value)
    assert caught.value.status == 404
    assert "account_id 'someone-else'" in message and "base_url" in message
    assert sim_stats(sim)["requests"] == 1


def test_400_quotes_the_server_message(sim, make_client):
    client = make_client(settings_for(sim))
    with pytest.raises(XurrentApiError) as caught:
        client.get("/products", {"sort": "remarks"})
    assert caught.value.status == 400 and caught.value.kind == "bad_request"
    assert "Server message: Sorting not allowed on fields: remarks" in str(caught.value)
    assert sim_stats(sim)["requests"] == 1


# ---------------------------------------------------------------- pacing over real HTTP


def test_pacer_keeps_a_burst_of_60_under_the_limit_without_a_single_429(sim, make_client, clock):
    """Fake clock, simulator limiter off: count the pacer's decisions and the send times."""
    client = make_client(settings_for(sim))
    send_times = []
    sim.add_request_hook(lambda _sim, _info: send_times.append(clock.now))
    for _ in range(60):
        client.get("/products", {"per_page": 1})
    pacing = client.pacer.snapshot()
    assert pacing["burst_waits"] == 3  # at requests 20, 39 and 58
    assert client.stats.snapshot()["pacing_sleep_seconds"] == pytest.approx(6.0)
    assert max(sum(1 for t in send_times if s <= t < s + 2.0) for s in send_times) == 19
    assert statuses(sim) == {"200": 60}


def test_threads_sharing_a_client_never_trip_the_real_burst_limiter(sim):
    """Real time (about 4 s): 3 threads x 15 requests against the simulator's 20 per 2 s."""
    from xurrent_connector.http import XurrentClient

    sim.configure(burst_limit=20, burst_window_seconds=2.0)
    client = XurrentClient(settings_for(sim))
    errors = []

    def worker():
        try:
            for _ in range(15):
                client.get("/organizations", {"per_page": 1})
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        client.close()
    assert errors == []
    assert sim_stats(sim)["rate_limited"] == 0
    assert statuses(sim) == {"200": 45}
    assert client.pacer.snapshot()["burst_waits"] >= 2
    assert client.stats.snapshot()["pacing_sleep_seconds"] > 0


def test_low_hourly_budget_is_spread_instead_of_hitting_429(sim, make_client, clock):
    sim.configure(hourly_limit=30)
    client = make_client(settings_for(sim))
    for _ in range(30):
        client.get("/products", {"per_page": 1})
    pacing = client.pacer.snapshot()
    assert statuses(sim) == {"200": 30}
    assert pacing["spread_waits"] >= 4  # the last fifth of the budget is spread
    # Spreading never waits past the server's reset (plus the 1 s margin).
    assert sum(clock.sleeps) <= 3600 + 1


def test_max_requests_per_hour_is_applied(sim, make_client, clock):
    client = make_client(settings_for(sim, max_requests_per_hour=5))
    for _ in range(6):
        client.get("/products", {"per_page": 1})
    assert client.pacer.effective_hourly_limit == 5
    assert client.pacer.snapshot()["hourly_window_waits"] == 1
    assert clock.sleeps[-1] == pytest.approx(3600.0)
    assert client.stats.snapshot()["pacing_sleep_seconds"] == pytest.approx(
        sum(clock.sleeps), abs=1e-3
    )


def test_pacing_waits_beyond_the_limit_fail_with_advice(sim, make_client, clock):
    pacer = RequestPacer(
        max_requests_per_hour=2,
        max_wait_seconds=60,
        monotonic=clock.monotonic,
        wall_clock=clock.time,
        sleep=clock.sleep,
    )
    client = make_client(settings_for(sim), pacer=pacer)
    client.get("/products")
    client.get("/products")
    with pytest.raises(XurrentApiError) as caught:
        client.get("/products")
    assert caught.value.kind == "rate_limit_budget"
    assert "max_requests_per_hour" in str(caught.value)
    assert sim_stats(sim)["requests"] == 2


# ---------------------------------------------------------------- logging


def test_debug_logging_one_line_per_request_without_query_or_secrets(sim, make_client, capsys):
    sim.configure(fault_schedule={2: "503"})
    client = make_client(settings_for(sim, enable_debug_logging=True))
    first = client.get("/products", {"per_page": 2})
    client.get(first.links["next"])
    out = capsys.readouterr().out
    request_lines = [line for line in out.splitlines() if "GET /v1/products ->" in line]
    assert len(request_lines) == 3
    assert "-> 503" in request_lines[1] and "(attempt 1)" in request_lines[1]
    assert "-> 200" in request_lines[2] and "(attempt 2)" in request_lines[2]
    warnings = [line for line in out.splitlines() if '"WARNING"' in line]
    assert len(warnings) == 1 and "HTTP 503" in warnings[0] and "retrying in" in warnings[0]
    assert "search_after" not in out and "per_page" not in out
    assert TOKEN not in out and "Bearer" not in out


def test_without_debug_logging_successful_requests_are_quiet(sim, make_client, capsys):
    client = make_client(settings_for(sim))
    client.get("/products")
    assert capsys.readouterr().out == ""
