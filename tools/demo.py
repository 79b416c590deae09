"""Run the connector end to end against the local Xurrent API simulator: `make demo`.

A newcomer sees a real sync (the SDK's own `fivetran debug` writing DuckDB at
files/warehouse.db) without an Xurrent account:

1. start the simulator on loopback with the small dataset (a twentieth of the business's
   volumes, every table; `--scale seed` for all of them, which takes a few minutes longer)
   and the real rate limits;
2. run `fivetran debug` on a staged copy of the production files (connector.py,
   xurrent_connector/, requirements.txt in build/demo/, whose files/ is the repository's),
   so the SDK's dependency check sees only the connector's imports, not those of the tests,
   the simulator or the benchmark;
3. show the connector's own progress lines and the SDK's verdict, keep the SDK's whole output
   (it prints the state at every checkpoint) in files/demo-sync.log;
4. stop the simulator (its log: files/demo-simulator.log), print the row count of each table,
   and run the dbt package's quality report on the warehouse (tools/models.py) when it is
   there.

The simulator's data is anchored to the time of the first demo run (kept in files/, so
`fivetran reset` starts over), which makes a second `make demo` an incremental sync: the
simulator then changes a few rows per collection at start, and only those are read again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import package

PROJECT_DIR = Path(__file__).resolve().parent.parent
FILES_DIR = PROJECT_DIR / "files"
STAGING_DIR = PROJECT_DIR / "build" / "demo"
ANCHOR_FILE = FILES_DIR / "demo_anchor.txt"
STATE_FILE = FILES_DIR / "state.json"
WAREHOUSE = FILES_DIR / "warehouse.db"
LOG_FILE = FILES_DIR / "demo-sync.log"
SIMULATOR_LOG = FILES_DIR / "demo-simulator.log"
DEMO_CONFIGURATION = PROJECT_DIR / "demo" / "configuration.json"
MODELS_SCRIPT = PROJECT_DIR / "tools" / "models.py"
sys.path.insert(0, str(PROJECT_DIR))
from xurrent_connector.streams import TABLE_NAMES  # noqa: E402

TABLES = (*TABLE_NAMES, "sync_health")
#: What a newcomer needs from the SDK's output: the connector's lines, problems, the verdict.
SHOWN = re.compile(r"⚡ connector|\b(WARNING|SEVERE|ERROR)\b|SYNC (SUCCEEDED|FAILED)|^Error")


def parse_arguments():
    """Let a user shrink the demo or change the port without editing files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8765, help="simulator port (default 8765)")
    parser.add_argument(
        "--scale", default=os.environ.get("DEMO_SCALE", "small"), help="tiny, small or seed"
    )
    parser.add_argument(
        "--changes",
        type=int,
        default=25,
        help="rows per collection the simulator changes before a repeated run (default 25)",
    )
    return parser.parse_args()


def demo_anchor() -> str:
    """The anchor of the simulator's data, fixed at the first run of the demo."""
    FILES_DIR.mkdir(exist_ok=True)
    if ANCHOR_FILE.exists():
        return ANCHOR_FILE.read_text().strip()
    anchor = datetime.now(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    ANCHOR_FILE.write_text(anchor + "\n")
    return anchor


def start_simulator(arguments, anchor: str, ready_file: str) -> subprocess.Popen:
    """Start the simulator as a child process and wait until it listens."""
    command = [sys.executable, "-m", "simulator", "--port", str(arguments.port)]
    command += ["--token", "demo-token", "--account", "demo", "--scale", arguments.scale]
    command += ["--anchor", anchor, "--ready-file", ready_file]
    if STATE_FILE.exists() and arguments.changes > 0:
        command += ["--mutate-on-start", str(arguments.changes)]
    with open(SIMULATOR_LOG, "w", encoding="utf-8") as log_file:
        process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=log_file, stderr=log_file)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"The simulator exited with code {process.returncode}; is port "
                f"{arguments.port} free? (make demo DEMO_ARGS='--port 8766')"
            )
        if os.path.exists(ready_file) and os.path.getsize(ready_file) > 0:
            return process
        time.sleep(0.1)
    process.terminate()
    raise SystemExit("The simulator did not start within 120 s.")


def stop_simulator(process: subprocess.Popen) -> None:
    """Stop the simulator politely, then firmly."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def stage_project(port: int) -> Path:
    """The production files in build/demo/, with the repository's files/ as its files/, and
    the demo configuration pointing at the simulator's port."""
    staged = package.stage(STAGING_DIR)
    (staged / "files").symlink_to(FILES_DIR, target_is_directory=True)
    configuration = json.loads(DEMO_CONFIGURATION.read_text())
    configuration["base_url"] = f"http://127.0.0.1:{port}/v1"
    (staged / "configuration.json").write_text(json.dumps(configuration, indent=2) + "\n")
    return staged


def run_fivetran_debug(staged: Path) -> int:
    """Run the SDK's own `fivetran debug`, exactly as a user would, and filter what it says."""
    with tempfile.TemporaryDirectory(prefix="xurrent-pipreqs-") as work_dir:
        environment = package.sdk_environment(package.write_offline_pipreqs(Path(work_dir)))
        command = [package.fivetran_executable(), "debug", str(staged)]
        with open(LOG_FILE, "w", encoding="utf-8") as log_file:
            process = subprocess.Popen(
                command,
                cwd=staged,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for line in process.stdout:
                log_file.write(line)
                if SHOWN.search(line):
                    print(line.rstrip()[:200], flush=True)
            return process.wait()


def print_row_counts() -> None:
    """What landed, read straight from the DuckDB file the SDK wrote."""
    import duckdb

    connection = duckdb.connect(str(WAREHOUSE), read_only=True)
    try:
        print("\nRows in files/warehouse.db (schema tester):")
        for table in TABLES:
            count = connection.execute(f'SELECT count(*) FROM tester."{table}"').fetchone()[0]
            print(f"  {table:<20} {count:>8}")
    finally:
        connection.close()


def main() -> None:
    arguments = parse_arguments()
    anchor = demo_anchor()
    repeated = STATE_FILE.exists()
    kind = "an incremental" if repeated else "a first"
    print(f"Demo: {kind} sync of the simulator's data (anchored at {anchor})")
    if repeated:
        print(
            f"The simulator changes {arguments.changes} rows per collection first; the connector "
            "reads those again, plus the 5 minutes before its saved cursor (lookback_minutes)."
        )
    staged = stage_project(arguments.port)
    with tempfile.TemporaryDirectory() as scratch:
        simulator = start_simulator(arguments, anchor, os.path.join(scratch, "ready"))
        try:
            exit_code = run_fivetran_debug(staged)
        finally:
            stop_simulator(simulator)
    print(f"The SDK's whole output is in {LOG_FILE.relative_to(PROJECT_DIR)}.")
    if exit_code != 0:
        raise SystemExit(f"fivetran debug failed with exit code {exit_code}")
    print_row_counts()
    if MODELS_SCRIPT.exists():
        print("\nData quality (the dbt package in dbt/, `make models`):", flush=True)
        raise SystemExit(
            subprocess.call(["make", "--no-print-directory", "models"], cwd=PROJECT_DIR)
        )


if __name__ == "__main__":
    main()
