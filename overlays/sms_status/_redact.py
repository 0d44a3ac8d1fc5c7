"""One scrubber for every string that leaves the SDK: messages, attributes, logs, headers.

The API key must never reach an exception, a repr or a log line, whatever a server echoes
back (in a body, an error code, a header) or a transport quotes from the request.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
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
    """`text` with every occurrence of `secret` (raw, percent-encoded, or escaped as repr
    escapes it; in any letter case) replaced by ***."""
    if not secret:
        return text
    return _pattern(secret).sub(MASK, text)


@functools.lru_cache(maxsize=64)
def _pattern(secret: str) -> re.Pattern[str]:
    # Any letter case: a server may upper- or lower-case what it quotes, and a hex key
    # echoed in capitals is the whole key.
    return re.compile("|".join(map(re.escape, _forms(secret))), re.IGNORECASE)


_ESCAPED_BY_REPR = frozenset("\\'\"")


@functools.lru_cache(maxsize=64)
def _forms(secret: str) -> tuple[str, ...]:
    """How a text may quote `secret`: raw, percent-encoded, in a JSON string (as encoders
    escape it: `\\/` for `/` as PHP's does, `\\uXXXX` for what is not ASCII) and, for a key
    with a backslash or a quote, as repr() escapes it, once or twice (a transport's error
    quotes the bytes it read, as aiohttp's does in a repr of a repr); longest first."""
    forms = {secret, quote(secret, safe="", errors="surrogatepass")}
    in_json = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    in_json |= {form.replace("/", "\\/") for form in in_json}
    forms |= in_json | {_hex_escaped(form, marks) for form in in_json for marks in _marks(secret)}
    if _ESCAPED_BY_REPR.intersection(secret):
        for _ in range(2):
            escaped = {form.replace("\\", "\\\\") for form in forms}
            forms |= escaped
            forms |= {form.replace(mark, "\\" + mark) for form in escaped for mark in "'\""}
    return tuple(sorted(forms, key=len, reverse=True))


_HEX_ESCAPED = ("<>", "&", "'", '"')
"""What JSON encoders may write as `\\u00XX`, in groups: Go's encoding/json and Rails the
first two, PHP each by a flag of its own (JSON_HEX_TAG, _AMP, _APOS, _QUOT)."""


def _marks(secret: str) -> list[str]:
    """Every combination of the `_HEX_ESCAPED` groups that `secret` holds characters of."""
    groups = [group for group in _HEX_ESCAPED if set(group) & set(secret)]
    return [
        "".join(g for i, g in enumerate(groups) if n >> i & 1) for n in range(1, 1 << len(groups))
    ]


def _hex_escaped(json_text: str, marks: str) -> str:
    for mark in marks:
        escaped = json_text.replace("\\" + mark, mark) if mark == '"' else json_text
        json_text = escaped.replace(mark, f"\\u{ord(mark):04x}")
    return json_text


def clip(text: str, secret: str, limit: int) -> str:
    """`text` scrubbed, then cut to `limit` characters: cut first, an echoed key would be
    split where the text is, no longer match, and keep its first characters."""
    return redact(text, secret)[:limit]


def drop_cut_secret(text: str, secret: str) -> str:
    """`text`, the end of a longer one, without a trailing start of `secret` (raw or
    percent-encoded, in JSON, ...: `_forms`) that the cut left behind, so `redact` can no
    longer see it."""
    cut = 0  # the longest start of any form: a shorter one may stop inside the key
    for form in _forms(secret):
        for length in range(min(len(form) - 1, len(text)), cut, -1):
            # Any letter case, as `redact`; each side lowered after the cut, since lowering
            # may change a length ('İ' is two characters lower-cased).
            if text[-length:].lower() == form[:length].lower():
                cut = length
                break
    return text[:-cut] if cut else text


def header_text(value: str) -> str:
    """A header value without lone surrogates: aiohttp keeps bytes that are not UTF-8 as
    surrogate escapes, which no UTF-8 terminal, file or encoder takes; those values are read
    as Latin-1 instead, as httpx and http.client read them."""
    if value.isascii():
        return value
    try:
        value.encode()
    except UnicodeEncodeError:
        try:
            return value.encode(errors="surrogateescape").decode("latin-1")
        except UnicodeEncodeError:  # a surrogate no byte stands for
            return value.encode(errors="backslashreplace").decode()
    return value


def masked_headers(
    headers: Iterable[tuple[str, str]],
    secret: str,
    *,
    extra_sensitive: Iterable[str] = (),
) -> dict[str, str]:
    """A plain (picklable) copy of response headers with secrets masked.

    Credential and cookie headers are masked whole; every other value, and every name, is
    scrubbed of the key.
    Repeated headers are joined with ", " as HTTP allows; values are `header_text`.
    """
    sensitive = SENSITIVE_HEADERS | {name.lower() for name in extra_sensitive}
    masked: dict[str, str] = {}
    for name, value in headers:
        lowered = redact(name.lower(), secret)
        shown = MASK if lowered in sensitive else redact(header_text(value), secret)
        masked[lowered] = f"{masked[lowered]}, {shown}" if lowered in masked else shown
    return masked


LOGGERS = (
    "sms_status",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
"""The SDK's logger and its HTTP stack's (httpcore logs response headers at DEBUG, and a
server may echo the key in one). Filters do not propagate to child loggers: each is named."""


class _SecretFilter(logging.Filter):
    """Masks every registered key in a record's message. It only runs for records a logger
    is enabled for, so it costs nothing while DEBUG logging is off."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: frozenset[str] = frozenset()

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets
        if not secrets:
            return True
        message = record.getMessage()
        scrubbed = message
        for secret in secrets:
            scrubbed = redact(scrubbed, secret)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True


_filter = _SecretFilter()
_filter_lock = threading.Lock()
_holders: dict[str, int] = {}
"""How many open clients use each key: a key is masked until the last of them closes, so a
service that makes a client per tenant does not grow this set (or the filter's cost) forever."""


MIN_LOGGED_SECRET_LENGTH = 8
"""Shorter "keys" (test stand-ins such as "k") are not masked in logs: the filter is
process-wide, and masking every "k" would garble every other record."""


def scrub_logs(secret: str) -> None:
    """Mask `secret` in every record of `LOGGERS` until a matching `release_logs`."""
    with _filter_lock:
        if len(secret) < MIN_LOGGED_SECRET_LENGTH:
            return
        _holders[secret] = _holders.get(secret, 0) + 1
        if secret in _filter.secrets:
            return
        _filter.secrets = _filter.secrets | {secret}
        for name in LOGGERS:
            logger = logging.getLogger(name)
            if _filter not in logger.filters:
                logger.addFilter(_filter)


def release_logs(secret: str) -> None:
    """A client using `secret` closed; stop masking it once no open client uses it."""
    with _filter_lock:
        left = _holders.get(secret, 0) - 1
        if left > 0:
            _holders[secret] = left
            return
        _holders.pop(secret, None)
        _filter.secrets = _filter.secrets - {secret}
