"""Where the ``Authorization`` header comes from: a static token or the client credentials grant.

Both providers answer ``current()`` with the header and its generation (a number that grows
with every new token), so that after a 401 the client drops the refused token only if nobody
replaced it in the meantime: threads that share a client renew it once, not once each. Client
credentials are renewed before ``expires_in`` runs out (2 minutes early, or 10 % of a short
lifetime), so a long sync does not collect a 401 every hour.

Failures of the token endpoint are ``XurrentApiError`` of kind ``token_endpoint_unavailable``
(timeouts, 5xx, 429: worth retrying) or ``token_rejected`` (the client is refused: a setting to
fix). Secrets are registered for redaction and never kept in a frame's locals longer than needed.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Callable

import requests

from .errors import XurrentApiError
from .redact import endpoint_for_message, redact, register_secret

#: Xurrent documents one hour; used only when the token response has no expires_in.
DEFAULT_LIFETIME_SECONDS = 3600.0
MAX_REFRESH_MARGIN_SECONDS = 120.0


class StaticToken:
    """A personal access token or a pre-issued OAuth token: a 401 is final."""

    refreshable = False

    def __init__(self, token: str):
        register_secret(token)
        self._header = f"Bearer {token}"

    def current(self) -> tuple[str, int]:
        return self._header, 0

    def invalidate(self, refused_generation: int) -> None:
        """Nothing to renew; the client never asks (``refreshable`` is False)."""

    def __repr__(self) -> str:
        return "StaticToken(<hidden>)"


class ClientCredentials:
    """OAuth 2.0 client credentials grant with early, single-flight renewal."""

    refreshable = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        session: requests.Session,
        timeout_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
        keys: str = "client_id and client_secret",
    ):
        register_secret(client_secret)
        self._keys = keys  # the settings to check when the endpoint refuses the client
        self._token_url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._session = session
        self._timeout = timeout_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._header: str | None = None
        self._renew_at = 0.0
        self._generation = 0

    def current(self) -> tuple[str, int]:
        with self._lock:
            if self._header is None or self._monotonic() >= self._renew_at:
                self._fetch()
            return self._header, self._generation

    def invalidate(self, refused_generation: int) -> None:
        """Forget a token the API refused, so the next ``current()`` fetches a new one; a token
        another thread has already replaced is kept."""
        with self._lock:
            if self._generation == refused_generation:
                self._header = None

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={endpoint_for_message(self._token_url)!r})"

    def _fetch(self) -> None:
        """POST the grant (the caller holds the lock)."""
        started = self._monotonic()
        where = endpoint_for_message(self._token_url)
        try:
            response = self._session.post(
                self._token_url,
                data=self._form,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except requests.RequestException as error:
            cause = "timed out" if isinstance(error, requests.Timeout) else type(error).__name__
            raise XurrentApiError(
                f"Could not get an OAuth token from {where} ({cause}): check token_url, or "
                "region/environment when token_url is empty",
                kind="token_endpoint_unavailable",
            ) from None
        body = _json_or_none(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code == 200 and isinstance(token, str):
            register_secret(token)
            lifetime = _lifetime(body.get("expires_in"))
            self._header = f"Bearer {token}"
            self._renew_at = started + lifetime - min(MAX_REFRESH_MARGIN_SECONDS, 0.1 * lifetime)
            self._generation += 1
            return
        raise _token_error(response.status_code, body, where, self._keys)


PRIMARY, BACKUP = "primary", "backup"
#: The order credentials are tried in: the backup ones only after the primary ones are refused.
ROLES = (PRIMARY, BACKUP)


@dataclass(frozen=True)
class Credentials:
    """One configured set of credentials: which set (``role``), how the user knows it
    (``label``), the prefix of its configuration keys, and where its header comes from."""

    role: str
    label: str
    key_prefix: str  # "" or "backup_": the settings to fix when it is refused
    provider: StaticToken | ClientCredentials


def configured_credentials(
    settings, session: requests.Session, monotonic: Callable[[], float], roles=ROLES
) -> list[Credentials]:
    """The credentials of ``settings`` for each of ``roles`` that is configured, in order."""
    found = []
    for role in roles:
        prefix = "backup_" if role == BACKUP else ""
        client_id = getattr(settings, f"{prefix}client_id")
        token = getattr(settings, f"{prefix}oauth_token")
        if client_id is not None:
            provider = ClientCredentials(
                settings.token_url,
                client_id,
                getattr(settings, f"{prefix}client_secret"),
                session,
                settings.request_timeout_seconds,
                monotonic,
                keys=f"{prefix}client_id and {prefix}client_secret",
            )
            label = f"the {role} OAuth client '{client_id}' ({prefix}client_id)"
        elif token is not None:
            provider = StaticToken(token)
            label = f"the {role} personal access token ({prefix}oauth_token)"
        else:
            continue
        found.append(Credentials(role, label, prefix, provider))
    return found


def _json_or_none(response: requests.Response) -> object:
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None


def _lifetime(expires_in: object) -> float:
    try:
        return max(float(expires_in), 1.0)
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME_SECONDS


def _token_error(status: int, body: object, where: str, keys: str) -> XurrentApiError:
    if status == 200 or status == 429 or status >= 500:
        what = "without an access_token" if status == 200 else f"HTTP {status}"
        return XurrentApiError(
            f"The OAuth token endpoint {where} answered {what}.",
            status,
            "token_endpoint_unavailable",
        )
    if status in (400, 401):
        details = ""
        if isinstance(body, dict):
            parts = [
                f"{key} '{redact(body[key], 200)}'"
                for key in ("error", "error_description")
                if body.get(key)
            ]
            details = ": " + ", ".join(parts) if parts else ""
        return XurrentApiError(
            f"The OAuth token endpoint rejected the client credentials (HTTP {status}{details}). "
            f"Check the {keys} settings, that the OAuth application is enabled for the client "
            "credentials grant, and token_url (or region/environment).",
            status,
            "token_rejected",
        )
    return XurrentApiError(
        f"The OAuth token endpoint {where} answered HTTP {status}. Check the token_url setting "
        "(or region/environment when token_url is derived).",
        status,
        "token_rejected",
    )
