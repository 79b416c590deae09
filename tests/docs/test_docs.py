"""The documentation says what the code does: generated parts are current, the README keeps
Fivetran's template and its size (the SQL of docs/sync_health.md runs in
tests/integration/test_health.py).
"""

import json
import re
import sys
from pathlib import Path

import pytest

from xurrent_connector.options import OPTIONS, parse_settings
from xurrent_connector.streams import TABLE_NAMES

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
sys.path.insert(0, str(ROOT / "tools"))

import generate_docs  # noqa: E402

#: The sections of Fivetran's connector README template, in their order.
TEMPLATE = [
    "Connector overview",
    "Requirements",
    "Getting started",
    "Features",
    "Configuration file",
    "Requirements file",
    "Authentication",
    "Pagination",
    "Data handling",
    "Error handling",
    "Tables created",
    "Additional files",
    "Additional considerations",
]


def test_generated_documentation_is_current(capsys):
    assert generate_docs.main(["--check"]) == 0, capsys.readouterr().out


def test_the_check_fails_when_the_code_has_a_key_the_readme_lacks(monkeypatch, tmp_path):
    stale = tmp_path / "README.md"
    stale.write_text(README.replace("| `lookback_minutes` |", "| `look_back` |"))
    monkeypatch.setattr(generate_docs, "README", stale)
    assert generate_docs.main(["--check"]) == 1


def test_the_check_fails_when_the_configuration_template_lacks_a_key(monkeypatch, tmp_path):
    values = json.loads((ROOT / "configuration.json").read_text())
    del values["max_rate_limit_wait_seconds"]
    stale = tmp_path / "configuration.json"
    stale.write_text(json.dumps(values, indent=2) + "\n")
    monkeypatch.setattr(generate_docs, "CONFIGURATION", stale)
    assert generate_docs.main(["--check"]) == 1


def test_the_configuration_template_holds_every_key_and_is_valid_once_filled_in():
    values = json.loads((ROOT / "configuration.json").read_text())
    assert list(values) == [option.name for option in OPTIONS]
    filled = dict(values, account_id="widget", oauth_token="a-personal-access-token")
    settings = parse_settings(filled)
    assert settings.initial_sync_days == 90 and settings.tables == TABLE_NAMES


def test_every_key_is_in_the_readme_and_the_tables_are_in_docs():
    for option in OPTIONS:
        assert f"| `{option.name}`" in README, option.name
    tables = (ROOT / "docs" / "tables.md").read_text()
    for table in (*TABLE_NAMES, "sync_health"):
        assert f"## `{table}`" in tables


def test_readme_follows_the_template_in_order_and_stays_short():
    sections = re.findall(r"^## (.+)$", README, re.M)
    assert sections == TEMPLATE
    assert len(README.splitlines()) <= 320


@pytest.mark.parametrize("path", ["README.md", "docs/tables.md", "docs/sync_health.md"])
def test_no_placeholder_is_left(path):
    text = (ROOT / path).read_text()
    assert "PLACEHOLDER" not in text and "TODO" not in text
