"""One place that makes text safe to show: exception messages, log lines, setup test answers.

Nothing in the SDK's ``Logging`` redacts, and the ``SYNC FAILED`` block prints exception messages
verbatim, so every message built from server content or from our own URLs goes through
``redact``.  Secrets are known in two ways: values registered at start-up (the configured token,
client secret and every OAuth access token we obtain) are replaced wherever they appear, and
patterns catch credential-shaped text we never registered (``Bearer …``, ``access_token=…``).
"""

from __future__ import annotations

import re
import threading
from urllib.parse import urlsplit

from fivetran_connector_sdk import Logging as log

REDACTED = "[REDACTED]"

#: The shortest secret there is: the configuration refuses shorter tokens and client secrets
#: (no real one is), so every secret in use is registered. Registering "T" or "tok" would make
#: messages unreadable and could cut the labels the patterns below look for.
MIN_SECRET_LENGTH = 6

# Server bodies can be large HTML error pages; keep messages readable.
MAX_TEXT_LENGTH = 500

_known_secrets: set[str] = set()
_known_secrets_lock = threading.Lock()

_CREDENTIAL_PATTERNS = (
    # "Authorization: Bearer abc", "bearer abc", "Basic abc"
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    # header echoes such as "'Authorization': 'xyz'" or "authorization=xyz"
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"),
    # form bodies / JSON: access_token=..., "client_secret": "...", refresh_token, password;
    # after a separator and a space only a quoted value counts, so that our own messages
    # ("Configuration key 'oauth_token': missing") stay readable
    re.compile(
        r"(?i)(\b(?:access_token|refresh_token|client_secret|oauth_token|password|secret)"
        r"['\"]?(?:[:=]['\"]?|\s*[:=]\s*['\"]))[^'\"&\s,}]+"
    ),
)


def register_secret(value: str | None) -> None:
    """Remember a secret so that ``redact`` replaces it wherever it shows up later."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _known_secrets_lock:
            _known_secrets.add(value)


def utf8_safe(text: str) -> str:
    """``text`` with each lone UTF-16 surrogate (which UTF-8 cannot encode, so printing or
    storing it fails) replaced by U+FFFD; a pair split into two code points is joined."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def redact(text: object, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Return ``text`` as a string with every known secret and credential pattern removed, and
    any text UTF-8 cannot encode repaired (a server's message may carry some).

    Long texts are shortened after redaction so a secret can never be cut in half and survive.
    """
    result = utf8_safe(str(text))
    for pattern in _CREDENTIAL_PATTERNS:  # first, while every label is intact
        result = pattern.sub(_keep_label, result)
    with _known_secrets_lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in result:
            result = result.replace(secret, REDACTED)
    if len(result) > max_length:
        result = result[: max_length - 1] + "…"
    return result


def _keep_label(match: re.Match) -> str:
    """Keep the label ("Bearer", "access_token=") so the message still says what was removed."""
    label = match.group(1)
    separator = " " if label.lower() in ("bearer", "basic") else ""
    return f"{label}{separator}{REDACTED}"


def url_for_message(url: str) -> str:
    """Path of ``url`` without query or fragment (cursors are long; queries may hold secrets)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return "<invalid URL>"
    return redact(path or "/", max_length=200)


def safe_log(level: str, message: str) -> None:
    """Log through the SDK logger after redaction, never failing the sync because of logging.

    ``Logging.info`` raises ``TypeError`` when ``Logging.LOG_LEVEL`` was never set (outside a
    run, e.g. in a harness); a log line is not worth failing a request for.
    """
    if log.LOG_LEVEL is None:
        return
    getattr(log, level)(redact(message, max_length=2000))


def endpoint_for_message(url: str) -> str:
    """Scheme, host and path of a configured URL (never its query): which endpoint failed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    return redact(f"{parts.scheme}://{parts.netloc}{parts.path}", max_length=200)
