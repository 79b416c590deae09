"""The one HTTP client the connector uses to talk to Xurrent.

Every response, timeout and connection failure is classified in exactly one place: a status is
mapped to a *kind* (``classify_status``) and ``HTTP_POLICY`` maps each kind to an ``Action``.
Nothing else in the code base decides whether to retry. The retry loop is tenacity, driven by
custom ``stop``/``wait`` callables that read the classification of the last attempt, so that:

* 5xx, timeouts, dropped connections and malformed JSON back off exponentially with full jitter
  and share ``retry_attempts`` (attempts in total);
* 429s wait for ``Retry-After`` (capped) on a separate, bounded throttle budget, so a burst of 429s
  neither eats the transient-error attempts nor lets a sync wait forever;
* a 401 with refreshable credentials gets one new token and one more try.

Before every attempt the shared ``RequestPacer`` hands out a send slot (burst and hourly limits),
so the client normally never sees a 429 at all.

Secrets: the Authorization value lives only in the per-request header dict handed to requests;
messages show method, path (never the query, which holds long cursors) and status, and every text
taken from a server goes through ``redact``. Exceptions leave the client ``from None`` so no
requests/urllib3 exception (which may quote headers or full URLs) is chained onto them.
"""

from __future__ import annotations

import enum
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping
from urllib.parse import urljoin, urlsplit

import requests
import tenacity
from requests.adapters import HTTPAdapter

from . import __version__
from .auth import ClientCredentialsTokenProvider, StaticTokenProvider, TokenProvider
from .errors import TokenEndpointUnavailable, XurrentApiError
from .ratelimit import PacerSlot, PacingLimitExceeded, RequestPacer, throttle_wait_seconds
from .redact import redact, safe_log, url_for_message
from .settings import Settings

__all__ = [
    "Action",
    "ApiResponse",
    "ClientStats",
    "HTTP_POLICY",
    "XurrentApiError",
    "XurrentClient",
    "classify_status",
]

USER_AGENT = f"xurrent-fivetran-connector/{__version__} (fivetran-connector-sdk)"

# Throttling budget per call, separate from retry_attempts.
MAX_CONSECUTIVE_429 = 20
MAX_THROTTLE_WAIT_SECONDS = 15 * 60
# Exponential backoff with full jitter: sleep uniform(0, min(cap, base * 2 ** (n - 1))).
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
# A few worker threads share one client; keep that many keep-alive connections.
CONNECTION_POOL_SIZE = 8
RESPONSE_TIME_RESERVOIR_SIZE = 1024


class Action(enum.Enum):
    """What to do with a classified outcome."""

    RETURN = "return the response"
    REFRESH_TOKEN_ONCE = "refresh the token once and retry; fail if that is not possible"
    FAIL = "fail now with an actionable message"
    WAIT_RETRY_AFTER = "wait Retry-After (capped) and retry, on the throttle budget"
    BACKOFF = "exponential backoff with full jitter and retry, up to retry_attempts"


# status -> kind; 2xx and 5xx are ranges handled in classify_status.
_STATUS_KINDS = MappingProxyType(
    {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        408: "timeout",
        422: "unprocessable",
        429: "throttled",
    }
)

# THE policy table: the only place that decides what happens after an attempt.
HTTP_POLICY: Mapping[str, Action] = MappingProxyType(
    {
        "ok": Action.RETURN,
        "unauthorized": Action.REFRESH_TOKEN_ONCE,
        "bad_request": Action.FAIL,
        "forbidden": Action.FAIL,
        "not_found": Action.FAIL,
        "unprocessable": Action.FAIL,
        "unexpected_status": Action.FAIL,
        "throttled": Action.WAIT_RETRY_AFTER,
        "server_error": Action.BACKOFF,
        "timeout": Action.BACKOFF,
        "connection_error": Action.BACKOFF,
        "malformed_json": Action.BACKOFF,
        "token_endpoint_unavailable": Action.BACKOFF,
    }
)


def classify_status(status: int) -> str:
    """Map an HTTP status to a policy kind (transport failures are classified where caught)."""
    if 200 <= status < 300:
        return "ok"
    if status in _STATUS_KINDS:
        return _STATUS_KINDS[status]
    if 500 <= status < 600:
        return "server_error"
    return "unexpected_status"


@dataclass
class ApiResponse:
    """A successful, parsed response."""

    status: int
    data: object
    headers: Mapping[str, str]  # case-insensitive (requests.structures.CaseInsensitiveDict)
    links: dict[str, str]  # rel -> absolute URL, from the Link header
    url: str
    elapsed_seconds: float


@dataclass(eq=False)
class _Outcome(Exception):
    """A retryable attempt result; raised inside the tenacity loop, never out of the client."""

    kind: str
    action: Action
    cause: str  # human-readable, already safe ("HTTP 503 (Service Unavailable)", "timeout ...")
    status: int | None = None
    wait_seconds: float = 0.0


@dataclass
class _CallBudget:
    """Per-call counters that the tenacity stop/wait callables read."""

    retry_attempts: int
    max_consecutive_429: int
    max_throttle_wait_seconds: float
    transient_failures: int = 0
    consecutive_429: int = 0
    throttle_waited_seconds: float = 0.0
    refreshed_token: bool = False
    attempts: int = 0
    # Where this call's attempts are counted: the client's stats, or those plus a caller's.
    stats: "ClientStats | _StatsTee | None" = None

    def record(self, outcome: _Outcome) -> None:
        if outcome.action is Action.WAIT_RETRY_AFTER:
            self.consecutive_429 += 1
        else:
            self.consecutive_429 = 0
        if outcome.action is Action.BACKOFF:
            self.transient_failures += 1

    def should_stop(self, retry_state: tenacity.RetryCallState) -> bool:
        outcome = retry_state.outcome.exception()
        if outcome.action is Action.REFRESH_TOKEN_ONCE:
            return False
        if outcome.action is Action.WAIT_RETRY_AFTER:
            return (
                self.consecutive_429 > self.max_consecutive_429
                or self.throttle_waited_seconds + outcome.wait_seconds
                > self.max_throttle_wait_seconds
            )
        return self.transient_failures >= self.retry_attempts

    @staticmethod
    def wait_seconds(retry_state: tenacity.RetryCallState) -> float:
        # Pure: tenacity evaluates wait before stop, so nothing may be counted here.
        return retry_state.outcome.exception().wait_seconds


class ClientStats:
    """Thread-safe counters for progress logs and the benchmark; never holds secrets."""

    def __init__(self, reservoir_size: int = RESPONSE_TIME_RESERVOIR_SIZE):
        self._lock = threading.Lock()
        self._reservoir_size = reservoir_size
        self._reservoir: list[float] = []
        self._random = random.Random(0)
        self._response_count = 0
        self._response_seconds_total = 0.0
        self.requests = 0
        self.retries = 0
        self.throttled_429 = 0
        self.errors_by_kind: Counter[str] = Counter()
        self.retry_after_sleep_seconds = 0.0
        self.backoff_sleep_seconds = 0.0
        self.pacing_sleep_seconds = 0.0
        self.ratelimit_limit: int | None = None
        self.ratelimit_remaining: int | None = None
        self.ratelimit_reset: int | None = None

    def add(self, **increments: float) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)

    def record_error(self, kind: str) -> None:
        with self._lock:
            self.errors_by_kind[kind] += 1
            if kind == "throttled":
                self.throttled_429 += 1

    def record_response(self, seconds: float, headers: Mapping[str, str]) -> None:
        """Add a response time (reservoir sampling keeps p95 over all calls in bounded memory)."""
        with self._lock:
            self._response_count += 1
            self._response_seconds_total += seconds
            if len(self._reservoir) < self._reservoir_size:
                self._reservoir.append(seconds)
            else:
                slot = self._random.randrange(self._response_count)
                if slot < self._reservoir_size:
                    self._reservoir[slot] = seconds
            for name in ("limit", "remaining", "reset"):
                value = headers.get(f"x-ratelimit-{name}")
                if value is not None and value.strip().isdigit():
                    setattr(self, f"ratelimit_{name}", int(value))

    @property
    def mean_response_ms(self) -> float | None:
        with self._lock:
            if not self._response_count:
                return None
            return 1000.0 * self._response_seconds_total / self._response_count

    @property
    def p95_response_ms(self) -> float | None:
        with self._lock:
            if not self._reservoir:
                return None
            ordered = sorted(self._reservoir)
        return 1000.0 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

    @property
    def failed_attempts(self) -> int:
        """Attempts that reached (or tried to reach) the API and failed, 429s excluded.

        429s are flow control the client waits out on its own budget (``throttled_429``);
        counting them here would make an error-rate alert fire on a shared rate limit, a
        capacity problem with a different fix. Token-endpoint failures are excluded because
        they never sent an API request (they are not in ``requests`` either).
        """
        with self._lock:
            return sum(
                count
                for kind, count in self.errors_by_kind.items()
                if kind not in ("throttled", "token_endpoint_unavailable")
            )

    def snapshot(self) -> dict:
        """A JSON-serialisable copy, e.g. for a progress log line or bench results."""
        mean, p95 = self.mean_response_ms, self.p95_response_ms
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "throttled_429": self.throttled_429,
                "errors_by_kind": dict(self.errors_by_kind),
                "retry_after_sleep_seconds": round(self.retry_after_sleep_seconds, 3),
                "backoff_sleep_seconds": round(self.backoff_sleep_seconds, 3),
                "pacing_sleep_seconds": round(self.pacing_sleep_seconds, 3),
                "responses": self._response_count,
                "mean_response_ms": None if mean is None else round(mean, 1),
                "p95_response_ms": None if p95 is None else round(p95, 1),
                "ratelimit_limit": self.ratelimit_limit,
                "ratelimit_remaining": self.ratelimit_remaining,
                "ratelimit_reset": self.ratelimit_reset,
            }


class _StatsTee:
    """Counts one call's attempts in the client's stats and in a caller's at once.

    Lets a caller attribute requests to its own unit of work (one table of a sync) without
    taking deltas of the shared counters, which is wrong as soon as tables sync concurrently.
    """

    def __init__(self, *sinks: ClientStats):
        self._sinks = sinks

    def add(self, **increments: float) -> None:
        for sink in self._sinks:
            sink.add(**increments)

    def record_error(self, kind: str) -> None:
        for sink in self._sinks:
            sink.record_error(kind)

    def record_response(self, seconds: float, headers: Mapping[str, str]) -> None:
        for sink in self._sinks:
            sink.record_response(seconds, headers)


@dataclass
class _Target:
    """Where requests may go: only the configured API host and path prefix receive the token."""

    scheme: str
    host: str
    port: int
    path_prefix: str = field(default="")

    @classmethod
    def of(cls, url: str) -> "_Target":
        parts = urlsplit(url)
        default_port = 443 if parts.scheme == "https" else 80
        return cls(
            parts.scheme.lower(),
            (parts.hostname or "").lower(),
            parts.port or default_port,
            parts.path,
        )

    def contains(self, url: str) -> bool:
        other = _Target.of(url)
        return (other.scheme, other.host, other.port) == (self.scheme, self.host, self.port) and (
            other.path_prefix == self.path_prefix
            or other.path_prefix.startswith(self.path_prefix.rstrip("/") + "/")
        )


class XurrentClient:
    """GET JSON from the Xurrent REST API with auth, pacing and the HTTP policy applied.

    Safe to share between threads: the session's connection pool, the token provider, the pacer
    and the stats are all thread-safe. ``sleep``/``monotonic``/``wall_clock``/``rng`` are
    injectable so tests never sleep for real.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        pacer: RequestPacer | None = None,
        token_provider: TokenProvider | None = None,
        rng: random.Random | None = None,
        max_consecutive_429: int = MAX_CONSECUTIVE_429,
        max_throttle_wait_seconds: float = MAX_THROTTLE_WAIT_SECONDS,
        backoff_base_seconds: float = BACKOFF_BASE_SECONDS,
        backoff_cap_seconds: float = BACKOFF_CAP_SECONDS,
    ):
        self._settings = settings
        self._sleep = sleep
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._max_consecutive_429 = max_consecutive_429
        self._max_throttle_wait_seconds = max_throttle_wait_seconds
        self._backoff_base = backoff_base_seconds
        self._backoff_cap = backoff_cap_seconds
        self._api_url = settings.api_url.rstrip("/")
        self._target = _Target.of(self._api_url)
        self._timeout = settings.request_timeout_seconds
        self._debug = settings.enable_debug_logging

        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=CONNECTION_POOL_SIZE, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update(
            {
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
                "X-Xurrent-Account": settings.account_id,
            }
        )
        self.pacer = pacer or RequestPacer(
            max_requests_per_hour=settings.max_requests_per_hour,
            monotonic=monotonic,
            wall_clock=wall_clock,
            sleep=sleep,
        )
        self.token_provider = token_provider or self._default_token_provider(settings)
        self.stats = ClientStats()

    def _default_token_provider(self, settings: Settings) -> TokenProvider:
        if settings.uses_client_credentials:
            return ClientCredentialsTokenProvider(
                settings.token_url,
                settings.client_id,
                settings.client_secret,
                session=self._session,
                timeout_seconds=settings.request_timeout_seconds,
                monotonic=self._monotonic,
            )
        return StaticTokenProvider(settings.oauth_token)

    def __enter__(self) -> "XurrentClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def __repr__(self) -> str:
        return (
            f"XurrentClient(api_url={self._api_url!r}, account_id={self._settings.account_id!r})"
        )

    # ------------------------------------------------------------------ public API

    def get(
        self, path_or_url: str, params: dict | None = None, *, stats: ClientStats | None = None
    ) -> ApiResponse:
        """GET a path below ``settings.api_url`` ("/organizations") or an absolute next link.

        Returns the parsed response, or raises ``XurrentApiError`` with an actionable message.
        ``stats``, when given, counts this call's attempts, retries, errors and response times
        as well (besides ``self.stats``): how a sync attributes requests to one table.
        """
        url = self._resolve_url(path_or_url)
        budget = _CallBudget(
            retry_attempts=self._settings.retry_attempts,
            max_consecutive_429=self._max_consecutive_429,
            max_throttle_wait_seconds=self._max_throttle_wait_seconds,
            stats=self.stats if stats is None else _StatsTee(self.stats, stats),
        )
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Outcome),
            stop=budget.should_stop,
            wait=budget.wait_seconds,
            before_sleep=lambda retry_state: self._before_retry(url, budget, retry_state),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, url, params, budget)
        except _Outcome as last:
            raise self._exhausted_error(url, budget, last) from None

    # ------------------------------------------------------------------ one attempt

    def _resolve_url(self, path_or_url: str) -> str:
        if "://" not in path_or_url:
            relative = path_or_url.lstrip("/")
            return f"{self._api_url}/{relative}" if relative else self._api_url
        if not self._target.contains(path_or_url):
            raise XurrentApiError(
                f"Refusing to follow a link to {url_for_message(path_or_url)} on another host or "
                f"outside {url_for_message(self._api_url)}: the token is only sent to the "
                "configured API (base_url / region / environment).",
                kind="foreign_link",
            )
        return path_or_url

    def _attempt(self, url: str, params: dict | None, budget: _CallBudget) -> ApiResponse:
        budget.attempts += 1
        slot = self._pace(url)
        started = self._monotonic()
        try:
            response = self._send(url, params, budget, started)
        finally:
            self.pacer.complete(slot)
        elapsed = self._monotonic() - started
        budget.stats.add(requests=1)
        budget.stats.record_response(elapsed, response.headers)
        status = response.status_code
        if status != 429:
            self.pacer.observe(response.headers)
        kind = classify_status(status)
        data = None
        if kind == "ok":
            try:
                data = json.loads(response.content) if response.content.strip() else None
            except ValueError:
                kind = "malformed_json"
        self._log_request(url, status, elapsed, budget.attempts)
        action = HTTP_POLICY[kind]

        if action is Action.RETURN:
            return ApiResponse(
                status=status,
                data=data,
                headers=response.headers,
                links=_parse_links(response),
                url=response.url,
                elapsed_seconds=elapsed,
            )
        cause = _describe_status(status, response, kind)
        if action is Action.REFRESH_TOKEN_ONCE:
            if self.token_provider.can_refresh and not budget.refreshed_token:
                budget.refreshed_token = True
                budget.stats.record_error(kind)
                try:
                    self.token_provider.refresh_after_401()
                except TokenEndpointUnavailable as error:
                    raise self._retryable(
                        budget, "token_endpoint_unavailable", str(error)
                    ) from None
                raise _Outcome(kind, action, cause, status)
            action = Action.FAIL
        if action is Action.FAIL:
            budget.stats.record_error(kind)
            raise XurrentApiError(
                self._failure_message(kind, url, status, response), status=status, kind=kind
            )
        wait = None
        if action is Action.WAIT_RETRY_AFTER:
            wait = throttle_wait_seconds(response.headers, self._wall_clock())
        raise self._retryable(budget, kind, cause, status=status, wait_seconds=wait)

    def _send(
        self, url: str, params: dict | None, budget: _CallBudget, started: float
    ) -> requests.Response:
        """One HTTP exchange; transport failures come back classified as retryable outcomes.

        The Authorization value is built inside the call so that no frame of ours holds it in
        a local variable (crash reports print locals).
        """
        try:
            return self._session.get(
                url,
                params=params,
                headers={"Authorization": self.token_provider.authorization_header()},
                timeout=self._timeout,
                allow_redirects=False,
            )
        except TokenEndpointUnavailable as error:
            raise self._retryable(budget, "token_endpoint_unavailable", str(error)) from None
        except requests.Timeout:
            kind, cause = "timeout", f"no response within {self._timeout} s"
        except requests.RequestException as error:
            kind, cause = "connection_error", f"connection failed ({type(error).__name__})"
        budget.stats.add(requests=1)
        self._log_request(url, kind, self._monotonic() - started, budget.attempts)
        raise self._retryable(budget, kind, cause) from None

    def _pace(self, url: str) -> PacerSlot:
        try:
            slot = self.pacer.acquire()
        except PacingLimitExceeded as error:
            raise XurrentApiError(
                f"GET {url_for_message(url)}: the hourly request budget is used up and the next "
                f"request could only be sent in {error.wait_seconds / 60:.0f} minutes "
                f"({error.reason.replace('_', ' ')}). Lower max_requests_per_hour or make sure no "
                "other integration uses the same Xurrent user; the next sync resumes from the "
                "last checkpoint.",
                kind="rate_limit_budget",
            ) from None
        if slot.waited_seconds:
            self.stats.add(pacing_sleep_seconds=slot.waited_seconds)
        return slot

    def _retryable(
        self,
        budget: _CallBudget,
        kind: str,
        cause: str,
        *,
        status: int | None = None,
        wait_seconds: float | None = None,
    ) -> _Outcome:
        """Classify a failure through the policy table and count it against the right budget."""
        action = HTTP_POLICY[kind]
        budget.stats.record_error(kind)
        outcome = _Outcome(kind, action, cause, status)
        budget.record(outcome)
        if wait_seconds is not None:
            outcome.wait_seconds = wait_seconds
        elif action is Action.BACKOFF:
            ceiling = min(
                self._backoff_cap, self._backoff_base * 2 ** (budget.transient_failures - 1)
            )
            with self._rng_lock:
                outcome.wait_seconds = self._rng.uniform(0.0, ceiling)
        return outcome

    def _before_retry(
        self, url: str, budget: _CallBudget, retry_state: tenacity.RetryCallState
    ) -> None:
        outcome: _Outcome = retry_state.outcome.exception()
        wait = outcome.wait_seconds
        budget.stats.add(retries=1)
        if outcome.action is Action.WAIT_RETRY_AFTER:
            budget.throttle_waited_seconds += wait
            budget.stats.add(retry_after_sleep_seconds=wait)
            progress = f"rate limited {budget.consecutive_429} time(s) in a row"
        elif outcome.action is Action.BACKOFF:
            budget.stats.add(backoff_sleep_seconds=wait)
            progress = f"attempt {budget.transient_failures} of {budget.retry_attempts}"
        else:
            progress = "refreshed the access token"
        safe_log(
            "warning",
            f"GET {url_for_message(url)}: {outcome.cause}; {progress}; retrying in {wait:.1f} s",
        )

    def _log_request(self, url: str, status: int | str, elapsed: float, attempt: int) -> None:
        """With enable_debug_logging: one line per request; never headers or the query."""
        if self._debug:
            safe_log(
                "info",
                f"GET {url_for_message(url)} -> {status} in {elapsed * 1000:.0f} ms "
                f"(attempt {attempt})",
            )

    # ------------------------------------------------------------------ messages

    def _collection(self, url: str) -> str:
        path = urlsplit(url).path
        prefix = self._target.path_prefix.rstrip("/")
        relative = path[len(prefix) :] if path.startswith(prefix) else path
        segments = [segment for segment in relative.split("/") if segment]
        return segments[0] if segments else "the API root"

    def _failure_message(
        self, kind: str, url: str, status: int, response: requests.Response
    ) -> str:
        where = f"GET {url_for_message(url)} answered HTTP {status}"
        account = self._settings.account_id
        collection = self._collection(url)
        server_says = _server_message(response)
        quoted = f" Server message: {server_says}." if server_says else ""
        if kind == "unauthorized":
            if self.token_provider.can_refresh:
                fix = (
                    "The access token from the client credentials grant was rejected even after "
                    "a refresh. Check client_id/client_secret, that the OAuth application is "
                    f"enabled and that its user may use account_id '{account}'."
                )
            else:
                fix = (
                    "The token was rejected. Check the oauth_token setting: it may be mistyped, "
                    "expired or revoked."
                )
        elif kind == "forbidden":
            fix = (
                f"The token may not read '{collection}' in account '{account}'. Give the token "
                f"the read scope for {collection} (or remove {collection} from the tables "
                f"setting), and check that its user has access to account_id '{account}'."
            )
        elif kind == "not_found":
            fix = (
                f"Check account_id '{account}' and base_url / region / environment (the API "
                f"is configured at {url_for_message(self._api_url)} on {self._target.host})."
            )
        elif kind in ("bad_request", "unprocessable"):
            fix = "Xurrent rejected the request parameters; this is a connector bug to report."
        elif 300 <= status < 400:
            fix = "The API answered with a redirect; check base_url (a proxy may be in between)."
        else:
            fix = "This status is not expected from the Xurrent API; check base_url."
        return f"{where}.{quoted} {fix}"

    def _exhausted_error(self, url: str, budget: _CallBudget, last: _Outcome) -> XurrentApiError:
        where = f"GET {url_for_message(url)}"
        if last.action is Action.WAIT_RETRY_AFTER:
            message = (
                f"{where}: still rate limited by Xurrent (HTTP 429) after "
                f"{budget.consecutive_429} consecutive answers and "
                f"{budget.throttle_waited_seconds:.0f} s of waiting. Another integration probably "
                "shares this user's request budget: set max_requests_per_hour lower, use a token "
                "of a dedicated user, or try later. The next sync resumes from the last "
                "checkpoint."
            )
        else:
            message = (
                f"{where} failed after {budget.attempts} attempts; last cause: {last.cause}. "
                "The Xurrent API did not answer successfully; the next sync resumes from the last "
                "checkpoint. If this persists, check base_url / region and the Xurrent status "
                "page, or raise retry_attempts / request_timeout_seconds."
            )
        return XurrentApiError(
            redact(message, max_length=1000), status=last.status, kind=last.kind
        )


def _parse_links(response: requests.Response) -> dict[str, str]:
    """rel -> absolute URL from the Link header (relative links resolved against the request)."""
    links = {}
    for rel, link in response.links.items():
        target = link.get("url")
        if target:
            links[rel] = urljoin(response.url, target)
    return links


def _server_message(response: requests.Response) -> str:
    """The ``message`` (and validation ``errors``) of a Xurrent error body, redacted."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = []
    if isinstance(body.get("message"), str):
        parts.append(body["message"])
    errors = body.get("errors")
    if isinstance(errors, list):
        parts.extend(
            ": ".join(map(str, error)) if isinstance(error, list) else str(error)
            for error in errors[:5]
        )
    return redact("; ".join(parts), max_length=300)


def _describe_status(status: int, response: requests.Response, kind: str) -> str:
    if kind == "malformed_json":
        return f"HTTP {status} with a body that is not valid JSON"
    reason = redact(response.reason or "", max_length=60)
    return f"HTTP {status}" + (f" ({reason})" if reason else "")
