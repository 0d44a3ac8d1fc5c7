"""Every failure a user of sms_status can meet, as one flat hierarchy.

    SmsStatusError
    ├── ApiError                 the provider answered with an error
    │   ├── AuthenticationError  401, 403, and provider codes meaning a bad or blocked key
    │   ├── NotFoundError        404 (also another tenant's id), seven 901
    │   ├── RateLimitError       429; retry_after
    │   └── ServerError          5xx and any other unexpected status
    ├── MalformedResponseError   the body does not fit the spec (HTML, truncated JSON, wrong types)
    ├── TransportError           connection failure, timeout
    ├── InvalidWebhookError      a pushed delivery report that must not be trusted or read
    │   ├── WebhookSignatureError  missing/invalid signature or credentials, stale timestamp
    │   │   └── WebhookReplayError   the same signed delivery seen again
    │   └── MalformedWebhookError  authentic, but the body does not fit the documented payload
    └── MissingProviderError     (also an ImportError) the provider's extra is not installed

No message, repr or attribute of these ever holds the API key: every string is scrubbed
(`sms_status._redact`) before an error is built. Every error pickles and deep-copies, so a
`get_statuses` result holding one can cross a process pool or a task queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any

BODY_EXCERPT_LIMIT = 500
"""Longest `body_excerpt` kept on an error, in characters."""


class HttpErrorCode(StrEnum):
    """An `error_code` from the HTTP status, for an error whose body has no code of the
    provider's (any provider's: its own codes are its module's `StrEnum`). Another 4xx
    reads `HTTP_<status>`."""

    BAD_REQUEST = "BAD_REQUEST"
    UNAUTHORIZED = "UNAUTHORIZED"
    PAYMENT_REQUIRED = "PAYMENT_REQUIRED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    CONFLICT = "CONFLICT"
    UNPROCESSABLE_ENTITY = "UNPROCESSABLE_ENTITY"
    RATE_LIMITED = "RATE_LIMITED"
    SERVER_ERROR = "SERVER_ERROR"
    """A 5xx, or a status outside 400-599 where an answer was expected."""
    API_ERROR = "API_ERROR"
    """A 2xx whose body says the call failed, with no code."""


def _restore(cls: type[SmsStatusError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """Unpickle an error without calling its keyword-only `__init__`."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class SmsStatusError(Exception):
    """Base class of every error raised by sms_status.

    Every one the SDK raises names its `provider` and says what went wrong in `message`.
    Where there was a response, `status_code` (on `ApiError` and `MalformedResponseError`),
    `request_id` (the provider's, where it sends one) and `headers` (the response headers,
    secrets masked) describe it.
    """

    provider: str = ""
    message: str = ""
    status_code: int | None = None
    """The HTTP status of the response it came of; None where there was none."""
    request_id: str | None = None
    headers: Mapping[str, str] = MappingProxyType({})

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's own reduce calls cls(*args), which our keyword-only inits refuse.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class ApiError(SmsStatusError):
    """The provider answered with an error status or an error body.

    `error_code` is the provider's own code where the body has one (`"NOT_FOUND"`, lisoloo
    `"1301"`, seven `"900"`), otherwise one derived from the HTTP status (`BAD_REQUEST`,
    `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`, `RATE_LIMITED`, `SERVER_ERROR` for a 5xx or
    any status outside 4xx, `HTTP_<status>` for another 4xx: `HTTP_418`, `HTTP_410`; and
    `API_ERROR` for an error body that came with a 2xx).
    `retry_after` is the server's advice in seconds (a `Retry-After` header, or lisoloo's
    body) on an answer worth retrying (408, 429, 502, 503, 504), if it gave one.
    """

    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int,
        error_code: str,
        retryable: bool = False,
        body_excerpt: str = "",
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        # Narrowed from the base class's `int | None`: an answer always has its status.
        self.status_code: int = status_code  # pyright: ignore[reportIncompatibleVariableOverride]
        self.error_code = error_code
        self.retryable = retryable
        self.body_excerpt = body_excerpt[:BODY_EXCERPT_LIMIT]
        self.request_id = request_id
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        return f"{self.provider}: HTTP {self.status_code} {self.error_code}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, status_code={self.status_code}, "
            f"error_code={self.error_code!r}, message={self.message!r})"
        )


class AuthenticationError(ApiError):
    """The key is missing, invalid, expired, blocked, or lacks the permission."""


class NotFoundError(ApiError):
    """The provider does not know the message (or it belongs to another account)."""


class RateLimitError(ApiError):
    """Too many requests. `retry_after` is the provider's advice in seconds, if it gave one."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int,
        error_code: str,
        retryable: bool = True,
        body_excerpt: str = "",
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            status_code=status_code,
            error_code=error_code,
            retryable=retryable,
            body_excerpt=body_excerpt,
            request_id=request_id,
            headers=headers,
        )
        self.retry_after = retry_after


class ServerError(ApiError):
    """A 5xx, or any status the provider does not document."""


class MalformedResponseError(SmsStatusError):
    """The provider's body does not fit its spec: HTML, truncated JSON, wrong types."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int,
        body_excerpt: str = "",
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status_code: int = status_code  # pyright: ignore[reportIncompatibleVariableOverride]
        self.body_excerpt = body_excerpt[:BODY_EXCERPT_LIMIT]
        self.request_id = request_id
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        return f"{self.provider}: malformed response (HTTP {self.status_code}): {self.message}"


class TransportError(SmsStatusError):
    """The request did not complete: connection refused or reset, timeout, protocol error."""

    status_code: int | None = None
    """Always None: there was no complete response."""
    retryable: bool = True
    """False when sending it again cannot help: the server's certificate failed verification
    (another host's, an unknown CA's, expired). Such a failure is not retried, and
    `wait_for_final` ends on it."""

    def __init__(self, message: str, *, provider: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.retryable = retryable

    def __str__(self) -> str:
        return f"{self.provider}: {self.message}"


def _rebuild_webhook_error(
    cls: type[InvalidWebhookError], message: str, provider: str
) -> InvalidWebhookError:
    return cls(message, provider=provider)


class InvalidWebhookError(SmsStatusError):
    """A pushed delivery report (`sms_status.webhooks`) that must not be trusted or read.

    The message says what was wrong, never with the secret or the credentials presented.
    """

    def __init__(self, message: str, *, provider: str) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider

    def __str__(self) -> str:
        return f"{self.provider} webhook: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[object, tuple[type[InvalidWebhookError], str, str]]:
        # Keyword-only __init__: pickle and deepcopy need the rebuild spelt out.
        return (_rebuild_webhook_error, (type(self), self.message, self.provider))


class WebhookSignatureError(InvalidWebhookError):
    """Missing or invalid signature or credentials, or a timestamp outside the tolerance."""


class WebhookReplayError(WebhookSignatureError):
    """The same signed delivery was seen before (by the replay guard given to `parse`)."""


class MalformedWebhookError(InvalidWebhookError):
    """Authentic, but the body does not fit the provider's documented payload."""


class MissingProviderError(SmsStatusError, ImportError):
    """The provider's generated client is not installed; the message says how to install it."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.install_command = f'pip install "sms-status[{provider}]"'
        self.message = f"the {provider} client is not installed: {self.install_command}"
        super().__init__(self.message, name=f"sms_status_{provider}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.provider,))


__all__ = [
    "BODY_EXCERPT_LIMIT",
    "ApiError",
    "AuthenticationError",
    "HttpErrorCode",
    "InvalidWebhookError",
    "MalformedResponseError",
    "MalformedWebhookError",
    "MissingProviderError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "SmsStatusError",
    "TransportError",
    "WebhookReplayError",
    "WebhookSignatureError",
]
