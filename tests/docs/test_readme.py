"""The README documents every configuration key and every column the connector creates.

Users configure and query the connector from the README alone, so a key or a column added to
the code without documentation is a bug this test catches.
"""

import re
from pathlib import Path

from connector import schema
from xurrent_connector.settings import KNOWN_KEYS

README = Path(__file__).resolve().parents[2] / "README.md"


def section(title: str) -> str:
    """The text of one `## title` section of the README."""
    text = README.read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def test_every_configuration_key_is_documented():
    documented = set(re.findall(r"^\| `([a-z_]+)`", section("Configuration file"), re.M))
    documented |= set(re.findall(r"`([a-z_]+)`, `([a-z_]+)`", section("Configuration file"))[0])
    assert KNOWN_KEYS <= documented, sorted(KNOWN_KEYS - documented)


def test_every_column_of_every_table_is_documented():
    tables = section("Tables created")
    for table in schema({}):
        heading = f"### `{table['table']}`"
        assert heading in tables, f"no section for {table['table']}"
        body = tables.split(heading, 1)[1].split("### ", 1)[0]
        documented = set(re.findall(r"^\| `([a-z_0-9]+)`", body, re.M))
        assert set(table["columns"]) <= documented, sorted(set(table["columns"]) - documented)


def test_no_placeholder_is_left():
    assert "PLACEHOLDER" not in README.read_text()
