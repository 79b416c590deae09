"""Run the package on the seeds for every scenario of scenarios.yml, with DuckDB.

    ../../.venv-dbt/bin/python run_scenarios.py [--workdir PATH]

The project is copied to a working folder first (a temporary one by default) whose
packages.yml names this package's folder: `dbt deps` there links the package (no network)
without leaving a dbt_packages/ link to ../ in the repository, which would loop back into
itself for anything that walks the tree. `dbt seed` loads the seeds, then each scenario runs
`dbt build` (the models, the snapshot and every test) with its variables, and a second time for
the models that keep history (the incremental table sizes and the snapshot) when it says
`rerun: true`. Prints one line per step and exits non-zero when a step fails or a test does not
pass.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
RERUN = ["--select", "xurrent__table_sizes", "xurrent__projects_snapshot"]


def prepare(workdir: Path) -> None:
    """This project in workdir, its package by absolute path."""
    for name in ("dbt_project.yml", "profiles.yml", "macros", "seeds"):
        source = HERE / name
        copy = shutil.copytree if source.is_dir() else shutil.copyfile
        copy(source, workdir / name)
    (workdir / "packages.yml").write_text(f"packages:\n  - local: {HERE.parent}\n")


def dbt(arguments, *command: str, variables: dict | None = None) -> tuple[bool, list]:
    """One dbt command; its success and the statuses of what it ran."""
    from dbt.cli.main import dbtRunner

    project = str(arguments.workdir)
    full = [*command, "--project-dir", project, "--profiles-dir", project]
    if command[0] != "deps":  # deps writes dbt_packages/ here and takes no target path
        full += ["--target-path", str(arguments.target_path)]
    full += ["--log-path", str(arguments.log_path)]
    if variables:
        full += ["--vars", json.dumps(variables)]
    os.environ["XURRENT_INTEGRATION_DATABASE"] = str(arguments.database)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        result = dbtRunner().invoke(full)
    results_file = arguments.target_path / "run_results.json"
    statuses = []
    if command[0] in ("build", "seed") and results_file.exists():
        statuses = [r["status"] for r in json.loads(results_file.read_text())["results"]]
    if not result.success:
        print(printed.getvalue()[-5000:], result.exception or "", sep="\n")
    return result.success, statuses


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, help="default: a temporary folder")
    parser.add_argument("--database", type=Path, help="default: integration.duckdb in workdir")
    parser.add_argument("--target-path", type=Path, help="default: target in workdir")
    parser.add_argument("--log-path", type=Path, help="default: logs in workdir")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xurrent-integration-") as temporary:
        arguments.workdir = (arguments.workdir or Path(temporary)).resolve()
        arguments.workdir.mkdir(parents=True, exist_ok=True)
        arguments.database = arguments.database or arguments.workdir / "integration.duckdb"
        arguments.target_path = arguments.target_path or arguments.workdir / "target"
        arguments.log_path = arguments.log_path or arguments.workdir / "logs"
        prepare(arguments.workdir)
        return run_scenarios(arguments)


def run_scenarios(arguments) -> int:
    scenarios = yaml.safe_load((HERE / "scenarios.yml").read_text())["scenarios"]
    # The seeds first: the staging models find the connections' tables by introspection, not
    # through the DAG, so a `dbt build` could reach them before it loaded the seeds.
    steps = [
        ("deps", ("deps",), None),
        ("seeds", ("seed", "--full-refresh"), scenarios[0]["vars"] if scenarios else None),
    ]
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
