"""The Fivetran setup form and the setup tests that run behind its "Save & Test" button.

The form fields are kept as data (``FORM_FIELDS``) so tests and the README can be checked
against one list: every key ``parse_settings`` knows appears exactly once, and every documented
default is the one the parser really applies.

The setup tests run in order and the platform stops at the first failure, so each test checks
one thing and assumes the ones before it passed:

1. the configuration parses (``ConfigurationError`` names the key and the accepted values);
2. the API host answers at the chosen region/environment/base_url;
3. the credentials work (the token on ``GET /v1/me``, or the client credentials grant);
4. the account is reachable with those credentials (``X-Xurrent-Account``);
5. every selected collection can be read (the token has the read scope for it).

Each test returns ``Test.success()`` or ``Test.failure(message)`` and never raises: the SDK
turns an exception into a generic "configuration command failed", which tells the user nothing.
Every failure message says what to change, and goes through ``redact`` so that no token or
client secret can appear in it. The tests use the project's own HTTP client, so TLS, proxies,
timeouts and the status policy are exactly those of a sync; they use a single attempt per
request so that a wrong host fails in seconds instead of after the sync's retry budget.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from urllib.parse import urlsplit

from fivetran_connector_sdk import ConfigurationForm, Test, form_field

from .auth import StaticTokenProvider
from .errors import XurrentApiError
from .redact import REDACTED, redact
from .settings import ALL_TABLES, ConfigurationError, Settings, parse_settings

TEXT = "text"
PASSWORD = "password"
DROPDOWN = "dropdown"
TOGGLE = "toggle"


@dataclass(frozen=True)
class FieldSpec:
    """One configuration key as the setup form shows it.

    ``default`` is the value the connector uses when the field is left empty, written the way a
    user would type it (``None`` when there is no single default, e.g. a credential). The
    description shown in the form is ``purpose`` followed by the accepted values and default.
    """

    name: str
    label: str
    kind: str
    purpose: str
    accepted: str
    default: str | None = None
    default_text: str | None = None
    required: bool = False
    placeholder: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    @property
    def description(self) -> str:
        """What the key is for, what it accepts, and what happens when it is left empty."""
        if self.default is not None:
            default = f"Default: {self.default}."
        else:
            default = self.default_text or "No default."
        return f"{self.purpose} Accepted: {self.accepted}. {default}"


REGION_OPTIONS = (
    ("global", "Global (api.xurrent.com)"),
    ("au", "Australia (api.au.xurrent.com)"),
    ("uk", "United Kingdom (api.uk.xurrent.com)"),
    ("ch", "Switzerland (api.ch.xurrent.com)"),
    ("us", "United States (api.us.xurrent.com)"),
)
ENVIRONMENT_OPTIONS = (
    ("production", "Production"),
    ("qa", "QA (xurrent.qa)"),
    ("demo", "Demo (xurrent-demo.com, global region only)"),
)

FORM_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        name="account_id",
        label="Account ID",
        kind=TEXT,
        purpose="The Xurrent account to read, sent as the X-Xurrent-Account header; it is the "
        "short site name in your Xurrent URL (widget in widget.xurrent.com).",
        accepted="letters, digits, '-', '_' and '.'",
        default_text="Required.",
        required=True,
        placeholder="widget",
    ),
    FieldSpec(
        name="oauth_token",
        label="Personal access token",
        kind=PASSWORD,
        purpose="A personal access token (My Profile > Personal Access Tokens) or an OAuth "
        "access token, with read scope for the selected tables.",
        accepted="the token exactly as issued",
        default_text="Required unless client ID and client secret are given; do not set both.",
    ),
    FieldSpec(
        name="client_id",
        label="OAuth client ID",
        kind=TEXT,
        purpose="Client ID of an OAuth application with the client credentials grant, as an "
        "alternative to a personal access token; tokens are renewed before they expire.",
        accepted="the client ID exactly as shown on the OAuth application",
        default_text="Optional; give it together with the client secret.",
    ),
    FieldSpec(
        name="client_secret",
        label="OAuth client secret",
        kind=PASSWORD,
        purpose="Client secret of the same OAuth application.",
        accepted="the secret exactly as issued",
        default_text="Optional; give it together with the client ID.",
    ),
    FieldSpec(
        name="region",
        label="Region",
        kind=DROPDOWN,
        purpose="The Xurrent region that hosts your account.",
        accepted="global, au, uk, ch or us",
        default="global",
        options=REGION_OPTIONS,
    ),
    FieldSpec(
        name="environment",
        label="Environment",
        kind=DROPDOWN,
        purpose="The Xurrent environment of your account.",
        accepted="production, qa or demo (demo has only the global region)",
        default="production",
        options=ENVIRONMENT_OPTIONS,
    ),
    FieldSpec(
        name="base_url",
        label="API base URL (advanced)",
        kind=TEXT,
        purpose="Overrides the API address derived from region and environment, e.g. for a "
        "proxy.",
        accepted="an https:// URL ending in /v1 (http:// only for localhost)",
        default_text="Default: derived from region and environment "
        "(e.g. https://api.xurrent.com/v1).",
        placeholder="https://api.xurrent.com/v1",
    ),
    FieldSpec(
        name="token_url",
        label="OAuth token URL (advanced)",
        kind=TEXT,
        purpose="The OAuth token endpoint for client credentials; required when API base URL "
        "is set and client credentials are used.",
        accepted="an https:// URL (http:// only for localhost)",
        default_text="Default: derived from region and environment "
        "(e.g. https://oauth.xurrent.com/token).",
        placeholder="https://oauth.xurrent.com/token",
    ),
    FieldSpec(
        name="initial_sync_days",
        label="Initial sync days",
        kind=TEXT,
        purpose="How far back the first sync reads records, by last update.",
        accepted="a whole number from 1 to 365, or all for the complete history",
        default="90",
    ),
    FieldSpec(
        name="enable_incremental_sync",
        label="Incremental sync",
        kind=TOGGLE,
        purpose="On: each sync reads only records changed since the previous one. Off: each "
        "sync re-reads the whole initial window.",
        accepted="true or false",
        default="true",
    ),
    FieldSpec(
        name="lookback_minutes",
        label="Lookback minutes",
        kind=TEXT,
        purpose="Each incremental sync re-reads this many minutes before the last one to catch "
        "late writes.",
        accepted="a whole number from 0 to 1440",
        default="5",
    ),
    FieldSpec(
        name="max_records_per_page",
        label="Records per page",
        kind=TEXT,
        purpose="Records per API request; fewer means more requests.",
        accepted="a whole number from 1 to 100",
        default="100",
    ),
    FieldSpec(
        name="request_timeout_seconds",
        label="Request timeout (seconds)",
        kind=TEXT,
        purpose="How long one API request may take before it is retried.",
        accepted="a whole number from 10 to 300",
        default="30",
    ),
    FieldSpec(
        name="retry_attempts",
        label="Retry attempts",
        kind=TEXT,
        purpose="Attempts for a request that fails with a server error, timeout or connection "
        "error before the sync fails.",
        accepted="a whole number from 1 to 10",
        default="3",
    ),
    FieldSpec(
        name="max_requests_per_hour",
        label="Max requests per hour",
        kind=TEXT,
        purpose="Keep the connector under this many requests per hour, leaving the rest of the "
        "token user's rate limit to other integrations.",
        accepted="a whole number from 1 to 1000000",
        default_text="Default: the limit the API reports (x-ratelimit-limit, usually 3600).",
    ),
    FieldSpec(
        name="tables",
        label="Tables",
        kind=TEXT,
        purpose="The tables to sync.",
        accepted="a comma-separated list of organizations, products, projects",
        default="organizations,products,projects",
        placeholder="organizations,products,projects",
    ),
    FieldSpec(
        name="enable_debug_logging",
        label="Debug logging",
        kind=TOGGLE,
        purpose="More detail in the sync logs (requests, pages, timings); never secrets.",
        accepted="true or false",
        default="false",
    ),
)


def _build_field(spec: FieldSpec):
    """Turn one ``FieldSpec`` into the SDK's form field of the right kind."""
    if spec.kind in (TEXT, PASSWORD):
        field_type = form_field.TextField.password if spec.kind == PASSWORD else None
        return form_field.TextField(
            spec.name,
            spec.label,
            field_type if field_type is not None else form_field.TextField.plain_text,
            description=spec.description,
            required=spec.required,
            placeholder=spec.placeholder,
        )
    if spec.kind == DROPDOWN:
        return form_field.DropdownField(
            spec.name,
            spec.label,
            fields=[
                form_field.DropdownFieldParam(value=value, label=label)
                for value, label in spec.options
            ],
            description=spec.description,
            required=spec.required,
            placeholder=spec.placeholder,
        )
    if spec.kind == TOGGLE:
        return form_field.ToggleField(
            spec.name, spec.label, description=spec.description, required=spec.required
        )
    raise ValueError(f"unknown form field kind {spec.kind!r} for {spec.name}")


# ---------------------------------------------------------------------------------------------
# Setup tests
# ---------------------------------------------------------------------------------------------

# A stand-in credential for the reachability probe. The probe must not depend on the real
# credentials: a wrong token or client secret is the next test's finding, not "host unreachable".
_PROBE_TOKEN = "setup-test-reachability-probe"

# Setup tests run while a user waits in the setup form: one attempt per request, and a short
# patience for 429s (the sync's throttle budget allows minutes of waiting).
SETUP_RETRY_ATTEMPTS = 1
SETUP_MAX_CONSECUTIVE_429 = 2
SETUP_MAX_THROTTLE_WAIT_SECONDS = 30

# Error kinds of the HTTP client that come from the OAuth token endpoint, not from the API.
_TOKEN_ENDPOINT_KINDS = frozenset({"auth", "token_endpoint_unavailable"})
# Configuration keys whose values must never appear in a message, however short they are.
_SECRET_KEYS = ("oauth_token", "client_secret")


class _SetupProblem(Exception):
    """A finding of a setup test; its message is shown to the user (after redaction)."""


def _setup_test(function):
    """Run a setup test body; turn any finding or unexpected error into ``Test.failure``.

    The body returns nothing when the check passed. The SDK has no notion of a test that
    raises (it aborts the whole `fivetran configuration --test` run), so nothing escapes here.
    """

    def run(configuration: dict):
        try:
            function(configuration)
        except _SetupProblem as problem:
            return Test.failure(_scrub(str(problem), configuration))
        except Exception as error:  # noqa: BLE001 - a setup test must never raise
            message = (
                f"The setup test failed unexpectedly ({type(error).__name__}: {error}). "
                "Check the configuration values; if they are right, report this message."
            )
            return Test.failure(_scrub(redact(message, max_length=1000), configuration))
        return Test.success()

    # The SDK names each test after its function; keep the body's name and docstring.
    run.__name__ = function.__name__
    run.__qualname__ = function.__qualname__
    run.__doc__ = function.__doc__
    run.__wrapped__ = function
    return run


def _scrub(message: str, configuration) -> str:
    """Remove the configured secrets from a message, whatever their length.

    Our own messages and the client's errors are built without secrets already; this is the
    belt to those braces. (``redact``'s credential patterns are not applied to our messages: they
    would also blank harmless text such as "oauth_token: missing".)
    """
    if isinstance(configuration, dict):
        for key in _SECRET_KEYS:
            value = configuration.get(key)
            if isinstance(value, str) and len(value.strip()) >= 3:
                message = message.replace(value.strip(), REDACTED)
    return message


def _settings(configuration: dict) -> Settings:
    """Parsed settings with a single attempt per request, so a wrong host fails fast."""
    try:
        settings = parse_settings(configuration)
    except ConfigurationError as error:
        raise _SetupProblem(str(error)) from None
    return dataclasses.replace(settings, retry_attempts=SETUP_RETRY_ATTEMPTS)


def _client(settings: Settings, token_provider=None):
    """The connector's own HTTP client, impatient on purpose (see SETUP_* above).

    Imported late so that building the form (at packaging time) never needs the HTTP stack.
    """
    from .http import XurrentClient

    return XurrentClient(
        settings,
        token_provider=token_provider,
        max_consecutive_429=SETUP_MAX_CONSECUTIVE_429,
        max_throttle_wait_seconds=SETUP_MAX_THROTTLE_WAIT_SECONDS,
    )


def _endpoint(settings: Settings, path: str = "") -> str:
    """A URL for messages: scheme, host and path only (never a query string)."""
    parts = urlsplit(settings.api_url + path)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _host_of(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _transport_cause(settings: Settings, error: XurrentApiError) -> str:
    """Why no HTTP answer arrived, in the user's terms (the client's text is sync-oriented)."""
    if error.kind == "timeout":
        return f"no answer within {settings.request_timeout_seconds} s"
    if error.kind == "connection_error":
        return "the connection failed (unknown host, connection refused or TLS error)"
    return redact(str(error), max_length=300)


def _unreachable(settings: Settings, error: XurrentApiError) -> _SetupProblem:
    return _SetupProblem(
        f"Could not reach {_endpoint(settings)}: check region/environment/base_url, and that "
        f"this network may connect to that host. Cause: {_transport_cause(settings, error)}."
    )


def _get(settings: Settings, path: str, params: dict | None = None, token_provider=None):
    """GET through the project's client, always closing it; XurrentApiError propagates."""
    client = _client(settings, token_provider)
    try:
        return client.get(path, params)
    finally:
        client.close()


def check_configuration(configuration: dict) -> None:
    """The configuration parses: every key valid, credentials given exactly one way."""
    _settings(configuration)


def check_api_reachable(configuration: dict) -> None:
    """The API host answers at the chosen region/environment/base_url (GET /v1)."""
    settings = _settings(configuration)
    try:
        # The absolute URL, not "": the client would add a trailing slash to a relative path.
        _get(settings, settings.api_url, token_provider=StaticTokenProvider(_PROBE_TOKEN))
    except XurrentApiError as error:
        if error.status is None:
            raise _unreachable(settings, error) from None
        if error.status >= 500:
            raise _SetupProblem(
                f"{_endpoint(settings)} answered HTTP {error.status}: Xurrent may be down or "
                "under maintenance; try again later. If base_url points to a proxy, check the "
                "proxy."
            ) from None
        # Any other HTTP answer (a 401 for the stand-in token, most likely) proves the host is
        # there; whether the real credentials and account work is for the next tests.


def _token_endpoint_problem(settings: Settings, error: XurrentApiError) -> _SetupProblem:
    token_url = _host_of(settings.token_url)
    if error.status is None:
        return _SetupProblem(
            f"Could not get an OAuth token from {token_url}: check token_url (or region/"
            "environment when token_url is empty), and that this network may connect to that "
            "host."
        )
    # The client's message quotes the endpoint's error / error_description (RFC 6749).
    return _SetupProblem(
        f"{error} (Token endpoint: {token_url}; client_id '{settings.client_id}'.)"
    )


def _is_token_endpoint_error(settings: Settings, error: XurrentApiError) -> bool:
    """True when a failure came from the OAuth token endpoint rather than from the API."""
    return settings.uses_client_credentials and error.kind in _TOKEN_ENDPOINT_KINDS


def check_credentials(configuration: dict) -> None:
    """The token (or the client credentials grant) is accepted: GET /v1/me is not a 401."""
    settings = _settings(configuration)
    try:
        _get(settings, "/me")
    except XurrentApiError as error:
        if _is_token_endpoint_error(settings, error):
            raise _token_endpoint_problem(settings, error) from None
        if error.status is None:
            raise _unreachable(settings, error) from None
        if error.status == 401:
            if settings.uses_client_credentials:
                raise _SetupProblem(
                    "The API refused the access token obtained with the client credentials "
                    f"(HTTP 401 on {_endpoint(settings, '/me')}); check that client_id belongs "
                    "to an enabled OAuth application of this account and region, and token_url."
                ) from None
            raise _SetupProblem(
                f"The API refused the token (HTTP 401 on {_endpoint(settings, '/me')}): the "
                "token is invalid or expired. Create a new personal access token (My Profile > "
                "Personal Access Tokens) with read scope for the selected tables and set it as "
                "oauth_token."
            ) from None
        if error.status not in (403, 404):
            raise _SetupProblem(
                f"Checking the credentials on {_endpoint(settings, '/me')} failed: {error}"
            ) from None
        # 403/404 mean the credentials were accepted; the account and scopes are checked next.


def _account_problem(settings: Settings, status: int, path: str) -> _SetupProblem:
    where_else = "region/environment"
    if status == 404:
        where_else += ", and that base_url ends in /v1"
    return _SetupProblem(
        f"Account '{settings.account_id}' is not available to these credentials (HTTP {status} "
        f"on {_endpoint(settings, path)}): check account_id (the short name in your Xurrent "
        "URL, e.g. widget for widget.xurrent.com) and that the token's user has access to that "
        f"account; also check {where_else}."
    )


def check_account(configuration: dict) -> None:
    """The account is reachable: /me (or, without the 'me' scope, a collection) answers."""
    settings = _settings(configuration)
    try:
        response = _get(settings, "/me")
    except XurrentApiError as error:
        if error.status is None:
            raise _unreachable(settings, error) from None
        if error.status == 404:
            raise _account_problem(settings, 404, "/me") from None
        if error.status != 403:
            raise _SetupProblem(
                f"Checking account '{settings.account_id}' failed: {error}"
            ) from None
        # 403 on /me: either another account or merely no 'me' scope. A collection decides.
        _check_account_with_collections(settings)
        return
    account = response.data.get("account") if isinstance(response.data, dict) else None
    reported = account.get("id") if isinstance(account, dict) else None
    if reported and str(reported).lower() != settings.account_id.lower():
        raise _SetupProblem(
            f"The API answered for account '{reported}' instead of '{settings.account_id}': "
            "check account_id."
        )


def _check_account_with_collections(settings: Settings) -> None:
    """Pass if any selected collection answers; fail with the account message otherwise."""
    statuses = []
    for table in settings.tables:
        try:
            _get(settings, f"/{table}", {"per_page": 1, "fields": "id"})
            return
        except XurrentApiError as error:
            if error.status is None:
                raise _unreachable(settings, error) from None
            if error.status not in (403, 404):
                raise _SetupProblem(f"Checking account '{settings.account_id}' failed: {error}")
            statuses.append(error.status)
    raise _account_problem(settings, 404 if 404 in statuses else 403, f"/{settings.tables[0]}")


def _scope_label(table: str) -> str:
    """The scope's name as Xurrent shows it when creating a token ("Products - Read")."""
    return f"{table.capitalize()} - Read"


def check_tables_readable(configuration: dict) -> None:
    """Each selected collection can be read: GET /v1/<collection>?per_page=1&fields=id."""
    settings = _settings(configuration)
    problems = []
    for table in settings.tables:
        try:
            _get(settings, f"/{table}", {"per_page": 1, "fields": "id"})
        except XurrentApiError as error:
            if error.status is None:
                raise _unreachable(settings, error) from None
            if error.status == 403:
                problems.append(
                    f"the token has no read scope for {table}; add the '{_scope_label(table)}' "
                    f"scope or remove {table} from tables"
                )
            elif error.status == 404:
                problems.append(
                    f"{_endpoint(settings, '/' + table)} was not found (HTTP 404); check "
                    "account_id and, when set, that base_url ends in /v1"
                )
            else:
                problems.append(f"reading {table} failed: {error}")
    if problems:
        raise _SetupProblem("Cannot read every selected table: " + "; ".join(problems) + ".")


SETUP_TESTS = (
    ("Configuration is valid", check_configuration),
    ("Xurrent API is reachable", check_api_reachable),
    ("Credentials are accepted", check_credentials),
    ("Account is reachable", check_account),
    ("Selected tables are readable", check_tables_readable),
)

# The callables registered on the form: each returns Test.success()/Test.failure(), never raises.
SETUP_TEST_FUNCTIONS = tuple(_setup_test(function) for _, function in SETUP_TESTS)


def configuration_form() -> ConfigurationForm:
    """The setup form: every configuration key, then the setup tests in the order they run."""
    form = ConfigurationForm()
    for spec in FORM_FIELDS:
        form.add_field(_build_field(spec))
    for (label, _), test_function in zip(SETUP_TESTS, SETUP_TEST_FUNCTIONS):
        form.add_test(label=label, func=test_function)
    return form


__all__ = [
    "ALL_TABLES",
    "FORM_FIELDS",
    "FieldSpec",
    "SETUP_TESTS",
    "SETUP_TEST_FUNCTIONS",
    "configuration_form",
]
