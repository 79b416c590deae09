"""The setup tests behind "Save & Test": each one's pass and fail paths over real HTTP against the
simulator, then the real SDK CLI (`fivetran configuration --test`) and the deploy zip.

The CLI tests run the `fivetran` console script in a subprocess, the way a developer does, with
the suite's isolated HOME (version checks already "done") and DO_NOT_TRACK=1, so the CLI makes no
network calls.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from testkit import (
    ACCOUNT,
    ALL_SECRETS,
    BACKUP_CLIENT_ID,
    BACKUP_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    LIMITED_TOKEN,
    ROOT,
    TOKEN,
    WRONG_CLIENT_SECRET,
    WRONG_TOKEN,
)

import connector

TESTS = {function.__name__: function for _, function in connector.SETUP_TESTS}
ROOT_PATH = Path(ROOT)
VENV_BIN = Path(sys.executable).parent


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


def run_all(configuration):
    """Run the tests like the platform: in order, stopping at the first failure."""
    results = []
    for _, function in connector.SETUP_TESTS:
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


def settled_log(sim) -> list[dict]:
    """The simulator's request log once it has settled (it records after sending)."""
    deadline = time.monotonic() + 2.0
    previous = len(sim.request_log)
    while time.monotonic() < deadline:
        time.sleep(0.02)
        if len(sim.request_log) == previous:
            break
        previous = len(sim.request_log)
    return list(sim.request_log)


def client_configuration(sim, secret):
    return {
        "client_id": CLIENT_ID,
        "client_secret": secret,
        "account_id": ACCOUNT,
        "base_url": sim.api_url,
        "token_url": sim.token_url,
    }


# --- each setup test ------------------------------------------------------------------------------


def test_good_token_passes_every_test(sim, good_configuration):
    results = run_all(good_configuration)
    assert [name for name, _ in results] == list(TESTS)
    assert all(response.success is True for _, response in results), results


def test_setup_tests_use_the_api_once_per_check(sim, good_configuration):
    run_all(good_configuration)
    seen = [(entry["path"], entry["query"]) for entry in settled_log(sim)]
    paths = [path for path, _ in seen]
    # The root (reachability), /me once (credentials and account), then each table.
    assert paths == ["/v1", "/v1/me", "/v1/organizations", "/v1/products", "/v1/projects"]
    for table in ("organizations", "products", "projects"):
        assert (f"/v1/{table}", {"per_page": "1", "fields": "id"}) in seen


def test_wrong_token_fails_credentials_with_a_new_token_hint(sim, good_configuration):
    name, message = first_failure({**good_configuration, "oauth_token": WRONG_TOKEN})
    assert name == "check_credentials"
    assert "401" in message and "invalid or expired" in message
    assert "personal access token" in message


@pytest.mark.parametrize(
    "status, failing_test",
    [
        (404, "check_credentials"),
        # A 403 on /me may only mean the token lacks the 'me' scope: the tables test tells.
        (403, "check_tables_readable"),
    ],
)
def test_wrong_account_fails_with_an_account_hint(sim, good_configuration, status, failing_test):
    sim.configure(wrong_account_status=status)
    name, message = first_failure({**good_configuration, "account_id": "gadget"})
    assert name == failing_test
    assert "'gadget'" in message and "check account_id" in message.lower()
    assert str(status) in message


def test_token_without_a_scope_names_the_missing_collections(sim, good_configuration):
    name, message = first_failure({**good_configuration, "oauth_token": LIMITED_TOKEN})
    # /me answers 403 for this token (no 'me' scope); organizations proves the account works.
    assert name == "check_tables_readable"
    assert message.startswith("Readable: organizations. Refused (HTTP 403): products, projects:")
    assert "give the token their read scopes (e.g. 'Products - Read')" in message
    assert "a sync skips them" in message


def test_limited_token_passes_when_only_its_collection_is_selected(sim, good_configuration):
    configuration = {**good_configuration, "oauth_token": LIMITED_TOKEN, "tables": "organizations"}
    results = run_all(configuration)
    assert len(results) == len(TESTS)
    assert all(response.success is True for _, response in results), results


def test_unreachable_base_url_fails_fast_and_names_the_settings(good_configuration, closed_port):
    api_url = f"http://127.0.0.1:{closed_port}/v1"
    name, message = first_failure({**good_configuration, "base_url": api_url})
    assert name == "check_api_reachable"
    assert message.startswith(f"Could not reach {api_url}: check region/environment/base_url")


@pytest.mark.parametrize(
    "check, requests_made",
    [("check_api_reachable", 1), ("check_credentials", 1), ("check_tables_readable", 3)],
)
def test_one_attempt_per_request_whatever_retry_attempts_says(
    sim, good_configuration, check, requests_made
):
    """A user waits in the form: a dropped connection fails the test at once, not after the
    sync's retry budget."""
    sim.configure(fault_schedule={n: "drop" for n in range(1, 40)})
    response = TESTS[check]({**good_configuration, "retry_attempts": "10"})
    assert response.failure and "failed after 1 attempt;" in response.failure
    assert len(settled_log(sim)) == requests_made  # one per path


def test_server_error_on_the_root_is_reported_as_such(make_sim, good_configuration):
    broken = make_sim(fault_schedule={1: "503"})
    response = TESTS["check_api_reachable"]({**good_configuration, "base_url": broken.api_url})
    assert "HTTP 503" in response.failure and "try again later" in response.failure


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


def test_good_backup_credentials_pass_and_are_checked_with_their_own_request(sim):
    configuration = {
        **client_configuration(sim, CLIENT_SECRET),
        "backup_oauth_token": BACKUP_TOKEN,
    }
    seen = []
    sim.add_request_hook(lambda _sim, info: seen.append(info["path"]))
    results = run_all(configuration)
    assert all(response.success is True for _, response in results), results
    assert seen.count("/v1/me") == 2  # the primary credentials, then the backup ones


def test_refused_backup_credentials_fail_their_own_test_naming_them(sim):
    configuration = {
        **client_configuration(sim, CLIENT_SECRET),
        "backup_client_id": BACKUP_CLIENT_ID,
        "backup_client_secret": WRONG_CLIENT_SECRET,
    }
    name, message = first_failure(configuration)
    assert name == "check_backup_credentials"
    assert "invalid_client" in message and "Both" not in message
    assert "backup_client_id and backup_client_secret" in message


def test_a_refused_backup_token_names_backup_oauth_token(sim, good_configuration):
    name, message = first_failure({**good_configuration, "backup_oauth_token": WRONG_TOKEN})
    assert name == "check_backup_credentials"
    assert "backup_oauth_token" in message and "401" in message


def test_without_backup_credentials_their_test_passes_without_a_request(sim, good_configuration):
    seen = []
    sim.add_request_hook(lambda _sim, info: seen.append(info["path"]))
    assert TESTS["check_backup_credentials"](good_configuration).success is True
    assert seen == []


@pytest.mark.parametrize("exception", [connector.SetupProblem, RuntimeError])
def test_wrapper_scrubs_configured_secrets_even_when_the_configuration_does_not_parse(exception):
    """Secrets as short as a secret can be never reach a message, even from a configuration
    that fails before registering them."""

    def leaky_check(configuration):
        raise exception(f"boom {configuration['oauth_token']} {configuration['client_secret']}")

    configuration = {"oauth_token": "tok123", "client_secret": "s3cr3t"}
    response = connector.setup_test(leaky_check)(configuration)
    assert "boom" in response.failure
    assert "tok123" not in response.failure and "s3cr3t" not in response.failure
    assert leaky_check.__name__ == connector.setup_test(leaky_check).__name__


def test_a_secret_too_short_to_be_real_is_refused_without_being_shown():
    """Secrets shorter than the redaction minimum are refused, so every secret in use is
    one the redaction knows."""
    response = TESTS["check_configuration"]({"account_id": "widget", "oauth_token": "Zq9"})
    assert "Configuration key 'oauth_token': shorter than 6 characters" in response.failure
    assert "Zq9" not in response.failure


# --- the SDK CLI and the deploy zip ---------------------------------------------------------------


@pytest.fixture
def cli_environment(isolated_home):
    """The suite's isolated HOME and DO_NOT_TRACK, and this venv's `fivetran` first on PATH."""
    environment = dict(os.environ)
    environment.update(
        HOME=str(isolated_home),
        DO_NOT_TRACK="1",
        PATH=str(VENV_BIN) + os.pathsep + environment.get("PATH", ""),
    )
    environment.pop("FIVETRAN_CONFIGURATION", None)
    return environment


@pytest.fixture
def staged_project(tmp_path):
    """connector.py + xurrent_connector/ only, as production gets them."""
    source = (ROOT_PATH / "connector.py").read_text(encoding="utf-8")
    assert "configuration_form=" in source, "connector.py must register the setup form"
    project = tmp_path / "project"
    shutil.copytree(
        ROOT_PATH / "xurrent_connector",
        project / "xurrent_connector",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (project / "connector.py").write_text(source, encoding="utf-8")
    return project


def run_configuration_test(project, configuration, environment):
    (project / "configuration.json").write_text(json.dumps(configuration), encoding="utf-8")
    result = subprocess.run(
        [str(VENV_BIN / "fivetran"), "configuration", str(project), "--test"],
        cwd=project,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


def test_cli_setup_tests_pass_for_a_good_configuration(
    staged_project, good_configuration, cli_environment
):
    code, output = run_configuration_test(staged_project, good_configuration, cli_environment)
    assert code == 0, output
    for name in TESTS:
        assert f"[{name} - " in output
    assert "PASSED" in output and "All tests passed" in output
    assert_no_secret(output)


def test_cli_setup_tests_fail_helpfully_for_a_bad_token(
    staged_project, good_configuration, cli_environment
):
    configuration = {**good_configuration, "oauth_token": WRONG_TOKEN}
    code, output = run_configuration_test(staged_project, configuration, cli_environment)
    assert code == 1, output
    assert "[check_api_reachable - " in output  # the earlier tests ran and passed
    assert "invalid or expired" in output and "personal access token" in output
    assert "Remaining tests skipped" in output
    assert_no_secret(output)


@pytest.fixture
def project_copy(tmp_path):
    """The whole repository, minus venv, git and build output."""
    copy = tmp_path / "repo"
    shutil.copytree(
        ROOT_PATH,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "files", "__pycache__", ".pytest_cache", ".hypothesis"
        ),
    )
    return copy


def test_package_zip_holds_only_what_production_needs(project_copy, tmp_path, cli_environment):
    staging = tmp_path / "staging" / "package"
    result = subprocess.run(
        [sys.executable, str(project_copy / "tools" / "package.py"), "--staging", str(staging)],
        cwd=project_copy,
        env=cli_environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    zip_path = staging / "files" / "package.zip"
    assert f"package: {zip_path}" in result.stdout
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        form_bytes = archive.read("configuration_form.pb")
    package_modules = {
        f"xurrent_connector/{path.name}"
        for path in (project_copy / "xurrent_connector").glob("*.py")
    }
    assert names == {"connector.py", "requirements.txt", "configuration_form.pb"} | package_modules
    assert not [n for n in names if n.split("/")[0] in ("tests", "simulator", "bench", "tools")]
    assert b"check_tables_readable" in form_bytes and b"oauth_token" in form_bytes
    # The staged copy, not the repository, is what the SDK's requirements check may rewrite.
    assert (project_copy / "requirements.txt").read_text() == (
        ROOT_PATH / "requirements.txt"
    ).read_text()


def load_package_tool():
    """tools/package.py as a module, without putting tools/ on sys.path."""
    spec = importlib.util.spec_from_file_location(
        "package_tool", ROOT_PATH / "tools" / "package.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_staging_refuses_to_wipe_a_directory_it_did_not_create(tmp_path):
    package = load_package_tool()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(package.PackagingError, match="was not created by this script"):
        package.stage(precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    assert package.is_allowed_entry("xurrent_connector/http.py")
    assert package.is_allowed_entry("xurrent_connector/options.py")
    assert not package.is_allowed_entry("tests/integration/test_setup.py")
    assert not package.is_allowed_entry("xurrent_connector/data.json")
