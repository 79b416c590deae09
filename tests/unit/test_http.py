"""The HTTP client, its policy table, Retry-After and its use of the request pacer.

Client tests run against the simulator over loopback HTTP, with its rate limits on (so answers
carry x-ratelimit-*) and its burst limiter off unless a test switches it on. Sleeping goes
through the fake clock, so nothing really waits except where a test says so. Each test checks
both sides: what the client returned or raised, and what the simulator saw.
``retry_after_seconds`` is also checked on its own for corners the simulator cannot produce on
demand; the pacer on its own is in test_pacing.py.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timezone
from email.utils import formatdate
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from requests.structures import CaseInsensitiveDict
from testkit import (
    ACCOUNT,
    LIMITED_TOKEN,
    TOKEN,
    sends_per_window,
    settings_for,
    settled_stats,
)

from xurrent_connector import __version__
from xurrent_connector.errors import RateLimitExhausted, XurrentApiError
from xurrent_connector.http import (
    POLICY,
    STATUS_KINDS,
    USER_AGENT,
    Action,
    XurrentClient,
    classify,
    retry_after_seconds,
)
from xurrent_connector.metrics import StreamMetrics
from xurrent_connector.pacing import BURST_WINDOW_SECONDS, Pacer, RateLimit

NOW = 1_800_000_000.0  # an epoch for x-ratelimit-reset values


@pytest.fixture
def sim(make_sim):
    """Rate limits on (answers carry x-ratelimit-*), the burst limiter off; a timeout fault
    answers after 3 s, long after the clients here give up."""
    return make_sim(rate_limit=True, burst_limit=None, timeout_seconds=3.0)


def statuses(sim) -> dict:
    return settled_stats(sim)["by_status"]


def new_metrics() -> StreamMetrics:
    return StreamMetrics("t", lambda: datetime.now(timezone.utc))


def next_params(link: str) -> dict:
    """The cursor parameters of a next link: the client requests pages by them, not by URL."""
    return dict(parse_qsl(urlsplit(link).query))


def assert_clean(error: XurrentApiError):
    """Raised out of the client without a chained requests/urllib3 exception (headers, URLs)."""
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None
    text = str(error)
    assert TOKEN not in text and "Bearer" not in text
    assert "search_after" not in text and "?" not in text


# --- the policy table itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, action",
    [
        (200, Action.RETURN),
        (204, Action.RETURN),
        (400, Action.FAIL),
        (401, Action.REFRESH),
        (403, Action.FAIL),
        (404, Action.FAIL),
        (422, Action.FAIL),
        (405, Action.FAIL),
        (302, Action.FAIL),
        (429, Action.WAIT),
        (408, Action.BACKOFF),
        (500, Action.BACKOFF),
        (502, Action.BACKOFF),
        (503, Action.BACKOFF),
        (504, Action.BACKOFF),
    ],
)
def test_policy_table(status, action):
    assert POLICY[classify(status)] is action


def test_every_transport_failure_kind_backs_off():
    for kind in ("timeout", "connection_error", "malformed_json", "token_endpoint_unavailable"):
        assert POLICY[kind] is Action.BACKOFF


def test_every_status_kind_has_a_policy():
    """A kind without an entry would be a KeyError in the middle of a sync."""
    assert set(STATUS_KINDS.values()) <= set(POLICY)
    # A token endpoint refusing the client is a refused credential, like a 401: the backup
    # credentials may take over.
    assert POLICY["token_rejected"] is POLICY["unauthorized"] is Action.REFRESH


# --- success path --------------------------------------------------------------------------------


def test_get_parses_json_links_headers_and_metrics(sim, make_client):
    # The real monotonic clock here, so the response times are real measurements.
    client = make_client(settings_for(sim, enable_debug_logging=True), monotonic=time.monotonic)
    metrics = new_metrics()
    first = client.get("/products", {"per_page": 7, "sort": "updated_at,id"}, metrics)
    assert first.status == 200 and len(first.data) == 7
    assert first.headers["X-RATELIMIT-LIMIT"] == "3600"  # case-insensitive
    assert first.links["next"].startswith(sim.api_url + "/products?")
    second = client.get("/products", next_params(first.links["next"]), metrics)
    assert len(second.data) == 7
    assert {row["id"] for row in first.data}.isdisjoint(row["id"] for row in second.data)

    assert metrics.requests == 2 and metrics.retries == 0 and metrics.errors_by_kind == {}
    assert len(metrics.response_seconds) == 2
    assert all(0 < seconds < 5 for seconds in metrics.response_seconds)
    assert metrics.response_seconds[0] == first.elapsed_seconds
    assert metrics.ratelimit_limit == 3600 and metrics.ratelimit_remaining == 3598
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


def test_absolute_urls_cannot_send_the_token_to_another_host(sim, make_sim, make_client):
    """get() takes a path below api_url: a URL is only ever a (non-existent) path there."""
    other = make_sim()
    client = make_client(settings_for(sim))
    for url in (
        "https://evil.example.com/v1/products?search_after=abc",
        other.api_url + "/products?search_after=abc",
        other.token_url,
        sim.api_url.replace("127.0.0.1", "localhost") + "/products",
    ):
        with pytest.raises(XurrentApiError) as caught:
            client.get(url)
        assert caught.value.status == 404 and caught.value.kind == "not_found"
        assert_clean(caught.value)
    assert settled_stats(other)["requests"] == 0
    assert settled_stats(other)["oauth_requests"] == 0
    assert settled_stats(sim)["requests"] == 0  # not even an API route of the configured host


# --- 429 handling --------------------------------------------------------------------------------


def test_429_with_retry_after_seconds_is_waited_and_retried(sim, make_client, clock):
    sim.configure(fault_schedule={1: "429", 2: "429"})
    client = make_client(settings_for(sim, retry_attempts=1))  # 429s do not use retry_attempts
    metrics = new_metrics()
    response = client.get("/organizations", metrics=metrics)
    assert response.status == 200
    assert clock.sleeps == [1.0, 1.0]  # the Retry-After waits, and nothing else
    assert metrics.throttled_429 == 2 and metrics.retries == 2
    assert metrics.failed_requests == 0  # 429s are flow control, not failures
    assert statuses(sim) == {"429": 2, "200": 1}


def test_429_with_http_date_retry_after(sim, make_client, clock):
    sim.configure(fault_schedule={1: "429"}, retry_after_format="http-date")
    client = make_client(settings_for(sim))
    assert client.get("/organizations").status == 200
    assert len(clock.sleeps) == 1
    assert 1.0 <= clock.sleeps[0] <= 2.0  # "now + 1 s" as a date, whole-second resolution
    assert statuses(sim) == {"429": 1, "200": 1}


def test_real_burst_limiter_429_is_honoured(sim, make_client):
    """The simulator's own limiter (not a scheduled fault): 2 per 0.5 s is far below the
    client's pacing (19 per 2 s), so the third request meets a real 429."""
    sim.configure(burst_limit=2, burst_window_seconds=0.5)
    real_sleeps = []

    def really_sleep(seconds):
        real_sleeps.append(seconds)
        time.sleep(min(seconds, 1.0))  # Retry-After is whole seconds; the window is 0.5 s

    client = make_client(settings_for(sim), sleep=really_sleep)
    metrics = new_metrics()
    for _ in range(3):
        assert client.get("/products", {"per_page": 1}, metrics).status == 200
    assert real_sleeps == [1.0]
    assert metrics.throttled_429 == 1
    assert statuses(sim) == {"200": 3, "429": 1}


def test_throttle_budget_is_bounded(sim, make_client, clock):
    """Answers 429 again and again: the sync stops for the rate limit (cleanly, sync.py)."""
    sim.configure(fault_schedule={n: "429" for n in range(1, 10)})
    client = make_client(settings_for(sim), max_consecutive_429=3)
    with pytest.raises(RateLimitExhausted) as caught:
        client.get("/projects")
    error = caught.value
    assert error.status == 429 and error.kind == "rate_limit_exhausted"
    assert "still rate limited after 4 answers 429" in str(error)
    assert "max_requests_per_hour" in str(error)
    assert_clean(error)
    assert settled_stats(sim)["requests"] == 4  # the first try plus three waits
    assert clock.sleeps == [1.0, 1.0, 1.0]


def test_throttle_budget_also_bounds_total_waiting(sim, make_client, clock):
    sim.configure(fault_schedule={n: "429" for n in range(1, 30)})
    client = make_client(settings_for(sim), max_throttle_wait_seconds=4.5)
    with pytest.raises(RateLimitExhausted):
        client.get("/projects")
    assert sum(clock.sleeps) <= 4.5
    assert settled_stats(sim)["requests"] == 5


# --- transient failures --------------------------------------------------------------------------


def test_5xx_then_success_with_full_jitter_backoff(sim, make_client, clock):
    sim.configure(fault_schedule={1: "503", 2: "502"})
    client = make_client(settings_for(sim, retry_attempts=3), rng=random.Random(7))
    metrics = new_metrics()
    assert client.get("/products", metrics=metrics).status == 200
    # Full jitter: uniform between 0 and a ceiling of 1 s, then 2 s, drawn from the given rng.
    expected = random.Random(7)
    assert clock.sleeps == [expected.uniform(0.0, 1.0), expected.uniform(0.0, 2.0)]
    assert 0.0 <= clock.sleeps[0] <= 1.0 and 0.0 <= clock.sleeps[1] <= 2.0
    assert metrics.errors_by_kind == {"server_error": 2} and metrics.retries == 2
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
    assert settled_stats(sim)["requests"] == 3  # attempts in total, not retries on top


def test_backoff_ceiling_grows_exponentially_and_is_capped(sim, make_client, clock):
    sim.configure(fault_schedule={n: "500" for n in range(1, 12)})

    class Highest(random.Random):
        """Always the top of the jitter range, so the sleeps are the ceilings."""

        def uniform(self, a, b):
            return b

    client = make_client(settings_for(sim, retry_attempts=9), rng=Highest())
    with pytest.raises(XurrentApiError):
        client.get("/products")
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_timeout_is_retried(sim, make_client):
    sim.configure(fault_schedule={1: "timeout"})
    client = make_client(settings_for(sim, request_timeout_seconds=0.3))
    metrics = new_metrics()
    assert client.get("/organizations", metrics=metrics).status == 200
    assert metrics.errors_by_kind == {"timeout": 1}


def test_timeouts_until_exhausted_name_the_cause(sim, make_client):
    sim.configure(fault_schedule={1: "timeout", 2: "timeout"})
    client = make_client(settings_for(sim, request_timeout_seconds=0.3, retry_attempts=2))
    with pytest.raises(XurrentApiError) as caught:
        client.get("/organizations")
    assert caught.value.status is None and caught.value.kind == "timeout"
    assert "no complete answer within 0.3 s" in str(caught.value)
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
    metrics = new_metrics()
    response = client.get("/products", {"per_page": 3}, metrics)
    assert response.status == 200 and len(response.data) == 3
    assert set(metrics.errors_by_kind) <= kinds
    assert sum(metrics.errors_by_kind.values()) == 1
    assert settled_stats(sim)["requests"] == 2


def test_connection_refused_is_retried_then_reported_without_status(sim, make_client):
    settings = settings_for(sim)
    sim.stop()  # nothing listens on the port any more
    client = make_client(settings)
    metrics = new_metrics()
    with pytest.raises(XurrentApiError) as caught:
        client.get("/products", metrics=metrics)
    assert caught.value.status is None and caught.value.kind == "connection_error"
    assert metrics.requests == 3 and metrics.errors_by_kind == {"connection_error": 3}
    assert_clean(caught.value)


# --- fail fast -----------------------------------------------------------------------------------


def test_401_with_a_static_token_fails_fast(sim, make_client):
    client = make_client(settings_for(sim, oauth_token="tok-WRONG-000000000"))
    with pytest.raises(XurrentApiError) as caught:
        client.get("/products")
    error = caught.value
    assert error.status == 401 and error.kind == "unauthorized"
    assert "oauth_token" in str(error)
    assert "tok-WRONG-000000000" not in str(error)
    assert_clean(error)
    assert settled_stats(sim)["requests"] == 1


def test_403_names_the_collection_the_scope_and_the_account(sim, make_client):
    client = make_client(settings_for(sim, oauth_token=LIMITED_TOKEN))  # organizations only
    assert client.get("/organizations").status == 200
    with pytest.raises(XurrentApiError) as caught:
        client.get("/projects", {"per_page": 1})
    message = str(caught.value)
    assert caught.value.status == 403 and caught.value.kind == "forbidden"
    assert "'Projects - Read' scope" in message and f"account '{ACCOUNT}'" in message
    assert "tables" in message
    assert_clean(caught.value)
    assert settled_stats(sim)["requests"] == 2


def test_404_points_at_account_id_and_base_url(sim, make_client):
    client = make_client(settings_for(sim, account_id="someone-else"))
    with pytest.raises(XurrentApiError) as caught:
        client.get("/products")
    message = str(caught.value)
    assert caught.value.status == 404 and caught.value.kind == "not_found"
    assert "account_id 'someone-else'" in message and "base_url" in message
    assert settled_stats(sim)["requests"] == 1


def test_400_quotes_the_server_message(sim, make_client):
    client = make_client(settings_for(sim))
    with pytest.raises(XurrentApiError) as caught:
        client.get("/products", {"sort": "remarks"})
    assert caught.value.status == 400 and caught.value.kind == "bad_request"
    assert "Server message: Sorting not allowed on fields: remarks" in str(caught.value)
    assert settled_stats(sim)["requests"] == 1


# --- pacing over real HTTP -----------------------------------------------------------------------


def test_pacer_keeps_a_burst_of_60_under_the_limit_without_a_single_429(sim, make_client, clock):
    """Fake clock, simulator burst limiter off: the client's own waits and the send times."""
    client = make_client(settings_for(sim))
    send_times = []
    sim.add_request_hook(lambda _sim, _info: send_times.append(clock.now))
    for _ in range(60):
        client.get("/products", {"per_page": 1})
    # Answers take no time on the fake clock, so no credit: 2 s after the 20th answer back.
    assert clock.sleeps == [2.0, 2.0]  # before requests 21 and 41
    assert sends_per_window(send_times, 2.0) == 20
    assert statuses(sim) == {"200": 60}


def test_threads_sharing_a_client_never_trip_the_real_burst_limiter(sim):
    """Real time (about 4 s): 3 threads x 15 requests against the simulator's 20 per 2 s."""
    sim.configure(burst_limit=20, burst_window_seconds=2.0)
    waits = []
    waits_lock = threading.Lock()

    def sleep(seconds):
        with waits_lock:
            waits.append(seconds)
        time.sleep(seconds)

    client = XurrentClient(settings_for(sim), sleep=sleep)
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
    assert settled_stats(sim)["rate_limited"] == 0
    assert statuses(sim) == {"200": 45}
    # No 429 and no failure: every wait was the pacer's, at least one per further burst.
    assert len(waits) >= 2 and sum(waits) > 0


class SendClockedPacer(Pacer):
    """An unsafe pacer for contrast: every window closes 2 s after its oldest *send* (a credit
    as large as the slowest round trip), so a request the server counts late is forgotten."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.slowest = 0.0

    def done(self, slot, sent=None):
        if sent is not None:
            self.slowest = max(self.slowest, self._monotonic() - sent)
        super().done(slot, sent)

    @property
    def credit(self) -> float:
        return self.slowest


def run_threads_with_a_late_request(sim, pacer_class=None) -> int:
    """3 threads x 15 requests at 100 ms latency under the real 20 per 2 s (real time, about
    5 s); the 25th request reaches the limiter 600 ms late, as on a cold connection. Returns
    the 429s the simulator answered."""
    sim.configure(burst_limit=20, burst_window_seconds=2.0, latency_ms=100)
    sim.add_request_hook(lambda _sim, info: time.sleep(0.6) if info["seq"] == 25 else None)
    client = XurrentClient(settings_for(sim), sleep=time.sleep)
    if pacer_class is not None:
        client.pacer = pacer_class(None, time.monotonic, time.time)
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
            thread.join(timeout=60)
    finally:
        client.close()
    assert errors == []
    return settled_stats(sim)["rate_limited"]


def test_a_request_counted_late_never_trips_the_real_burst_limiter(sim):
    """The simulator counts arrivals over a sliding 2 s: the late request stays in the window
    of the next 20, and the pacer, which counts it until 2 s less the credit after its
    answer, keeps them out."""
    assert run_threads_with_a_late_request(sim) == 0


def test_a_send_clocked_pacer_trips_the_same_limiter(sim):
    """The same run with windows counted from the sends meets a 429: the test above can fail."""
    assert run_threads_with_a_late_request(sim, SendClockedPacer) >= 1


def test_a_burst_429_switches_the_client_to_the_proven_rule(sim, make_client, clock, capsys):
    sim.configure(fault_schedule={2: "429"})
    client = make_client(settings_for(sim))
    client.get("/products", {"per_page": 1})  # its answer tells the hourly budget: plenty
    assert not client.pacer.proven_only
    client.get("/products", {"per_page": 1})  # a 429 first, then the retry
    assert client.pacer.proven_only
    assert statuses(sim) == {"200": 2, "429": 1}
    output = capsys.readouterr()
    assert "burst limit (HTTP 429)" in output.out + output.err


def test_low_hourly_budget_is_spread_instead_of_hitting_429(sim, make_client, clock):
    sim.configure(hourly_limit=30)
    sim.clock = clock.time  # the hour passes for the server as it does for the client
    client = make_client(settings_for(sim, max_rate_limit_wait_seconds=3600))
    for _ in range(30):
        client.get("/products", {"per_page": 1})
    assert statuses(sim) == {"200": 30}
    # The last fifth of the budget is spread over the time left until the reset ...
    spread = [seconds for seconds in clock.sleeps if seconds > 60]
    assert len(spread) >= 4
    # ... and spreading never waits past the server's reset (plus the 1 s margin).
    assert sum(clock.sleeps) <= 3600 + 1


def test_max_requests_per_hour_is_applied(sim, make_client, clock):
    settings = settings_for(sim, max_requests_per_hour=5, max_rate_limit_wait_seconds=3600)
    client = make_client(settings)
    for _ in range(6):
        client.get("/products", {"per_page": 1})
    assert client.pacer.hourly_limit == 5  # below the 3600 the simulator reports
    assert clock.sleeps == [pytest.approx(3600.0)]  # one wait, for the sixth request
    assert statuses(sim) == {"200": 6}


def test_pacing_waits_beyond_the_limit_stop_with_advice(sim, make_client, clock):
    client = make_client(settings_for(sim, max_requests_per_hour=2))
    client.get("/products")
    client.get("/products")
    with pytest.raises(RateLimitExhausted) as caught:
        client.get("/products")
    assert caught.value.kind == "rate_limit_exhausted"
    assert caught.value.wait_seconds == pytest.approx(3600)
    assert "in 60 min" in str(caught.value) and "hourly limit" in str(caught.value)
    assert "max_requests_per_hour" in str(caught.value)
    assert clock.sleeps == []  # it gave up instead of waiting an hour
    assert settled_stats(sim)["requests"] == 2


# --- logging -------------------------------------------------------------------------------------


def test_debug_logging_one_line_per_request_without_query_or_secrets(sim, make_client, capsys):
    sim.configure(fault_schedule={2: "503"})
    client = make_client(settings_for(sim, enable_debug_logging=True))
    first = client.get("/products", {"per_page": 2})
    client.get("/products", next_params(first.links["next"]))
    out = capsys.readouterr().out
    request_lines = [line for line in out.splitlines() if "GET /v1/products ->" in line]
    assert len(request_lines) == 3
    assert "-> 200" in request_lines[0]
    assert "-> 503" in request_lines[1]
    assert "-> 200" in request_lines[2]
    warnings = [line for line in out.splitlines() if '"WARNING"' in line]
    assert len(warnings) == 1 and "HTTP 503" in warnings[0] and "retrying in" in warnings[0]
    assert "1 transient failures" in warnings[0]  # which attempt failed
    assert "search_after" not in out and "per_page" not in out
    assert TOKEN not in out and "Bearer" not in out


def test_without_debug_logging_successful_requests_are_quiet(sim, make_client, capsys):
    client = make_client(settings_for(sim))
    client.get("/products")
    assert capsys.readouterr().out == ""


# --- Retry-After ---------------------------------------------------------------------------------


def wait_for(headers: dict, now_epoch: float = NOW) -> float | None:
    return retry_after_seconds(CaseInsensitiveDict(headers), now_epoch)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("7", 7.0),
        (" 12 ", 12.0),
        ("0", 0.0),  # the client still waits at least 1 s: no tight loop
        ("600", 600.0),  # whether that is too long is max_rate_limit_wait_seconds's to say
        ("3600", 3600.0),  # the hourly window: still credible
    ],
)
def test_retry_after_in_seconds(value, expected):
    assert wait_for({"Retry-After": value}) == expected


def _imf(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)


def _rfc850(epoch: float) -> str:
    return time.strftime("%A, %d-%b-%y %H:%M:%S GMT", time.gmtime(epoch))


def _asctime(epoch: float) -> str:
    return time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(epoch))


def _plus_one_hour(epoch: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S +0100", time.gmtime(epoch + 3600))


@pytest.mark.parametrize("form", [_imf, _rfc850, _asctime, _plus_one_hour])
@pytest.mark.parametrize(
    "offset, expected",
    [
        (30, 30.0),
        (20, 20.0),
        (3600, 3600.0),
        (-100, 0.0),  # a date in the past: go now (the client waits at least 1 s)
    ],
)
def test_retry_after_as_an_http_date(form, offset, expected):
    """Without a Date header, dates are measured against this machine's clock."""
    assert wait_for({"retry-after": form(NOW + offset)}) == pytest.approx(expected, abs=1.0)


@pytest.mark.parametrize("skew", [600, -3 * 3600, 2 * 86400])
def test_an_http_date_is_measured_against_the_answers_own_date(skew):
    """A server clock minutes ahead or hours behind this machine's: its dates still mean what
    it meant (30 s), not 30 s plus or minus the skew."""
    server_now = NOW + skew
    headers = {"Retry-After": _imf(server_now + 30), "Date": _imf(server_now)}
    assert wait_for(headers) == pytest.approx(30.0, abs=1.0)


@pytest.mark.parametrize(
    "garbage",
    ["", "   ", "soon", "nan", "NaN", "inf", "1.5", "-3", "-5", "Fri, 99 Foo 20x", "0x10"],
)
def test_a_retry_after_that_is_neither_seconds_nor_a_date_is_not_used(garbage):
    # "1.5" and "-3" are not RFC 9110 delay-seconds (digits only): unreadable like the rest.
    assert wait_for({"Retry-After": garbage, "x-ratelimit-reset": str(int(NOW + 8))}) is None


@pytest.mark.parametrize(
    "absurd",
    [
        "3661",
        "99999999999",
        "9" * 400,
        formatdate(NOW + 7200, usegmt=True),
        "Fri, 31 Dec 9999 " "23:59:59 GMT",
    ],
)
def test_a_retry_after_longer_than_the_limits_can_ask_for_is_not_used(absurd):
    """The documented limits are per hour: a longer wait is a broken server or proxy, and
    taking it at its word would end every sync (or overflow the clock)."""
    assert wait_for({"Retry-After": absurd}) is None


def test_without_retry_after_there_is_none_to_use():
    assert wait_for({}) is None
    assert wait_for({"x-ratelimit-reset": str(int(NOW + 8))}) is None


@pytest.mark.parametrize(
    "reset, expected",
    [
        (str(int(NOW + 8)), 8.0),  # an epoch
        (str(int(NOW + 3000)), 3000.0),
        ("45", 45.0),  # seconds from now
        (str(int(NOW - 5)), 0.0),  # already past
        (str(int(NOW + 86400)), None),  # further than an hour: not credible
        ("x", None),  # unreadable
    ],
)
def test_the_reported_reset(reset, expected):
    headers = CaseInsensitiveDict({"x-ratelimit-reset": reset})
    assert RateLimit.of(headers, NOW).reset_in == expected


def test_the_reported_reset_is_measured_against_the_answers_own_date():
    server_now = NOW - 3 * 3600  # a server clock three hours behind
    headers = {"x-ratelimit-reset": str(int(server_now + 900)), "Date": _imf(server_now)}
    assert RateLimit.of(CaseInsensitiveDict(headers), NOW).reset_in == pytest.approx(900.0)


# --- a 429 without a usable Retry-After ----------------------------------------------------------


@pytest.mark.parametrize("text", ["", "soon", "-5", "1.5", "NaN", "99999999999"])
def test_a_burst_429_without_a_usable_retry_after_is_retried_after_the_burst_window(
    sim, make_client, clock, text
):
    """The answer reports budget left (3598 of 3600): a burst 429, not an hour's wait."""
    sim.configure(fault_schedule={3: "429"}, retry_after_text=text, burst_429_budget="actual")
    client = make_client(settings_for(sim))
    for _ in range(3):
        assert client.get("/products", {"per_page": 1}).status == 200
    assert clock.sleeps == [BURST_WINDOW_SECONDS]
    assert statuses(sim) == {"200": 3, "429": 1}


def test_a_429_reporting_no_budget_is_still_a_burst_when_the_answers_before_had_budget(
    sim, make_client, clock
):
    """A burst 429 may report 0 left; what the answer before it reported decides."""
    sim.configure(fault_schedule={2: "429"}, retry_after_text="soon")  # remaining 0
    client = make_client(settings_for(sim))
    assert client.get("/products").status == 200  # remaining 3599
    assert client.get("/products").status == 200
    assert clock.sleeps == [BURST_WINDOW_SECONDS]


def test_a_429_when_the_hour_is_used_up_stops_cleanly_without_a_usable_retry_after(
    sim, make_client, clock
):
    sim.configure(hourly_limit=2, retry_after_text="soon")
    sim.add_token("other-user-token-4411", user="user:api")  # another integration, same user
    other = {"Authorization": "Bearer other-user-token-4411", "X-Xurrent-Account": ACCOUNT}
    for _ in range(2):
        assert requests.get(sim.api_url + "/products", headers=other, timeout=10).ok
    client = make_client(settings_for(sim))
    with pytest.raises(RateLimitExhausted) as caught:
        client.get("/products")
    assert "hourly request budget is used up" in str(caught.value)
    assert clock.sleeps == []  # not a single wait of an hour
    assert statuses(sim) == {"200": 2, "429": 1}


def test_a_server_clock_ten_minutes_ahead_does_not_turn_a_short_wait_into_a_stop(
    sim, make_client, clock
):
    sim.configure(
        fault_schedule={1: "429"}, retry_after_format="http-date", clock_offset_seconds=600
    )
    client = make_client(settings_for(sim))
    assert client.get("/products").status == 200
    assert len(clock.sleeps) == 1 and 1.0 <= clock.sleeps[0] <= 2.0
