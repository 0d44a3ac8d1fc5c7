"""One scrubber for every string that leaves the SDK: messages, attributes, logs, headers.

The API key must never reach an exception, a repr or a log line, whatever a server echoes
back (in a body, an error code, a header) or a transport quotes from the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

MASK = "***"

SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "app-key",
        "x-signature",
    }
)
"""Header names whose values are masked whole on errors (the key's own header is added)."""


def redact(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret`, raw or percent-encoded, replaced by ***."""
    if not secret:
        return text
    text = text.replace(secret, MASK)
    encoded = quote(secret, safe="")
    return text.replace(encoded, MASK) if encoded != secret else text


def masked_headers(
    headers: Iterable[tuple[str, str]],
    secret: str,
    *,
    extra_sensitive: Iterable[str] = (),
) -> dict[str, str]:
    """A plain (picklable) copy of response headers with secrets masked.

    Credential and cookie headers are masked whole; every other value is scrubbed of the key.
    Repeated headers are joined with ", " as HTTP allows.
    """
    sensitive = SENSITIVE_HEADERS | {name.lower() for name in extra_sensitive}
    masked: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        shown = MASK if lowered in sensitive else redact(value, secret)
        masked[lowered] = f"{masked[lowered]}, {shown}" if lowered in masked else shown
    return masked
