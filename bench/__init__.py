"""Benchmark harness for the Xurrent connector: requests, time, CPU and memory of real syncs.

Each measured sync runs the connector through the SDK's own in-process runner in a child
process, against the project's API simulator with added latency and the real rate limits, and
is compared with the floors no connector can beat (see `bench.metrics`). Run `make bench` or
`python -m bench --help`.
"""
