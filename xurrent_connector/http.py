"""The one HTTP client: what each answer means, retries, Retry-After, pacing, and where the
token may go.

Every attempt ends in a *kind* (``classify``), and ``POLICY`` maps each kind to an ``Action``;
nothing else decides whether to retry. The retry loop in ``XurrentClient.get`` is a plain loop
over that table with two budgets: 5xx, timeouts, dropped connections and malformed bodies back
off exponentially with full jitter for ``retry_attempts`` attempts in total; 429s wait for
``Retry-After`` (capped) on a budget of their own, so a shared rate limit neither eats the
transient-error attempts nor parks the sync forever. A 429 whose ``Retry-After`` cannot be used
(missing, garbage, or longer than an hour) is a burst 429 unless the budget headers say the
hour is used up. A 401 with refreshable credentials gets one new token and one more try.
``request_timeout_seconds`` is a deadline for the whole request, connecting, headers and body
(deadline.py): a body that trickles in times out like a server that never answers.

The token only ever goes to the configured API: ``get`` takes a path below ``api_url``, never a
URL, so a link from a server (on another host, or a twin host after the 4me rename) cannot
carry it elsewhere; pages are requested by their cursor parameters (sync.py).

Before each attempt a ``Pacer`` shared by every thread hands out a send slot that keeps the
burst limit (20 requests per 2 s as the server counts them, which is sometime between our send
and its answer) and spreads the hourly budget from the ``x-ratelimit-*`` headers, so a clean
sync normally never sees a 429.

Secrets: the Authorization value exists only in the header dict of one call; messages show the
method, the path (never the query, which holds cursors) and the status; text taken from a server
goes through ``redact``; exceptions leave ``from None`` so no requests exception (which may quote
headers) is chained on.
"""

from __future__ import annotations

import enum
import json
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urljoin

import requests

from . import __version__
from .auth import ROLES, configured_credentials
from .deadline import WATCHDOG, DeadlineAdapter
from .errors import XurrentApiError
from .pacing import (
    BURST_WINDOW_SECONDS,
    LONGEST_CREDIBLE_WAIT_SECONDS,
    Pacer,
    RateLimit,
    Slot,
    answer_clock,
    http_date,
    rate_limit_exhausted,
)
from .redact import endpoint_for_message, redact, safe_log, url_for_message
from .repair import may_hold_surrogates

USER_AGENT = f"xurrent-fivetran-connector/{__version__} (fivetran-connector-sdk)"
MAX_CONSECUTIVE_429 = 20
MAX_THROTTLE_WAIT_SECONDS = 15 * 60
RETRY_AFTER_DEFAULT_SECONDS = 5.0
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0


class Action(enum.Enum):
    RETURN = "return the response"
    REFRESH = "credentials refused: a new token once, then the backup credentials once; else fail"
    FAIL = "fail now with a message that says which setting to fix"
    WAIT = "wait Retry-After (capped) and retry, on the 429 budget"
    BACKOFF = "exponential backoff with full jitter and retry, up to retry_attempts"


STATUS_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    408: "timeout",
    422: "unprocessable",
    429: "throttled",
}

#: THE policy table: the only place that decides what happens after an attempt.
POLICY = {
    "ok": Action.RETURN,
    "unauthorized": Action.REFRESH,
    "bad_request": Action.FAIL,
    "forbidden": Action.FAIL,
    "not_found": Action.FAIL,
    "unprocessable": Action.FAIL,
    "unexpected_status": Action.FAIL,
    "token_rejected": Action.REFRESH,
    "throttled": Action.WAIT,
    "server_error": Action.BACKOFF,
    "timeout": Action.BACKOFF,
    "connection_error": Action.BACKOFF,
    "malformed_json": Action.BACKOFF,
    "token_endpoint_unavailable": Action.BACKOFF,
}


def classify(status: int) -> str:
    """The policy kind of an HTTP status (transport failures are classified where caught)."""
    if 200 <= status < 300:
        return "ok"
    if 500 <= status < 600:
        return "server_error"
    return STATUS_KINDS.get(status, "unexpected_status")


@dataclass
class ApiResponse:
    """A successful, parsed answer."""

    status: int
    data: object
    headers: Mapping[str, str]  # case-insensitive
    links: dict[str, str]  # rel -> absolute URL, from the Link header
    elapsed_seconds: float
    rate: RateLimit
    #: The body may hold text UTF-8 cannot encode (a lone surrogate; see repair.py).
    may_hold_surrogates: bool = False
    kind = "ok"


@dataclass
class _Failure:
    """An attempt that did not succeed, classified."""

    kind: str
    cause: str  # safe to show: "HTTP 503 (Service Unavailable)", "no response within 30 s"
    status: int | None = None
    response: requests.Response | None = None
    generation: int = 0
    slot: int = 0  # which credentials the attempt used (0 primary, 1 backup)
    elapsed_seconds: float | None = None  # None: no answer came
    rate: RateLimit | None = None


@dataclass
class _Budget:
    """What one ``get`` has spent: transient failures, 429s in a row, waiting, a refresh."""

    transient: int = 0
    throttled: int = 0
    waited_429: float = 0.0
    refreshed: bool = False


def retry_after_seconds(headers: Mapping[str, str], now_epoch: float) -> float | None:
    """How long a 429's ``Retry-After`` asks to wait (RFC 9110: whole seconds, or an HTTP-date
    read against the answer's own ``Date``, else ``now_epoch``); a date in the past is 0.

    None when there is none that can be used: missing, not a number or a date (``soon``,
    ``-5``, ``1.5``, ``NaN``), or longer than the documented limits can ask for, which only a
    broken server or proxy sends: the caller then decides by the budget headers.
    """
    value = str(headers.get("Retry-After") or "").strip()
    if re.fullmatch(r"[0-9]{1,10}", value):
        wait = float(value)
    else:
        when = http_date(value)
        if when is None:
            return None
        wait = max(0.0, when - answer_clock(headers, now_epoch))
    return wait if wait <= LONGEST_CREDIBLE_WAIT_SECONDS else None


# --- the client -------------------------------------------------------------------------------


class XurrentClient:
    """GET JSON from the Xurrent REST API with auth, pacing and the policy table applied.

    Safe to share between threads. ``sleep``, ``monotonic``, ``wall_clock`` and ``rng`` are
    injectable so tests never sleep for real; ``cancel()`` ends every wait and attempt early
    (the sync calls it when it fails, so fetch threads stop promptly). ``roles`` chooses the
    credentials, in the order they are tried (the setup tests check each set on its own).
    """

    def __init__(
        self,
        settings,
        *,
        sleep: Callable[[float], object] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        roles: tuple[str, ...] = ROLES,
        max_consecutive_429: int = MAX_CONSECUTIVE_429,
        max_throttle_wait_seconds: float = MAX_THROTTLE_WAIT_SECONDS,
    ):
        self.settings = settings
        self._cancelled = threading.Event()
        self._sleep = sleep or self._cancelled.wait
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()
        self._max_429 = max_consecutive_429
        self._max_throttle_wait = max_throttle_wait_seconds
        self._api_url = settings.api_url.rstrip("/")
        self._session = requests.Session()
        adapter = DeadlineAdapter(pool_maxsize=8, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update(
            {
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
                "X-Xurrent-Account": settings.account_id,
            }
        )
        self.pacer = Pacer(
            settings.max_requests_per_hour,
            monotonic,
            wall_clock,
            settings.max_rate_limit_wait_seconds,
        )
        self._credentials = configured_credentials(settings, self._session, monotonic, roles)
        self._active = 0
        self._switch = threading.Lock()

    @property
    def credentials_in_use(self) -> str:
        """``primary`` or ``backup``: which credentials requests carry now."""
        return self._credentials[self._active].role

    def close(self) -> None:
        self._session.close()

    def cancel(self) -> None:
        """Stop: waits end now, and no further attempt is made."""
        self._cancelled.set()

    def __repr__(self) -> str:
        return f"XurrentClient(api_url={self._api_url!r}, account={self.settings.account_id!r})"

    def get(self, path: str, params: dict | None = None, metrics=None) -> ApiResponse:
        """GET ``api_url + path`` ("/organizations", or "" for the API root).

        Returns the parsed answer or raises ``XurrentApiError`` with an actionable message.
        Every attempt is counted on ``metrics`` (a stream's ``StreamMetrics``) when given.
        """
        url = self._api_url + path
        budget = _Budget()
        while True:
            outcome = self._attempt(url, params)
            if metrics is not None:
                metrics.attempt(outcome.kind, outcome.elapsed_seconds, outcome.rate)
            if isinstance(outcome, ApiResponse):
                return outcome
            wait = self._retry_wait(url, outcome, budget)
            if metrics is not None:
                metrics.retry()
            safe_log(
                "warning",
                f"GET {url_for_message(url)}: {outcome.cause}; retrying in {wait:.1f} s "
                f"({budget.transient} transient failures, {budget.throttled} rate-limited in a "
                "row)",
            )
            self._sleep(wait)

    def _retry_wait(self, url: str, outcome: _Failure, budget: _Budget) -> float:
        """How long to wait before retrying, by the policy table; raises when the action is to
        fail, or when the action's budget is spent."""
        action = POLICY[outcome.kind]
        if action is Action.REFRESH:
            return self._credentials_retry(url, outcome, budget)
        if action is Action.WAIT:
            budget.throttled += 1
            now = self._wall_clock()
            wait, reason = self._throttled_wait(outcome, now)
            if wait > self.settings.max_rate_limit_wait_seconds:
                raise rate_limit_exhausted(wait, reason, now)
            too_long = budget.waited_429 + wait > self._max_throttle_wait
            if budget.throttled > self._max_429 or too_long:
                reason = f"still rate limited after {budget.throttled} answers 429"
                raise rate_limit_exhausted(wait, reason, now)
            budget.waited_429 += wait
            return wait
        if action is Action.BACKOFF:
            budget.transient += 1
            if budget.transient >= self.settings.retry_attempts:
                raise self._exhausted(url, budget.transient, outcome)
            ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (budget.transient - 1))
            return self._rng.uniform(0.0, ceiling)
        raise self._failure(url, outcome)

    def _throttled_wait(self, outcome: _Failure, now_epoch: float) -> tuple[float, str]:
        """How long to wait after a 429, and why: its ``Retry-After``; without a usable one,
        until the reported reset when the hourly budget is used up, else the burst window (a
        burst 429: retried like one, never taken for an hour's wait). At least 1 s."""
        asked = retry_after_seconds(outcome.response.headers, now_epoch)
        if asked is not None:
            return max(1.0, asked), "the API answered 429 with Retry-After"
        rate = outcome.rate
        if self.pacer.hour_used_up(rate):
            reset = RETRY_AFTER_DEFAULT_SECONDS if rate.reset_in is None else rate.reset_in
            return max(1.0, reset), "the API answered 429: the hourly request budget is used up"
        return BURST_WINDOW_SECONDS, "the API answered 429 for the burst limit"

    def _credentials_retry(self, url: str, outcome: _Failure, budget: _Budget) -> float:
        """Credentials refused: a new token once, then the backup credentials once; raise when
        neither is possible. A 403 never gets here: a missing scope is not a refused token."""
        provider = self._credentials[outcome.slot].provider
        if outcome.slot < self._active:
            return 0.0  # another thread already switched to the backup credentials
        if outcome.kind == "unauthorized" and provider.refreshable and not budget.refreshed:
            budget.refreshed = True
            provider.invalidate(outcome.generation)
            return 0.0
        with self._switch:
            switched = outcome.slot == self._active < len(self._credentials) - 1
            if switched:
                self._active += 1
        if not switched:
            raise self._failure(url, outcome)
        budget.refreshed = False
        safe_log(
            "warning",
            f"{self._credentials[outcome.slot].label} was refused ({outcome.cause}); using "
            f"{self._credentials[self._active].label} for the rest of this sync",
        )
        return 0.0

    def _attempt(self, url: str, params) -> ApiResponse | _Failure:
        """One attempt: a pacing slot, the exchange, its classification."""
        slot = self._slot()
        started = self._monotonic()
        credentials = self._active
        try:
            header, generation = self._credentials[credentials].provider.current()
        except XurrentApiError as error:
            self.pacer.done(slot)
            if error.kind not in ("token_endpoint_unavailable", "token_rejected"):
                raise
            return _Failure(error.kind, str(error), error.status, slot=credentials)
        sent = self._monotonic()
        timeout = self.settings.request_timeout_seconds
        failure = response = None
        try:
            with WATCHDOG.within(timeout) as deadline:  # the whole request, body included
                response = self._session.get(
                    url,
                    params=params,
                    headers={"Authorization": header},
                    timeout=timeout,
                    allow_redirects=False,
                )
        except requests.RequestException as error:
            failure = type(error)
        finally:
            self.pacer.done(slot, sent)
        if failure is None and not deadline.expired:
            return self._classified(url, response, started, (generation, credentials))
        if response is not None:
            response.close()  # cut off in its headers: what arrived is not the whole answer
        if deadline.expired or issubclass(failure, requests.Timeout):
            kind, cause = "timeout", f"no complete answer within {timeout} s"
        else:
            kind, cause = "connection_error", f"connection failed ({failure.__name__})"
        self._debug(url, kind, started)
        return _Failure(kind, cause, generation=generation, slot=credentials)

    def _slot(self) -> Slot:
        """Wait for a pacing slot (asking again while a whole window is in flight)."""
        while True:
            if self._cancelled.is_set():
                raise XurrentApiError("The sync was stopped.", kind="cancelled")
            slot, wait = self.pacer.acquire()
            if wait:
                self._sleep(wait)
            if slot is not None:
                return slot

    def _classified(self, url, response, started, used):
        elapsed = self._monotonic() - started
        kind = classify(response.status_code)
        data = None
        if kind == "ok":
            try:
                data = json.loads(response.content) if response.content.strip() else None
            except ValueError:  # also an HTML page under any Content-Type
                kind = "malformed_json"
        rate = RateLimit.of(response.headers, self._wall_clock())
        if response.status_code != 429:
            self.pacer.observe(rate)
        elif self.pacer.throttled():
            safe_log(
                "warning",
                f"GET {url_for_message(url)} was refused for the burst limit (HTTP 429): pacing "
                "by the slower rule that cannot exceed it for the rest of this sync",
            )
        self._debug(url, response.status_code, started)
        if kind == "ok":
            links = {rel: urljoin(response.url, v["url"]) for rel, v in response.links.items()}
            return ApiResponse(
                response.status_code,
                data,
                response.headers,
                links,
                elapsed,
                rate,
                may_hold_surrogates(response.content),
            )
        reason = redact(response.reason or "", max_length=60)
        cause = f"HTTP {response.status_code}" + (f" ({reason})" if reason else "")
        if kind == "malformed_json":
            claimed = redact(response.headers.get("Content-Type") or "none", max_length=60)
            cause = (
                f"HTTP {response.status_code} with a body that is not valid JSON (Content-Type "
                f"{claimed}; a proxy or a login page may answer instead of the API)"
            )
        return _Failure(kind, cause, response.status_code, response, *used, elapsed, rate)

    def _debug(self, url: str, status, started: float) -> None:
        """With enable_debug_logging: one line per request; never headers or the query."""
        if self.settings.enable_debug_logging:
            elapsed = (self._monotonic() - started) * 1000
            safe_log("info", f"GET {url_for_message(url)} -> {status} in {elapsed:.0f} ms")

    # --- messages --------------------------------------------------------------------------

    def _failure(self, url: str, outcome: _Failure) -> XurrentApiError:
        """The message of an answer that fails at once: what happened and what to change."""
        status, kind = outcome.status, outcome.kind
        if kind in ("unauthorized", "token_rejected"):
            return self._refused(url, outcome)
        where = f"GET {url_for_message(url)} answered HTTP {status}"
        account = self.settings.account_id
        collection = url[len(self._api_url) :].strip("/").split("/")[0] or "the API root"
        fixes = {
            "forbidden": (
                f"The token may not read {collection} in account '{account}'. Give the token "
                f"the '{collection.capitalize()} - Read' scope (or remove {collection} from the "
                f"tables setting), and check account_id: the token's user must have access to "
                f"account '{account}'."
            ),
            "not_found": (
                f"Check account_id '{account}' and base_url / region / environment (the API is "
                f"configured at {endpoint_for_message(self._api_url)})."
            ),
        }
        fix = fixes.get(kind)
        if fix is None and kind in ("bad_request", "unprocessable"):
            fix = "Xurrent rejected the request parameters; this is a connector bug to report."
        elif fix is None:
            fix = "The API answered with a status it does not document; check base_url (a proxy "
            fix += "may be in between)."
        server = _server_message(outcome.response)
        quoted = f" Server message: {server}." if server else ""
        return XurrentApiError(f"{where}.{quoted} {fix}", status, kind, server)

    def _refused(self, url: str, outcome: _Failure) -> XurrentApiError:
        """Credentials refused for good: which ones, and which settings to fix."""
        refused = self._credentials[outcome.slot]
        label, keys = refused.label, refused.key_prefix
        both = "Both the primary and the backup credentials were refused. " if outcome.slot else ""
        if outcome.kind == "token_rejected":
            return XurrentApiError(both + outcome.cause, outcome.status, outcome.kind)
        where = f"GET {url_for_message(url)} answered HTTP 401"
        if refused.provider.refreshable:
            fix = (
                f"The access token from the client credentials grant of {label} was rejected "
                f"even after a refresh. Check {keys}client_id/{keys}client_secret, that the "
                "OAuth application is enabled and that its user may use account_id "
                f"'{self.settings.account_id}'."
            )
        else:
            fix = (
                f"The token was rejected ({label}): it is invalid or expired (or mistyped, or "
                "revoked). Create a new personal access token (My Profile > Personal Access "
                f"Tokens) with read scope for the selected tables and set it as {keys}oauth_token."
            )
        return XurrentApiError(f"{both}{where}. {fix}", 401, "unauthorized")

    def _exhausted(self, url: str, attempts: int, last: _Failure) -> XurrentApiError:
        return XurrentApiError(
            redact(
                f"GET {url_for_message(url)} failed after {attempts} attempt{'s' * (attempts > 1)}; "
                f"last cause: "
                f"{last.cause}. The next sync resumes from the last checkpoint. If this "
                "persists, check base_url / region and the Xurrent status page, or raise "
                "retry_attempts / request_timeout_seconds.",
                max_length=1000,
            ),
            last.status,
            last.kind,
        )


def _server_message(response: requests.Response | None) -> str:
    """The ``message`` (and validation ``errors``) of a Xurrent error body, redacted."""
    try:
        body = json.loads(response.content)
    except (AttributeError, TypeError, ValueError):
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [body["message"]] if isinstance(body.get("message"), str) else []
    for error in body.get("errors", [])[:5] if isinstance(body.get("errors"), list) else []:
        parts.append(": ".join(map(str, error)) if isinstance(error, list) else str(error))
    return redact("; ".join(parts), max_length=300)
