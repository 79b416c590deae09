"""Command line: --help lists the switches, the server starts, serves and stops on SIGTERM."""

import signal
import subprocess
import sys
import time

import pytest
import requests
from testkit import ROOT

from simulator import SCALES, SimConfig, Simulator
from simulator.cli import build_parser, config_from_args


def run(args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        **kwargs,
    )


def test_help_lists_switches():
    result = run(["--help"])
    assert result.returncode == 0
    for flag in ("--fault-schedule", "--walk-cap", "--ready-file", "--mutate-on-start"):
        assert flag in result.stdout
    for flag in ("--link-host", "--cursor-format", "--unknown-fields", "--directory-share"):
        assert flag in result.stdout


def test_cli_flags_reach_the_config():
    argv = ["--link-host", "api.4me.qa", "--unknown-fields", "products.recurrence, model"]
    argv += ["--fault-retry-after", "3600", "--node-id", "never", "--directory-share", "0"]
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    assert config.link_host == "api.4me.qa" and config.fault_retry_after == 3600
    assert config.unknown_fields == frozenset({"products.recurrence", "model"})
    assert config.node_id == "never" and config.directory_share == 0
    with pytest.raises(ValueError):
        SimConfig(cursor_format="readable")


def test_cli_starts_serves_and_stops(tmp_path):
    ready = tmp_path / "ready"
    command = [sys.executable, "-m", "simulator", "--port", "0", "--token", "T", "--account", "A"]
    command += ["--ready-file", str(ready), "--fault-schedule", "2:503", "--no-rate-limit"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 20
        while not ready.exists() or not ready.read_text().strip():
            assert time.time() < deadline and process.poll() is None
            time.sleep(0.05)
        base = ready.read_text().strip()
        headers = {"Authorization": "Bearer T", "X-Xurrent-Account": "A"}
        assert requests.get(base + "/v1/products", headers=headers, timeout=5).status_code == 200
        assert requests.get(base + "/v1/products", headers=headers, timeout=5).status_code == 503
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert base in out


def test_the_seed_scale_generates_the_business_volumes():
    """How long it takes is the benchmark's to report (``make bench``), not a test's."""
    sim = Simulator(SimConfig(scale="seed", seed=7))
    counts = {name: len(sim.store.rows[name]) for name in SCALES["seed"]}
    assert counts == SCALES["seed"]
    assert sim.generation_seconds > 0
