"""Exceptions shared by the auth and HTTP layers (a separate module avoids an import cycle)."""

from __future__ import annotations


class XurrentApiError(Exception):
    """A fatal, actionable API failure: the message says which setting to fix.

    Never contains a secret. ``status`` is the HTTP status when there was a response, else None;
    ``kind`` is the classification used by the HTTP policy (e.g. "forbidden", "server_error").
    """

    def __init__(self, message: str, *, status: int | None = None, kind: str | None = None):
        super().__init__(message)
        self.status = status
        self.kind = kind


class TokenEndpointUnavailable(Exception):
    """The OAuth token endpoint could not be reached or answered 5xx/429: worth retrying.

    Internal to the package: the HTTP client turns it into a retry, and into an
    ``XurrentApiError`` when the retry budget is spent.
    """
