"""The deadline for a whole request: a real server on loopback that trickles its body or its
headers, or never answers, against a ``requests`` session with the connector's adapter, and
against the connector's client.

What is checked is what happened, never how long it took: the deadline is marked expired, the
server saw its connection closed, the session's next request works (no connection went back
to the pool half-read), and the client counts a timeout and retries. A request cut off in its
headers may even come back as a "response" (``http.client`` takes what arrived before the
socket closed): the client must go by the deadline, not by whether ``requests`` raised. A
request inside its deadline is untouched.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from datetime import datetime, timezone

import pytest
import requests

from xurrent_connector.deadline import WATCHDOG, DeadlineAdapter
from xurrent_connector.errors import XurrentApiError
from xurrent_connector.metrics import StreamMetrics
from xurrent_connector.options import parse_settings

BODY = b'[{"id": 1}]' * 200
DEADLINE_SECONDS = 0.3
WAIT_SECONDS = 10.0  # an upper bound for conditions that should hold almost at once


class MisbehavingServer:
    """One answer per connection, in the mode the path names: ``/ok``, ``/trickle-body``
    (headers at once, then a byte at a time), ``/trickle-headers`` or ``/silent``."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed_by_client = threading.Event()
        self.stopping = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mode}"

    def _serve(self):
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket):
        with connection:
            while True:  # keep-alive: answer requests until the client goes
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = connection.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                mode = request.split(b" ")[1].decode().split("?")[0].rsplit("/", 1)[-1]
                if not self._respond(connection, mode):
                    self.closed_by_client.set()
                    return

    def _respond(self, connection, mode) -> bool:
        """Answer in ``mode``; False once the client has hung up."""
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += b"Content-Length: %d\r\n\r\n" % len(BODY)
        try:
            if mode == "ok":
                connection.sendall(head + BODY)
                return True
            if mode == "silent":
                return self._trickle(connection, b"")
            if mode == "trickle-headers":
                return self._trickle(connection, head + BODY)
            connection.sendall(head)
            return self._trickle(connection, BODY)
        except OSError:
            return False

    def _trickle(self, connection, data: bytes) -> bool:
        """A byte every 10 ms (nothing at all for ``b""``) until the client hangs up."""
        for index in range(max(len(data), 10_000)):
            if self.stopping.wait(0.01):
                return True
            if index < len(data):
                connection.sendall(data[index : index + 1])
            elif hung_up(connection):
                return False
        return True

    def stop(self):
        self.stopping.set()
        self.listener.close()


def hung_up(connection: socket.socket) -> bool:
    """Whether the client closed its end (a read would return nothing at all)."""
    try:
        return connection.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False  # connected, and silent


@pytest.fixture
def server():
    started = MisbehavingServer()
    yield started
    started.stop()


@pytest.fixture
def session():
    with requests.Session() as opened:
        adapter = DeadlineAdapter(max_retries=0)
        opened.mount("http://", adapter)
        yield opened


MODES = ["trickle-body", "trickle-headers", "silent"]


@pytest.mark.parametrize("mode", MODES)
def test_a_request_past_its_deadline_is_cut_off_whatever_phase_it_is_in(server, session, mode):
    # Each read gets a byte well within the socket timeout: only the deadline can end it.
    with WATCHDOG.within(DEADLINE_SECONDS) as deadline:
        try:
            session.get(server.url(mode), timeout=WAIT_SECONDS * 3)
        except requests.RequestException:
            pass
    assert deadline.expired
    assert server.closed_by_client.wait(WAIT_SECONDS)
    # The pool holds no half-read connection: the next request gets a whole answer.
    with WATCHDOG.within(WAIT_SECONDS) as next_deadline:
        assert session.get(server.url("ok"), timeout=WAIT_SECONDS).content == BODY
    assert not next_deadline.expired


def test_requests_inside_their_deadline_are_untouched_and_keep_their_connection(server, session):
    for _ in range(3):
        with WATCHDOG.within(WAIT_SECONDS) as deadline:
            response = session.get(server.url("ok"), timeout=WAIT_SECONDS)
        assert response.content == BODY and not deadline.expired
    assert not server.closed_by_client.is_set()  # one kept-alive connection served all three


def test_a_request_outside_any_deadline_is_not_watched(server, session):
    """The token endpoint shares the session; its requests carry their own timeout only."""
    assert session.get(server.url("ok"), timeout=WAIT_SECONDS).content == BODY


@pytest.mark.parametrize("mode", MODES)
def test_the_client_counts_a_request_past_its_deadline_as_a_timeout(server, make_client, mode):
    configuration = {"account_id": "widget", "oauth_token": "deadline-test-token"}
    configuration["base_url"] = f"http://127.0.0.1:{server.port}/v1"
    settings = dataclasses.replace(
        parse_settings(configuration), request_timeout_seconds=DEADLINE_SECONDS, retry_attempts=2
    )
    metrics = StreamMetrics("t", lambda: datetime.now(timezone.utc))
    with pytest.raises(XurrentApiError) as caught:
        make_client(settings).get(f"/{mode}", metrics=metrics)
    assert caught.value.kind == "timeout"
    assert f"no complete answer within {DEADLINE_SECONDS} s" in str(caught.value)
    assert metrics.errors_by_kind == {"timeout": 2} and metrics.retries == 1
