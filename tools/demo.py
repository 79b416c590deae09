"""Run the connector end to end against the local Xurrent API simulator.

`make demo` calls this script. It exists so a new user can see a real sync (the SDK's own
`fivetran debug` writing DuckDB at files/warehouse.db) without an Xurrent account:

1. start the simulator on loopback with the seed-size dataset and the real rate limits;
2. run `fivetran debug` with demo/configuration.json;
3. stop the simulator and print the row count of each table.

The simulator's data is anchored to the time of the first demo run (kept in files/, so
`fivetran reset` starts over), which makes a second `make demo` an incremental sync: the
simulator then changes a few rows per collection at start, and only those are read again.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
FILES_DIR = PROJECT_DIR / "files"
ANCHOR_FILE = FILES_DIR / "demo_anchor.txt"
STATE_FILE = FILES_DIR / "state.json"
WAREHOUSE = FILES_DIR / "warehouse.db"
DEMO_CONFIGURATION = PROJECT_DIR / "demo" / "configuration.json"
TABLES = ("organizations", "products", "projects")


def parse_arguments():
    """Let a user shrink the demo or change the port without editing files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8765, help="simulator port (default 8765)")
    parser.add_argument(
        "--scale", default=os.environ.get("DEMO_SCALE", "seed"), help="tiny, small or seed"
    )
    parser.add_argument(
        "--changes",
        type=int,
        default=25,
        help="rows per collection the simulator changes before a repeated run (default 25)",
    )
    return parser.parse_args()


def demo_anchor():
    """Return the anchor of the simulator's data, fixed at the first run of the demo."""
    FILES_DIR.mkdir(exist_ok=True)
    if ANCHOR_FILE.exists():
        return ANCHOR_FILE.read_text().strip()
    anchor = datetime.now(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    ANCHOR_FILE.write_text(anchor + "\n")
    return anchor


def start_simulator(port, scale, anchor, changes, ready_file):
    """Start the simulator as a child process and wait until it listens."""
    command = [
        sys.executable,
        "-m",
        "simulator",
        "--port",
        str(port),
        "--token",
        "demo-token",
        "--account",
        "demo",
        "--scale",
        scale,
        "--anchor",
        anchor,
        "--ready-file",
        ready_file,
    ]
    if STATE_FILE.exists() and changes > 0:
        command += ["--mutate-on-start", str(changes)]
    process = subprocess.Popen(command, cwd=PROJECT_DIR)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"The simulator exited with code {process.returncode}; is port {port} free?"
            )
        if os.path.exists(ready_file) and os.path.getsize(ready_file) > 0:
            return process
        time.sleep(0.1)
    process.terminate()
    raise SystemExit("The simulator did not start within 120 s.")


def stop_simulator(process):
    """Stop the simulator politely, then firmly."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def run_fivetran_debug():
    """Run the SDK's own local runner, exactly as a user would."""
    environment = dict(os.environ, DO_NOT_TRACK="1")
    bin_dir = str(Path(sys.executable).parent)
    environment["PATH"] = bin_dir + os.pathsep + environment.get("PATH", "")
    fivetran = os.path.join(bin_dir, "fivetran")
    command = [fivetran, "debug", str(PROJECT_DIR), "--configuration", str(DEMO_CONFIGURATION)]
    return subprocess.call(command, cwd=PROJECT_DIR, env=environment)


def print_row_counts():
    """Print what landed, read straight from the DuckDB file the SDK wrote."""
    import duckdb

    connection = duckdb.connect(str(WAREHOUSE), read_only=True)
    try:
        print("\nRows in files/warehouse.db:")
        for table in TABLES:
            count = connection.execute(f'SELECT count(*) FROM tester."{table}"').fetchone()[0]
            print(f"  {table:<15} {count:>8}")
    finally:
        connection.close()


def main():
    arguments = parse_arguments()
    anchor = demo_anchor()
    repeated = STATE_FILE.exists()
    print(
        f"Demo: {'incremental' if repeated else 'first'} sync, simulator data anchored at {anchor}"
    )
    if repeated:
        print(
            f"The simulator changes {arguments.changes} rows per collection before this sync; "
            "the connector reads those again, plus the rows updated in the 5 minutes before its "
            "saved cursor (lookback_minutes, for late writes)."
        )
    with tempfile.TemporaryDirectory() as scratch:
        ready_file = os.path.join(scratch, "ready")
        simulator = start_simulator(
            arguments.port, arguments.scale, anchor, arguments.changes, ready_file
        )
        try:
            exit_code = run_fivetran_debug()
        finally:
            stop_simulator(simulator)
    if exit_code != 0:
        raise SystemExit(f"fivetran debug failed with exit code {exit_code}")
    print_row_counts()


if __name__ == "__main__":
    main()
