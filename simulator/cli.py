"""Command line interface: run the simulator as a standalone server for demos and scripts."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .config import SCALES, SimConfig
from .server import Simulator


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Stateful simulator of the Xurrent REST API v1 on 127.0.0.1.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    add("--port", type=int, default=8765, help="port; 0 picks a free one (default 8765)")
    add("--token", default="sim-token", help="personal access token accepted as Bearer")
    add("--account", default="sim-account", help="required X-Xurrent-Account value")
    add("--client-id", help="OAuth client id for the client credentials grant")
    add("--client-secret", help="OAuth client secret")
    add("--token-ttl", type=int, default=3600, help="OAuth token lifetime in seconds")
    add("--token-expires-after", type=float, help="seconds until --token stops working")
    add("--scale", choices=sorted(SCALES), default="tiny", help="volume preset")
    for collection in SCALES["seed"]:
        flag = "--" + collection.replace("_", "-")
        add(flag, type=int, dest=collection, help=f"explicit {collection} count")
    add("--seed", type=int, default=1, help="random seed (data is deterministic per seed)")
    add("--anchor", help="ISO 8601 'now' of the data set; fix it for identical runs")
    add("--history-days", type=int, default=730, help="created_at spread before the anchor")
    add("--tie-block-size", type=int, help="rows sharing one updated_at (bulk import)")
    add("--zones", help="comma list of IANA zones timestamps are rendered in")
    add("--missing-account", choices=("error", "default"), default="error")
    add("--wrong-account-status", type=int, choices=(403, 404), default=404)
    add("--per-page-over-max", choices=("error", "clamp"), default="error")
    add(
        "--show-archived-and-trashed",
        action="store_true",
        help="keep archived and trashed records in their collections",
    )
    add("--walk-cap", type=int, default=100000, help="rows reachable in one paged walk")
    add("--throttled-header", choices=("walk", "cap_page"), default="walk")
    add("--no-rate-limit", action="store_true", help="switch both rate limiters off")
    add("--burst-limit", type=int, default=20, help="requests per burst window (0 = off)")
    add("--burst-window", type=float, default=2.0, help="burst window in seconds")
    add("--hourly-limit", type=int, default=3600, help="requests per hour (0 = off)")
    add("--retry-after-format", choices=("seconds", "http-date"), default="seconds")
    add("--fault-retry-after", type=float, default=1.0, help="Retry-After of an injected 429")
    add("--link-host", help="host put into Link URLs, e.g. api.4me.qa (default: own host)")
    add("--link-per-page", choices=("echo", "omit_default"), default="echo")
    add("--cursor-format", choices=("capture", "opaque"), default="capture")
    add("--node-id", choices=("always", "never"), default="always")
    add("--node-id-domain", default="4me.com", help="domain inside nodeID values")
    add("--implicit-field-selection", choices=("error", "ignore"), default="error")
    add("--directory-account", default="widget-directory", help="account owning shared records")
    add("--directory-account-name", default="Widget Directory")
    add("--directory-share", type=float, default=0.3, help="share of records it owns")
    add("--unknown-fields", default="", help="e.g. products.workflow_template,recurrence")
    add("--missing-collections", default="", help="collections answering 404, e.g. sites,cis")
    add("--latency-ms", type=float, default=0.0, help="added latency per API request")
    add("--error-rate", type=float, default=0.0, help="probability of a 5xx response")
    add("--timeout-rate", type=float, default=0.0, help="probability of a slow response")
    add("--timeout-seconds", type=float, default=30.0, help="delay of a slow response")
    add("--drop-rate", type=float, default=0.0, help="probability of a dropped connection")
    add("--malformed-rate", type=float, default=0.0, help="probability of invalid JSON")
    add("--truncated-rate", type=float, default=0.0, help="probability of a cut body")
    add(
        "--fault-schedule",
        default="",
        help="e.g. 3:503,4:timeout,7:drop,9:trickle,12:repeat_cursor (request numbers)",
    )
    add("--mutate-every", type=int, help="mutate the requested collection every N requests")
    add("--mutate-update-count", type=int, default=5, help="rows updated per mutation")
    add("--mutate-insert-count", type=int, default=2, help="rows inserted per mutation")
    add("--mutate-on-start", type=int, default=0, help="rows per collection updated at start")
    add("--trickle-bytes", type=int, default=16, help="bytes per write of a trickle fault")
    add("--trickle-interval", type=float, default=0.2, help="seconds between those writes")
    add("--content-type", help="Content-Type every answer claims (default: application/json)")
    add("--retry-after-text", help="Retry-After of every 429, e.g. soon, -5, 1.5, NaN")
    add("--burst-429-budget", choices=("zero", "actual"), default="zero")
    add("--clock-offset", type=float, default=0.0, help="server clock minus this machine's, s")
    add("--record-faults", default="", help="e.g. products/5003:lone_surrogate,projects/1:no_id")
    add("--ready-file", help="write the base URL to this file once listening")
    return parser


def config_from_args(args) -> SimConfig:
    clients = {}
    if args.client_id:
        clients[args.client_id] = (args.client_secret or "", None)
    config = SimConfig(
        host=args.host,
        port=args.port,
        token=args.token,
        account=args.account,
        clients=clients,
        token_ttl_seconds=args.token_ttl,
        token_expires_after=args.token_expires_after,
        scale=args.scale,
        **{collection: getattr(args, collection) for collection in SCALES["seed"]},
        seed=args.seed,
        anchor=args.anchor,
        history_days=args.history_days,
        tie_block_size=args.tie_block_size,
        missing_account=args.missing_account,
        wrong_account_status=args.wrong_account_status,
        per_page_over_max=args.per_page_over_max,
        hide_archived_and_trashed=not args.show_archived_and_trashed,
        walk_cap=args.walk_cap,
        throttled_header=args.throttled_header,
        rate_limit=not args.no_rate_limit,
        burst_limit=args.burst_limit or None,
        burst_window_seconds=args.burst_window,
        hourly_limit=args.hourly_limit or None,
        retry_after_format=args.retry_after_format,
        fault_retry_after=args.fault_retry_after,
        link_host=args.link_host,
        link_per_page=args.link_per_page,
        cursor_format=args.cursor_format,
        node_id=args.node_id,
        node_id_domain=args.node_id_domain,
        implicit_field_selection=args.implicit_field_selection,
        directory_account=args.directory_account,
        directory_account_name=args.directory_account_name,
        directory_share=args.directory_share,
        unknown_fields=_names(args.unknown_fields),
        missing_collections=_names(args.missing_collections),
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        timeout_rate=args.timeout_rate,
        timeout_seconds=args.timeout_seconds,
        drop_rate=args.drop_rate,
        malformed_rate=args.malformed_rate,
        truncated_rate=args.truncated_rate,
        fault_schedule=args.fault_schedule,
        mutate_every=args.mutate_every,
        mutate_update_count=args.mutate_update_count,
        mutate_insert_count=args.mutate_insert_count,
        mutate_on_start=args.mutate_on_start,
        trickle_bytes=args.trickle_bytes,
        trickle_interval_seconds=args.trickle_interval,
        content_type=args.content_type,
        retry_after_text=args.retry_after_text,
        burst_429_budget=args.burst_429_budget,
        clock_offset_seconds=args.clock_offset,
        record_faults=args.record_faults,
    )
    if args.zones:
        config.zones = tuple(zone.strip() for zone in args.zones.split(",") if zone.strip())
    return config


def _names(text: str) -> list[str]:
    """A comma-separated flag value as a list of names."""
    return [name.strip() for name in text.split(",") if name.strip()]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    sim = Simulator(config_from_args(args))
    sim.start()
    stopping = threading.Event()

    def request_stop(signum, frame):
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(
        f"Xurrent simulator listening on {sim.base_url} (api {sim.api_url}, "
        f"generated in {sim.generation_seconds:.2f}s)",
        flush=True,
    )
    if args.ready_file:
        with open(args.ready_file, "w", encoding="utf-8") as handle:
            handle.write(sim.base_url + "\n")
    while not stopping.wait(0.2):
        pass
    sim.stop()
    print("Xurrent simulator stopped", file=sys.stderr, flush=True)
    return 0
