"""Write the documentation that is made from the code: `make docs`.

Three pieces are generated, so that a configuration key or a column cannot be added without
being documented (tests/docs/test_docs.py fails when any is out of date):

* the configuration table of README.md, from the option declarations (xurrent_connector/
  options.py), between the markers ``<!-- options:start -->`` and ``<!-- options:end -->``;
* configuration.json, the template a user copies: every key of the same declarations;
* docs/tables.md, every column of every table with its type and where it comes from, from
  ``schema()``, the stream specs and the ``sync_health`` declarations.

    python tools/generate_docs.py           # rewrite all three
    python tools/generate_docs.py --check   # exit 1 and name the stale file when out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from connector import schema  # noqa: E402
from xurrent_connector.health import HEALTH_COLUMNS  # noqa: E402
from xurrent_connector.options import OPTIONS  # noqa: E402
from xurrent_connector.streams import BINS, TABLES  # noqa: E402

README = PROJECT_DIR / "README.md"
CONFIGURATION = PROJECT_DIR / "configuration.json"
TABLES_DOC = PROJECT_DIR / "docs" / "tables.md"
START, END = "<!-- options:start -->", "<!-- options:end -->"
PERSONAL_START, PERSONAL_END = "<!-- personal:start -->", "<!-- personal:end -->"
SET_BY_LISTINGS = {
    bin.column: f"when the record moved to the {bin.name} (`GET /v1/{bin.name}`)" for bin in BINS
}


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def options_table() -> str:
    """The README's configuration table: one row per option, in the form's order."""
    lines = ["| key | what it does | accepted | default |", "| --- | --- | --- | --- |"]
    for option in OPTIONS:
        default = option.default_text.removeprefix("Default: ").rstrip(".")
        secret = " (secret)" if option.secret else ""
        lines.append(
            f"| `{option.name}`{secret} | {_escape(option.help)} | {_escape(option.accepted)} "
            f"| {_escape(default)} |"
        )
    return "\n".join(lines)


def configuration_template() -> str:
    """configuration.json: every key, in the form's order, with its default or a hint."""
    values = {option.name: option.template_value for option in OPTIONS}
    return json.dumps(values, indent=2) + "\n"


def personal_columns() -> str:
    """The README's list of the columns that hold personal data, per table."""
    lines = []
    for table in TABLES.values():
        if table.personal_columns:
            columns = ", ".join(f"`{name}`" for name in table.personal_columns)
            lines.append(f"- `{table.name}`: {columns}")
    return "\n".join(lines)


def _type_name(declared) -> str:
    if isinstance(declared, dict):
        return f"DECIMAL({declared['precision']},{declared['scale']})"
    return declared


def _origin(table: str, column: str) -> str:
    if table == "sync_health":
        return HEALTH_COLUMNS[column].meaning
    if column in SET_BY_LISTINGS:
        return SET_BY_LISTINGS[column]
    declared = next(c for c in TABLES[table].columns if c.name == column)
    return f"`{declared.source}`" + (" (personal data)" if declared.personal else "")


def tables_document() -> str:
    """docs/tables.md: one Markdown table per declared table, in declaration order."""
    parts = [
        "# Tables created",
        "",
        "Generated from the code by `make docs` (tools/generate_docs.py); do not edit by hand.",
        "Every table also has the Fivetran system columns `_fivetran_synced` and "
        "`_fivetran_deleted`.",
    ]
    for table in schema({}):
        name = table["table"]
        keys = ", ".join(f"`{column}`" for column in table["primary_key"])
        parts += ["", f"## `{name}` (primary key {keys})", ""]
        parts += ["| column | type | from |", "| --- | --- | --- |"]
        parts += [
            f"| `{column}` | {_type_name(kind)} | {_escape(_origin(name, column))} |"
            for column, kind in table["columns"].items()
        ]
    return "\n".join(parts) + "\n"


def _between(text: str, start: str, end: str, content: str) -> str:
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md lacks the markers {start} ... {end}")
    return pattern.sub(lambda _: f"{start}\n{content}\n{end}", text)


def readme_with_options(text: str) -> str:
    text = _between(text, START, END, options_table())
    return _between(text, PERSONAL_START, PERSONAL_END, personal_columns())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when a file is out of date")
    options = parser.parse_args(argv)
    wanted = {
        README: readme_with_options(README.read_text()),
        CONFIGURATION: configuration_template(),
        TABLES_DOC: tables_document(),
    }
    stale = [
        path for path, text in wanted.items() if not path.exists() or path.read_text() != text
    ]
    if options.check:
        for path in stale:
            print(f"{path.name} is out of date: run `make docs`")
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path])
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
