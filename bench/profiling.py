"""CPU attribution for one sync: whose code burns the CPU, the connector's or the SDK's?

Wall time of a sync against a paced API says little about the connector's own efficiency, so
the benchmark measures CPU separately, with a sampling profiler built for that question:

* a sampler thread wakes every few milliseconds, reads each thread's own CPU clock (Linux
  per-thread CPU clocks, nanosecond resolution) and snapshots every thread's Python stack;
* the CPU a thread burned since the previous sample is charged to the stack it is on now.
  Time blocked on a socket or asleep in a pacer burns no CPU, so it is charged to nothing;
* every thread is covered, including worker threads a connector may start.

A deterministic profiler (cProfile) was tried first: its per-call clock reads made the SDK's
call-heavy renaming code look eight times more expensive, which distorts exactly the
comparison this is for. Sampling costs a few percent and keeps the proportions.

Two views come out of each sample:

* self: the bucket (connector / SDK / rest) of the innermost Python frame, i.e. whose code
  was running; C functions have no frame, so their CPU lands on the Python caller;
* charged: the nearest frame that belongs to the connector or the SDK, so JSON parsing,
  requests/urllib3 and datetime work is charged to whoever asked for it. That answers the
  practical question: what does a row cost in the connector, apart from the SDK runner.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter

CONNECTOR = "connector"
SDK = "sdk"
REST = "rest"
BUCKETS = (CONNECTOR, SDK, REST)

#: Top-level packages that make up the SDK runner: the CLI facade, its core, the shared
#: helpers, telemetry, and DuckDB, which the runner uses to write the warehouse.
SDK_PACKAGES = (
    "fivetran_connector_sdk",
    "fivetran_connector_sdk_cli",
    "fivetran_connector_sdk_common",
    "fivetran_connector_sdk_core",
    "fivetran_cli_telemetry",
    "duckdb",
    "_duckdb",
)


class FileClassifier:
    """Decide which bucket a function belongs to, from the file it is defined in."""

    def __init__(self, project_dir: str):
        project_dir = os.path.realpath(project_dir)
        self._connector_package = os.path.join(project_dir, "xurrent_connector") + os.sep
        self._connector_module = os.path.join(project_dir, "connector.py")
        self._cache: dict[str, str | None] = {}

    def bucket(self, filename: str) -> str | None:
        """The bucket of a Python file, or None for generated code (no file of its own)."""
        if filename not in self._cache:
            self._cache[filename] = self._classify(filename)
        return self._cache[filename]

    def _classify(self, filename: str) -> str | None:
        if filename.startswith("<"):
            return None
        real = os.path.realpath(filename)
        if real == self._connector_module or real.startswith(self._connector_package):
            return CONNECTOR
        parts = real.split(os.sep)
        if "site-packages" in parts:
            index = parts.index("site-packages")
            top = parts[index + 1] if index + 1 < len(parts) else ""
            if top.split(".")[0] in SDK_PACKAGES:
                return SDK
        return REST


def thread_cpu_seconds(native_id: int) -> float | None:
    """CPU time of one thread of this process, or None once it has exited.

    The clock id is built from the kernel thread id (Linux's MAKE_THREAD_CPUCLOCK with the
    scheduler clock), not through pthread_getcpuclockid, which would dereference the handle
    of a thread that may have exited and been freed in between.
    """
    try:
        return time.clock_gettime(((~native_id) << 3) | 6)
    except OSError:
        return None


class SamplingProfiler:
    """Charge each thread's CPU, sample by sample, to the Python stack it is running."""

    def __init__(self, project_dir: str, interval_seconds: float = 0.002):
        self.classifier = FileClassifier(project_dir)
        self.interval = interval_seconds
        self.self_seconds = dict.fromkeys(BUCKETS, 0.0)
        self.charged_seconds = dict.fromkeys(BUCKETS, 0.0)
        self.by_function: Counter = Counter()
        self.by_connector_function: Counter = Counter()
        self.samples = 0
        self._last_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self):
        for thread in threading.enumerate():
            if thread.native_id is not None:
                self._last_cpu[thread.native_id] = thread_cpu_seconds(thread.native_id) or 0.0
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self._sample()  # charge the tail since the last tick
        return False

    def _loop(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self):
        me = threading.get_ident()
        native_ids = {
            thread.ident: thread.native_id
            for thread in threading.enumerate()
            if thread.native_id is not None and thread.ident != me
        }
        frames = sys._current_frames()
        self.samples += 1
        for ident, frame in frames.items():
            native_id = native_ids.get(ident)
            if native_id is None:
                continue
            now = thread_cpu_seconds(native_id)
            if now is None:
                continue
            # A thread first seen now started after __enter__: all its CPU is new.
            spent = now - self._last_cpu.get(native_id, 0.0)
            self._last_cpu[native_id] = now
            if spent > 0:
                self._charge(frame, spent)

    def _charge(self, frame, seconds: float):
        innermost, own, charged, connector_frame = _classify_stack(frame, self.classifier)
        self.self_seconds[own or REST] += seconds
        self.charged_seconds[charged or REST] += seconds
        if innermost is not None:
            self.by_function[(innermost.co_filename, innermost.co_name, own)] += seconds
        if charged == CONNECTOR and connector_frame is not None:
            key = (connector_frame.co_filename, connector_frame.co_name, CONNECTOR)
            self.by_connector_function[key] += seconds

    def summary(self, top: int = 15) -> dict:
        """Seconds per bucket in both views, and the hottest functions."""
        return {
            "method": f"CPU-clock sampling every {self.interval * 1000:g} ms, all threads",
            "samples": self.samples,
            "self_seconds": dict(self.self_seconds),
            "charged_seconds": dict(self.charged_seconds),
            "profiled_cpu_seconds": sum(self.self_seconds.values()),
            "top_functions": _top(self.by_function, top),
            "top_connector_functions": _top(self.by_connector_function, top),
        }


def _classify_stack(frame, classifier):
    """(innermost classified code, its bucket, the bucket charged, the connector's frame):
    walking out from the sampled frame, the first connector or SDK frame is charged."""
    innermost = own = charged = None
    while frame is not None:
        code = frame.f_code
        bucket = classifier.bucket(code.co_filename)
        if bucket is not None and innermost is None:
            innermost, own = code, bucket
        if bucket in (CONNECTOR, SDK) and charged is None:
            charged = bucket
        if bucket == CONNECTOR:
            return innermost, own, charged, code
        frame = frame.f_back
    return innermost, own, charged, None


def _top(counter: Counter, count: int) -> list[dict]:
    return [
        {"function": f"{short_path(filename)}:{name}", "bucket": bucket, "cpu_seconds": seconds}
        for (filename, name, bucket), seconds in counter.most_common(count)
    ]


def short_path(filename: str) -> str:
    """Shorten a path to what identifies it: from the package (or repo folder) on."""
    normalized = filename.replace(os.sep, "/")
    if "/site-packages/" in normalized:
        return normalized.split("/site-packages/", 1)[1]
    marker = "/lib/python"
    if marker in normalized:
        tail = normalized.split(marker, 1)[1]
        return "stdlib/" + tail.split("/", 1)[1] if "/" in tail else tail
    return "/".join(normalized.split("/")[-2:])
