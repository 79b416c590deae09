"""redact() and an end-to-end check that no secret reaches logs or exception messages."""

from __future__ import annotations

import pytest
from testkit import CLIENT_SECRET, TOKEN, settings_for

from xurrent_connector.errors import XurrentApiError
from xurrent_connector.redact import REDACTED, redact, register_secret, url_for_message


def test_registered_secrets_are_replaced_everywhere():
    register_secret("reg-SECRET-abcdef123")
    text = redact("token reg-SECRET-abcdef123 and again xreg-SECRET-abcdef123x")
    assert "reg-SECRET-abcdef123" not in text
    assert text.count(REDACTED) == 2


def test_short_values_are_not_registered():
    register_secret("abc")
    assert redact("abc def") == "abc def"


@pytest.mark.parametrize(
    "text, leaked",
    [
        ("Authorization: Bearer eyJhbGciOi.JIUzI1", "eyJhbGciOi"),
        ("{'Authorization': 'Bearer zzz111'}", "zzz111"),
        ("bearer abc.def-ghi", "abc.def-ghi"),
        ("grant_type=client_credentials&client_secret=s3cr3tvalue&x=1", "s3cr3tvalue"),
        ('{"access_token": "at-123456789", "expires_in": 3600}', "at-123456789"),
        ("password=hunter2hunter2", "hunter2hunter2"),
    ],
)
def test_credential_shaped_text_is_removed_even_when_unregistered(text, leaked):
    cleaned = redact(text)
    assert leaked not in cleaned
    assert REDACTED in cleaned


def test_long_text_is_shortened_after_redaction():
    register_secret("long-SECRET-0123456789")
    text = "x" * 495 + "long-SECRET-0123456789" + "y" * 100
    cleaned = redact(text)
    assert len(cleaned) == 500 and "long-SECRET" not in cleaned


def test_url_for_message_drops_query_and_fragment():
    url = "https://api.xurrent.com/v1/products?search_after=abc&access_token=zzz#frag"
    assert url_for_message(url) == "/v1/products"


def test_no_secret_in_logs_or_errors_across_failure_paths(sim, make_client, capsys):
    """Debug logging on, every failure path the client has; then grep all output for secrets."""
    messages = []
    sim.configure(fault_schedule={1: "503", 2: "malformed", 3: "429", 5: "drop"})
    client = make_client(settings_for(sim, client_credentials=True, enable_debug_logging=True))
    client.get("/products")  # 503, malformed, 429, then 200
    client.get("/products")  # drop, then 200
    for token in [t for t, info in sim.tokens.items() if info.user.startswith("client:")]:
        sim.expire_token(token)
    client.get("/organizations")  # 401, refresh, 200

    register_secret("csec-OTHER-55555555")  # what parse_settings does for configured secrets
    wrong = settings_for(sim, client_credentials=True, client_secret="csec-OTHER-55555555")
    for settings, params in (
        (wrong, None),
        (settings_for(sim, oauth_token="tok-BAD-7777777"), None),
        (settings_for(sim), {"sort": "bogus"}),
    ):
        with pytest.raises(XurrentApiError) as caught:
            make_client(settings).get("/products", params)
        messages.append(str(caught.value))

    issued = [t for t, info in sim.tokens.items() if info.user.startswith("client:")]
    assert len(issued) == 2
    output = capsys.readouterr()
    everything = output.out + output.err + "\n".join(messages) + repr(client)
    assert '"WARNING"' in output.out and "-> 200" in output.out  # the logs were really written
    assert len(messages) == 3
    for secret in [TOKEN, CLIENT_SECRET, "csec-OTHER-55555555", "tok-BAD-7777777", *issued]:
        assert secret not in everything
    assert "Bearer" not in everything and "Authorization" not in everything


def test_the_connectors_own_messages_about_secret_keys_stay_readable():
    """A key named in a message is not a credential: only a quoted value after "key: " is."""
    message = "Configuration key 'oauth_token': missing; set oauth_token to a token"
    assert redact(message) == message
    assert "hunter2x" not in redact("{'client_secret': 'hunter2x'}")
