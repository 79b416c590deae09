"""Print the "Tables created" section of README.md from the declared schema.

The README's column lists are generated from `schema()` and the table specs rather than written
by hand, so that a column added to a table cannot be missing from the documentation (a test in
tests/docs compares the two). Run `.venv/bin/python tools/readme_tables.py` and paste the
output into README.md.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from connector import schema  # noqa: E402
from xurrent_connector.tables import TABLES  # noqa: E402

LIFECYCLE_COLUMNS = {
    "archived_at": "when the project was moved to the archive (from `GET /v1/archive`)",
    "trashed_at": "when the project was moved to the trash (from `GET /v1/trash`)",
}


def type_name(declared) -> str:
    """Show DECIMAL with its precision and scale, other types by name."""
    if isinstance(declared, dict):
        return f"DECIMAL({declared['precision']},{declared['scale']})"
    return declared


def origin(table: str, column: str) -> str:
    """The API field a column is read from (a reference's `_id`/`_name` come from the one
    field), or how the connector computes it."""
    if column in LIFECYCLE_COLUMNS:
        return LIFECYCLE_COLUMNS[column]
    spec = TABLES.get(table)
    if spec is None:
        return "computed, see [Sync health](#sync-health)"
    return "`" + next(c.source for c in spec.columns if c.name == column) + "`"


def tables_markdown() -> str:
    """One Markdown table per declared table: column, type and origin, in declaration order."""
    sections = []
    for table in schema({}):
        name = table["table"]
        keys = ", ".join(f"`{column}`" for column in table["primary_key"])
        lines = [
            f"### `{name}` (primary key {keys})",
            "",
            "| column | type | API field |",
            "| --- | --- | --- |",
        ]
        lines += [
            f"| `{column}` | {type_name(kind)} | {origin(name, column)} |"
            for column, kind in table["columns"].items()
        ]
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


if __name__ == "__main__":
    print(tables_markdown())
