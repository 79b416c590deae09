"""The setup form: every configuration key once, the right field kinds, honest defaults."""

import pytest
from fivetran_connector_sdk_cli import form_field as sdk_fields
from fivetran_connector_sdk_cli.configuration_command import validate_form

from xurrent_connector import form, settings
from xurrent_connector.settings import parse_settings

MINIMAL = {"account_id": "widget", "oauth_token": "minimal-token-123456"}


def built_fields():
    return {field.name: field for field in form.configuration_form().to_response().fields}


def test_form_fields_are_exactly_the_keys_parse_settings_knows():
    names = [spec.name for spec in form.FORM_FIELDS]
    assert len(names) == len(set(names)), "a key appears twice in the form"
    assert set(names) == set(settings.KNOWN_KEYS)
    assert list(built_fields()) == names, "the form must keep the declared order"


def test_secrets_are_password_fields_and_nothing_else_is():
    fields = built_fields()
    passwords = {name for name, field in fields.items() if field.text_field == sdk_fields.PASSWORD}
    assert passwords == {"oauth_token", "client_secret"} == set(settings.SECRET_KEYS)


def test_dropdowns_offer_exactly_the_accepted_values_with_human_labels():
    fields = built_fields()
    for name, accepted in (("region", settings.REGIONS), ("environment", settings.ENVIRONMENTS)):
        options = fields[name].dropdown_options
        assert [option.value for option in options] == list(accepted)
        for option in options:
            assert option.label and option.label != option.value
            assert parse_settings({**MINIMAL, name: option.value})  # every option parses
    assert "Australia" in [o.label for o in fields["region"].dropdown_options][1]


def test_toggles_and_plain_text_fields():
    fields = built_fields()
    toggles = {name for name, field in fields.items() if field.toggle}
    assert toggles == {"enable_incremental_sync", "enable_debug_logging"}
    dropdowns = {name for name, field in fields.items() if field.dropdown_options}
    plain = {name for name, field in fields.items() if field.text_field == sdk_fields.PLAIN_TEXT}
    assert plain == set(settings.KNOWN_KEYS) - toggles - dropdowns - set(settings.SECRET_KEYS)


def test_only_account_id_is_required():
    required = {name for name, field in built_fields().items() if field.required}
    assert required == {"account_id"}


@pytest.mark.parametrize("spec", form.FORM_FIELDS, ids=lambda spec: spec.name)
def test_description_states_default_and_accepted_values(spec):
    description = built_fields()[spec.name].description
    assert spec.accepted in description
    assert "Default" in description or "Required" in description or "Optional" in description
    assert len(description) < 400, "one or two plain sentences, not an essay"
    if spec.default is not None:
        assert f"Default: {spec.default}." in description


@pytest.mark.parametrize(
    "spec", [spec for spec in form.FORM_FIELDS if spec.default is not None], ids=lambda s: s.name
)
def test_documented_default_is_the_default_parse_settings_applies(spec):
    """Leaving a field empty and typing its documented default must give the same settings."""
    assert parse_settings({**MINIMAL, spec.name: ""}) == parse_settings(
        {**MINIMAL, spec.name: spec.default}
    )


def test_form_passes_the_sdk_validation_and_serialises():
    built = form.configuration_form()
    validate_form(built.to_response().fields)
    serialised = built._to_proto().SerializeToString()
    for spec in form.FORM_FIELDS:
        assert spec.name.encode() in serialised


def test_setup_tests_are_registered_in_order_under_stable_names():
    tests = form.configuration_form().to_response().tests
    assert [test.name for test in tests] == [
        "check_configuration",
        "check_api_reachable",
        "check_credentials",
        "check_account",
        "check_tables_readable",
    ]
    assert all(test.label for test in tests)


@pytest.mark.parametrize(
    "configuration",
    [None, {}, {"account_id": 5}, {"account_id": "widget", "oauth_token": ["x"]}, "text"],
    ids=["none", "empty", "number", "list", "string"],
)
@pytest.mark.parametrize("test_function", form.SETUP_TEST_FUNCTIONS, ids=lambda f: f.__name__)
def test_setup_tests_never_raise_on_garbage(test_function, configuration):
    response = test_function(configuration)
    assert response.success is None
    assert response.failure


def test_configuration_failure_quotes_the_configuration_error():
    response = form.SETUP_TEST_FUNCTIONS[0]({"account_id": "widget", "lookback_minutes": "9999"})
    assert response.failure.startswith("Configuration key 'oauth_token'")  # first problem found
    response = form.SETUP_TEST_FUNCTIONS[0]({**MINIMAL, "lookback_minutes": "9999"})
    assert "lookback_minutes" in response.failure and "0 to 1440" in response.failure
    assert form.SETUP_TEST_FUNCTIONS[0](MINIMAL).success is True
