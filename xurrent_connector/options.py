"""Every configuration key, declared once.

An ``Option`` holds all there is to say about a key: its label and help text, what it accepts,
its default, whether it is a secret and how its text becomes a value. ``parse_settings``
validates a configuration with these declarations, ``form_field_of`` builds each field of the
setup form from them, and the README's configuration table and the configuration.json template
are generated from them (tools/generate_docs.py, checked by a test), so none can disagree.

Configuration values arrive as strings (an empty string means "not set"). Every key is checked
before the first request, so a typo fails the setup test with a message that names the key,
the problem and what is accepted. Secret values are never echoed, not even in ``repr``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, make_dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from fivetran_connector_sdk import form_field

from .errors import ConfigurationError
from .redact import MIN_SECRET_LENGTH, register_secret, safe_log
from .streams import TABLE_NAMES, TABLES

TEXT, SECRET, CHOICE, TOGGLE = "text", "secret", "choice", "toggle"

REGIONS = (
    ("global", "Global (api.xurrent.com)"),
    ("au", "Australia (api.au.xurrent.com)"),
    ("uk", "United Kingdom (api.uk.xurrent.com)"),
    ("ch", "Switzerland (api.ch.xurrent.com)"),
    ("us", "United States (api.us.xurrent.com)"),
)
ENVIRONMENTS = (
    ("production", "Production"),
    ("qa", "QA (xurrent.qa)"),
    ("demo", "Demo (xurrent-demo.com, global region only)"),
)
#: Second-level domain per environment (xurrent_api.md §1.1/§1.2); a region is a sub-domain.
DOMAINS = {"production": "xurrent.com", "qa": "xurrent.qa", "demo": "xurrent-demo.com"}

# Account IDs are short site names ("widget", "wna-it") sent in a header: nothing else passes.
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# Tokens and client ids go into headers or form bodies: any whitespace would corrupt them.
_HEADER_SAFE = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class Value:
    """What a key accepts: its text for people, its parser, and how the form shows it."""

    accepted: str
    parse: Callable[[str], Any]
    kind: str = TEXT
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Option:
    """One configuration key. ``value.parse`` turns the stripped, non-empty text into the
    setting or raises ``ValueError`` with the problem (never quoting a secret)."""

    name: str
    label: str
    help: str
    value: Value
    default: Any = None
    note: str | None = None  # what an empty value means, when not simply the default
    required: bool = False
    placeholder: str | None = None
    template: str | None = None  # what configuration.json shows, when not the default

    accepted = property(lambda self: self.value.accepted)
    parse = property(lambda self: self.value.parse)
    kind = property(lambda self: self.value.kind)
    choices = property(lambda self: self.value.choices)
    secret = property(lambda self: self.value.kind == SECRET)

    @property
    def default_text(self) -> str:
        if self.note is not None:
            return self.note
        if isinstance(self.default, bool):
            return f"Default: {str(self.default).lower()}."
        if isinstance(self.default, tuple):
            return f"Default: {','.join(self.default)}."
        return "No default." if self.default is None else f"Default: {self.default}."

    @property
    def template_value(self) -> str:
        """The key's value in the configuration.json template: a hint, or the default."""
        if self.template is not None:
            return self.template
        if isinstance(self.default, bool):
            return str(self.default).lower()
        if self.default == TABLE_NAMES:
            return "all"
        return "" if self.default is None else str(self.default)

    @property
    def description(self) -> str:
        """What the form shows under the field: purpose, accepted values, default."""
        return f"{self.help} Accepted: {self.accepted}. {self.default_text}"


# --- value parsers (each raises ValueError with the problem) ----------------------------------


def _shown(value: str) -> str:
    """Quote a non-secret value for a message, shortened so a pasted blob cannot flood logs."""
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _text(value: str) -> str:
    return value


def _account(value: str) -> str:
    if not _ACCOUNT_ID.match(value):
        raise ValueError(f"{_shown(value)} is not a valid account ID")
    return value


def _header_safe(value: str) -> str:
    if not _HEADER_SAFE.match(value):
        raise ValueError("the value contains spaces or control characters (value not shown)")
    return value


def _secret(value: str) -> str:
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"shorter than {MIN_SECRET_LENGTH} characters, so not a value Xurrent issued "
            "(value not shown)"
        )
    return _header_safe(value)


def _choice(values: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value.lower() not in values:
            raise ValueError(f"{_shown(value)} is not supported")
        return value.lower()

    return parse


def _boolean(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise ValueError(f"{_shown(value)} is not a boolean")
    return value.lower() == "true"


def _integer(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not re.fullmatch(r"[+-]?\d+", value):
            raise ValueError(f"{_shown(value)} is not a whole number")
        if not minimum <= int(value) <= maximum:
            raise ValueError(f"{int(value)} is out of range")
        return int(value)

    return parse


def _days_or_all(value: str) -> int | None:
    return None if value.lower() == "all" else _integer(1, 365)(value)


def _tables(value: str) -> tuple[str, ...]:
    if value.lower() == "all":
        return TABLE_NAMES
    requested = {name.strip().lower() for name in value.split(",") if name.strip()}
    unknown = sorted(requested - set(TABLE_NAMES))
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(map(_shown, unknown))}")
    if not requested:
        raise ValueError("no table named")
    return tuple(name for name in TABLE_NAMES if name in requested)


def _excluded_columns(value: str) -> frozenset[tuple[str, str]]:
    """``table.column`` pairs; the sync needs each table's ``id`` and cursor field."""
    pairs, unknown = set(), []
    for item in (part.strip() for part in value.split(",")):
        table_name, _, column = item.lower().partition(".")
        table = TABLES.get(table_name.strip())
        column = column.strip()
        if not item:
            continue
        if table is None or column not in {c.name for c in table.columns}:
            unknown.append(item)
        elif column in ("id", table.cursor_field):
            raise ValueError(f"{_shown(item)} cannot be left out: rows are keyed and walked by it")
        else:
            pairs.add((table.name, column))
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(map(_shown, unknown))}")
    return frozenset(pairs)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(value: str) -> str:
    """https:// anywhere, http:// only on loopback (the simulator, a local proxy).

    A user name or password in the URL is refused (URLs show up in messages), and the raw
    value is never repeated for the same reason.
    """
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError:
        raise ValueError("not a valid URL") from None
    scheme = parts.scheme.lower()
    shown = f"'{scheme}://{host}'" if scheme and host else "the value"
    if parts.username is not None or parts.password is not None:
        raise ValueError("the URL must not contain a user name or password (value not shown)")
    if scheme not in ("https", "http") or not host:
        raise ValueError(f"{shown} is not a valid URL")
    if scheme == "http" and not _is_loopback(host):
        raise ValueError(
            f"{shown} uses plain http to a non-loopback host, which would send the token "
            "unencrypted"
        )
    if parts.query or parts.fragment:
        raise ValueError("the URL must not contain a query string or fragment")
    return f"{scheme}://{parts.netloc}{parts.path}".rstrip("/")


def whole_number(minimum: int, maximum: int) -> Value:
    return Value(f"a whole number from {minimum} to {maximum}", _integer(minimum, maximum))


def choice(options: tuple[tuple[str, str], ...]) -> Value:
    values = tuple(value for value, _ in options)
    return Value(", ".join(values), _choice(values), CHOICE, options)


URL = Value("an https:// URL (http:// only for localhost, 127.0.0.1 or ::1)", _url)
TOKEN = Value("the value exactly as issued", _secret, SECRET)
ON_OFF = Value("'true' or 'false'", _boolean, TOGGLE)

# --- the options ------------------------------------------------------------------------------

OPTIONS: tuple[Option, ...] = (
    Option(
        "account_id",
        "Account ID",
        "The Xurrent account to read, sent as the X-Xurrent-Account header: the short site name "
        "in your Xurrent URL (widget in widget.xurrent.com).",
        Value("letters, digits, '-', '_' and '.' (e.g. 'widget' or 'wna-it')", _account),
        note="Required.",
        required=True,
        placeholder="widget",
        template="<YOUR_ACCOUNT_ID, e.g. widget>",
    ),
    Option(
        "oauth_token",
        "Personal access token",
        "A personal access token (My Profile > Personal Access Tokens) or an OAuth access "
        "token, with read scope for the selected tables.",
        TOKEN,
        note="Required unless client ID and client secret are given; do not set both.",
        template="<YOUR_PERSONAL_ACCESS_TOKEN, or empty with client_id and client_secret>",
    ),
    Option(
        "client_id",
        "OAuth client ID",
        "Client ID of an OAuth application with the client credentials grant, instead of a "
        "personal access token; its tokens are renewed before they expire.",
        Value("the client ID exactly as shown on the OAuth application", _header_safe),
        note="Optional; give it together with the client secret.",
    ),
    Option(
        "client_secret",
        "OAuth client secret",
        "Client secret of the same OAuth application.",
        TOKEN,
        note="Optional; give it together with the client ID.",
    ),
    Option(
        "backup_oauth_token",
        "Backup personal access token",
        "Used for the rest of a sync when the primary credentials are refused (revoked token, "
        "disabled OAuth application); a token of another user, with the same read scopes.",
        TOKEN,
        note="Optional; or give backup client ID and secret; not both.",
    ),
    Option(
        "backup_client_id",
        "Backup OAuth client ID",
        "Client ID of a second OAuth application, used like the backup token.",
        Value("the client ID exactly as shown on the OAuth application", _header_safe),
        note="Optional; give it together with the backup client secret.",
    ),
    Option(
        "backup_client_secret",
        "Backup OAuth client secret",
        "Client secret of the backup OAuth application.",
        TOKEN,
        note="Optional; give it together with the backup client ID.",
    ),
    Option("region", "Region", "The Xurrent region of your account.", choice(REGIONS), "global"),
    Option(
        "environment",
        "Environment",
        "The Xurrent environment of your account (demo has only the global region).",
        choice(ENVIRONMENTS),
        "production",
    ),
    Option(
        "base_url",
        "API base URL (advanced)",
        "Overrides the API address derived from region and environment, e.g. a proxy; it ends "
        "in /v1.",
        URL,
        note="Default: derived from region and environment (e.g. https://api.xurrent.com/v1).",
        placeholder="https://api.xurrent.com/v1",
    ),
    Option(
        "token_url",
        "OAuth token URL (advanced)",
        "The OAuth token endpoint for client credentials; required when the API base URL is "
        "set and client credentials are used.",
        URL,
        note="Default: derived from region and environment "
        "(e.g. https://oauth.xurrent.com/token).",
        placeholder="https://oauth.xurrent.com/token",
    ),
    Option(
        "initial_sync_days",
        "Initial sync days",
        "How far back the first sync reads records, by last update.",
        Value("a whole number from 1 to 365, or 'all' for the complete history", _days_or_all),
        90,
    ),
    Option(
        "enable_incremental_sync",
        "Incremental sync",
        "On: each sync reads only records changed since the previous one. Off: each sync "
        "re-reads the whole initial window.",
        ON_OFF,
        True,
    ),
    Option(
        "lookback_minutes",
        "Lookback minutes",
        "Each incremental sync re-reads this many minutes before the last one to catch late "
        "writes.",
        whole_number(0, 1440),
        5,
    ),
    Option(
        "max_records_per_page",
        "Records per page",
        "Records per API request; fewer means more requests.",
        whole_number(1, 100),
        100,
    ),
    Option(
        "request_timeout_seconds",
        "Request timeout (seconds)",
        "How long one API request may take, from connecting to the last byte of the answer, "
        "before it is retried.",
        whole_number(10, 300),
        30,
    ),
    Option(
        "retry_attempts",
        "Retry attempts",
        "Attempts in total for a request that fails with a server error, a timeout, a dropped "
        "connection or a malformed answer, before the sync fails.",
        whole_number(1, 10),
        3,
    ),
    Option(
        "max_requests_per_hour",
        "Max requests per hour",
        "Keep the connector under this many requests per hour, leaving the rest of the token "
        "user's rate limit to other integrations.",
        whole_number(1, 1_000_000),
        note="Default: the limit the API reports (x-ratelimit-limit, usually 3600).",
    ),
    Option(
        "max_rate_limit_wait_seconds",
        "Max rate-limit wait (seconds)",
        "The longest single wait for the rate limit (pacing, or a 429's Retry-After). When the "
        "budget would need longer, the sync stops cleanly and the next one resumes.",
        whole_number(1, 3600),
        60,
    ),
    Option(
        "tables",
        "Tables",
        "The tables to sync. A first sync costs about one request per 100 rows, a quiet "
        "incremental one a request per table.",
        Value("'all', or a comma-separated list of " + ", ".join(TABLE_NAMES), _tables),
        TABLE_NAMES,
        note="Default: all.",
        placeholder="organizations,people,projects",
    ),
    Option(
        "exclude_columns",
        "Columns left out",
        "Columns never to read from Xurrent nor create in the warehouse, as table.column, "
        "e.g. people.primary_email, people.name (the README lists the columns that hold "
        "personal data).",
        Value("a comma-separated list of table.column (not id or updated_at)", _excluded_columns),
        note="Default: none; every column is synced.",
        placeholder="people.primary_email,people.contacts",
    ),
    Option(
        "enable_debug_logging",
        "Debug logging",
        "Log every request (method, path, status, duration); never headers, queries or "
        "secrets.",
        ON_OFF,
        False,
    ),
)

OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}


CREDENTIAL_KEYS = ("oauth_token", "client_id", "client_secret")


def _uses_client_credentials(settings) -> bool:
    """True when tokens come from the OAuth client credentials grant (and can be refreshed)."""
    return settings.client_id is not None


def _has_backup(settings) -> bool:
    return settings.backup_oauth_token is not None or settings.backup_client_id is not None


#: The validated configuration: one field per option, plus ``api_url`` (where requests go).
#: ``token_url`` holds the endpoint actually used (None with a static token).
Settings = make_dataclass(
    "Settings",
    [(option.name, Any, field(repr=not option.secret)) for option in OPTIONS] + [("api_url", str)],
    frozen=True,
    namespace={
        "uses_client_credentials": property(_uses_client_credentials),
        "has_backup": property(_has_backup),
    },
)


# --- parsing ----------------------------------------------------------------------------------


def _as_text(key: str, value: object) -> str:
    """Values are strings; tolerate JSON booleans and numbers from hand-written files."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value).strip()
    raise ConfigurationError(
        f"Configuration key '{key}': expected a string value, got a {type(value).__name__}."
    )


def _parse_option(option: Option, text: str) -> Any:
    if not text:
        if option.required:
            raise ConfigurationError(
                f"Configuration key '{option.name}': missing; expected {option.accepted}."
            )
        return option.default
    try:
        return option.parse(text)
    except ValueError as problem:
        raise ConfigurationError(
            f"Configuration key '{option.name}': {problem}; expected {option.accepted}. "
            f"{option.default_text}"
        ) from None


def _check_credentials(values: dict, prefix: str = "") -> None:
    """Exactly one way to authenticate: a token, or the client_id + client_secret pair. The
    backup credentials (``prefix`` "backup_") follow the same rule, but may be left out."""
    token_key, id_key, secret_key = (f"{prefix}{key}" for key in CREDENTIAL_KEYS)
    token, client_id, secret = values[token_key], values[id_key], values[secret_key]
    if (client_id is None) != (secret is None):
        missing = secret_key if secret is None else id_key
        raise ConfigurationError(
            f"Configuration key '{missing}': missing; {id_key} and {secret_key} must be given "
            f"together for the OAuth client credentials grant (or leave both empty and set "
            f"{token_key})."
        )
    if token is None and client_id is None and not prefix:
        raise ConfigurationError(
            f"Configuration key '{token_key}': missing; set {token_key} to a personal access "
            f"token or OAuth access token, or set {id_key} and {secret_key} instead."
        )
    if token is not None and client_id is not None:
        raise ConfigurationError(
            f"Configuration key '{token_key}': set either {token_key} or {id_key}/{secret_key}, "
            "not both, so it is clear which credentials the connector uses."
        )


def derived_urls(region: str, environment: str) -> tuple[str, str]:
    """(REST API URL, OAuth token URL) of a region and environment (xurrent_api.md §1)."""
    if environment == "demo" and region != "global":
        raise ConfigurationError(
            f"Configuration key 'region': region '{region}' is not available with environment "
            "'demo'; the demo environment has only the global host api.xurrent-demo.com. "
            "Set region to 'global' or choose environment 'production' or 'qa'."
        )
    domain = DOMAINS[environment]
    if region != "global":
        domain = f"{region}.{domain}"
    return f"https://api.{domain}/v1", f"https://oauth.{domain}/token"


def _resolve_urls(values: dict) -> None:
    """Where requests and token requests go: base_url/token_url, or derived from the region."""
    api_url, token_url = derived_urls(values["region"], values["environment"])
    if values["client_id"] is None and values["backup_client_id"] is None:
        values["token_url"] = None
    elif values["token_url"] is None:
        if values["base_url"] is not None:
            raise ConfigurationError(
                "Configuration key 'token_url': required when base_url is set and client "
                "credentials are used, because the OAuth token endpoint cannot be derived "
                "from a custom base_url; expected an https:// URL such as "
                "https://oauth.xurrent.com/token."
            )
        values["token_url"] = token_url
    values["api_url"] = values["base_url"] or api_url


def parse_settings(configuration: dict) -> Settings:
    """Validate ``configuration`` (string values, as the SDK delivers them) into ``Settings``.

    Raises ``ConfigurationError`` on the first problem. Unknown keys only log a warning:
    configuration forms may add keys of their own.
    """
    if not isinstance(configuration, dict):
        raise ConfigurationError("The configuration must be a JSON object of string values.")
    texts = {key: _as_text(key, value) for key, value in configuration.items()}
    unknown = sorted(key for key in texts if key not in OPTIONS_BY_NAME)
    if unknown:
        safe_log("warning", f"Ignoring unknown configuration keys: {', '.join(unknown)}")
    values = {option.name: _parse_option(option, texts.get(option.name, "")) for option in OPTIONS}
    _check_credentials(values)
    _check_credentials(values, "backup_")
    _resolve_urls(values)
    for option in OPTIONS:
        if option.secret:
            register_secret(values[option.name])
    return Settings(**values)


def schema_choices(configuration: dict) -> tuple[tuple[str, ...], frozenset]:
    """Only what decides the schema: ``tables`` and ``exclude_columns`` (``schema()`` may get
    a partial configuration, so no other key is read or required)."""
    values = configuration if isinstance(configuration, dict) else {}
    chosen = {}
    for name in ("tables", "exclude_columns"):
        option = OPTIONS_BY_NAME[name]
        chosen[name] = _parse_option(option, _as_text(name, values.get(name)))
    return chosen["tables"], chosen["exclude_columns"] or frozenset()


# --- the setup form ---------------------------------------------------------------------------


def form_field_of(option: Option):
    """The SDK form field that shows ``option``."""
    if option.kind == CHOICE:
        return form_field.DropdownField(
            option.name,
            option.label,
            fields=[
                form_field.DropdownFieldParam(value=v, label=label) for v, label in option.choices
            ],
            description=option.description,
            required=option.required,
        )
    if option.kind == TOGGLE:
        return form_field.ToggleField(
            option.name, option.label, description=option.description, required=option.required
        )
    text_kind = form_field.TextField.password if option.secret else form_field.TextField.plain_text
    return form_field.TextField(
        option.name,
        option.label,
        text_kind,
        description=option.description,
        required=option.required,
        placeholder=option.placeholder,
    )
