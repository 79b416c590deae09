"""Every exception the connector raises on purpose, in one place.

Each message is written for the person who has to act on it: it names the setting, the saved
state field or the record at fault and says what to do. None ever holds a secret.
"""

from __future__ import annotations

RESET_HINT = (
    "To recover, reset this connection's state (Fivetran dashboard: re-sync the tables; "
    "local testing: `fivetran reset`). The next sync then re-reads the initial_sync_days "
    "window."
)


class ConfigurationError(ValueError):
    """A configuration value is missing or invalid; the message names the key and the fix."""


class StateError(ValueError):
    """The saved state cannot be used safely; the message says why and how to recover."""


class RecordFormatError(ValueError):
    """An API value that cannot be stored in its declared column type."""


class XurrentApiError(Exception):
    """The API (or the OAuth token endpoint) answered in a way the sync cannot go past.

    ``status`` is the HTTP status when there was an answer; ``kind`` is the classification of
    the HTTP policy (``"forbidden"``, ``"server_error"``, ...) and ``detail`` the server's own
    message (redacted), which callers use instead of re-reading the message.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        kind: str | None = None,
        detail: str = "",
    ):
        super().__init__(message, status, kind, detail)
        self.status = status
        self.kind = kind
        self.detail = detail

    def __str__(self) -> str:
        return str(self.args[0])


class RateLimitExhausted(XurrentApiError):
    """The next request may only be sent later than ``max_rate_limit_wait_seconds`` allows.

    Not a failure: every page fetched so far is checkpointed, the sync ends cleanly, and the
    next scheduled one resumes. ``wait_seconds`` is how far away the next allowed request is.
    """

    wait_seconds: float = 0.0

    @classmethod
    def after(cls, message: str, wait_seconds: float) -> "RateLimitExhausted":
        error = cls(message, 429, "rate_limit_exhausted")
        error.wait_seconds = wait_seconds
        return error
