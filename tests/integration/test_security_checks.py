"""Security checks through the SDK runner: plain http is refused before any request, and a
token endpoint that refuses the client credentials yields a clear error that never carries the
secret, even when the endpoint itself echoes it."""

from __future__ import annotations

import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import urllib3.util.connection
from testkit import TOKEN, configuration_for

CLIENT_ID = "security-client"
CLIENT_SECRET = "csec-SeCuRiTy-a41f9e0c3b72"
WRONG_CLIENT_SECRET = "csec-WrOnGsEc-5d0c7b2e9f13"


def non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (no packet is sent), if it has one."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.254", 9))  # UDP connect only picks the outgoing interface
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


@pytest.fixture
def connections(monkeypatch):
    """Every TCP connection requests/urllib3 opens during the test, as (host, port)."""
    opened = []
    original = urllib3.util.connection.create_connection

    def recording(address, *args, **kwargs):
        opened.append(address)
        return original(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", recording)
    return opened


def all_text(runner, result) -> str:
    chunks = [result.output, str(result.error), repr(result.error)]
    for directory, _, names in os.walk(runner.project_dir):
        for name in names:
            if not name.endswith(".db"):
                with open(os.path.join(directory, name), errors="replace") as handle:
                    chunks.append(handle.read())
    return "\n".join(chunks)


# --- plain http ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "http://api.xurrent.com/v1",
        "http://10.20.30.40:8080/v1",
        "http://127.0.0.1.nip.io/v1",  # a name that merely starts like a loopback address
        "http://[::ffff:10.0.0.1]/v1",
    ],
)
def test_plain_http_base_url_to_a_remote_host_is_refused_before_any_request(
    sim, runner, connections, base_url
):
    result = runner.run(configuration_for(sim, base_url=base_url), expect_failure=True)
    message = str(result.error)
    assert "base_url" in message and "http" in message and "loopback" in message
    assert connections == []
    assert runner.saved_state() is None
    assert TOKEN not in all_text(runner, result)


def test_plain_http_to_a_reachable_remote_address_sends_nothing(make_sim, runner, connections):
    """A server that really listens on the non-loopback address still receives no request."""
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    sim = make_sim(host="0.0.0.0")
    remote_url = f"http://{address}:{sim.port}/v1"
    result = runner.run(configuration_for(sim, base_url=remote_url), expect_failure=True)
    assert "base_url" in str(result.error)
    assert sim.stats()["requests"] == 0 and sim.stats()["oauth_requests"] == 0
    assert connections == []


def test_plain_http_token_url_to_a_remote_host_is_refused_before_any_request(
    sim, runner, connections
):
    configuration = configuration_for(
        sim,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        token_url="http://oauth.xurrent.com/token",
    )
    del configuration["oauth_token"]
    result = runner.run(configuration, expect_failure=True)
    assert "token_url" in str(result.error)
    assert connections == []
    assert sim.stats()["oauth_requests"] == 0 and sim.stats()["requests"] == 0
    assert CLIENT_SECRET not in all_text(runner, result)


# --- token endpoint refusals --------------------------------------------------------------------


def client_configuration(sim, secret: str, token_url: str | None = None) -> dict:
    configuration = configuration_for(
        sim, client_id=CLIENT_ID, client_secret=secret, token_url=token_url or sim.token_url
    )
    del configuration["oauth_token"]
    return configuration


def test_token_endpoint_400_gives_a_clear_error_without_the_secret(sim, runner):
    sim.add_client(CLIENT_ID, CLIENT_SECRET)
    result = runner.run(client_configuration(sim, WRONG_CLIENT_SECRET), expect_failure=True)
    message = str(result.error)
    assert "HTTP 400" in message and "invalid_client" in message
    assert "client_id" in message and "client_secret" in message
    assert sim.stats()["oauth_requests"] >= 1
    assert sim.stats()["requests"] == 0  # no API request without a token
    everything = all_text(runner, result)
    assert WRONG_CLIENT_SECRET not in everything and CLIENT_SECRET not in everything


class _EchoingTokenEndpoint(BaseHTTPRequestHandler):
    """A token endpoint that answers 400 and quotes the submitted form, secret included: the
    simulator never echoes (as documented), so this one corner needs a stub."""

    def do_POST(self):
        form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        body = json.dumps(
            {
                "error": "invalid_client",
                "error_description": f"unknown client {form.get('client_id')} with secret "
                f"{form.get('client_secret')} (Authorization: Bearer {form.get('client_secret')})",
            }
        ).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        """Quiet."""


@pytest.fixture
def echoing_token_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingTokenEndpoint)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/oauth/token"
    server.shutdown()
    server.server_close()


def test_a_token_endpoint_echoing_the_secret_is_redacted(sim, runner, echoing_token_endpoint):
    configuration = client_configuration(sim, WRONG_CLIENT_SECRET, echoing_token_endpoint)
    result = runner.run(configuration, expect_failure=True)
    message = str(result.error)
    assert "HTTP 400" in message and "client_secret" in message
    assert "[REDACTED]" in message  # the echo was quoted, with the secret taken out
    assert WRONG_CLIENT_SECRET not in all_text(runner, result)
