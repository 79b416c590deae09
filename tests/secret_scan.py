"""Session-wide secret scanner: no test may leave a secret in output, errors or files.

Registered as a pytest plugin by tests/conftest.py. After every test phase it scans what the
test produced for the known test secrets and fails the test when one shows up:

* captured stdout, stderr and log records (the SDK's log lines, ``SYNC FAILED`` blocks and
  every connector output the ``runner`` fixture prints at teardown);
* the failure text of a failing test (exception messages and tracebacks);
* at teardown, every text file under the test's ``tmp_path`` (state.json, crash reports;
  not the inputs a test writes on purpose: configuration.json and copied source files);
* at the end of the session, every text file under the session's base temp directory (files
  written through ``tmp_path_factory``), reported as an error of the session fixture.

Secrets it knows: values registered with ``register_secret`` (tests/property registers its
client secret), the ``*TOKEN``/``*SECRET``/``ALL_SECRETS`` constants of the test kit
(tests/testkit.py) and of the property scenarios, every access token the simulator issues
during the session, and anything shaped like the suite's distinctive test secrets
(``tok-SeCrEt-3f9a…``). Messages name the secret by its first characters only, so the
scanner's own report never leaks it.

A test that must print a secret on purpose (none does today) can opt out with
``@pytest.mark.allows_secret_output``.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import threading

import pytest

#: Shapes of the suite's test secrets (e.g. "tok-SeCrEt-3f9a1c77e2b4", "csec-SECRET-77b1d0e4aa",
#: "setup-wrong-secret-4f2d9b6a01"): a leaked variant nobody registered is still caught.
SECRET_SHAPES = re.compile(
    r"\b(?:tok|csec)-[A-Za-z]{4,12}-[0-9a-f]{10,}\b"
    r"|\bsetup-[a-z]+-(?:token|secret)-[0-9a-f]{8,}\b"
)
#: Shorter values are not treated as secrets: they would match ordinary text.
MIN_SECRET_LENGTH = 10
#: Test helper modules whose secret constants are scanned for once they are imported.
HELPER_MODULES = ("testkit", "sync_scenarios")
MAX_FILE_BYTES = 2_000_000
SKIPPED_SUFFIXES = (".db", ".wal", ".zip", ".pyc", ".gz", ".png")
#: Inputs, not outputs: a configuration.json written by a test holds the token on purpose, and
#: source files copied by the packaging tests hold the test secrets as constants.
SKIPPED_NAMES = ("configuration.json",)
SKIPPED_INPUT_SUFFIXES = (".py",)

_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(*values: str) -> None:
    """Make the scanner look for these exact values from now on."""
    with _lock:
        _registered.update(value for value in values if value and len(value) >= 6)


def known_secrets() -> set[str]:
    """Registered values plus the secret constants of the helper modules imported so far."""
    found = set(_registered)
    for module_name in HELPER_MODULES:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for name, value in vars(module).items():
            if name == "ALL_SECRETS" and isinstance(value, (tuple, list)):
                found.update(item for item in value if isinstance(item, str))
            elif name.isupper() and name.endswith(("TOKEN", "SECRET")) and isinstance(value, str):
                found.add(value)
    return {value for value in found if len(value) >= MIN_SECRET_LENGTH}


def find_secrets(text: str, secrets: set[str] | None = None) -> list[str]:
    """Every known or secret-shaped value in ``text`` (empty when the text is clean)."""
    if not text:
        return []
    secrets = known_secrets() if secrets is None else secrets
    hits = {secret for secret in secrets if secret in text}
    hits.update(SECRET_SHAPES.findall(text))
    return sorted(hits)


def masked(secret: str) -> str:
    """How a report names a secret without repeating it."""
    return f"{secret[:5]}…({len(secret)} chars)"


def scan_directory(root: str, secrets: set[str] | None = None) -> list[tuple[str, str]]:
    """(path, masked secret) for every text file under ``root`` that holds a secret."""
    secrets = known_secrets() if secrets is None else secrets
    findings = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            if name.endswith(SKIPPED_SUFFIXES + SKIPPED_INPUT_SUFFIXES) or name in SKIPPED_NAMES:
                continue
            try:
                if os.path.getsize(path) > MAX_FILE_BYTES:
                    continue
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
            except OSError:
                continue
            findings += [(path, masked(secret)) for secret in find_secrets(text, secrets)]
    return findings


# --- simulator-issued access tokens ----------------------------------------------------------


def _record_issued_tokens() -> None:
    """Wrap the simulator's token grant so every access token it hands out is a known secret."""
    try:
        from simulator.server import Simulator
    except ImportError:  # the simulator is optional for this plugin
        return
    if getattr(Simulator._issue_token, "_secret_scan", False):
        return
    original = Simulator._issue_token

    @functools.wraps(original)
    def issue_token(self, form):
        status, payload = original(self, form)
        if isinstance(payload, dict) and isinstance(payload.get("access_token"), str):
            register_secret(payload["access_token"])
        return status, payload

    issue_token._secret_scan = True
    Simulator._issue_token = issue_token


# --- pytest hooks ----------------------------------------------------------------------------


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "allows_secret_output: the secret scanner skips this test's output"
    )
    _record_issued_tokens()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if item.get_closest_marker("allows_secret_output"):
        return
    secrets = known_secrets()
    findings = []
    for title, content in report.sections:
        if title.endswith(f" {report.when}"):  # earlier phases were scanned in their report
            findings += [(title, masked(secret)) for secret in find_secrets(content, secrets)]
    if report.failed:
        findings += [
            ("failure text", masked(secret))
            for secret in find_secrets(report.longreprtext, secrets)
        ]
    tmp_path = item.funcargs.get("tmp_path") if hasattr(item, "funcargs") else None
    if report.when == "teardown" and tmp_path is not None:
        findings += scan_directory(str(tmp_path), secrets)
    if findings:
        where = "\n".join(f"  {place}: {secret}" for place, secret in sorted(set(findings)))
        report.outcome = "failed"
        report.longrepr = f"secret scanner: a test secret leaked into\n{where}"


@pytest.fixture(scope="session", autouse=True)
def secret_scan_of_session_files(tmp_path_factory):
    """At the end of the session, scan every file the tests wrote under the base temp dir."""
    yield
    findings = scan_directory(str(tmp_path_factory.getbasetemp()))
    if findings:
        where = "\n".join(f"  {path}: {secret}" for path, secret in sorted(set(findings)))
        pytest.fail(f"secret scanner: test secrets in files written during the session\n{where}")
