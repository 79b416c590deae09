"""Configuration of the simulator: one dataclass holding every switch.

Defaults follow the real Xurrent API as documented in /work/shared/xurrent_api.md, so a test
that does not touch a switch sees the behaviour a connector meets in production. Switches exist
for facts the documentation marks as unverified, so tests can cover both plausible behaviours.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

from .hostile import parse_record_faults

#: Row counts per volume preset and collection. "seed" holds a mid-size tenant's volumes;
#: "small" about a twentieth. The three collections of the first release reference 200 people,
#: 36 teams and 60 services, which every preset keeps (see README, "Volumes").
SCALES = {
    "tiny": {
        "organizations": 25,
        "products": 60,
        "projects": 15,
        "people": 210,
        "teams": 40,
        "sites": 5,
        "services": 64,
        "service_instances": 12,
        "cis": 40,
        "contracts": 8,
        "project_tasks": 30,
        "time_entries": 50,
    },
    "small": {
        "organizations": 500,
        "products": 2500,
        "projects": 250,
        "people": 1000,
        "teams": 40,
        "sites": 15,
        "services": 75,
        "service_instances": 75,
        "cis": 2500,
        "contracts": 100,
        "project_tasks": 2000,
        "time_entries": 3000,
    },
    "seed": {
        "organizations": 10000,
        "products": 50000,
        "projects": 5000,
        "people": 20000,
        "teams": 400,
        "sites": 300,
        "services": 300,
        "service_instances": 1500,
        "cis": 50000,
        "contracts": 2000,
        "project_tasks": 40000,
        "time_entries": 60000,
    },
}

#: Fault kinds understood by the fault schedule and the random fault rates.
FAULT_KINDS = ("500", "502", "503", "504", "429", "timeout", "drop", "malformed", "truncated")
#: Hostile answers (simulator/hostile.py), for the fault schedule only.
HOSTILE_KINDS = (
    "trickle",
    "html",
    "empty_page",
    "oversize_page",
    "repeat_cursor",
    "repeat_page",
)

DEFAULT_ZONES = ("America/New_York", "America/Chicago", "Europe/Amsterdam", "UTC")

#: Allowed values of the switches that choose between behaviours.
CHOICES = {
    "link_per_page": ("echo", "omit_default"),
    "cursor_format": ("capture", "opaque"),
    "node_id": ("always", "never"),
    "implicit_field_selection": ("error", "ignore"),
    "burst_429_budget": ("zero", "actual"),
}


def parse_fault_schedule(value) -> dict[int, str]:
    """Normalise a fault schedule given as dict or CLI text into {sequence_number: kind}.

    Accepts ``{"3": "503", 4: "timeout"}`` as well as ``"3:503,4:timeout,7:drop"`` so tests
    and the command line share one format.
    """
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        pairs = []
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            if ":" not in item:
                raise ValueError(f"fault schedule entry {item!r} is not 'N:kind'")
            number, kind = item.split(":", 1)
            pairs.append((number, kind))
    else:
        pairs = list(dict(value).items())
    schedule = {}
    for number, kind in pairs:
        kind = str(kind).strip().lower()
        if kind not in FAULT_KINDS + HOSTILE_KINDS:
            expected = FAULT_KINDS + HOSTILE_KINDS
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {expected}")
        schedule[int(number)] = kind
    return schedule


@dataclass
class SimConfig:
    """Every switch of the simulator; defaults mirror the documented real API."""

    # --- server and identity -------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 0  # 0 = ephemeral port
    token: str = "sim-token"
    account: str = "sim-account"
    account_name: str = "Simulated Account"
    #: Seconds after start at which the configured personal token expires (None = never).
    token_expires_after: Optional[float] = None
    #: Lifetime of OAuth access tokens (docs: 1 hour).
    token_ttl_seconds: int = 3600
    #: OAuth clients {client_id: client_secret}.
    clients: dict = field(default_factory=dict)

    # --- data volume and shape -----------------------------------------------------------
    scale: str = "tiny"
    organizations: Optional[int] = None  # explicit counts override the scale preset
    products: Optional[int] = None
    projects: Optional[int] = None
    people: Optional[int] = None
    teams: Optional[int] = None
    sites: Optional[int] = None
    services: Optional[int] = None
    service_instances: Optional[int] = None
    cis: Optional[int] = None
    contracts: Optional[int] = None
    project_tasks: Optional[int] = None
    time_entries: Optional[int] = None
    seed: int = 1
    anchor: Optional[str] = None  # ISO 8601; default now floored to the second
    history_days: int = 730
    tie_block_size: Optional[int] = None  # None = 8 for tiny, 150 otherwise
    tie_blocks: int = 1
    zones: tuple = DEFAULT_ZONES
    #: Shares of the records of each archivable type put in the archive and the trash at
    #: generation (people only from the disabled ones: only those can be archived).
    archived_fraction: float = 0.03
    trashed_fraction: float = 0.02

    # --- documented-but-unverified behaviour (switches) ---------------------------------
    #: "error": a missing account header answers 400; "default": use the configured account.
    missing_account: str = "error"
    #: Status for a request naming another account: 404 (default) or 403.
    wrong_account_status: int = 404
    #: per_page above the maximum: "error" (400) or "clamp" (serve max_per_page rows).
    per_page_over_max: str = "error"
    default_per_page: int = 20
    max_per_page: int = 100
    #: Hide archived and trashed records from their collection (GET /v1/projects, /people, ...)
    #: and from single-record GETs.
    hide_archived_and_trashed: bool = True
    #: Toggling disabled bumps updated_at (assumption; docs do not say).
    disable_bumps_updated_at: bool = True
    #: "always": every record and reference carries nodeID, with or without fields= (real
    #: captures; SDK-NET-X treats it as always returned); "never": a server without GraphQL ids.
    node_id: str = "always"
    #: Host part of nodeID values (base64 of "<domain>/<Type>/<id>", as in the docs' example).
    node_id_domain: str = "4me.com"
    #: fields= naming an always-returned field (nodeID, account): "error" answers 400 Unknown
    #: fields (the docs list neither as a field); "ignore" accepts and drops the name.
    implicit_field_selection: str = "error"
    #: The directory account that owns a share of organizations, products, people and sites;
    #: records it owns carry a top-level "account" reference (and so do references to them).
    directory_account: str = "widget-directory"
    directory_account_name: str = "Widget Directory"
    directory_share: float = 0.3
    #: Fields this server version does not know ("collection.field" or a bare field name):
    #: fields= naming one answers 400 "Unknown fields: ..." and records leave them out.
    unknown_fields: frozenset = frozenset()
    #: Collections this server version does not have: every request to one answers 404
    #: {"message": "Not Found"}, as an older server would (e.g. {"sites"}).
    missing_collections: frozenset = frozenset()

    # --- links and cursors --------------------------------------------------------------
    #: Host (optionally with scheme, default https) put into every Link URL; None = own host.
    link_host: Optional[str] = None
    #: "echo": Link URLs repeat per_page as requested (captured trace); "omit_default": leave
    #: per_page out when it equals default_per_page.
    link_per_page: str = "echo"
    #: "capture": base64 JSON {"offset", "cursor"} with string sort values as binary collation
    #: keys (captured cursors); "opaque": binary bytes that are not JSON at all.
    cursor_format: str = "capture"

    # --- pagination cap -----------------------------------------------------------------
    walk_cap: int = 100000
    #: "walk": X-Pagination-Throttled on every page of a capped walk; "cap_page": only on the
    #: page where the cap is reached.
    throttled_header: str = "walk"

    # --- rate limiting ------------------------------------------------------------------
    rate_limit: bool = True
    hourly_limit: Optional[int] = 3600  # fixed one-hour window per token user; None = off
    burst_limit: Optional[int] = 20  # requests per burst_window_seconds; None = off
    burst_window_seconds: float = 2.0
    retry_after_format: str = "seconds"  # or "http-date"
    #: Retry-After (seconds) of a 429 injected by the fault schedule or rates.
    fault_retry_after: float = 1.0

    # --- fault injection ----------------------------------------------------------------
    latency_ms: float = 0.0
    error_rate: float = 0.0  # probability of a 5xx drawn from error_kinds
    error_kinds: tuple = ("500", "502", "503", "504")
    timeout_rate: float = 0.0
    drop_rate: float = 0.0
    malformed_rate: float = 0.0
    truncated_rate: float = 0.0
    fault_schedule: dict = field(default_factory=dict)  # {request_seq: kind}
    #: How long a "timeout" fault sleeps before answering normally.
    timeout_seconds: float = 30.0
    #: Every N-th API request, update mutate_update_count rows and insert mutate_insert_count
    #: rows in the requested collection (None = off).
    mutate_every: Optional[int] = None
    mutate_update_count: int = 5
    mutate_insert_count: int = 2
    mutate_on_start: int = 0

    # --- hostile servers (simulator/hostile.py; all off by default) -------------------------
    #: A "trickle" fault sends the body this many bytes at a time, this often.
    trickle_bytes: int = 16
    trickle_interval_seconds: float = 0.2
    #: Content-Type every answer claims (None: application/json; charset=utf-8).
    content_type: Optional[str] = None
    #: Retry-After text of every 429 ("soon", "-5", "1.5", a past date...); None: the real one.
    retry_after_text: Optional[str] = None
    #: X-RateLimit-Remaining of a burst 429: "zero" (0, with the hour's reset) or "actual" (what
    #: is left of the user's hour; an injected 429 then reports the user's hour too).
    burst_429_budget: str = "zero"
    #: Seconds this server's clock runs ahead of this machine's (negative: behind): its Date
    #: headers, rate-limit windows, HTTP-dates and the default anchor of the data.
    clock_offset_seconds: float = 0.0
    #: Records changed on their way out in collection pages: {"products/5003": "no_id"}.
    record_faults: dict = field(default_factory=dict)

    def __post_init__(self):
        self.fault_schedule = parse_fault_schedule(self.fault_schedule)
        self.record_faults = parse_record_faults(self.record_faults)
        self.unknown_fields = frozenset(self.unknown_fields)
        self.missing_collections = frozenset(self.missing_collections)
        self.zones = tuple(self.zones)
        self.error_kinds = tuple(str(kind) for kind in self.error_kinds)
        if self.scale not in SCALES:
            raise ValueError(f"unknown scale {self.scale!r}; expected one of {sorted(SCALES)}")
        unknown = self.missing_collections - set(SCALES[self.scale])
        if unknown:
            raise ValueError(f"missing_collections names no collection: {sorted(unknown)}")
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")

    def counts(self) -> dict[str, int]:
        """Row counts per collection: explicit counts win over the scale preset."""
        counts = {}
        for collection, preset in SCALES[self.scale].items():
            explicit = getattr(self, collection)
            counts[collection] = preset if explicit is None else explicit
        return counts

    def effective_tie_block_size(self) -> int:
        """Tie blocks must exceed a page; tiny data gets a block larger than per_page=7."""
        if self.tie_block_size is not None:
            return self.tie_block_size
        return 8 if self.scale == "tiny" else 150

    def unknown_for(self, collection: str) -> frozenset:
        """The unknown_fields entries that apply to one collection, as bare field names."""
        names = set()
        for entry in self.unknown_fields:
            scope, _, name = entry.rpartition(".")
            if scope in ("", collection):
                names.add(name)
        return frozenset(names)

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}
