"""Each setup test's pass and fail paths, over real HTTP against the simulator."""

import pytest
from setup_support import (
    ACCOUNT,
    ALL_SECRETS,
    CLIENT_ID,
    CLIENT_SECRET,
    LIMITED_TOKEN,
    TOKEN,
    WRONG_CLIENT_SECRET,
    WRONG_TOKEN,
)

from simulator import SimConfig, Simulator
from xurrent_connector import form

TESTS = {function.__name__: function for function in form.SETUP_TEST_FUNCTIONS}


def run_all(configuration):
    """Run the tests like the platform: in order, stopping at the first failure."""
    results = []
    for function in form.SETUP_TEST_FUNCTIONS:
        response = function(configuration)
        results.append((function.__name__, response))
        if response.success is not True:
            break
    return results


def first_failure(configuration):
    results = run_all(configuration)
    name, response = results[-1]
    assert response.success is not True, f"expected a failure, all passed: {results}"
    assert_no_secret(response.failure)
    return name, response.failure


def assert_no_secret(message):
    for secret in ALL_SECRETS:
        assert secret not in message


def test_good_token_passes_every_test(sim, good_configuration):
    results = run_all(good_configuration)
    assert [name for name, _ in results] == list(TESTS)
    assert all(response.success is True for _, response in results), results


def test_setup_tests_use_the_api_and_send_the_account(sim, good_configuration):
    seen = []
    sim.add_request_hook(lambda _sim, info: seen.append((info["path"], info["query"])))
    try:
        run_all(good_configuration)
    finally:
        sim._hooks.clear()
    paths = [path for path, _ in seen]
    assert paths[0] == "/v1" and "/v1/me" in paths
    for table in ("organizations", "products", "projects"):
        assert (f"/v1/{table}", {"per_page": "1", "fields": "id"}) in seen


def test_wrong_token_fails_credentials_with_a_new_token_hint(good_configuration):
    name, message = first_failure({**good_configuration, "oauth_token": WRONG_TOKEN})
    assert name == "check_credentials"
    assert "401" in message and "invalid or expired" in message
    assert "personal access token" in message


@pytest.mark.parametrize("status", [404, 403])
def test_wrong_account_fails_the_account_test(sim, good_configuration, status):
    sim.configure(wrong_account_status=status)
    try:
        name, message = first_failure({**good_configuration, "account_id": "gadget"})
    finally:
        sim.configure(wrong_account_status=404)
    assert name == "check_account"
    assert "'gadget'" in message and "check account_id" in message and str(status) in message


def test_token_without_a_scope_names_the_missing_collections(good_configuration):
    name, message = first_failure({**good_configuration, "oauth_token": LIMITED_TOKEN})
    # /me answers 403 for this token (no 'me' scope); organizations proves the account works.
    assert name == "check_tables_readable"
    assert (
        "the token has no read scope for products; add the 'Products - Read' scope or remove "
        "products from tables" in message
    )
    assert "'Projects - Read'" in message
    assert "organizations" not in message


def test_limited_token_passes_when_only_its_collection_is_selected(good_configuration):
    configuration = {**good_configuration, "oauth_token": LIMITED_TOKEN, "tables": "organizations"}
    assert all(response.success is True for _, response in run_all(configuration))


def test_unreachable_base_url_fails_fast_and_names_the_settings(good_configuration, closed_port):
    api_url = f"http://127.0.0.1:{closed_port}/v1"
    name, message = first_failure({**good_configuration, "base_url": api_url})
    assert name == "check_api_reachable"
    assert message.startswith(f"Could not reach {api_url}: check region/environment/base_url")


def test_unreachable_host_with_single_attempt(good_configuration, closed_port, monkeypatch):
    """The setup tests make one attempt per request, whatever retry_attempts says."""
    from xurrent_connector import http

    calls = []
    original = http.XurrentClient._attempt

    def counting_attempt(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(http.XurrentClient, "_attempt", counting_attempt)
    configuration = {
        **good_configuration,
        "base_url": f"http://127.0.0.1:{closed_port}/v1",
        "retry_attempts": "10",
    }
    assert TESTS["check_api_reachable"](configuration).failure
    assert len(calls) == 1


def test_server_error_on_the_root_is_reported_as_such(good_configuration):
    config = SimConfig(token=TOKEN, account=ACCOUNT, scale="tiny", seed=1, rate_limit=False)
    with Simulator(config) as broken:
        broken.configure(fault_schedule={"1": "503"})
        response = TESTS["check_api_reachable"]({**good_configuration, "base_url": broken.api_url})
    assert "HTTP 503" in response.failure and "try again later" in response.failure


def client_configuration(sim, secret):
    return {
        "client_id": CLIENT_ID,
        "client_secret": secret,
        "account_id": ACCOUNT,
        "base_url": sim.api_url,
        "token_url": sim.token_url,
    }


def test_good_client_credentials_pass_every_test(sim):
    results = run_all(client_configuration(sim, CLIENT_SECRET))
    assert all(response.success is True for _, response in results), results
    assert len(results) == len(TESTS)


def test_bad_client_credentials_quote_the_oauth_error_without_the_secret(sim):
    name, message = first_failure(client_configuration(sim, WRONG_CLIENT_SECRET))
    assert name == "check_credentials"
    assert "invalid_client" in message and "Client authentication failed" in message
    assert "client_id" in message and "client_secret" in message and "token_url" in message


def test_unreachable_token_endpoint_names_token_url(sim, closed_port):
    configuration = client_configuration(sim, CLIENT_SECRET)
    configuration["token_url"] = f"http://127.0.0.1:{closed_port}/oauth/token"
    name, message = first_failure(configuration)
    assert name == "check_credentials"
    assert f"127.0.0.1:{closed_port}/oauth/token" in message and "check token_url" in message


@pytest.mark.parametrize("exception", [form._SetupProblem, RuntimeError])
def test_wrapper_scrubs_configured_secrets_of_any_length(exception):
    """Even a secret too short for the global redaction registry never reaches a message."""

    def leaky_check(configuration):
        raise exception(f"boom {configuration['oauth_token']} {configuration['client_secret']}")

    configuration = {"oauth_token": "tok", "client_secret": "s3cr"}
    response = form._setup_test(leaky_check)(configuration)
    assert "boom" in response.failure
    assert "tok" not in response.failure and "s3cr" not in response.failure
    assert leaky_check.__name__ == form._setup_test(leaky_check).__name__
