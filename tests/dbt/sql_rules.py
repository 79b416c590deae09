"""Static checks of the package's SQL as compiled for a warehouse no test here can run.

Every compiled model, snapshot and test must parse in the warehouse's dialect (sqlglot), and
must keep the rules each warehouse enforces at run time that a parser does not:

- BigQuery: a DATETIME is never compared with a TIMESTAMP ("No matching signature for
  operator"). dbt.dateadd and dbt.datediff work in DATETIME there, while the connector's and
  dbt's own timestamps are TIMESTAMP columns: a comparison with a DATETIME expression on one
  side needs a DATETIME (or a DATE, which BigQuery widens) on the other.
- Redshift: a recursive CTE lists its columns; text is cast to VARCHAR(65535) (a VARCHAR or
  TEXT without a length is VARCHAR(256), which cuts names, paths and error texts); no unquoted
  identifier is one of Redshift's reserved words (sqlglot's list for Redshift).

Run in the dbt environment (sqlglot is a dependency of fakesnow there); engine_tool.py calls
check_project after `dbt compile`, and the tests call check_sql on known-bad SQL to show that
each rule catches what it is for.
"""

from __future__ import annotations

from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.dialects.redshift import Redshift
from sqlglot.errors import ParseError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
#: Redshift's VARCHAR maximum; anything shorter may cut the package's text.
REDSHIFT_TEXT_LENGTH = 65535
STRING_TYPES = {exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.CHAR}


def check_sql(sql: str, engine: str) -> list[str]:
    """The problems of one compiled statement (empty: it parses and keeps the rules)."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=engine) if s is not None]
    except ParseError as error:
        return [f"does not parse as {engine}: {str(error).splitlines()[0]}"]
    if not statements:
        return ["no SQL statement"]
    problems = []
    for statement in statements:
        if engine == "bigquery":
            problems += _datetime_compared_with_timestamp(statement)
        else:
            problems += _redshift_rules(statement)
    return problems


def _datetime_compared_with_timestamp(statement) -> list[str]:
    """Comparisons with a DATETIME side and a side that is not DATETIME or DATE. Columns are
    of unknown type to the parser; none of the package's columns is a DATETIME (a check the
    tests make on the catalog), so a column facing a DATETIME is a TIMESTAMP."""
    try:
        # Qualified, the columns of CTEs and subqueries get the types of their expressions.
        statement = qualify(statement, dialect="bigquery", validate_qualify_columns=False)
    except Exception:  # noqa: BLE001 - what sqlglot cannot qualify is still checked
        pass
    annotated = annotate_types(statement, dialect="bigquery")
    problems = []
    for comparison in annotated.find_all(*COMPARISONS):
        kinds = {_kind(comparison.left), _kind(comparison.right)}
        if "DATETIME" in kinds and not kinds <= {"DATETIME", "DATE"}:
            problems.append(f"DATETIME compared with a TIMESTAMP: {comparison.sql('bigquery')}")
    return problems


def _kind(expression) -> str:
    data_type = expression.type
    if data_type is None or data_type.this == exp.DataType.Type.UNKNOWN:
        return "TIMESTAMP" if isinstance(expression, exp.Column) else "OTHER"
    return {
        exp.DataType.Type.DATETIME: "DATETIME",
        exp.DataType.Type.DATE: "DATE",
    }.get(data_type.this, "OTHER")


def _redshift_rules(statement) -> list[str]:
    problems = []
    for cte in statement.find_all(exp.CTE):
        # Recursive: the CTE reads itself.
        if any(table.name == cte.alias for table in cte.this.find_all(exp.Table)):
            if not cte.args["alias"].columns:
                problems.append(f"recursive CTE {cte.alias} without a column list")
    for data_type in statement.find_all(exp.DataType):
        if data_type.this in STRING_TYPES and _length(data_type) < REDSHIFT_TEXT_LENGTH:
            problems.append(f"text cast to {data_type.sql('redshift')} (at most 256 characters)")
    reserved = Redshift.Generator.RESERVED_KEYWORDS
    for identifier in statement.find_all(exp.Identifier):
        if not identifier.quoted and identifier.name.lower() in reserved:
            problems.append(f"unquoted reserved word {identifier.name}")
    return problems


def _length(data_type) -> int:
    """The declared length; Redshift's default (256) when there is none."""
    sizes = data_type.expressions
    if not sizes:
        return 256
    size = sizes[0].this
    text = size.name if isinstance(size, exp.Expression) else str(size)
    return REDSHIFT_TEXT_LENGTH if text.upper() == "MAX" else int(text)


def check_project(target: Path, engine: str) -> dict:
    """Every compiled file of the package under target/compiled: how many, and problems."""
    files = sorted((Path(target) / "compiled" / "xurrent").rglob("*.sql"))
    problems = {}
    for path in files:
        found = check_sql(path.read_text(), engine)
        if found:
            problems[str(path.relative_to(target))] = sorted(set(found))
    kinds = {"models": 0, "snapshots": 0, "tests": 0}
    for path in files:
        relative = path.relative_to(Path(target) / "compiled" / "xurrent")
        if relative.parts[0] == "snapshots":
            kinds["snapshots"] += 1
        elif path.parent.name == "staging" or path.parent.name == "marts":
            kinds["models"] += 1
        else:
            kinds["tests"] += 1
    return {"files": len(files), "kinds": kinds, "problems": problems}
