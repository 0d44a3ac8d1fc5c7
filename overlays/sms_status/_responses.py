"""Turn any HTTP response into JSON data or a documented error — never a raw exception.

The generated clients raise ValueError on status codes outside HTTPStatus, JSONDecodeError
on HTML bodies and KeyError on missing fields, so the overlay reads the response itself:
status code, headers and bytes go in; decoded JSON or an `sms_status.errors` exception come out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, TypeVar

from sms_status._exchange import header_items
from sms_status._fields import json_object, json_value
from sms_status._redact import clip, drop_cut_secret, header_text, masked_headers, redact
from sms_status.errors import (
    BODY_EXCERPT_LIMIT,
    ApiError,
    AuthenticationError,
    HttpErrorCode,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
)

if TYPE_CHECKING:
    from sms_status._provider import Provider

RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})
"""Statuses worth retrying for these idempotent GETs; anything else is answered at once."""

_CODES_BY_STATUS: Mapping[int, str] = {
    400: HttpErrorCode.BAD_REQUEST.value,
    401: HttpErrorCode.UNAUTHORIZED.value,
    402: HttpErrorCode.PAYMENT_REQUIRED.value,
    403: HttpErrorCode.FORBIDDEN.value,
    404: HttpErrorCode.NOT_FOUND.value,
    408: HttpErrorCode.REQUEST_TIMEOUT.value,
    409: HttpErrorCode.CONFLICT.value,
    422: HttpErrorCode.UNPROCESSABLE_ENTITY.value,
    429: HttpErrorCode.RATE_LIMITED.value,
}

_CLASSES_BY_STATUS: Mapping[int, type[ApiError]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    429: RateLimitError,
}

_MISSING = object()

T = TypeVar("T")


def excerpt(content: bytes, secret: str) -> str:
    """A short, printable excerpt of a body with the API key scrubbed out."""
    head = content[: BODY_EXCERPT_LIMIT * 4]
    text = head.decode("utf-8", errors="replace")
    if len(head) < len(content):  # a key echoed across the cut would be missed by redact
        text = drop_cut_secret(text, secret)
    return clip(text, secret, BODY_EXCERPT_LIMIT)


def decode_json(content: bytes) -> object:
    """The JSON value of `content`, or `_MISSING` if it is not JSON."""
    try:
        return json_value(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _MISSING


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a Retry-After header: delta-seconds (digits; a decimal fraction is taken too)
    or an HTTP-date. Garbage gives None, and so do signs, exponents and `_` that `float()`
    reads: "-30" was a retry at once."""
    if value is None:
        return None
    value = value.strip()
    whole, _, fraction = value.partition(".")
    if value.isascii() and whole.isdigit() and (not fraction or fraction.isdigit()):
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - (now or datetime.now(UTC))).total_seconds()
        # Dates beyond year 9999 or with absurd fields overflow datetime: garbage too.
        except (TypeError, ValueError, LookupError, ArithmeticError):
            return None
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _scrubbed_id(headers: Mapping[str, str], data: object, secret: str) -> str | None:
    found = request_id(headers, data)
    return None if found is None else clip(found, secret, 200)


def _masked(provider: Provider, headers: Mapping[str, str], secret: str) -> dict[str, str]:
    items = header_items(headers)
    return masked_headers(
        items, secret, extra_sensitive=(provider.credentials(secret or "-").header,)
    )


def _body_note(content: bytes, data: object) -> str:
    if data is not _MISSING:
        return ""
    return " (empty body)" if not content.strip() else " (body is not JSON)"


def request_id(headers: Mapping[str, str], data: object) -> str | None:
    """The provider's id for this request: a request-id header, else the body's `request_id`
    (lisoloo sends one in every error body)."""
    for name in ("x-request-id", "request-id", "x-correlation-id"):
        header = headers.get(name)
        if header:
            return header_text(header)
    field = json_object(data).get("request_id")
    if isinstance(field, str) and field:
        return field
    return None


def decode_or_raise(
    provider: Provider,
    *,
    status_code: int,
    headers: Mapping[str, str],
    content: bytes,
    secret: str,
) -> object:
    """Return the decoded JSON of a successful response; raise the documented error otherwise.

    An error envelope (`"status": false`, `"success": false`) is an error even with a 2xx
    status and no error code: its `data` is never read as a status.
    """
    data = decode_json(content)
    found = data is not _MISSING
    try:
        body_code = provider.error_code_from_body(data) if found else None
        failed = body_code is not None or (found and provider.is_error_envelope(data))
    except ArithmeticError:  # see _from_error_body
        body_code, failed = None, False
    if 200 <= status_code < 300 and not failed:
        if not found:
            raise MalformedResponseError(
                "the body is not JSON",
                provider=provider.key,
                status_code=status_code,
                body_excerpt=excerpt(content, secret),
                request_id=_scrubbed_id(headers, data, secret),
                headers=_masked(provider, headers, secret),
            )
        return data

    error_code = redact(
        body_code
        or _CODES_BY_STATUS.get(status_code)
        or (HttpErrorCode.API_ERROR.value if failed and status_code < 300 else None)
        or (
            HttpErrorCode.SERVER_ERROR.value
            if status_code >= 500 or status_code < 400
            else f"HTTP_{status_code}"
        ),
        secret,
    )[:100]
    cls = (
        provider.error_classes.get(error_code)
        or _CLASSES_BY_STATUS.get(status_code)
        # A 4xx its spec documents, or an error body of the provider's (seven's come in
        # 2xx), is the provider's answer; a 5xx and any other unexpected status (a proxy's
        # 400 or 409, a 499, 3xx, 1xx) is a fault on the way or at the server.
        or (
            ApiError
            if status_code in provider.error_statuses or (failed and status_code < 500)
            else ServerError
        )
    )
    message = (_from_error_body(provider.error_message_from_body, data) if found else None) or (
        f"HTTP {status_code}" + _body_note(content, data)
    )
    error = cls(
        redact(message, secret)[:1000],
        provider=provider.key,
        status_code=status_code,
        error_code=error_code,
        # A refused key or an unknown id is refused again, whatever status carried it
        # (lisoloo's 1302 "key suspended" comes on a 429: retried, the loop its docs warn of).
        retryable=not issubclass(cls, _FOR_GOOD)
        and _retryable(provider, status_code, data if found else None),
        body_excerpt=excerpt(content, secret),
        request_id=_scrubbed_id(headers, data, secret),
        headers=_masked(provider, headers, secret),
    )
    # RFC 9110 defines Retry-After on a 503 (maintenance) as on a 429: read it on any retry.
    if error.retryable or status_code in RETRYABLE_STATUSES or isinstance(error, RateLimitError):
        error.retry_after = retry_after_seconds(headers.get("retry-after"))
        if error.retry_after is None and found:
            error.retry_after = _from_error_body(provider.retry_after_from_body, data)
    raise error


_FOR_GOOD = (AuthenticationError, NotFoundError)


def _retryable(provider: Provider, status_code: int, data: object) -> bool:
    """What the status says; for a 5xx, what its error body says if it does (lisoloo's
    `retryable`). A body never decides a 4xx: a bad request sent again is refused again,
    and a 408 or 429 is about waiting, whatever it adds."""
    by_status = status_code in RETRYABLE_STATUSES
    if data is None or status_code < 500:
        return by_status
    said = _from_error_body(provider.retryable_from_body, data)
    return by_status if said is None else said


def _from_error_body(hook: Callable[[object], T], data: object) -> T | None:
    """What a provider hook reads from an error body, or None when the body's numbers overflow
    it: valid JSON holds integers of thousands of digits, and only `sms_status.errors` escape."""
    try:
        return hook(data)
    except ArithmeticError:
        return None
