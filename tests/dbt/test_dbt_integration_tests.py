"""dbt/integration_tests: the package run on seeds instead of the connector, as a user without
the connector (or Fivetran's own CI for its packages) runs it.

The seeds are what the connector wrote for two connections; they must keep up with the
connector's columns, and every scenario of scenarios.yml must build with every test passing.
"""

from __future__ import annotations

import csv
import json
import subprocess

from package_support import DBT_PROJECT, DBT_VENV, require_dbt

from xurrent_connector import health, streams

INTEGRATION = DBT_PROJECT / "integration_tests"


def seed_header(name: str) -> list[str]:
    with open(INTEGRATION / "seeds" / f"{name}.csv", newline="") as handle:
        return next(csv.reader(handle))


def test_seeds_hold_every_column_the_connector_writes():
    """Every table of the connector's declaration, with every column and Fivetran's system
    columns, in the directory connection's seeds (the support connection has no products)."""
    declared = {name: [c.name for c in stream.columns] for name, stream in streams.TABLES.items()}
    declared["sync_health"] = list(health.HEALTH_COLUMNS)
    for table, columns in declared.items():
        header = seed_header(f"directory_{table}")
        missing = [
            c for c in [*columns, "_fivetran_synced", "_fivetran_deleted"] if c not in header
        ]
        assert missing == [], (table, missing)
    assert not (INTEGRATION / "seeds" / "support_products.csv").exists()


def test_every_scenario_builds_with_every_test_passing(tmp_path):
    """run_scenarios.py on DuckDB: each scenario's build passes (models, snapshot, tests);
    custom fields read from the directory's JSON and the support's text equal the seeds'."""
    require_dbt()
    completed = subprocess.run(
        [str(DBT_VENV / "bin" / "python"), str(INTEGRATION / "run_scenarios.py"),
         "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("ok ") for line in lines), lines

    expected = {}
    for connection in ("directory", "support"):
        with open(INTEGRATION / "seeds" / f"{connection}_projects.csv", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["_fivetran_deleted"] == "false":
                    fields = {
                        f["id"]: f["value"] for f in json.loads(row["custom_fields"] or "[]")
                    }
                    key = f"xurrent_{connection}/{row['id']}"
                    expected[key] = [fields.get("cost_center"), fields.get("tier")]
    script = (
        "import duckdb, json, sys; c = duckdb.connect(sys.argv[1], read_only=True);"
        " print(json.dumps({f\"{r[0].split('.')[-1]}/{r[1]}\": [r[2], r[3]] for r in c.execute("
        "'select source_relation, project_id, cost_center, service_tier"
        " from xurrent.stg_xurrent__projects').fetchall()}))"
    )
    found = subprocess.run(
        [str(DBT_VENV / "bin" / "python"), "-c", script, str(tmp_path / "integration.duckdb")],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(found.stdout) == expected
    assert any(values[0] for values in expected.values())
