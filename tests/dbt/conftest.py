"""Fixtures of the dbt package tests.

The kit's ``runner`` switches the SDK into debug mode process-wide (``constants.DEBUGGING``,
``Logging.LOG_LEVEL``) and leaves it so. The tests under tests/integration run last and do not
notice; these run before tests/http, whose log-format assertions expect the SDK's defaults. So
every test here puts both back afterwards.
"""

import pytest


@pytest.fixture(autouse=True)
def restore_sdk_logging_mode():
    from fivetran_connector_sdk_common import constants
    from fivetran_connector_sdk_common.logger import Logging

    saved = (constants.DEBUGGING, Logging.LOG_LEVEL)
    yield
    constants.DEBUGGING, Logging.LOG_LEVEL = saved
