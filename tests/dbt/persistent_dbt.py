"""One long-lived dbt process for the package tests (run with .venv-dbt's Python; not named
dbt_*: dbt imports every dbt_* module on sys.path as a plugin).

Starting dbt costs seconds of CPU before it does anything (importing dbt-core and its adapter
alone takes most of them), and the package tests run a dozen dbt commands: package_support.Dbt
sends them here instead of starting `dbt` each time. Each request is one JSON line on stdin,
{"args": [...], "env": {...}, "cwd": "..."}; each answer one JSON line on stdout,
{"returncode": 0 | 1 | 2, "output": "..."}, with dbt's exit codes (0 success, 1 a node or a
test failed, 2 dbt could not run) and what dbt printed. The command runs exactly as the `dbt`
executable would run it (dbtRunner is the entry point behind it); only the process is kept.

dbt-duckdb keeps its database open for the process's lifetime (a class attribute): it is
closed after every command, so that the tests, the connector and the next command can open
the files.

The project is parsed once per set of variables (dbt's own programmatic use: a preloaded
manifest passed to dbtRunner), as the package tests run the same project with the same variables
over different warehouses, whose paths only the profile's connection holds. A command with
--store-failures is parsed on its own (the flag changes the tests' nodes).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys


def main() -> int:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    # Whatever writes to the process's stdout from now on (not dbt's console, which goes to
    # the answer) must not mix with the answers.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from dbt.cli.main import dbtRunner  # most of dbt's start, done before the first request

    manifests: dict[str, object] = {}
    for line in sys.stdin:
        if line.strip():
            answer = _serve(dbtRunner, manifests, json.loads(line))
            answers.write(json.dumps(answer) + "\n")
            answers.flush()
    return 0


def _serve(runner, manifests: dict, request: dict) -> dict:
    """Run one command; its exit code and what dbt printed."""
    os.environ.update(request.get("env") or {})
    os.chdir(request.get("cwd") or os.getcwd())
    command, flags = request["command"], request["flags"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        try:
            manifest = None
            if "--store-failures" not in command:
                manifest = _parsed(runner, manifests, flags)
            result = runner(manifest=manifest).invoke([*command, *flags])
            code = 0 if result.success else (2 if result.exception is not None else 1)
            if result.exception is not None:
                print(f"dbt raised: {result.exception!r}")
        except BaseException as error:  # noqa: B036 - report anything, keep serving
            code = 2
            print(f"dbt raised: {error!r}")
        finally:
            _close_duckdb()
    return {"returncode": code, "output": printed.getvalue()}


#: Flags that name where dbt writes, not what it parses.
PATH_FLAGS = ("--target-path", "--log-path")


def _parsed(runner, manifests: dict, flags: list[str]):
    """The project parsed with these flags (cached); None when the parse fails (the command
    then parses, and reports, itself)."""
    kept, skip_value = [], False
    for flag in flags:
        if not skip_value and flag not in PATH_FLAGS:
            kept.append(flag)
        skip_value = flag in PATH_FLAGS
    key = json.dumps(kept)
    if key not in manifests:
        parsed = runner().invoke(["parse", *flags])
        if not parsed.success:
            return None
        manifests[key] = parsed.result
    return manifests[key]


def _close_duckdb() -> None:
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


if __name__ == "__main__":
    sys.exit(main())
