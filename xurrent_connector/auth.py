"""Token providers: where the ``Authorization`` header comes from.

Both providers share one small interface so the HTTP client does not care which is configured:

* ``authorization_header()`` -> ``"Bearer …"`` for the next request;
* ``can_refresh`` tells the client whether a 401 is worth one refresh-and-retry;
* ``refresh_after_401(generation)`` gets a new token unless another thread already did;
* ``invalidate()`` forgets the current token so the next request fetches a new one.

The client credentials provider refreshes *before* ``expires_in`` runs out (2 minutes or 10 % of
the lifetime, whichever is smaller), so long syncs do not collect a 401 every hour. One lock
serialises refreshes: threads that need a token while another thread fetches one wait for it
instead of all hitting the token endpoint.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Callable, Protocol

import requests

from .errors import TokenEndpointUnavailable, XurrentApiError
from .redact import redact, register_secret, url_for_message

# Xurrent documents a one-hour lifetime; used only when the token response omits expires_in.
DEFAULT_TOKEN_LIFETIME_SECONDS = 3600
MAX_REFRESH_MARGIN_SECONDS = 120
REFRESH_MARGIN_FRACTION = 0.1


class TokenProvider(Protocol):
    """What the HTTP client needs from a credential source."""

    can_refresh: bool

    @property
    def generation(self) -> int: ...

    def authorization_header(self) -> str: ...

    def invalidate(self) -> None: ...

    def refresh_after_401(self, generation: int | None = None) -> bool: ...


class StaticTokenProvider:
    """A personal access token or a pre-issued OAuth token: nothing to refresh."""

    can_refresh = False

    def __init__(self, token: str):
        register_secret(token)
        self._header = f"Bearer {token}"

    @property
    def generation(self) -> int:
        return 0

    def authorization_header(self) -> str:
        return self._header

    def invalidate(self) -> None:
        """A static token cannot be replaced; a 401 is final."""

    def refresh_after_401(self, generation: int | None = None) -> bool:
        return False

    def __repr__(self) -> str:
        return "StaticTokenProvider(token=<hidden>)"


class ClientCredentialsTokenProvider:
    """OAuth 2.0 client credentials grant with early, single-flight refresh."""

    can_refresh = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        session: requests.Session,
        timeout_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        register_secret(client_secret)
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._session = session
        self._timeout_seconds = timeout_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._header: str | None = None
        self._refresh_at = 0.0
        self._generation = 0
        # Which token generation this thread last sent, so that a 401 handler knows whether
        # the token it was refused with is still current (without keeping the token around).
        self._sent_by_thread = threading.local()
        self.token_requests = 0

    @property
    def generation(self) -> int:
        """Increments with every new token; lets a 401 handler see if someone already refreshed."""
        return self._generation

    def authorization_header(self) -> str:
        with self._lock:
            if self._header is None or self._monotonic() >= self._refresh_at:
                self._fetch_token_locked()
            self._sent_by_thread.generation = self._generation
            return self._header

    def invalidate(self) -> None:
        with self._lock:
            self._header = None

    def refresh_after_401(self, generation: int | None = None) -> bool:
        """Fetch a new token after a 401, unless a newer one than ``generation`` already exists.

        ``generation`` defaults to the one this thread last received from
        ``authorization_header``, i.e. the token the refused request carried.
        """
        if generation is None:
            generation = getattr(self._sent_by_thread, "generation", None)
        with self._lock:
            if (
                generation is not None
                and self._header is not None
                and generation != self._generation
            ):
                return True
            self._fetch_token_locked()
            return True

    def __repr__(self) -> str:
        return f"ClientCredentialsTokenProvider(token_url={url_for_message(self._token_url)!r})"

    def _fetch_token_locked(self) -> None:
        """POST the grant; the caller holds the lock."""
        self.token_requests += 1
        started = self._monotonic()
        try:
            response = self._session.post(
                self._token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                },
                headers={"Accept": "application/json"},
                timeout=self._timeout_seconds,
            )
        except requests.Timeout:
            raise TokenEndpointUnavailable(
                f"the OAuth token endpoint {url_for_message(self._token_url)} timed out"
            ) from None
        except requests.RequestException as error:
            raise TokenEndpointUnavailable(
                f"could not reach the OAuth token endpoint {url_for_message(self._token_url)} "
                f"({type(error).__name__})"
            ) from None

        status = response.status_code
        body = _json_or_none(response)
        if status == 200 and isinstance(body, dict) and isinstance(body.get("access_token"), str):
            access_token = body["access_token"]
            register_secret(access_token)
            lifetime = _lifetime_seconds(body.get("expires_in"))
            margin = min(MAX_REFRESH_MARGIN_SECONDS, REFRESH_MARGIN_FRACTION * lifetime)
            self._header = f"Bearer {access_token}"
            self._refresh_at = started + lifetime - margin
            self._generation += 1
            return
        if status == 200:
            raise TokenEndpointUnavailable(
                "the OAuth token endpoint answered 200 without an access_token"
            )
        if status == 429 or status >= 500:
            raise TokenEndpointUnavailable(f"the OAuth token endpoint answered HTTP {status}")
        if status in (400, 401):
            raise XurrentApiError(_rejection_message(status, body), status=status, kind="auth")
        raise XurrentApiError(
            f"The OAuth token endpoint {url_for_message(self._token_url)} answered HTTP {status}. "
            "Check the token_url setting (or region/environment when token_url is derived).",
            status=status,
            kind="auth",
        )


def _json_or_none(response: requests.Response) -> object:
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None


def _lifetime_seconds(expires_in: object) -> float:
    try:
        lifetime = float(expires_in)
    except (TypeError, ValueError):
        return DEFAULT_TOKEN_LIFETIME_SECONDS
    return max(lifetime, 1.0)


def _rejection_message(status: int, body: object) -> str:
    """Quote the RFC 6749 error fields (scrubbed anyway) and say which settings to check."""
    details = ""
    if isinstance(body, dict):
        parts = []
        if body.get("error"):
            parts.append(f"error '{redact(body['error'], 100)}'")
        if body.get("error_description"):
            parts.append(f"description '{redact(body['error_description'], 300)}'")
        if parts:
            details = ": " + ", ".join(parts)
    return (
        f"The OAuth token endpoint rejected the client credentials (HTTP {status}{details}). "
        "Check the client_id and client_secret settings, that the OAuth application is enabled "
        "for the client credentials grant, and token_url (or region/environment)."
    )
