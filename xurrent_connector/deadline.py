"""A deadline for the whole of a request: connecting, the headers and the body.

``requests`` bounds each read from the socket, never the whole answer: a server or a proxy that
sends its headers and then the body a few bytes every few seconds keeps a request (and the sync)
alive until Fivetran kills it. So the client's connections are watched: ``WATCHDOG.within``
arms a deadline for the calling thread around one request, the connections register their
socket with it when they connect or are reused (``DeadlineAdapter`` makes requests use them),
and one watchdog thread shuts the socket down when the deadline passes. The blocked read then
fails at once, ``requests`` raises, urllib3 closes that connection (it never goes back to the
pool half-read), and the client counts a timeout like any other.

Reading the body in chunks against a clock would bound only the body, and cost CPU on every
page; a shut-down socket ends whichever phase the request is in. The one phase a deadline
cannot reach is a TLS handshake in progress (the socket is registered once it completes);
each of its reads is still bounded by the socket timeout.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Deadline:
    """One request's deadline: when it passes, the sockets the request uses, and whether it
    passed before the request was done."""

    def __init__(self, at: float):
        self.at = at
        self.sockets: list[socket.socket] = []
        self.expired = False
        self.done = False


class Watchdog:
    """Shuts down the sockets of requests past their deadline; one thread for the process,
    started with the first deadline, asleep while no request is in flight."""

    def __init__(self):
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._local = threading.local()
        self._thread: threading.Thread | None = None

    @contextmanager
    def within(self, seconds: float) -> Iterator[Deadline]:
        """Arm a deadline ``seconds`` from now for the requests this thread makes inside."""
        deadline = Deadline(time.monotonic() + seconds)
        with self._lock:
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="xurrent-deadlines", daemon=True
                )
                self._thread.start()
            self._lock.notify()
        self._local.deadline = deadline
        try:
            yield deadline
        finally:
            self._local.deadline = None
            with self._lock:
                deadline.done = True
                deadline.sockets.clear()

    def watch(self, sock: socket.socket | None) -> None:
        """Register a socket the current thread's request uses (nothing outside ``within``)."""
        deadline = getattr(self._local, "deadline", None)
        if deadline is None or sock is None:
            return
        with self._lock:
            if deadline.expired:
                _shut_down(sock)
            else:
                deadline.sockets.append(sock)

    def _run(self) -> None:
        with self._lock:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._lock.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                deadline = heapq.heappop(self._heap)[2]
                deadline.expired = True
                for sock in deadline.sockets:
                    _shut_down(sock)


def _shut_down(sock: socket.socket) -> None:
    """End every read and write on ``sock`` (the plain socket's shutdown, so that a TLS
    socket's state is left to the thread that is reading it)."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing is waiting on it


#: The one watchdog of the process (its thread sleeps while no request is in flight).
WATCHDOG = Watchdog()


class _WatchedConnection:
    """Registers its socket with the current request's deadline on connecting and on reuse."""

    def connect(self) -> None:
        super().connect()
        WATCHDOG.watch(self.sock)

    def request(self, *args, **kwargs) -> None:
        WATCHDOG.watch(self.sock)  # a kept-alive connection; a new one registers on connect
        super().request(*args, **kwargs)


class _HTTPConnection(_WatchedConnection, HTTPConnection):
    pass


class _HTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _HTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


WATCHED_POOLS = {"http": _HTTPConnectionPool, "https": _HTTPSConnectionPool}


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections (direct or through a proxy) are watched."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOLS

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = WATCHED_POOLS
        return manager
