"""The session-wide secret scanner (tests/secret_scan.py) can fail: planted secrets are caught.

The scanner guards every other test, so it must itself be tested: a pytest run in a child
process with the plugin loaded fails a test that prints a secret, logs it, raises it or leaves
it in a state.json under tmp_path, and passes a clean test; the report never repeats the
secret.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import secret_scan
from testkit import TOKEN

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TESTS_DIR)
PLANTED = "tok-PlAnTeD-0c9e8d7f6a5b"  # secret-shaped, never registered: the shape rule finds it


def test_known_and_secret_shaped_values_are_found():
    assert secret_scan.find_secrets(f"Authorization: Bearer {TOKEN}") == [TOKEN]
    assert secret_scan.find_secrets(f"state: {PLANTED}") == [PLANTED]
    assert secret_scan.find_secrets("the client_secret setting is wrong; token [REDACTED]") == []


def test_registered_secrets_are_found_and_reports_mask_them():
    secret = "opaque-value-registered-4711"
    assert secret_scan.find_secrets(secret) == []
    secret_scan.register_secret(secret)
    assert secret_scan.find_secrets(f"x {secret} y") == [secret]
    assert secret not in secret_scan.masked(secret)


def test_state_files_with_a_secret_are_found(tmp_path):
    planted = tmp_path / "planted"
    (planted / "files").mkdir(parents=True)
    try:
        (planted / "files" / "state.json").write_text('{"cursor": "%s"}' % PLANTED)
        (planted / "files" / "warehouse.db").write_text(PLANTED)  # binary stores are skipped
        findings = secret_scan.scan_directory(str(planted))
    finally:
        shutil.rmtree(planted)  # or this test's own teardown scan would (rightly) fail it
    assert [os.path.basename(path) for path, _ in findings] == ["state.json"]


PLANTING_TESTS = textwrap.dedent(f"""
    import logging

    SECRET = "{PLANTED}"

    def test_prints_a_secret():
        print("connecting with", SECRET)

    def test_logs_a_secret():
        logging.getLogger("x").warning("token %s", SECRET)

    def test_raises_with_a_secret():
        raise RuntimeError(f"401 for {{SECRET}}")

    def test_writes_a_secret_to_state(tmp_path):
        (tmp_path / "state.json").write_text(SECRET)

    def test_clean():
        print("nothing to see")
    """)


def test_a_pytest_run_fails_every_test_that_leaks_and_never_repeats_the_secret(tmp_path):
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "test_planted.py").write_text(PLANTING_TESTS)
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([TESTS_DIR, ROOT]))
    try:
        command = [sys.executable, "-m", "pytest", "-p", "secret_scan", "-p", "no:cacheprovider"]
        command += ["-rA", "-o", "addopts=", "--rootdir", str(planted)]
        command += ["--basetemp", str(planted / "basetemp"), str(planted / "test_planted.py")]
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=planted,
            env=environment,
            timeout=120,
        )
    finally:
        shutil.rmtree(planted)  # the planted secrets must not outlive the test
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    for name in ("prints", "logs", "raises_with", "writes"):
        outcomes = (
            f"FAILED test_planted.py::test_{name}_a_secret",
            f"ERROR at teardown of test_{name}_a_secret",
            f"ERROR test_planted.py::test_{name}_a_secret",
        )
        assert any(outcome in output for outcome in outcomes), output
    assert "PASSED test_planted.py::test_clean" in output, output
    assert "secret scanner: a test secret leaked into" in output
    # pytest echoes the raising test's source line; the scanner's own lines mask the value.
    scanner_lines = [line for line in output.splitlines() if secret_scan.masked(PLANTED) in line]
    assert len(scanner_lines) >= 4 and all(PLANTED not in line for line in scanner_lines)
