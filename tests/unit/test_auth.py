"""Token providers and the client's 401 handling, against the simulator's OAuth endpoint."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
import requests
from testkit import CLIENT_ID, CLIENT_SECRET, TOKEN, settings_for, settled_stats

from xurrent_connector.auth import ClientCredentials, StaticToken
from xurrent_connector.errors import XurrentApiError
from xurrent_connector.http import XurrentClient
from xurrent_connector.metrics import StreamMetrics


def issued_tokens(sim) -> list[str]:
    return [token for token, info in sim.tokens.items() if info.user == f"client:{CLIENT_ID}"]


def expire_issued_tokens(sim) -> None:
    for token in issued_tokens(sim):
        sim.expire_token(token)


@pytest.fixture
def session():
    with requests.Session() as http_session:
        yield http_session


def test_static_provider():
    provider = StaticToken(TOKEN)
    assert provider.current() == (f"Bearer {TOKEN}", 0)
    assert provider.refreshable is False
    provider.invalidate(0)  # nothing to renew: the same token stays
    assert provider.current() == (f"Bearer {TOKEN}", 0)
    assert TOKEN not in repr(provider)


def test_client_credentials_fetch_one_token_and_reuse_it(sim, make_client):
    client = make_client(settings_for(sim, client_credentials=True))
    for _ in range(3):
        assert client.get("/organizations").status == 200
    stats = settled_stats(sim)
    assert stats["oauth_requests"] == 1
    assert stats["by_status"] == {"200": 3}


def test_token_is_refreshed_before_it_expires(sim, make_client, clock):
    """Refresh at expires_in - min(2 min, 10 %): here 3600 s - 120 s on the fake clock."""
    client = make_client(settings_for(sim, client_credentials=True))
    client.get("/organizations")
    clock.advance(3600 - 121)
    client.get("/organizations")
    assert settled_stats(sim)["oauth_requests"] == 1  # still inside the lifetime minus margin
    clock.advance(2)
    # From here the old token would be refused: any request still using it would see a 401.
    expire_issued_tokens(sim)
    assert client.get("/organizations").status == 200
    stats = settled_stats(sim)
    assert stats["oauth_requests"] == 2
    assert stats["by_status"] == {"200": 3}  # no 401 was needed


def test_short_lived_tokens_refresh_at_ninety_percent(sim, make_client, clock):
    sim.configure(token_ttl_seconds=100)
    client = make_client(settings_for(sim, client_credentials=True))
    client.get("/organizations")
    clock.advance(89)
    client.get("/organizations")
    assert settled_stats(sim)["oauth_requests"] == 1
    clock.advance(2)  # 91 s: past 100 - min(120, 10)
    client.get("/organizations")
    assert settled_stats(sim)["oauth_requests"] == 2


def test_401_refreshes_once_and_retries(sim, make_client):
    client = make_client(settings_for(sim, client_credentials=True, retry_attempts=1))
    client.get("/organizations")
    expire_issued_tokens(sim)  # revoked server-side before our clock says so
    metrics = StreamMetrics("t", lambda: datetime.now(timezone.utc))
    assert client.get("/organizations", metrics=metrics).status == 200
    stats = settled_stats(sim)
    assert stats["oauth_requests"] == 2
    assert stats["by_status"] == {"200": 2, "401": 1}
    assert metrics.errors_by_kind == {"unauthorized": 1} and metrics.retries == 1


def test_401_after_a_refresh_fails_with_advice(sim, make_client):
    sim.add_request_hook(lambda simulator, info: expire_issued_tokens(simulator))
    client = make_client(settings_for(sim, client_credentials=True))
    with pytest.raises(XurrentApiError) as caught:
        client.get("/organizations")
    error = caught.value
    assert error.status == 401 and error.kind == "unauthorized"
    assert "client_id/client_secret" in str(error)
    assert CLIENT_SECRET not in str(error)
    stats = settled_stats(sim)
    assert stats["oauth_requests"] == 2 and stats["by_status"] == {"401": 2}


def test_rejected_client_credentials_say_so_without_the_secret(sim, make_client):
    wrong_secret = "csec-WRONG-1234567890"
    client = make_client(settings_for(sim, client_credentials=True, client_secret=wrong_secret))
    with pytest.raises(XurrentApiError) as caught:
        client.get("/organizations")
    message = str(caught.value)
    assert caught.value.status == 400 and caught.value.kind == "token_rejected"
    assert "rejected the client credentials" in message
    assert "'invalid_client'" in message and "'Client authentication failed'" in message
    assert "client_id and client_secret" in message
    assert wrong_secret not in message and CLIENT_SECRET not in message
    assert caught.value.__cause__ is None
    assert settled_stats(sim)["requests"] == 0  # no API request without a token


def test_token_endpoint_404_points_at_token_url(sim, make_client):
    settings = settings_for(sim, client_credentials=True, token_url=sim.base_url + "/wrong/token")
    client = make_client(settings)
    with pytest.raises(XurrentApiError) as caught:
        client.get("/organizations")
    assert caught.value.status == 404 and caught.value.kind == "token_rejected"
    assert "token_url" in str(caught.value)
    assert settled_stats(sim)["requests"] == 0


def test_unreachable_token_endpoint_is_retried_then_reported(sim, make_client, clock):
    settings = settings_for(sim, client_credentials=True, token_url="http://127.0.0.1:9/token")
    client = make_client(settings)
    metrics = StreamMetrics("t", lambda: datetime.now(timezone.utc))
    with pytest.raises(XurrentApiError) as caught:
        client.get("/organizations", metrics=metrics)
    error = caught.value
    assert error.kind == "token_endpoint_unavailable" and error.status is None
    assert "Could not get an OAuth token from " in str(error) and "/token" in str(error)
    assert "check token_url" in str(error)
    assert "3 attempts" in str(error)
    assert len(clock.sleeps) == 2  # backed off like any transient failure
    # A failed token request is no API request: counted by kind, not as a failed request.
    assert metrics.errors_by_kind == {"token_endpoint_unavailable": 3}
    assert metrics.requests == 0 and metrics.failed_requests == 0
    assert settled_stats(sim)["requests"] == 0


def test_concurrent_callers_trigger_a_single_token_request(sim):
    client = XurrentClient(settings_for(sim, client_credentials=True))
    barrier = threading.Barrier(6)
    results = []

    def worker():
        barrier.wait()
        results.append(client.get("/organizations", {"per_page": 1}).status)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
    finally:
        client.close()
    assert results == [200] * 6
    assert settled_stats(sim)["oauth_requests"] == 1


def test_concurrent_401s_refresh_once(sim, session):
    """Threads that were all refused with the same old token share one refresh."""
    provider = ClientCredentials(sim.token_url, CLIENT_ID, CLIENT_SECRET, session, 5)
    refused_header, refused_generation = provider.current()
    seen = []

    def worker():
        provider.invalidate(refused_generation)
        seen.append(provider.current())

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(seen) == 5 and len(set(seen)) == 1
    header, generation = seen[0]
    assert generation == refused_generation + 1 and header != refused_header
    assert settled_stats(sim)["oauth_requests"] == 2


def test_token_endpoint_5xx_is_transient(sim, session):
    provider = ClientCredentials(
        sim.api_url + "/nonexistent-500", CLIENT_ID, CLIENT_SECRET, session, 5
    )
    sim.configure(fault_schedule={1: "503"})
    with pytest.raises(XurrentApiError) as caught:
        provider.current()
    assert caught.value.kind == "token_endpoint_unavailable" and caught.value.status == 503


def test_provider_repr_hides_secret(sim, session):
    provider = ClientCredentials(sim.token_url, CLIENT_ID, CLIENT_SECRET, session, 5)
    provider.current()
    assert CLIENT_SECRET not in repr(provider)
    assert all(token not in repr(provider) for token in issued_tokens(sim))
