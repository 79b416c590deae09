"""Fivetran Connector SDK entry points for the Xurrent (formerly 4me) REST API.

Replicates organizations, products, projects, people, teams, sites, services, service
instances, configuration items, contracts, project tasks and time entries incrementally, and
marks the records that move to the archive or the trash deleted. This file holds what the SDK
calls: the schema, the sync, the setup form and its tests. The package next to it holds the
rest (the README's "Additional files" names each module and its job).
"""

import dataclasses
import json

from fivetran_connector_sdk import ConfigurationForm, Connector, Operations, Test
from fivetran_connector_sdk import Logging as log

from xurrent_connector.auth import BACKUP, PRIMARY, ROLES
from xurrent_connector.errors import ConfigurationError, XurrentApiError
from xurrent_connector.health import health_schema
from xurrent_connector.http import XurrentClient
from xurrent_connector.options import OPTIONS, form_field_of, parse_settings, schema_choices
from xurrent_connector.redact import redact, register_secret
from xurrent_connector.streams import TABLES, sync_groups
from xurrent_connector.sync import run_sync


def validate_configuration(configuration: dict):
    """Parse every key before any request; the error names the key, the problem and the
    accepted values, never a secret."""
    try:
        return parse_settings(configuration)
    except ConfigurationError as error:
        raise ConfigurationError(str(error)) from None  # the parsing frames are of no use


def schema(configuration: dict):
    """The chosen tables (all by default) with every column and its type, less the columns
    ``exclude_columns`` leaves out. Only those two keys are read: the SDK may call schema()
    with a partial configuration."""
    tables = sync_groups(*schema_choices(configuration))[0]
    return [table.schema_entry() for table in tables] + [health_schema()]


def update(configuration: dict, state: dict, op=Operations):
    """Sync the configured tables, checkpointing after every page.

    Args:
        configuration: the connection's configuration (all values are strings).
        state: the last checkpointed state, ``{}`` on the first sync.
        op: where rows and checkpoints go; the SDK's ``Operations`` (the benchmark passes a
            sink with the same methods, so it measures this very function).
    """
    settings = validate_configuration(configuration)
    log.info(
        f"Xurrent connector: account {settings.account_id}, API {settings.api_url}, tables "
        f"{', '.join(settings.tables)}"
    )
    client = XurrentClient(settings)
    try:
        run_sync(settings, state, client, op=op)
    finally:
        client.close()


# --- the setup form and its tests ---------------------------------------------------------------

#: A stand-in credential for the reachability probe: a wrong real token is the next test's
#: finding, not "host unreachable".
PROBE_TOKEN = "setup-test-reachability-probe"


class SetupProblem(Exception):
    """A finding of a setup test; its message is shown to the user."""


def setup_test(check):
    """Turn ``check`` (which raises on a finding) into a test that returns ``Test.success()``
    or ``Test.failure(message)`` and never raises: the SDK would abort the whole run."""

    def run(configuration: dict):
        try:
            check(configuration)
        except Exception as error:  # noqa: BLE001 - a setup test must never raise
            return Test.failure(_failure_message(error, configuration))
        return Test.success()

    run.__name__ = check.__name__  # the SDK names each test after its function
    run.__doc__ = check.__doc__
    return run


def _failure_message(error: Exception, configuration) -> str:
    """The finding as the user reads it, with every configured secret removed: registered
    here too, since a configuration that does not parse has registered none."""
    values = configuration if isinstance(configuration, dict) else {}
    for option in OPTIONS:
        secret = values.get(option.name) if option.secret else None
        if isinstance(secret, str):
            register_secret(secret.strip())
    message = redact(str(error), max_length=1000)
    if not isinstance(error, (SetupProblem, XurrentApiError)):
        message = f"The setup test failed unexpectedly ({type(error).__name__}: {message})"
    return message


def _settings(configuration: dict):
    try:
        return dataclasses.replace(parse_settings(configuration), retry_attempts=1)
    except ConfigurationError as error:
        raise SetupProblem(str(error)) from None


def _client(settings, roles=ROLES) -> XurrentClient:
    """The connector's own client, with one attempt per request and little patience for 429s:
    a user waits in the form."""
    return XurrentClient(
        settings, roles=roles, max_consecutive_429=2, max_throttle_wait_seconds=30
    )


@setup_test
def check_configuration(configuration: dict) -> None:
    """The configuration parses: every key valid, credentials given exactly one way."""
    _settings(configuration)


@setup_test
def check_api_reachable(configuration: dict) -> None:
    """The API answers at the chosen region/environment/base_url (GET /v1)."""
    settings = dataclasses.replace(
        _settings(configuration), oauth_token=PROBE_TOKEN, client_id=None, client_secret=None
    )
    client = _client(settings, roles=(PRIMARY,))
    try:
        client.get("")
    except XurrentApiError as error:
        if error.status is None or error.status >= 500:
            where = client.settings.api_url
            hint = "check region/environment/base_url, and that this network may reach it"
            if error.status:
                hint = "Xurrent may be down or under maintenance; try again later"
            raise SetupProblem(f"Could not reach {where}: {hint}. {error}") from None
        # Any other answer (a 401 for the stand-in token) proves the host is there.
    finally:
        client.close()


@setup_test
def check_credentials(configuration: dict) -> None:
    """The credentials are accepted and work in the account (GET /v1/me)."""
    _check_me(_client(_settings(configuration)))


@setup_test
def check_backup_credentials(configuration: dict) -> None:
    """The backup credentials, when given, are accepted too (GET /v1/me with them)."""
    settings = _settings(configuration)
    if settings.has_backup:
        _check_me(_client(settings, roles=(BACKUP,)))


def _check_me(client: XurrentClient) -> None:
    try:
        me = client.get("/me").data
    except XurrentApiError as error:
        if error.status != 403:  # 403: no 'me' scope, or no access: the next test tells which
            raise
        return
    finally:
        client.close()
    reported = (me.get("account") or {}).get("id") if isinstance(me, dict) else None
    if reported and str(reported).lower() != client.settings.account_id.lower():
        raise SetupProblem(
            f"The API answered for account '{reported}' instead of "
            f"'{client.settings.account_id}': check account_id."
        )


@setup_test
def check_tables_readable(configuration: dict) -> None:
    """Each selected table can be read (GET /v1/<collection>?per_page=1&fields=id). A sync
    skips the tables it cannot read, so this lists which ones it can, and why not the others."""
    client = _client(_settings(configuration))
    readable, refused = [], {403: [], 404: []}
    failed = []
    try:
        for name in client.settings.tables:
            try:
                client.get(TABLES[name].path, {"per_page": 1, "fields": "id"})
            except XurrentApiError as error:
                if error.status in refused:
                    refused[error.status].append(name)
                else:
                    failed.append(f"{name}: {error}")
            else:
                readable.append(name)
    finally:
        client.close()
    if refused[403] or refused[404] or failed:
        raise SetupProblem(_unreadable(client.settings.account_id, readable, refused, failed))


def _unreadable(account: str, readable: list, refused: dict, failed: list) -> str:
    """Which tables can be read and why the others cannot, grouped by cause."""
    parts = [f"Readable: {', '.join(readable) or 'none'}."]
    if refused[403]:
        parts.append(
            f"Refused (HTTP 403): {', '.join(refused[403])}: give the token their read scopes "
            f"(e.g. '{refused[403][0].replace('_', ' ').title()} - Read') and check account_id "
            f"'{account}' (the token's user must have access to it), or leave them out of "
            "the tables setting; a sync skips them."
        )
    if refused[404]:
        parts.append(
            f"Not found (HTTP 404): {', '.join(refused[404])}: this Xurrent server does not "
            f"have them (an older version?) or account_id '{account}' is wrong; a sync skips "
            "them."
        )
    return " ".join(parts + failed)


SETUP_TESTS = (
    ("Configuration is valid", check_configuration),
    ("Xurrent API is reachable", check_api_reachable),
    ("Credentials and account are accepted", check_credentials),
    ("Backup credentials are accepted", check_backup_credentials),
    ("Selected tables are readable", check_tables_readable),
)


def configuration_form() -> ConfigurationForm:
    """The setup form: every option, then the setup tests in the order they run."""
    form = ConfigurationForm()
    for option in OPTIONS:
        form.add_field(form_field_of(option))
    for label, check in SETUP_TESTS:
        form.add_test(label=label, func=check)
    return form


connector = Connector(update=update, schema=schema, configuration_form=configuration_form)


if __name__ == "__main__":
    # Local testing: `python connector.py` (or `fivetran debug`) with configuration.json.
    with open("configuration.json") as configuration_file:
        connector.debug(configuration=json.load(configuration_file))
