"""HTTP front end and the Simulator object tests and the CLI drive.

The order in which a /v1 request is processed mirrors what sits in front of the real API: request
hooks and the mutator run first (so tests can change data at an exact request number), then the
gateway-level faults (latency, 5xx, drops, timeouts, 429 by schedule), then the rate limiters,
authentication, the account header, scopes and finally routing. Malformed and truncated faults
corrupt the real answer on the way out.
"""

from __future__ import annotations

import json
import math
import random
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import hostile
from .config import SimConfig, parse_fault_schedule
from .generator import node_id
from .query import ApiError
from .ratelimit import RateLimiter, retry_after_value
from .schema import BIN_TYPES, DATA_COLLECTIONS, SPECS
from .store import DataStore

ERROR_BODIES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway timeout",
}
RATE_LIMIT_BODY = {
    "message": "Too Many Requests",
    "documentation_url": "https://developer.xurrent.com/v1/#rate-limiting",
}
#: Token scopes: one per collection (a token without one gets 403 there), and /v1/me.
SCOPES = (*DATA_COLLECTIONS, "archive", "trash", "me")
_RECORD_RE = re.compile(r"^/v1/(\w+)/(\d+)$")
_ACTION_RE = re.compile(r"^/v1/(\w+)/(\d+)/(archive|trash|restore)$")


#: The person behind the configured personal access token (what /v1/me answered before).
DEFAULT_PERSON = {"id": 42, "name": "API User"}


@dataclass
class TokenInfo:
    """An access token: whose budget it spends, what it may read, when it expires and, for
    OAuth tokens, which client issued it (disabling the client revokes the token)."""

    user: str
    scopes: frozenset | None
    expires_at: float | None
    client_id: str | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        """Clients that time out or drop mid-response are expected; keep the console quiet."""


class Simulator:
    """A stateful Xurrent REST API on 127.0.0.1; see the package docstring for the API."""

    def __init__(self, config: SimConfig | None = None, **overrides):
        self.config = config or SimConfig()
        for name, value in overrides.items():
            self._set(name, value)
        #: This machine's clock; the server's is it plus ``clock_offset_seconds`` (``now``).
        self.clock = time.time
        started = time.perf_counter()
        self.anchor = self._anchor()
        self.store = DataStore(self.config, self.anchor)
        self.generation_seconds = time.perf_counter() - started
        self.limiter = RateLimiter()
        self.fault_rng = random.Random(self.config.seed + 3)
        self._lock = threading.RLock()
        self._stop_event = threading.Event()
        self._hooks = []
        self._seq = 0
        self._server = None
        self._thread = None
        self.tokens: dict[str, TokenInfo] = {}
        expires = self.config.token_expires_after
        self.tokens[self.config.token] = TokenInfo(
            "user:api", None, None if expires is None else time.time() + expires
        )
        self.people = {"user:api": dict(DEFAULT_PERSON)}  # token user -> /v1/me identity
        self.clients = {
            client_id: value if isinstance(value, tuple) else (value, None)
            for client_id, value in self.config.clients.items()
        }
        self.disabled_clients: set[str] = set()
        self.reset_stats()
        if self.config.mutate_on_start:
            for collection in DATA_COLLECTIONS:
                self.store.update_rows(collection, count=self.config.mutate_on_start)

    def _anchor(self) -> int:
        if self.config.anchor:
            parsed = datetime.fromisoformat(self.config.anchor.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return int(parsed.timestamp())
        return int(self.now())

    def now(self) -> float:
        """The server's clock: Date headers, rate-limit windows and HTTP-dates follow it."""
        return self.clock() + self.config.clock_offset_seconds

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> "Simulator":
        handler = type("BoundHandler", (_Handler,), {"sim": self})
        self._server = _Server((self.config.host, self.config.port), handler)
        self._stop_event.clear()
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        self.store.api_url = self.api_url
        return self

    def stop(self):
        self._stop_event.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def token_url(self) -> str:
        return self.base_url + "/oauth/token"

    # --- runtime configuration ------------------------------------------------------------

    def _set(self, name, value):
        if name not in SimConfig.field_names():
            raise AttributeError(f"unknown simulator switch {name!r}")
        if name == "fault_schedule":
            value = parse_fault_schedule(value)
        elif name == "record_faults":
            value = hostile.parse_record_faults(value)
        elif name in ("unknown_fields", "missing_collections"):
            value = frozenset(value)
        setattr(self.config, name, value)

    def configure(self, **switches):
        """Change switches while running; takes effect from the next request.

        Cached sorted views are dropped, since switches such as directory_share change
        which rows a predefined filter matches.
        """
        with self._lock, self.store.lock:
            for name, value in switches.items():
                self._set(name, value)
            self.store.invalidate()

    def add_request_hook(self, hook):
        """hook(sim, info) runs before each /v1 request; info has seq, method, path, query."""
        self._hooks.append(hook)

    def add_token(self, token, scopes=None, expires_in=None, user=None, name=None):
        """An extra personal access token; scopes limit readable collections (None = all).

        ``user`` keys the rate-limit budget and the /v1/me identity: tokens of one user share
        both. A new user gets its own person id; ``name`` names it (never the token itself).
        """
        with self._lock:
            expires_at = None if expires_in is None else time.time() + expires_in
            scope_set = None if scopes is None else frozenset(scopes)
            key = user or f"user:{token}"
            self.tokens[token] = TokenInfo(key, scope_set, expires_at)
            self._person(key, name)

    def add_client(self, client_id, client_secret, scopes=None, name=None):
        """An OAuth application; its tokens act as one user (``name``, default derived)."""
        with self._lock:
            self.clients[client_id] = (client_secret, scopes)
            self.disabled_clients.discard(client_id)
            self._person(f"client:{client_id}", name)

    def _person(self, user: str, name=None) -> dict:
        """The person a token user acts as: ids handed out in order, 43 onwards."""
        person = self.people.get(user)
        if person is None:
            person_id = DEFAULT_PERSON["id"] + len(self.people)
            if name is None and user.startswith("client:"):
                name = f"Integration User ({user[7:]})"
            person = self.people[user] = {"id": person_id, "name": name or f"API User {person_id}"}
        elif name:
            person["name"] = name
        return person

    def expire_token(self, token):
        with self._lock:
            self.tokens[token].expires_at = time.time() - 1

    def revoke_token(self, token):
        """Revoke a token mid-run (as deleting a personal access token does): 401 from now on."""
        with self._lock:
            self.tokens.pop(token, None)

    def disable_client(self, client_id, disabled=True):
        """Disable (or re-enable) an OAuth application: its issued tokens answer 401 and the
        token endpoint refuses it with 400 invalid_client (DX-CCG: disabling invalidates)."""
        with self._lock:
            if disabled:
                self.disabled_clients.add(client_id)
            else:
                self.disabled_clients.discard(client_id)

    # --- observability --------------------------------------------------------------------

    def reset_stats(self):
        """Clear counters and the log, and restart the request sequence at 1 (schedules)."""
        with self._lock:
            self._seq = 0
            self.request_log = []
            self._counters = {
                "requests": 0,
                "by_status": {},
                "rate_limited": 0,
                "faults": {},
                "rows_served": 0,
                "page_requests": {},
                "oauth_requests": 0,
            }

    def stats(self) -> dict:
        with self._lock:
            return json.loads(json.dumps(self._counters))

    def reset_rate_limits(self):
        self.limiter.reset()

    def _record(self, entry: dict, rows: int, collection: str | None):
        with self._lock:
            counters = self._counters
            counters["requests"] += 1
            status = str(entry["status"])
            counters["by_status"][status] = counters["by_status"].get(status, 0) + 1
            if entry["status"] == 429:
                counters["rate_limited"] += 1
            if entry["fault"]:
                counters["faults"][entry["fault"]] = counters["faults"].get(entry["fault"], 0) + 1
            counters["rows_served"] += rows
            if collection:
                pages = counters["page_requests"]
                pages[collection] = pages.get(collection, 0) + 1
            self.request_log.append(entry)

    # --- data access for tests ------------------------------------------------------------

    def ground_truth(self, collection):
        """Every visible record as a single GET returns it; ``account`` only when another
        account (the directory) owns the record, as in the API. A collection this server
        lacks (``missing_collections``) has none."""
        if collection in self.config.missing_collections:
            return []
        return self.store.ground_truth(collection)

    def account_of(self, collection, row_id):
        """The id of the account that owns a record: directory_account or the configured one."""
        return self.store.account_of(collection, row_id)

    def archived_ids(self, collection="projects"):
        """Ids of a collection's records in the archive (projects unless named)."""
        return self.store.bin_ids("archive", collection)

    def trashed_ids(self, collection="projects"):
        """Ids of a collection's records in the trash (projects unless named)."""
        return self.store.bin_ids("trash", collection)

    def update_rows(self, collection, ids=None, count=None, at=None, changes=None):
        return self.store.update_rows(collection, ids=ids, count=count, at=at, changes=changes)

    def insert_rows(self, collection, count, at=None):
        return self.store.insert_rows(collection, count, at=at)

    def set_disabled(self, collection, row_id, value, at=None):
        self.store.set_disabled(collection, row_id, value, at=at)

    def set_deleted(self, collection, row_id, value=True, at=None):
        """Flip a time entry's soft-delete flag; bumps updated_at."""
        self.store.set_deleted(collection, row_id, value, at=at)

    def archive_record(self, collection, row_id, at=None):
        """Archive a record of an archivable collection (people: disabled ones only)."""
        return self.store.archive_record(collection, row_id, at=at)

    def trash_record(self, collection, row_id, at=None):
        return self.store.trash_record(collection, row_id, at=at)

    def restore_record(self, collection, row_id, at=None):
        """Back from the archive or trash, with a fresh updated_at."""
        return self.store.restore_record(collection, row_id, at=at)

    def erase_record(self, collection, row_id):
        """Erase a trashed record for good."""
        self.store.erase_record(collection, row_id)

    def erase_expired_records(self, trash_days=28, now=None):
        """Erase what sits in the trash longer than ``trash_days``: {type: [ids]}."""
        return self.store.erase_expired_records(trash_days, now=now)

    def archive_project(self, project_id, at=None):
        return self.store.archive_project(project_id, at=at)

    def trash_project(self, project_id, at=None):
        return self.store.trash_project(project_id, at=at)

    def restore_project(self, project_id, at=None):
        return self.store.restore_project(project_id, at=at)

    def erase_project(self, project_id):
        self.store.erase_project(project_id)

    def erase_expired(self, trash_days=28, now=None):
        """Erase everything expired; returns the erased project ids."""
        return self.store.erase_expired(trash_days, now=now)

    # --- request pipeline helpers ---------------------------------------------------------

    def _next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def _pick_fault(self, seq: int):
        config = self.config
        scheduled = config.fault_schedule.get(seq)
        if scheduled:
            return scheduled
        rng = self.fault_rng
        with self._lock:
            if config.error_rate and rng.random() < config.error_rate:
                return rng.choice(config.error_kinds)
            for kind in ("timeout", "drop", "malformed", "truncated"):
                rate = getattr(config, f"{kind}_rate")
                if rate and rng.random() < rate:
                    return kind
        return None

    def _mutate(self, collection: str):
        """Users at work: edits and inserts, and on time entries a soft delete flipped."""
        config = self.config
        self.store.update_rows(collection, count=config.mutate_update_count)
        self.store.insert_rows(collection, config.mutate_insert_count)
        if collection == "time_entries":
            self.store.flip_deleted(1)

    def _token(self, header: str | None):
        if not header or not header.startswith("Bearer "):
            return None
        info = self.tokens.get(header[7:].strip())
        if info is None or (info.expires_at is not None and time.time() >= info.expires_at):
            return None
        if info.client_id is not None and info.client_id in self.disabled_clients:
            return None
        return info

    def _issue_token(self, form: dict):
        """OAuth client credentials grant; errors per RFC 6749 §5.2, never echoing secrets."""
        for name in ("grant_type", "client_id", "client_secret"):
            if not form.get(name):
                return 400, {
                    "error": "invalid_request",
                    "error_description": f"Missing required parameter: {name}",
                }
        if form["grant_type"] != "client_credentials":
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "Only the client_credentials grant is supported",
            }
        client = self.clients.get(form["client_id"])
        known = client is not None and form["client_id"] not in self.disabled_clients
        secret = str(client[0]).encode() if known else b""
        # Always compare, so unknown, disabled and wrong-secret clients look alike.
        if not secrets.compare_digest(secret, form["client_secret"].encode()) or not known:
            return 400, {
                "error": "invalid_client",
                "error_description": "Client authentication failed",
            }
        token = secrets.token_urlsafe(24)
        ttl = self.config.token_ttl_seconds
        with self._lock:
            scopes = None if client[1] is None else frozenset(client[1])
            user = f"client:{form['client_id']}"
            self.tokens[token] = TokenInfo(user, scopes, time.time() + ttl, form["client_id"])
            self._person(user)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "XurrentSimulator/1.0"
    sim: Simulator

    def setup(self):
        """Send each response without Nagle's delay.

        The handler writes headers and body in separate calls; with Nagle's algorithm and the
        client's delayed ACK that costs about 40 ms per request on a kept-alive connection,
        which would swamp the latency the benchmark measures.
        """
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):
        """Silence the default stderr access log; the simulator keeps its own request log."""

    def date_time_string(self, timestamp=None):
        """The Date header, by the server's clock (``clock_offset_seconds``)."""
        return super().date_time_string(self.sim.now() if timestamp is None else timestamp)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # --- plumbing -------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, body, headers=None, fault=None):
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        content_type = self.sim.config.content_type or "application/json; charset=utf-8"
        if fault == "malformed":
            payload = b'{"message": "OK", "data": [{"id": 1, "name": <html>Proxy error</html>'
        elif fault == "html":
            payload, content_type = hostile.LOGIN_PAGE, "text/html; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if fault == "truncated":
            self.wfile.write(payload[: max(1, len(payload) // 2)])
            self.wfile.flush()
            self._drop()
            return
        if fault == "trickle":
            self._trickle(payload)
            return
        self.wfile.write(payload)

    def _trickle(self, payload: bytes):
        """The body a few bytes at a time (headers went at once), until it is sent, the client
        hangs up, or the simulator stops."""
        config, stopping = self.sim.config, self.sim._stop_event
        step = max(1, config.trickle_bytes)
        try:
            for start in range(0, len(payload), step):
                self.wfile.write(payload[start : start + step])
                self.wfile.flush()
                if stopping.wait(config.trickle_interval_seconds):
                    break
        except OSError:
            pass  # the client gave up on the answer
        self._drop()

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _dispatch(self, method: str):
        body = self._read_body()
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        if path.endswith(".json"):
            path = path[:-5]
        params = parse_qsl(parts.query, keep_blank_values=True)
        sim = self.sim
        if path == "/_sim/stats" and method == "GET":
            self._send(200, sim.stats())
            return
        if path in ("/oauth/token", "/token") and method == "POST":
            with sim._lock:
                sim._counters["oauth_requests"] += 1
            self._oauth(body)
            return
        if path == "/v1" or path.startswith("/v1/"):
            self._api(method, path, params)
            return
        self._send(404, {"message": "Not Found"})

    def _oauth(self, body: bytes):
        content_type = self.headers.get("Content-Type", "")
        try:
            if "json" in content_type:
                form = {k: str(v) for k, v in json.loads(body or b"{}").items()}
            else:
                form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        except (ValueError, AttributeError):
            form = {}
        status, payload = self.sim._issue_token(form)
        self._send(status, payload, {"Cache-Control": "no-store"})

    def _api(self, method: str, path: str, params):
        sim = self.sim
        started = time.perf_counter()
        seq = sim._next_seq()
        info = {"seq": seq, "method": method, "path": path, "query": dict(params)}
        collection = _collection_of(path)
        for hook in list(sim._hooks):
            hook(sim, info)
        config = sim.config
        if config.mutate_every and seq % config.mutate_every == 0:
            if collection in DATA_COLLECTIONS and collection not in config.missing_collections:
                sim._mutate(collection)
        if config.latency_ms:
            sim._stop_event.wait(config.latency_ms / 1000.0)
        fault = sim._pick_fault(seq)

        def record(status: int, rows: int = 0, page_collection: str | None = None):
            # Logged before the response leaves, so a client that has its answer sees the entry.
            entry = dict(info)
            entry.update(
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                fault=fault,
                rows=rows,
            )
            sim._record(entry, rows, page_collection)

        if fault == "drop":
            record(0)
            self._drop()
            return
        if fault in ("500", "502", "503", "504"):
            record(int(fault))
            self._send(int(fault), {"message": ERROR_BODIES[int(fault)]})
            return
        if fault == "429":
            record(429)
            self._send(429, RATE_LIMIT_BODY, self._fault_429_headers())
            return
        if fault == "timeout":
            sim._stop_event.wait(config.timeout_seconds)
        params = hostile.without_marker(params)
        try:
            status, payload, headers, rows, page_collection = self._serve(method, path, params)
            if fault in hostile.PAGE_FAULTS and status == 200 and page_collection:
                payload, headers = self._page_fault(
                    fault, seq, method, path, params, payload, headers
                )
                rows = len(payload)
        except BaseException:
            record(0)
            raise
        record(status, rows, page_collection)
        self._send(status, payload, headers, fault)

    def _page_fault(self, fault, seq, method, path, params, payload, headers):
        """A collection page as a hostile fault changes it (hostile.py)."""

        def following(first_headers):
            cursor = hostile.next_cursor(first_headers)
            if cursor is None:
                return None, {}
            moved = [item for item in params if item[0] not in ("search_after", "search_before")]
            status, more, more_headers, _, _ = self._serve(
                method, path, moved + [("search_after", cursor)]
            )
            return (more, more_headers) if status == 200 else (None, {})

        request_url = self.sim.base_url + self.path
        return hostile.page_fault(fault, seq, request_url, payload, headers, following)

    def _fault_429_headers(self) -> dict:
        """A scheduled 429: Retry-After as configured, and a reset time that agrees with it; or,
        with ``burst_429_budget="actual"``, the user's hour as it stands."""
        sim = self.sim
        config, now = sim.config, sim.now()
        seconds = config.fault_retry_after
        headers = {"Retry-After": retry_after_value(seconds, config, now)}
        if config.burst_429_budget == "actual":
            token = sim._token(self.headers.get("Authorization"))
            user = token.user if token else f"ip:{self.client_address[0]}"
            headers.update(sim.limiter.report(user, config, now))
        else:
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = str(int(math.ceil(now + seconds)))
        return _with_retry_after_text(headers, config)

    def _serve(self, method, path, params):
        """Rate limits, auth, account, scope and routing; returns the response parts."""
        sim = self.sim
        config = sim.config
        token = sim._token(self.headers.get("Authorization"))
        user = token.user if token else f"ip:{self.client_address[0]}"
        verdict = sim.limiter.check(user, config, sim.now())
        headers = dict(verdict.headers)
        if verdict.retry_after is not None:
            return 429, RATE_LIMIT_BODY, _with_retry_after_text(headers, config), 0, None
        try:
            if token is None:
                raise ApiError(401, "Unauthorized")
            account = self.headers.get("X-Xurrent-Account") or self.headers.get("X-4me-Account")
            if not account and config.missing_account == "error":
                raise ApiError(400, "Missing header 'X-Xurrent-Account'")
            if account and account != config.account:
                status = config.wrong_account_status
                raise ApiError(status, "Not Found" if status == 404 else "Forbidden")
            payload, extra, rows, page_collection = self._route(method, path, params, token)
            headers.update(extra)
            return 200, payload, headers, rows, page_collection
        except ApiError as error:
            headers.update(error.headers)
            return error.status, error.body, headers, 0, None
        except Exception:  # a simulator bug must still answer like the API would
            return 500, {"message": ERROR_BODIES[500]}, headers, 0, None

    def _route(self, method, path, params, token):
        sim = self.sim
        if path == "/v1" and method == "GET":
            return {}, {}, 0, None
        if path == "/v1/me" and method == "GET":
            _require_scope(token, "me")
            return self._me(token), {}, 0, None
        segments = path.split("/")[2:]
        if segments and segments[0] in sim.config.missing_collections:
            raise ApiError(404, "Not Found")  # an older server without this collection
        match = _ACTION_RE.match(path)
        if match and method == "POST" and match.group(1) in BIN_TYPES.values():
            collection, row_id, action = match.group(1), int(match.group(2)), match.group(3)
            _require_scope(token, collection)
            handler = getattr(sim.store, f"{action}_record")
            return handler(collection, row_id), {}, 0, None
        match = _RECORD_RE.match(path)
        if match and method == "GET" and match.group(1) in DATA_COLLECTIONS:
            _require_scope(token, match.group(1))
            return sim.store.get_record(match.group(1), int(match.group(2))), {}, 0, None
        if method == "GET" and segments and segments[0] in SPECS and len(segments) <= 2:
            return self._collection(segments, params, token)
        raise ApiError(404, "Not Found")

    def _collection(self, segments, params, token):
        """GET /v1/<collection>[/<predefined>][?state=<predefined>]."""
        sim = self.sim
        collection = segments[0]
        predefined = segments[1] if len(segments) == 2 else None
        states = [value for name, value in params if name == "state"]
        params = [(name, value) for name, value in params if name != "state"]
        predefined = predefined or (states[-1] if states else None)
        if predefined is not None and predefined not in SPECS[collection].predefined:
            raise ApiError(404, "Not Found")
        _require_scope(token, collection)
        path = "/v1/" + "/".join(segments)
        rows, headers = sim.store.list_page(collection, path, params, sim.base_url, predefined)
        rows = hostile.odd_records(collection, rows, sim.config.record_faults)
        return rows, headers, len(rows), collection

    def _me(self, token: TokenInfo) -> dict:
        """The person the token acts as: different users for different tokens and clients."""
        sim = self.sim
        config = sim.config
        with sim._lock:
            person = dict(sim._person(token.user))
        return {
            "id": person["id"],
            "name": person["name"],
            "primary_email": f"api.user.{person['id']}@example.test",
            "account": {"id": config.account, "name": config.account_name},
            "organization": {"id": 1001, "name": "Simulated Organization"},
            "disabled": False,
            "time_zone": "Central Time (US & Canada)",
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": "2020-01-01T00:00:00Z",
        } | _me_node(config, person)


def _me_node(config, person) -> dict:
    if config.node_id != "always":
        return {}
    return {"nodeID": node_id(config.node_id_domain, "Person", person["id"])}


def _with_retry_after_text(headers: dict, config) -> dict:
    """A 429's headers with ``retry_after_text`` (a hostile switch) as its Retry-After."""
    if config.retry_after_text is not None:
        headers["Retry-After"] = config.retry_after_text
    return headers


def _require_scope(token: TokenInfo, scope: str):
    if token.scopes is not None and scope not in token.scopes:
        raise ApiError(403, "Forbidden")


def _collection_of(path: str) -> str | None:
    segments = path.split("/")
    if len(segments) >= 3 and segments[2] in SPECS:
        return segments[2]
    return None
