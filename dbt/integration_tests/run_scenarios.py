"""Run the package on the seeds for every scenario of scenarios.yml, with DuckDB.

    ../../.venv-dbt/bin/python run_scenarios.py [--database PATH] [--target-path PATH]

`dbt deps` links the package (a local path, no network), then each scenario runs `dbt build`
(the seeds, the models, the snapshot and every test) with its variables, and a second time for
the models that keep history (the incremental table sizes and the snapshot) when it says
`rerun: true`. Prints one line per step and exits non-zero when a step fails or a test does not
pass.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
DBT = Path(sys.executable).parent / "dbt"
RERUN = ["--select", "xurrent__table_sizes", "xurrent__projects_snapshot"]


def dbt(arguments, *command: str, variables: dict | None = None) -> tuple[bool, list]:
    """One dbt command; its success and the statuses of what it ran."""
    full = [str(DBT), *command, "--project-dir", str(HERE), "--profiles-dir", str(HERE)]
    if command[0] != "deps":  # deps writes dbt_packages/ here and takes no target path
        full += ["--target-path", str(arguments.target_path)]
    full += ["--log-path", str(arguments.log_path)]
    if variables:
        full += ["--vars", json.dumps(variables)]
    environment = dict(
        os.environ,
        XURRENT_INTEGRATION_DATABASE=str(arguments.database),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    completed = subprocess.run(full, env=environment, capture_output=True, text=True)
    results_file = arguments.target_path / "run_results.json"
    statuses = []
    if command[0] == "build" and results_file.exists():
        statuses = [r["status"] for r in json.loads(results_file.read_text())["results"]]
    if completed.returncode:
        print(completed.stdout[-3000:], completed.stderr[-2000:], sep="\n")
    return completed.returncode == 0, statuses


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", type=Path, default=HERE / "integration_tests.duckdb")
    parser.add_argument("--target-path", type=Path, default=HERE / "target")
    parser.add_argument("--log-path", type=Path, default=HERE / "logs")
    arguments = parser.parse_args(argv)
    scenarios = yaml.safe_load((HERE / "scenarios.yml").read_text())["scenarios"]
    steps = [("deps", ("deps",), None)]
    for scenario in scenarios:
        steps.append((scenario["name"], ("build",), scenario["vars"]))
        if scenario.get("rerun"):
            steps.append((scenario["name"] + " (rerun)", ("build", *RERUN), scenario["vars"]))
    failed = 0
    for name, command, variables in steps:
        ok, statuses = dbt(arguments, *command, variables=variables)
        passing = all(status in ("success", "pass") for status in statuses)
        failed += not (ok and passing)
        print(f"{'ok  ' if ok and passing else 'FAIL'} {name}: {len(statuses)} nodes")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
