"""Input checks at the edge, before any request is made."""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar
from urllib.parse import quote, urlsplit

import httpx

MAX_PAGE_SIZE = 100
"""namirial's documented maximum `count`; larger values are capped like the API does."""

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc: C0, DEL, C1

MAX_ENCODED_ID_LENGTH = 1024
"""Longest message id once percent-encoded as UTF-8, in bytes: one id must fit a URL that
stays well under the 2 KB that proxies and servers reliably accept."""

DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024

T = TypeVar("T")


def encoded_length(value: str) -> int:
    """Bytes `value` takes percent-encoded in a URL (an upper bound: every reserved
    character is counted as encoded)."""
    return len(quote(value, safe=""))


def message_id(value: object, *, what: str = "message id", separator: str | None = None) -> str:
    """Return `value` if it can be sent as one path segment, else raise ValueError.

    Only empty ids, `.`, `..` and ids with control characters are refused: the first three
    would collapse into dot segments (path traversal), the last cannot be sent faithfully.
    Everything else is percent-encoded into exactly one segment by the generated client.
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if value in ("", ".", ".."):
        raise ValueError(f"invalid {what} {value!r}: empty, '.' and '..' are never sent")
    # Printable ASCII (what ids are) has neither control characters nor lone surrogates.
    if not (value.isascii() and value.isprintable()):
        if _CONTROL.search(value):
            raise ValueError(f"invalid {what} {value!r}: control characters are not allowed")
        if not encodable(value):
            raise ValueError(f"invalid {what} {value!r}: not valid Unicode text")
    # A character takes at most 12 bytes percent-encoded (4 UTF-8 bytes as %XX): a short id
    # cannot be too long, and is not encoded here just to count.
    if len(value) * 12 > MAX_ENCODED_ID_LENGTH and encoded_length(value) > MAX_ENCODED_ID_LENGTH:
        raise ValueError(
            f"invalid {what} of {len(value)} characters: longer than "
            f"{MAX_ENCODED_ID_LENGTH} bytes once percent-encoded, it would make an over-long URL"
        )
    if separator and separator in value:
        # seven joins ids with commas into one msg_id: such an id would be split in two.
        raise ValueError(f"invalid {what} {value!r}: {separator!r} separates ids here")
    return value


def message_ids(values: Iterable[str], *, separator: str | None = None) -> list[str]:
    """Validate every id before the first request; a bare string is refused, not split."""
    if isinstance(values, str | bytes | bytearray | memoryview):  # bytes: a list of ints
        raise TypeError(f"message_ids must be a list of ids, not a single {type(values).__name__}")
    return [message_id(v, separator=separator) for v in values]


def e164(value: object) -> str:
    """Return `value` if it is an E.164 phone number (`+` and 7 to 15 digits)."""
    if not isinstance(value, str) or not _E164.fullmatch(value):
        shown = repr(value)  # a few characters of it: an error line, not a copy of the input
        shown = shown if len(shown) <= 40 else f"{shown[:37]}... ({len(str(value))} characters)"
        raise ValueError(f"phone number {shown} is not E.164 (for example +14155551234)")
    return value


def page_count(value: object, *, name: str = "count") -> int:
    """Return `value` capped at 100 (as the API caps it); below 1 is a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return min(value, MAX_PAGE_SIZE)


def before(value: object) -> datetime | None:
    if value is not None and not isinstance(value, datetime):
        raise TypeError(f"before must be a datetime or None, not {type(value).__name__}")
    if value is not None and value.utcoffset() is None:
        # Sent without an offset, the server would guess its zone; and the pages' own
        # times (with one) could not be compared with it.
        raise ValueError(
            "before must be timezone-aware, as datetime(..., tzinfo=timezone.utc) or "
            "datetime.now(timezone.utc)"
        )
    return value


A_DAY = 86_400.0
"""The longest attempt timeout and Retry-After cap a client takes: past ~9.2e9 s a socket's
timeout overflowed (every sync call failed on a good answer) and so did a sleep."""


def seconds(
    value: object, name: str, *, allow_zero: bool = False, at_most: float = math.inf
) -> float:
    """`value` as a finite number of seconds > 0 (>= 0 with `allow_zero`), `at_most` at most:
    a bool or a non-number is a TypeError; nan, inf, out of range, or an int too large for a
    float a ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    try:
        converted = float(value)
    except OverflowError:  # 10**400 has no float: a bad value, like inf, not a crash
        converted, shown = math.inf, "an integer too large for a float"
    else:
        shown = repr(value)
    if not math.isfinite(converted) or converted < 0 or (converted == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number of seconds {bound}, got {shown}")
    if converted > at_most:
        raise ValueError(f"{name} must be at most {at_most:g} s, got {shown}")
    return converted


def timeout(value: object) -> httpx.Timeout:
    """The per-phase limits of one attempt: a number of seconds, or an `httpx.Timeout`
    whose phases are each unset or finite and > 0 (at least one set: a call always ends)."""
    if isinstance(value, httpx.Timeout):
        phases = {
            name: None if phase is None else seconds(phase, f"timeout.{name}", at_most=A_DAY)
            for name, phase in value.as_dict().items()
        }
        if all(phase is None for phase in phases.values()):
            raise ValueError("timeout must set at least one phase: a call must always end")
        return httpx.Timeout(**phases)
    return httpx.Timeout(seconds(value, "timeout", at_most=A_DAY))


def attempt_limit(value: httpx.Timeout) -> float:
    """The bound on one whole attempt: the longest of the phase limits that are set."""
    return max(s for s in value.as_dict().values() if s is not None)


def wait_timeout(value: object) -> float | None:
    """`wait_for_final`'s timeout: None (the provider's cap) or finite seconds >= 0."""
    return None if value is None else seconds(value, "timeout", allow_zero=True)


def api_key(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"api_key must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError("api_key must be a non-empty string")
    # It travels in a header: whitespace around it or a control or non-ASCII character
    # would fail later with an error quoting the key. The key itself is never echoed: only
    # the offending character's code point and position are named.
    if value != value.strip():
        raise ValueError(
            "api_key must not have whitespace around it (check for a trailing newline)"
        )
    for position, char in enumerate(value):
        if not " " <= char <= "~":
            kind = "a non-ASCII" if char > "\x7f" else "a control"
            raise ValueError(
                f"api_key must be printable ASCII: it has {kind} character "
                f"U+{ord(char):04X} at position {position}"
            )
    return value


def encodable(text: str) -> bool:
    """Whether `text` can be sent as UTF-8: no lone surrogates (text decoded with
    `surrogateescape`, say)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def base_url(value: str) -> str:
    """`value` if it is an http(s) URL with a host: anything else can never be sent, and
    would otherwise surface only at the first request, as a retried TransportError."""
    if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"base_url must be a str, not {type(value).__name__}")
    if value != value.strip():  # an env file's trailing newline, say
        raise ValueError("base_url must not have whitespace around it (check for a newline)")
    if not encodable(value):  # a lone surrogate raised UnicodeEncodeError from httpx
        raise ValueError("base_url must be valid Unicode text (it has a lone surrogate)")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        # Not echoed: a URL can carry credentials.
        raise ValueError(
            "base_url must start with http:// or https:// and name a host "
            "(for example http://127.0.0.1:8000)"
        )
    if "?" in value or "#" in value:
        # Each request's path is written after the base URL's: "/?x=1/api/v1/...".
        raise ValueError(
            "base_url must have no query (?...) nor fragment (#...): it is the start of "
            "every request's URL, as http://host:port or https://host/prefix"
        )
    try:
        port = parts.port  # a port of letters is a ValueError here
    except ValueError:
        port = 0
    if port == 0:
        # Port 0 was sent to port 80, 99999 to 99999 % 65536: the key, somewhere else.
        raise ValueError("base_url's port must be a number from 1 to 65535")
    if any(c.isspace() for c in parts.netloc):  # "exa mple.com": only a failed send later
        raise ValueError("base_url's host cannot have whitespace in it")
    try:  # what the senders will parse: a host httpx cannot (999.1.1.1, a bad IDNA label)
        httpx.URL(value)
    except httpx.InvalidURL:
        raise ValueError("base_url's host cannot be read (a mistyped address?)") from None
    return value


def plain_callback(value: T, name: str) -> T:
    """`value` (None, or a plain function): a coroutine function is called and never
    awaited, so it would silently do nothing; refused, on the async client too."""
    if value is None:
        return value
    if not callable(value):
        raise TypeError(f"{name} must be callable, not {type(value).__name__}")
    if is_coroutine_function(value):
        raise TypeError(f"{name} is called, never awaited: pass a plain function")
    return value


def is_coroutine_function(value: object) -> bool:
    """A coroutine function, or an object whose `__call__` is one (what a caller must
    await, or refuse)."""
    return inspect.iscoroutinefunction(value) or inspect.iscoroutinefunction(
        getattr(value, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


def whole_number(value: object, name: str, *, minimum: int) -> int:
    """`value` as an int of at least `minimum`: a bool, a float or a non-number is a
    TypeError naming `name`, a smaller one a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def max_retries(value: object) -> int:
    return whole_number(value, "max_retries", minimum=0)


def max_response_bytes(value: object) -> int:
    return whole_number(value, "max_response_bytes", minimum=1)


def known_options(options: Iterable[str], allowed: Iterable[str], function: str) -> None:
    """Refuse keyword options `function` does not take, naming them (a typo must not pass)."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(
            f"{function}() got unexpected keyword option(s): {', '.join(unknown)} "
            f"(known: {', '.join(sorted(allowed))})"
        )


def positive_limit(value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or value < 0):
        raise ValueError(f"limit must be None or >= 0, got {value!r}")
    return value
