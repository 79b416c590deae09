"""The option table: parse_settings (every key's valid and invalid forms, defaults, the URL
table, secrets kept out of messages) and the setup form built from the same declarations."""

from __future__ import annotations

import dataclasses

import pytest
from fivetran_connector_sdk_cli import form_field as sdk_fields
from fivetran_connector_sdk_cli.configuration_command import validate_form

import connector
from xurrent_connector.errors import ConfigurationError
from xurrent_connector.options import (
    CHOICE,
    ENVIRONMENTS,
    OPTIONS,
    OPTIONS_BY_NAME,
    REGIONS,
    TOGGLE,
    Settings,
    derived_urls,
    parse_settings,
)
from xurrent_connector.streams import TABLE_NAMES

TOKEN = "pat-SECRET-9f8e7d6c5b"
SECRET = "client-SECRET-0a1b2c3d"
BASE = {"oauth_token": TOKEN, "account_id": "widget"}
MINIMAL = {"account_id": "widget", "oauth_token": "minimal-token-123456"}
SETUP_FUNCTIONS = [function for _, function in connector.SETUP_TESTS]


def parse(**changes):
    configuration = dict(BASE)
    for key, value in changes.items():
        if value is None:
            configuration.pop(key, None)
        else:
            configuration[key] = value
    return parse_settings(configuration)


def error_of(**changes) -> str:
    with pytest.raises(ConfigurationError) as caught:
        parse(**changes)
    return str(caught.value)


# --- parse_settings ------------------------------------------------------------------------------


def test_defaults():
    settings = parse()
    assert settings == Settings(
        account_id="widget",
        api_url="https://api.xurrent.com/v1",
        token_url=None,
        oauth_token=TOKEN,
        client_id=None,
        client_secret=None,
        backup_oauth_token=None,
        backup_client_id=None,
        backup_client_secret=None,
        region="global",
        environment="production",
        base_url=None,
        initial_sync_days=90,
        enable_incremental_sync=True,
        lookback_minutes=5,
        max_records_per_page=100,
        request_timeout_seconds=30,
        retry_attempts=3,
        max_requests_per_hour=None,
        max_rate_limit_wait_seconds=60,
        tables=TABLE_NAMES,
        exclude_columns=None,
        enable_debug_logging=False,
    )
    assert settings.tables == TABLE_NAMES
    assert not settings.uses_client_credentials and not settings.has_backup


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse().account_id = "other"


def test_settings_hold_every_option_and_the_api_url():
    names = [field.name for field in dataclasses.fields(Settings)]
    assert names == [option.name for option in OPTIONS] + ["api_url"]


def test_empty_strings_mean_not_set_and_whitespace_is_stripped():
    settings = parse(
        account_id="  widget \n",
        region="",
        lookback_minutes=" 7 ",
        tables="",
        client_id="",
        client_secret="",
        max_requests_per_hour="",
    )
    assert settings.account_id == "widget"
    assert settings.region == "global"
    assert settings.lookback_minutes == 7
    assert settings.tables == TABLE_NAMES
    assert settings.max_requests_per_hour is None


@pytest.mark.parametrize(
    "region, environment, api_url, token_url",
    [
        ("global", "production", "https://api.xurrent.com/v1", "https://oauth.xurrent.com/token"),
        (
            "au",
            "production",
            "https://api.au.xurrent.com/v1",
            "https://oauth.au.xurrent.com/token",
        ),
        (
            "uk",
            "production",
            "https://api.uk.xurrent.com/v1",
            "https://oauth.uk.xurrent.com/token",
        ),
        (
            "ch",
            "production",
            "https://api.ch.xurrent.com/v1",
            "https://oauth.ch.xurrent.com/token",
        ),
        (
            "US",
            "Production",
            "https://api.us.xurrent.com/v1",
            "https://oauth.us.xurrent.com/token",
        ),
        ("global", "qa", "https://api.xurrent.qa/v1", "https://oauth.xurrent.qa/token"),
        ("au", "qa", "https://api.au.xurrent.qa/v1", "https://oauth.au.xurrent.qa/token"),
        ("ch", "qa", "https://api.ch.xurrent.qa/v1", "https://oauth.ch.xurrent.qa/token"),
        (
            "global",
            "demo",
            "https://api.xurrent-demo.com/v1",
            "https://oauth.xurrent-demo.com/token",
        ),
    ],
)
def test_region_and_environment_url_table(region, environment, api_url, token_url):
    static = parse(region=region, environment=environment)
    assert static.api_url == api_url
    assert static.token_url is None  # no token endpoint needed for a static token
    credentials = parse(
        oauth_token=None,
        client_id="cid",
        client_secret=SECRET,
        region=region,
        environment=environment,
    )
    assert (credentials.api_url, credentials.token_url) == (api_url, token_url)
    assert credentials.uses_client_credentials
    assert derived_urls(region.lower(), environment.lower()) == (api_url, token_url)


@pytest.mark.parametrize("region", ["au", "uk", "ch", "us"])
def test_demo_has_no_regional_hosts(region):
    message = error_of(region=region, environment="demo")
    assert "region" in message and "demo" in message and "global" in message


@pytest.mark.parametrize(
    "key, value, expected_words",
    [
        ("region", "eu", ["'region'", "'eu'", "global, au, uk, ch, us"]),
        ("environment", "staging", ["'environment'", "'staging'", "production, qa, demo"]),
    ],
)
def test_invalid_choices_list_the_accepted_values(key, value, expected_words):
    message = error_of(**{key: value})
    for word in expected_words:
        assert word in message


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://proxy.example.com/xurrent/v1/", "https://proxy.example.com/xurrent/v1"),
        ("https://proxy.example.com:8443/v1", "https://proxy.example.com:8443/v1"),
        ("http://127.0.0.1:8765/v1", "http://127.0.0.1:8765/v1"),
        ("http://127.8.9.10/v1", "http://127.8.9.10/v1"),
        ("http://localhost:8765/v1//", "http://localhost:8765/v1"),
        ("http://LOCALHOST/v1", "http://LOCALHOST/v1"),
        ("http://[::1]:8765/v1", "http://[::1]:8765/v1"),
    ],
)
def test_base_url_accepted_forms(url, expected):
    assert parse(base_url=url).api_url == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://api.xurrent.com/v1",
        "http://10.0.0.5/v1",
        "http://128.0.0.1/v1",
        "http://localhost.evil.com/v1",
        "http://[::2]/v1",
        "ftp://127.0.0.1/v1",
        "api.xurrent.com/v1",
        "https://",
        "https://host:notaport/v1",
        "https://host/v1?x=1",
    ],
)
def test_base_url_rejected_forms(url):
    message = error_of(base_url=url)
    assert "'base_url'" in message
    assert "https://" in message  # the accepted form is stated


def test_base_url_with_credentials_is_refused_without_echoing_them():
    message = error_of(base_url="https://user:pa55word@proxy.example.com/v1")
    assert "'base_url'" in message
    assert "pa55word" not in message


def test_client_credentials_with_base_url_need_a_token_url():
    message = error_of(
        oauth_token=None,
        client_id="cid",
        client_secret=SECRET,
        base_url="https://proxy.example/v1",
    )
    assert "'token_url'" in message and "base_url" in message
    settings = parse(
        oauth_token=None,
        client_id="cid",
        client_secret=SECRET,
        base_url="http://127.0.0.1:9000/v1",
        token_url="http://127.0.0.1:9000/oauth/token/",
    )
    assert settings.token_url == "http://127.0.0.1:9000/oauth/token"
    assert settings.api_url == "http://127.0.0.1:9000/v1"


def test_token_url_follows_the_https_rule():
    message = error_of(
        oauth_token=None,
        client_id="cid",
        client_secret=SECRET,
        token_url="http://oauth.example.com/token",
    )
    assert "'token_url'" in message and "plain http" in message


def test_token_url_is_ignored_for_a_static_token():
    assert parse(token_url="https://oauth.example.com/token").token_url is None


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"oauth_token": None}, "oauth_token"),
        ({"oauth_token": None, "client_id": "cid"}, "client_secret"),
        ({"oauth_token": None, "client_secret": SECRET}, "client_id"),
        ({"client_id": "cid", "client_secret": SECRET}, "oauth_token"),
        ({"account_id": None}, "account_id"),
        ({"account_id": "   "}, "account_id"),
        ({"account_id": "wid get"}, "account_id"),
        ({"account_id": "widget\r\nX-Evil: 1"}, "account_id"),
        ({"client_id": "c id", "client_secret": SECRET, "oauth_token": None}, "client_id"),
    ],
)
def test_credential_and_account_errors_name_the_key(changes, key):
    assert f"'{key}'" in error_of(**changes)


@pytest.mark.parametrize("key, value", [("oauth_token", TOKEN), ("client_secret", SECRET)])
def test_malformed_secrets_are_never_echoed(key, value):
    broken = value[:8] + " " + value[8:]
    changes = {key: broken}
    if key == "client_secret":
        changes.update(oauth_token=None, client_id="cid")
    message = error_of(**changes)
    assert f"'{key}'" in message
    assert value[:8] not in message and value[8:] not in message


def test_repr_and_str_never_show_secrets():
    for settings in (
        parse(),
        parse(oauth_token=None, client_id="cid", client_secret=SECRET),
    ):
        text = repr(settings) + str(settings)
        assert TOKEN not in text and SECRET not in text
        assert "widget" in text  # the repr is still useful


@pytest.mark.parametrize(
    "key, valid, expected",
    [
        ("initial_sync_days", "1", 1),
        ("initial_sync_days", "365", 365),
        ("initial_sync_days", "all", None),
        ("initial_sync_days", " ALL ", None),
        ("lookback_minutes", "0", 0),
        ("lookback_minutes", "1440", 1440),
        ("max_records_per_page", "1", 1),
        ("max_records_per_page", "100", 100),
        ("request_timeout_seconds", "10", 10),
        ("request_timeout_seconds", "300", 300),
        ("retry_attempts", "1", 1),
        ("retry_attempts", "10", 10),
        ("max_requests_per_hour", "1", 1),
        ("max_requests_per_hour", "1800", 1800),
    ],
)
def test_integer_settings_accept_their_range(key, valid, expected):
    assert getattr(parse(**{key: valid}), key) == expected


@pytest.mark.parametrize(
    "key, invalid, accepted",
    [
        ("initial_sync_days", "0", "1 to 365"),
        ("initial_sync_days", "366", "1 to 365"),
        ("initial_sync_days", "ninety", "'all'"),
        ("lookback_minutes", "-1", "0 to 1440"),
        ("lookback_minutes", "1441", "0 to 1440"),
        ("lookback_minutes", "5.5", "0 to 1440"),
        ("max_records_per_page", "0", "1 to 100"),
        ("max_records_per_page", "101", "1 to 100"),
        ("request_timeout_seconds", "9", "10 to 300"),
        ("request_timeout_seconds", "301", "10 to 300"),
        ("retry_attempts", "0", "1 to 10"),
        ("retry_attempts", "11", "1 to 10"),
        ("retry_attempts", "three", "1 to 10"),
        ("max_requests_per_hour", "0", "1 to 1000000"),
    ],
)
def test_integer_settings_reject_out_of_range_values(key, invalid, accepted):
    message = error_of(**{key: invalid})
    assert f"'{key}'" in message and accepted in message


@pytest.mark.parametrize(
    "key, default", [("enable_incremental_sync", True), ("enable_debug_logging", False)]
)
def test_booleans(key, default):
    assert getattr(parse(), key) is default
    assert getattr(parse(**{key: "TRUE"}), key) is True
    assert getattr(parse(**{key: " false "}), key) is False
    message = error_of(**{key: "yes"})
    assert f"'{key}'" in message and "'true' or 'false'" in message


def test_tables_keep_the_canonical_order_and_drop_duplicates():
    assert parse(tables="projects, organizations,projects").tables == ("organizations", "projects")
    assert parse(tables=" Products ").tables == ("products",)


def test_unknown_tables_are_listed_with_the_valid_names():
    message = error_of(tables="projects,requests,widgets")
    assert "'requests'" in message and "'widgets'" in message
    assert "organizations, products, projects, people" in message


def test_a_table_list_of_only_commas_is_an_error():
    assert "'tables'" in error_of(tables=" , ,")


def test_unknown_keys_are_only_a_warning(capsys):
    settings = parse(some_form_key="x")
    assert settings.account_id == "widget"
    assert "some_form_key" in capsys.readouterr().out


def test_non_string_values_are_tolerated():
    settings = parse(lookback_minutes=9, enable_debug_logging=True)
    assert settings.lookback_minutes == 9 and settings.enable_debug_logging is True


def test_configuration_must_be_a_dict():
    with pytest.raises(ConfigurationError):
        parse_settings(["oauth_token"])


# --- the setup form ------------------------------------------------------------------------------


def built_fields():
    return {field.name: field for field in connector.configuration_form().to_response().fields}


def test_form_fields_are_exactly_the_options_in_order():
    names = [option.name for option in OPTIONS]
    assert len(names) == len(set(names)), "a key appears twice in the option table"
    assert list(OPTIONS_BY_NAME) == names
    assert list(built_fields()) == names, "the form must show every option, in declared order"


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
def test_each_field_shows_its_options_label_and_description(option):
    field = built_fields()[option.name]
    assert field.label == option.label
    assert field.description == option.description
    if option.kind not in (CHOICE, TOGGLE):
        assert field.placeholder == option.placeholder


def test_secrets_are_password_fields_and_nothing_else_is():
    fields = built_fields()
    passwords = {name for name, field in fields.items() if field.text_field == sdk_fields.PASSWORD}
    secrets = {option.name for option in OPTIONS if option.secret}
    expected = {"oauth_token", "client_secret", "backup_oauth_token", "backup_client_secret"}
    assert passwords == expected == secrets


def test_dropdowns_offer_exactly_the_accepted_values_with_human_labels():
    fields = built_fields()
    for name, accepted in (("region", REGIONS), ("environment", ENVIRONMENTS)):
        options = fields[name].dropdown_options
        assert [option.value for option in options] == [value for value, _ in accepted]
        for option in options:
            assert option.label and option.label != option.value
            assert parse_settings({**MINIMAL, name: option.value})  # every option parses
    assert "Australia" in [o.label for o in fields["region"].dropdown_options][1]


def test_toggles_and_plain_text_fields():
    fields = built_fields()
    toggles = {name for name, field in fields.items() if field.toggle}
    assert toggles == {"enable_incremental_sync", "enable_debug_logging"}
    assert toggles == {option.name for option in OPTIONS if option.kind == TOGGLE}
    dropdowns = {name for name, field in fields.items() if field.dropdown_options}
    assert dropdowns == {option.name for option in OPTIONS if option.kind == CHOICE}
    secrets = {option.name for option in OPTIONS if option.secret}
    plain = {name for name, field in fields.items() if field.text_field == sdk_fields.PLAIN_TEXT}
    assert plain == set(OPTIONS_BY_NAME) - toggles - dropdowns - secrets


def test_only_account_id_is_required():
    required = {name for name, field in built_fields().items() if field.required}
    assert required == {"account_id"}
    assert required == {option.name for option in OPTIONS if option.required}


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
def test_description_states_default_and_accepted_values(option):
    description = built_fields()[option.name].description
    assert option.accepted in description
    assert option.default_text in description
    assert "Default" in description or "Required" in description or "Optional" in description
    assert len(description) < 400, "one or two plain sentences, not an essay"


def typed_default(option) -> str:
    """The default as the description states it ("Default: 90." -> "90")."""
    assert option.default_text.startswith("Default: ") and option.default_text.endswith(".")
    return option.default_text[len("Default: ") : -1]


@pytest.mark.parametrize(
    "option", [option for option in OPTIONS if option.default is not None], ids=lambda o: o.name
)
def test_documented_default_is_the_default_parse_settings_applies(option):
    """Leaving a field empty and typing its documented default must give the same settings."""
    typed = typed_default(option)
    assert f"Default: {typed}." in built_fields()[option.name].description
    assert option.parse(typed) == option.default
    assert parse_settings({**MINIMAL, option.name: ""}) == parse_settings(
        {**MINIMAL, option.name: typed}
    )


def test_form_passes_the_sdk_validation_and_serialises():
    built = connector.configuration_form()
    validate_form(built.to_response().fields)
    serialised = built._to_proto().SerializeToString()
    for option in OPTIONS:
        assert option.name.encode() in serialised


def test_setup_tests_are_registered_in_order_under_stable_names():
    tests = connector.configuration_form().to_response().tests
    assert [test.name for test in tests] == [
        "check_configuration",
        "check_api_reachable",
        "check_credentials",
        "check_backup_credentials",
        "check_tables_readable",
    ]
    assert [test.label for test in tests] == [label for label, _ in connector.SETUP_TESTS]
    assert all(test.label for test in tests)


@pytest.mark.parametrize(
    "configuration",
    [None, {}, {"account_id": 5}, {"account_id": "widget", "oauth_token": ["x"]}, "text"],
    ids=["none", "empty", "number", "list", "string"],
)
@pytest.mark.parametrize("test_function", SETUP_FUNCTIONS, ids=lambda f: f.__name__)
def test_setup_tests_never_raise_on_garbage(test_function, configuration):
    response = test_function(configuration)
    assert response.success is None
    assert response.failure


def test_configuration_failure_quotes_the_configuration_error():
    check_configuration = SETUP_FUNCTIONS[0]
    response = check_configuration({"account_id": "widget"})
    assert response.failure.startswith("Configuration key 'oauth_token'")
    # Each key is checked before the pairing of the credentials: the bad value is named first.
    response = check_configuration({"account_id": "widget", "lookback_minutes": "9999"})
    assert response.failure.startswith("Configuration key 'lookback_minutes'")
    response = check_configuration({**MINIMAL, "lookback_minutes": "9999"})
    assert "lookback_minutes" in response.failure and "0 to 1440" in response.failure
    assert check_configuration(MINIMAL).success is True


# --- exclude_columns -------------------------------------------------------------------------------


def test_columns_are_left_out_by_table_and_name_whatever_the_case():
    settings = parse(exclude_columns=" People.Primary_Email , people.contacts,")
    assert settings.exclude_columns == {("people", "primary_email"), ("people", "contacts")}
    assert parse().exclude_columns is None


@pytest.mark.parametrize(
    "value, words",
    [
        ("people.nickname", "unknown column(s) 'people.nickname'"),
        ("humans.name", "unknown column(s) 'humans.name'"),
        ("primary_email", "unknown column(s) 'primary_email'"),
        ("people.id", "rows are keyed and walked by it"),
        ("people.updated_at", "rows are keyed and walked by it"),
    ],
)
def test_a_column_that_does_not_exist_or_that_the_sync_needs_is_refused(value, words):
    message = error_of(exclude_columns=value)
    assert message.startswith("Configuration key 'exclude_columns': ") and words in message


def test_the_schema_leaves_out_the_excluded_columns_and_only_them():
    full = {entry["table"]: entry["columns"] for entry in connector.schema({})}
    narrowed = {
        entry["table"]: entry["columns"]
        for entry in connector.schema({"exclude_columns": "people.primary_email,teams.remarks"})
    }
    assert set(full["people"]) - set(narrowed["people"]) == {"primary_email"}
    assert set(full["teams"]) - set(narrowed["teams"]) == {"remarks"}
    assert all(
        full[table] == narrowed[table] for table in full if table not in ("people", "teams")
    )


def test_the_schema_declares_the_chosen_tables_only_and_all_without_a_choice():
    declared = [entry["table"] for entry in connector.schema({"tables": "teams,people"})]
    assert declared == ["people", "teams", "sync_health"]
    assert [entry["table"] for entry in connector.schema({})][:-1] == list(TABLE_NAMES)
    with pytest.raises(ConfigurationError, match="'tables'"):
        connector.schema({"tables": "teams,widgets"})
