"""Run one measured sync in this (child) process and write what it cost as JSON.

The parent starts one child per measured sync so that peak RSS and CPU time belong to exactly
one run. Peak RSS is the kernel's high-water mark of this program (`VmHWM`): `ru_maxrss`
would carry over the RSS of the harness the child was forked from, across exec. The child
loads connector.py the way the SDK does and runs it in one of two modes: ``runner``, through
the SDK's own in-process runner (`fivetran_connector_sdk_cli.core_adapter.run`, what
`fivetran debug` calls, with its DuckDB warehouse), or ``sink``, driven as ``connector.update``
drives it with the operations going to a counting sink (`bench.sink`), the runner taken out.
It writes its result to the file named in its arguments; stdout stays free for the connector's
logs.

Each API exchange's send and receipt times (the shared monotonic clock) are recorded around
``requests.Session.request``, so the parent can set them against the moments the simulator
counted the requests (`bench.windows`).

Usage: python -m bench.run_one '<json arguments>'   or   python -m bench.run_one @arguments.json
(see `main` for the keys; the file form avoids the kernel's limit on one argument's length)
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import sys
import threading
import time
import traceback
from urllib.parse import urlsplit

from fivetran_connector_sdk_core.errors import ConnectorTask


def current_rss_kb() -> int:
    """Resident set size now, from /proc (kB), for the baseline after imports."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_rss_kb() -> int:
    """The most this program has held resident (kB): ``VmHWM``, which exec resets, where
    /proc exists; else ``ru_maxrss``, which may include the parent's RSS at the fork."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def load_connector(project_dir: str):
    """Import connector.py under the SDK's own module name, with its package importable."""
    if project_dir not in sys.path:
        sys.path.insert(0, project_dir)
    path = os.path.join(project_dir, "connector.py")
    spec = importlib.util.spec_from_file_location("connector_connector_code", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def prepare_sdk_runtime(project_dir: str):
    """Configure the SDK the way `fivetran debug` would, minus the CLI (fivetran_sdk.md §6)."""
    from fivetran_connector_sdk_common import constants
    from fivetran_connector_sdk_common.logger import Logging

    constants.DEBUGGING = True
    Logging.LOG_LEVEL = Logging.Level.INFO


def run_sync(module, project_dir: str, configuration: dict, state: dict):
    """One sync through the SDK's real runner; returns its operation counts."""
    from fivetran_connector_sdk_cli import core_adapter

    connector = module.connector
    connector.configuration = None
    connector.state = None
    connector.project_path = project_dir
    return core_adapter.run(connector, project_dir, configuration, state)


class ExchangeTimer:
    """Send and receipt time (``time.monotonic``) of every request to ``prefix``.

    Wraps ``requests.Session.request`` for the child's lifetime: the connector's code is not
    touched, and the few microseconds per request are the same in both modes.
    """

    def __init__(self, prefix: str):
        import requests

        self.prefix = prefix
        self.exchanges: list[list] = []
        self._lock = threading.Lock()
        self._original = requests.Session.request
        timer = self

        def timed(session, method, url, *args, **kwargs):
            sent = time.monotonic()
            status = 0
            try:
                response = timer._original(session, method, url, *args, **kwargs)
                status = response.status_code
                return response
            finally:
                if str(url).startswith(timer.prefix):
                    timer.record(url, kwargs.get("params"), sent, time.monotonic(), status)

        requests.Session.request = timed

    def record(self, url, params, sent: float, answered: float, status: int) -> None:
        query = {str(key): str(value) for key, value in (params or {}).items()}
        with self._lock:
            self.exchanges.append([urlsplit(str(url)).path, query, sent, answered, status])

    def uninstall(self) -> None:
        import requests

        requests.Session.request = self._original


def run_in_mode(mode: str, module, project_dir: str, configuration: dict, state: dict):
    """One sync; returns (operation counts, the state it ended with or None, sink details)."""
    if mode == "runner":
        return run_sync(module, project_dir, configuration, state), None, None
    from bench.sink import run_sync_to_sink

    sink = run_sync_to_sink(module, configuration, state)
    details = {
        "upserted_ids": sink.upserted,
        "deleted_ids": sink.deleted,
        "encoded_bytes": sink.encoded_bytes,
        "largest_state_bytes": sink.largest_state_bytes,
    }
    final = json.loads(sink.state_json) if sink.state_json else None
    return sink.counts, final, details


def scrub(text: str, secrets: list[str]) -> str:
    """Keep credentials out of the result file, whatever the connector put in its errors."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def main(argv: list[str]) -> int:
    """Arguments (one JSON object): source_dir (where connector.py lives), project_dir
    (where files/warehouse.db and state go), configuration, state, profile (bool),
    result_path, mode ("runner", the default, or "sink")."""
    raw = argv[0]
    if raw.startswith("@"):
        with open(raw[1:], encoding="utf-8") as arguments_file:
            raw = arguments_file.read()
    arguments = json.loads(raw)
    source_dir = os.path.realpath(arguments["source_dir"])
    project_dir = arguments["project_dir"]
    result_path = arguments["result_path"]
    configuration = arguments["configuration"]
    mode = arguments.get("mode", "runner")
    secrets = [configuration.get("oauth_token", ""), configuration.get("client_secret", "")]
    result: dict = {"ok": False}
    try:
        module = load_connector(source_dir)
        prepare_sdk_runtime(project_dir)
        from fivetran_connector_sdk_cli import core_adapter  # noqa: F401  (count it in baseline)

        result["baseline_rss_kb"] = current_rss_kb()
        profiler = None
        if arguments.get("profile"):
            from bench.profiling import SamplingProfiler

            profiler = SamplingProfiler(source_dir)
        timer = ExchangeTimer(configuration["base_url"])
        usage_before = resource.getrusage(resource.RUSAGE_SELF)
        started_wall = time.time()
        started = time.perf_counter()
        final_state = None
        try:
            sync = (mode, module, project_dir, configuration, arguments["state"])
            if profiler is not None:
                with profiler:
                    counts, final_state, details = run_in_mode(*sync)
            else:
                counts, final_state, details = run_in_mode(*sync)
            result["ok"] = True
            result["counts"] = dict(counts or {})
            result["sink"] = details
        except (Exception, ConnectorTask) as error:  # the runner re-raises the failure
            result["error"] = scrub(
                f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=8)}", secrets
            )
        result["wall_seconds"] = time.perf_counter() - started
        timer.uninstall()
        result["exchanges"] = timer.exchanges
        result["mode"] = mode
        result["started_at_epoch"] = started_wall
        usage_after = resource.getrusage(resource.RUSAGE_SELF)
        result["cpu_user_seconds"] = usage_after.ru_utime - usage_before.ru_utime
        result["cpu_system_seconds"] = usage_after.ru_stime - usage_before.ru_stime
        result["peak_rss_kb"] = peak_rss_kb()
        result["rss_growth_kb"] = max(0, result["peak_rss_kb"] - result["baseline_rss_kb"])
        if profiler is not None:
            result["profile"] = profiler.summary()
        state_path = os.path.join(project_dir, "files", "state.json")
        if final_state is not None:
            result["state"] = final_state
        elif mode == "runner" and os.path.exists(state_path):
            with open(state_path, encoding="utf-8") as state_file:
                result["state"] = json.load(state_file)
    except (Exception, ConnectorTask) as error:  # harness failure: leave a result behind
        result["error"] = scrub(
            f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=8)}", secrets
        )
    with open(result_path, "w", encoding="utf-8") as output:
        json.dump(result, output)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
