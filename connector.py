"""Fivetran Connector SDK entry points for the Xurrent (formerly 4me) REST API.

Replicates organizations, products and projects incrementally (by ``updated_at``). This file
holds only what the SDK calls; the logic lives in the ``xurrent_connector`` package next to it:
settings (validation), form (setup form and tests), http (client, retries, pacing), tables
(columns and types), sync and state (windows, checkpoints, resumption).
"""

import json
from urllib.parse import urlsplit

from fivetran_connector_sdk import Connector
from fivetran_connector_sdk import Logging as log

from xurrent_connector.form import configuration_form
from xurrent_connector.health import health_schema
from xurrent_connector.http import XurrentClient
from xurrent_connector.settings import ConfigurationError, parse_settings
from xurrent_connector.sync import run_sync
from xurrent_connector.tables import schema_declarations


def validate_configuration(configuration: dict):
    """Parse and validate the configuration before any request is made.

    Fails with the ConfigurationError message (it names the key, the problem and the accepted
    values, never a secret value) and returns the typed settings.
    """
    try:
        return parse_settings(configuration)
    except ConfigurationError as error:
        # Re-raised without the parsing frames: their locals are of no use to the user.
        raise ConfigurationError(str(error)) from None


def schema(configuration: dict):
    """Declare all three tables with every column and its type.

    Independent of the configuration on purpose: the SDK may call schema() with a partial or
    string-only configuration, and declared types must never depend on it (column types only
    widen, so a wrong early type would be permanent). ``sync_health`` holds one row per table
    per sync (health.py).
    """
    return schema_declarations() + [health_schema()]


def update(configuration: dict, state: dict):
    """Sync the configured tables incrementally, checkpointing after every page.

    Args:
        configuration: the connection's configuration (all values are strings).
        state: the last checkpointed state, ``{}`` on the first sync.
    """
    settings = validate_configuration(configuration)
    log.info(
        f"Xurrent connector: account {settings.account_id}, "
        f"API host {urlsplit(settings.api_url).hostname}, "
        f"tables {', '.join(settings.tables)}"
    )
    client = XurrentClient(settings)
    try:
        run_sync(settings, state, client)
    finally:
        client.close()


# The setup form and its "Save & Test" checks live in xurrent_connector/form.py.
connector = Connector(update=update, schema=schema, configuration_form=configuration_form)


if __name__ == "__main__":
    # Local testing: `python connector.py` (or `fivetran debug`) with configuration.json.
    with open("configuration.json") as configuration_file:
        connector.debug(configuration=json.load(configuration_file))
