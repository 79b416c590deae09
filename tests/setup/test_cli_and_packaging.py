"""The real SDK CLI: `fivetran configuration --test` on a staged project, and the deploy zip.

Both run the `fivetran` console script in a subprocess, the way a developer does. HOME points at
a scratch directory holding a future `_last_version_check`, and DO_NOT_TRACK=1, so the CLI
makes no network calls (no PyPI version check, no telemetry).
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from setup_support import ALL_SECRETS, ROOT, WRONG_TOKEN

ROOT_PATH = Path(ROOT)
VENV_BIN = Path(sys.executable).parent
FORM_REGISTRATION = (
    "\n\n# Added by tests/setup: register the setup form if connector.py does not yet.\n"
    "from xurrent_connector.form import configuration_form  # noqa: E402\n\n"
    "connector = Connector(update=update, schema=schema, configuration_form=configuration_form)\n"
)


def connector_source_with_form() -> str:
    """The real connector.py, plus the one-line form registration if it is still missing."""
    source = (ROOT_PATH / "connector.py").read_text(encoding="utf-8")
    if "configuration_form=" not in source:
        source += FORM_REGISTRATION
    return source


@pytest.fixture
def cli_environment(tmp_path):
    home = tmp_path / "home"
    sdk_dir = home / ".fivetran" / "connector_sdk"
    sdk_dir.mkdir(parents=True)
    (sdk_dir / "_last_version_check").write_text("9999999999")
    environment = dict(os.environ)
    environment.update(
        HOME=str(home),
        DO_NOT_TRACK="1",
        PATH=str(VENV_BIN) + os.pathsep + environment.get("PATH", ""),
    )
    environment.pop("FIVETRAN_CONFIGURATION", None)
    return environment


@pytest.fixture
def staged_project(tmp_path):
    """connector.py + xurrent_connector/ only, as production gets them."""
    if not (ROOT_PATH / "connector.py").exists():
        pytest.fail("connector.py is missing from the project root")
    project = tmp_path / "project"
    shutil.copytree(
        ROOT_PATH / "xurrent_connector",
        project / "xurrent_connector",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (project / "connector.py").write_text(connector_source_with_form(), encoding="utf-8")
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
    for name in ("check_configuration", "check_credentials", "check_tables_readable"):
        assert f"[{name} - " in output and "PASSED" in output
    assert "All tests passed" in output
    for secret in ALL_SECRETS:
        assert secret not in output


def test_cli_setup_tests_fail_helpfully_for_a_bad_token(
    staged_project, good_configuration, cli_environment
):
    configuration = {**good_configuration, "oauth_token": WRONG_TOKEN}
    code, output = run_configuration_test(staged_project, configuration, cli_environment)
    assert code == 1, output
    assert "[check_api_reachable - " in output  # the earlier tests ran and passed
    assert "invalid or expired" in output and "personal access token" in output
    assert "Remaining tests skipped" in output
    for secret in ALL_SECRETS:
        assert secret not in output


@pytest.fixture
def project_copy(tmp_path):
    """The whole repository (minus venv, git and build output), with the form registered."""
    copy = tmp_path / "repo"
    shutil.copytree(
        ROOT_PATH,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "files", "__pycache__", ".pytest_cache", ".hypothesis"
        ),
    )
    (copy / "connector.py").write_text(connector_source_with_form(), encoding="utf-8")
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


def test_staging_refuses_to_wipe_a_directory_it_did_not_create(tmp_path):
    sys.path.insert(0, str(ROOT_PATH / "tools"))
    try:
        import package
    finally:
        sys.path.remove(str(ROOT_PATH / "tools"))
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(package.PackagingError, match="was not created by this script"):
        package.stage(precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    assert package.is_allowed_entry("xurrent_connector/http.py")
    assert not package.is_allowed_entry("tests/setup/test_form.py")
    assert not package.is_allowed_entry("xurrent_connector/data.json")
