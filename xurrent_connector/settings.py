"""Parse and validate the connector configuration into a typed, frozen ``Settings``.

Every key is checked before the first request so that a typo fails the setup test with a message
that names the key, what is wrong and what is accepted, instead of failing deep inside a sync.
Secret values are never echoed: not in messages, not in ``repr``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

from .redact import register_secret, safe_log

ALL_TABLES: tuple[str, ...] = ("organizations", "products", "projects")
REGIONS: tuple[str, ...] = ("global", "au", "uk", "ch", "us")
ENVIRONMENTS: tuple[str, ...] = ("production", "qa", "demo")

# Second-level domain per environment (xurrent_api.md §1.1/§1.2); region is a sub-domain.
_ENVIRONMENT_DOMAINS = {
    "production": "xurrent.com",
    "qa": "xurrent.qa",
    "demo": "xurrent-demo.com",
}

SECRET_KEYS = frozenset({"oauth_token", "client_secret"})
KNOWN_KEYS = frozenset(
    {
        "oauth_token",
        "client_id",
        "client_secret",
        "account_id",
        "region",
        "environment",
        "base_url",
        "token_url",
        "initial_sync_days",
        "enable_incremental_sync",
        "lookback_minutes",
        "max_records_per_page",
        "request_timeout_seconds",
        "retry_attempts",
        "max_requests_per_hour",
        "tables",
        "enable_debug_logging",
    }
)

# Account IDs are short site names ("widget", "wna-it"); the value goes into a header, so
# anything outside this set (spaces, CR/LF) is refused rather than sent.
_ACCOUNT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# Tokens are sent in a header too; any whitespace or control character would corrupt it.
_HEADER_SAFE_PATTERN = re.compile(r"^[\x21-\x7e]+$")


class ConfigurationError(ValueError):
    """A configuration value is missing or invalid; the message names the key and the fix."""


@dataclass(frozen=True)
class Settings:
    """Validated configuration. Build it with ``parse_settings``; secrets are left out of repr."""

    account_id: str
    api_url: str
    token_url: str | None
    oauth_token: str | None = field(repr=False)
    client_id: str | None
    client_secret: str | None = field(repr=False)
    region: str
    environment: str
    initial_sync_days: int | None
    enable_incremental_sync: bool
    lookback_minutes: int
    max_records_per_page: int
    request_timeout_seconds: int
    retry_attempts: int
    max_requests_per_hour: int | None
    tables: tuple[str, ...]
    enable_debug_logging: bool

    @property
    def uses_client_credentials(self) -> bool:
        """True when tokens come from the OAuth client credentials grant (and can be refreshed)."""
        return self.client_id is not None and self.client_secret is not None


def default_urls(region: str, environment: str) -> tuple[str, str]:
    """Return (REST API URL, OAuth token URL) for a region and environment.

    Demo exists only as a global host, so asking for a regional demo is a configuration error
    rather than a guessed host that would fail with a DNS error later.
    """
    if environment == "demo" and region != "global":
        raise ConfigurationError(
            f"Configuration key 'region': region '{region}' is not available with environment "
            "'demo'; the demo environment has only the global host api.xurrent-demo.com. "
            "Set region to 'global' or choose environment 'production' or 'qa'."
        )
    domain = _ENVIRONMENT_DOMAINS[environment]
    if region != "global":
        domain = f"{region}.{domain}"
    return f"https://api.{domain}/v1", f"https://oauth.{domain}/token"


def parse_settings(configuration: dict) -> Settings:
    """Validate ``configuration`` (string values, as the SDK delivers them) into ``Settings``.

    Raises ``ConfigurationError`` on the first problem found. Unknown keys only log a warning,
    because configuration forms may add keys of their own.
    """
    if not isinstance(configuration, dict):
        raise ConfigurationError("The configuration must be a JSON object of string values.")
    values = {key: _as_text(key, value) for key, value in configuration.items()}
    unknown = sorted(key for key in values if key not in KNOWN_KEYS)
    if unknown:
        safe_log("warning", f"Ignoring unknown configuration keys: {', '.join(unknown)}")

    def get(key: str) -> str | None:
        return values.get(key) or None

    account_id = _require(get("account_id"), "account_id", "the Xurrent account ID, e.g. 'widget'")
    if not _ACCOUNT_ID_PATTERN.match(account_id):
        raise ConfigurationError(
            f"Configuration key 'account_id': {_show(account_id)} is not a valid account ID; "
            "expected letters, digits, '-', '_' or '.' (e.g. 'widget' or 'wna-it')."
        )

    oauth_token, client_id, client_secret = _parse_credentials(get)
    region = _parse_choice(get("region"), "region", REGIONS, "global")
    environment = _parse_choice(get("environment"), "environment", ENVIRONMENTS, "production")
    derived_api_url, derived_token_url = default_urls(region, environment)

    base_url = get("base_url")
    api_url = _parse_url(base_url, "base_url") if base_url else derived_api_url
    token_url = None
    if client_id is not None:
        explicit_token_url = get("token_url")
        if explicit_token_url:
            token_url = _parse_url(explicit_token_url, "token_url")
        elif base_url:
            raise ConfigurationError(
                "Configuration key 'token_url': required when base_url is set and client_id/"
                "client_secret are used, because the OAuth token endpoint cannot be derived from "
                "a custom base_url; expected an https:// URL such as "
                "https://oauth.xurrent.com/token."
            )
        else:
            token_url = derived_token_url

    settings = Settings(
        account_id=account_id,
        api_url=api_url,
        token_url=token_url,
        oauth_token=oauth_token,
        client_id=client_id,
        client_secret=client_secret,
        region=region,
        environment=environment,
        initial_sync_days=_parse_initial_sync_days(get("initial_sync_days")),
        enable_incremental_sync=_parse_bool(
            get("enable_incremental_sync"), "enable_incremental_sync", True
        ),
        lookback_minutes=_parse_int(get("lookback_minutes"), "lookback_minutes", 5, 0, 1440),
        max_records_per_page=_parse_int(
            get("max_records_per_page"), "max_records_per_page", 100, 1, 100
        ),
        request_timeout_seconds=_parse_int(
            get("request_timeout_seconds"), "request_timeout_seconds", 30, 10, 300
        ),
        retry_attempts=_parse_int(get("retry_attempts"), "retry_attempts", 3, 1, 10),
        max_requests_per_hour=_parse_int(
            get("max_requests_per_hour"), "max_requests_per_hour", None, 1, 1_000_000
        ),
        tables=_parse_tables(get("tables")),
        enable_debug_logging=_parse_bool(
            get("enable_debug_logging"), "enable_debug_logging", False
        ),
    )
    register_secret(settings.oauth_token)
    register_secret(settings.client_secret)
    return settings


def _as_text(key: str, value: object) -> str:
    """Configuration values are strings; tolerate JSON booleans/numbers from hand-written files."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value).strip()
    raise ConfigurationError(
        f"Configuration key '{key}': expected a string value, got a {type(value).__name__}."
    )


def _show(value: str) -> str:
    """Quote a non-secret value for a message, shortened so a pasted blob cannot flood logs."""
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _require(value: str | None, key: str, what: str) -> str:
    if value is None:
        raise ConfigurationError(f"Configuration key '{key}': missing; expected {what}.")
    return value


def _check_header_safe_secret(value: str, key: str) -> None:
    if not _HEADER_SAFE_PATTERN.match(value):
        raise ConfigurationError(
            f"Configuration key '{key}': the value contains spaces or control characters "
            "(value not shown); paste it exactly as issued by Xurrent."
        )


def _parse_credentials(get: Callable[[str], str | None]) -> tuple[str | None, ...]:
    """Exactly one way to authenticate: a token, or the client_id + client_secret pair."""
    oauth_token, client_id, client_secret = (
        get("oauth_token"),
        get("client_id"),
        get("client_secret"),
    )
    if (client_id is None) != (client_secret is None):
        missing = "client_secret" if client_secret is None else "client_id"
        raise ConfigurationError(
            f"Configuration key '{missing}': missing; client_id and client_secret must be given "
            "together for the OAuth client credentials grant (or leave both empty and set "
            "oauth_token)."
        )
    if oauth_token is None and client_id is None:
        raise ConfigurationError(
            "Configuration key 'oauth_token': missing; set oauth_token to a personal access token "
            "or OAuth access token, or set client_id and client_secret instead."
        )
    if oauth_token is not None and client_id is not None:
        raise ConfigurationError(
            "Configuration key 'oauth_token': set either oauth_token or client_id/client_secret, "
            "not both, so it is clear which credentials the connector uses."
        )
    if oauth_token is not None:
        _check_header_safe_secret(oauth_token, "oauth_token")
    if client_secret is not None:
        _check_header_safe_secret(client_secret, "client_secret")
    if client_id is not None and not _HEADER_SAFE_PATTERN.match(client_id):
        raise ConfigurationError(
            "Configuration key 'client_id': the value contains spaces or control characters; "
            "paste the client ID exactly as shown on the OAuth application."
        )
    return oauth_token, client_id, client_secret


def _parse_choice(value: str | None, key: str, choices: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value.lower() not in choices:
        raise ConfigurationError(
            f"Configuration key '{key}': {_show(value)} is not supported; expected one of "
            f"{', '.join(choices)} (default {default})."
        )
    return value.lower()


def _parse_bool(value: str | None, key: str, default: bool) -> bool:
    if value is None:
        return default
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise ConfigurationError(
            f"Configuration key '{key}': {_show(value)} is not a boolean; expected 'true' or "
            f"'false' (default {'true' if default else 'false'})."
        )
    return lowered == "true"


def _parse_int(
    value: str | None, key: str, default: int | None, minimum: int, maximum: int
) -> int | None:
    default_text = "no limit" if default is None else str(default)
    accepted = f"expected a whole number from {minimum} to {maximum} (default {default_text})"
    if value is None:
        return default
    if not re.fullmatch(r"[+-]?\d+", value):
        raise ConfigurationError(
            f"Configuration key '{key}': {_show(value)} is not a whole number; {accepted}."
        )
    number = int(value)
    if not minimum <= number <= maximum:
        raise ConfigurationError(
            f"Configuration key '{key}': {number} is out of range; {accepted}."
        )
    return number


def _parse_initial_sync_days(value: str | None) -> int | None:
    if value is not None and value.lower() == "all":
        return None
    try:
        return _parse_int(value, "initial_sync_days", 90, 1, 365)
    except ConfigurationError as error:
        raise ConfigurationError(f"{error} Use 'all' to sync the complete history.") from None


def _parse_tables(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ALL_TABLES
    requested = {name.strip().lower() for name in value.split(",") if name.strip()}
    unknown = sorted(requested - set(ALL_TABLES))
    if unknown:
        raise ConfigurationError(
            f"Configuration key 'tables': unknown table(s) {', '.join(map(_show, unknown))}; "
            f"expected a comma-separated list of {', '.join(ALL_TABLES)} (default: all)."
        )
    if not requested:
        raise ConfigurationError(
            f"Configuration key 'tables': no table named; expected a comma-separated list of "
            f"{', '.join(ALL_TABLES)}, or leave it empty to sync all of them."
        )
    return tuple(name for name in ALL_TABLES if name in requested)


def _is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_url(value: str, key: str) -> str:
    """Accept https:// anywhere, http:// only on loopback (the simulator, a local proxy).

    Credentials embedded in the URL are refused because the URL shows up in messages, and the
    message never repeats the raw value for the same reason.
    """
    accepted = (
        "expected https://<host>/<path>; http:// is allowed only for localhost/127.0.0.1/::1"
    )
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError:
        raise ConfigurationError(
            f"Configuration key '{key}': not a valid URL; {accepted}."
        ) from None
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(
            f"Configuration key '{key}': the URL must not contain a user name or password "
            f"(value not shown); {accepted}."
        )
    scheme = parts.scheme.lower()
    shown = f"'{scheme}://{host}'" if scheme and host else "the value"
    if scheme not in ("https", "http") or not host:
        raise ConfigurationError(
            f"Configuration key '{key}': {shown} is not a valid URL; {accepted}."
        )
    if scheme == "http" and not _is_loopback_host(host):
        raise ConfigurationError(
            f"Configuration key '{key}': {shown} uses plain http to a non-loopback host, which "
            f"would send the token unencrypted; {accepted}."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"Configuration key '{key}': the URL must not contain a query string or fragment; "
            f"{accepted}."
        )
    return f"{scheme}://{parts.netloc}{parts.path}".rstrip("/")
