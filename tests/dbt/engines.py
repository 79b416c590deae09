"""The dbt package on other warehouse engines, from the tests' side: a throw-away PostgreSQL
server, and engine_tool.py started in the dbt environment once per engine (once for both compiled
engines), side by side.

PostgreSQL runs as an unprivileged cluster in a temporary folder (as the `postgres` user when
the tests run as root, which PostgreSQL refuses), on a Unix socket only. Its server binaries
come from the machine (Debian's postgresql package; .ci/run installs it when missing).
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from package_support import DBT_VENV

ENGINE_TOOL = Path(__file__).resolve().parent / "engine_tool.py"
PG_PORT = 5432  # only names the socket file: the server listens on no TCP address


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if not found:
        pytest.fail(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): "
            "apt-get install postgresql (.ci/run does it on a fresh machine)"
        )
    return Path(found[-1]).parent


def _version(path: str) -> int:
    return int(Path(path).parents[1].name)


class PostgresServer:
    """initdb, pg_ctl start, pg_ctl stop; the data and the socket in one temporary folder."""

    def __init__(self):
        self.bin = postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="xurrent-pg-"))
        self.root.chmod(0o755)  # the postgres user must reach the socket and data folders
        self.data = self.root / "data"
        self.socket = self.root / "socket"
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        completed = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=120
        )
        if completed.returncode:
            pytest.fail(f"{command[0]} failed: {completed.stdout}{completed.stderr}")

    def start(self) -> "PostgresServer":
        self.data.mkdir()
        self.socket.mkdir()
        if self.user:
            entry = pwd.getpwnam(self.user)
            for folder in (self.data, self.socket):
                os.chown(folder, entry.pw_uid, entry.pw_gid)
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--no-sync", "--encoding=UTF8", "--locale=C",
        )  # fmt: skip
        options = (
            f"-p {PG_PORT} -k {self.socket} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c TimeZone=UTC"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.socket / "server.log"),
            "-w", "-o", options, "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        subprocess.run(
            [*prefix, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class EngineRun:
    """What engine_tool.py reported for one engine."""

    engine: str
    returncode: int
    seconds: float
    output: str
    summary: dict = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.engine}: exit {self.returncode}\n{self.output[-5000:]}"

    def run(self, command: list[str]) -> dict:
        """What one dbt command did (success, error, results)."""
        (found,) = [run for run in self.summary["runs"] if run["command"] == command]
        return found

    def statuses(self, command: list[str]) -> dict[str, str]:
        """{unique_id: status} of one dbt command."""
        return {result["unique_id"]: result["status"] for result in self.run(command)["results"]}

    def rows(self) -> dict:
        return json.loads(Path(self.summary["rows"]).read_text())


def start_engine(action: str, engine: str, warehouse: Path, workdir: Path, variables: dict,
                 steps=(), postgres: PostgresServer | None = None,
                 wait_for: Path | None = None):  # fmt: skip
    """Start engine_tool.py for one engine; finish_engine() waits for it. With `wait_for`, the
    tool parses the package and then waits for that file (the warehouse ready)."""
    command = [
        str(DBT_VENV / "bin" / "python"),
        str(ENGINE_TOOL),
        action,
        engine,
        "--warehouse",
        str(warehouse),
        "--workdir",
        str(workdir),
        "--vars",
        json.dumps(variables),
        *(argument for step in steps for argument in ("--step", json.dumps(step))),
    ]
    if postgres is not None:
        command += ["--socket", str(postgres.socket), "--port", str(PG_PORT)]
    if wait_for is not None:
        command += ["--wait-for", str(wait_for)]
    # Beside the engine's workdir; for several engines, in the folder of their workdirs.
    log = open((workdir if "," in engine else workdir.parent) / f"{engine}.log", "w+")
    environment = dict(os.environ, DO_NOT_TRACK="1", DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    return engine, process, log, time.monotonic()


def stop_engine(started) -> None:
    """Kill an engine that has not finished (the fixture failed before the warehouse was
    ready)."""
    _, process, log, _ = started
    if process.poll() is None:
        process.kill()
        process.wait()
    log.close()


def finish_engine(started, timeout: float = 400) -> list[EngineRun]:
    """The run of each engine the process ran (several: `engine` lists them, comma-separated,
    and the tool's summary has one per engine)."""
    engine, process, log, began = started
    try:
        returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        returncode = process.wait()
    log.seek(0)
    output = log.read()
    log.close()
    names = engine.split(",")
    runs = [EngineRun(name, returncode, time.monotonic() - began, output) for name in names]
    lines = output.strip().splitlines()
    if returncode == 0 and lines:
        summary = json.loads(lines[-1])
        for run in runs:
            run.summary = summary["engines"][run.engine] if len(names) > 1 else summary
    return runs
