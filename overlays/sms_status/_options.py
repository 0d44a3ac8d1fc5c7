"""The keyword options of `connect()` and `connect_async()`, and their cross-checks.

`ClientOptions` and `AsyncClientOptions` are what `**options` accepts (re-exported by
`sms_status.client`); `connection_options` refuses combinations where one option would be
silently ignored.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Literal, TypedDict

import httpx

from sms_status._flows import RetryEvent
from sms_status._transport import HttpBackend
from sms_status.pacing import AsyncRateLimiter, RateLimiter

DEFAULT_TIMEOUT = 10.0
"""Seconds one attempt may take when `timeout` is not given (or None)."""
DEFAULT_CONCURRENCY = 16
"""Lookups in flight at once in the async client's bulk and polling work."""


class SharedOptions(TypedDict, total=False):
    proxy: str | httpx.URL | httpx.Proxy
    """An HTTP(S) proxy for every request, as httpx's `proxy=` takes it."""
    verify: bool | str | ssl.SSLContext
    """TLS verification, as httpx's `verify=`: a CA bundle path, an `ssl.SSLContext`, or False."""
    on_retry: Callable[[RetryEvent], None]
    retry_after_cap: float
    """Longest wait honoured from a Retry-After, in seconds (default 60): finite, >= 0."""
    signing_secret: str
    """telecom23 only: sign every request (X-Timestamp, X-Signature) with this secret."""
    workspace_id: str
    """telecom23 only: the workspace every request is made in (the X-Workspace-ID header),
    for an account with several."""
    clock: Callable[[], float]
    max_response_bytes: int
    """Cap on a response body after decompression (default 4 MiB): past it the call ends
    with MalformedResponseError, having read no more than the cap."""
    lookup: Literal["status", "logbook"]
    """seven only: "logbook" looks statuses up in the logbook from the start. Otherwise the
    deprecated status endpoint is used until it is gone, then the logbook; "status" says so
    explicitly and silences the DeprecationWarning."""


class ClientOptions(SharedOptions, total=False):
    """Keyword options of `connect()` beyond the documented ones."""

    transport: httpx.BaseTransport
    """An httpx transport, e.g. `httpx.MockTransport` in unit tests."""
    http_client: httpx.Client
    """Your own `httpx.Client` (proxies, certificates, limits, event hooks) to send every
    request through; the SDK still sets the URL, credentials, User-Agent and timeouts of each
    request. It stays yours: `close()` does not close it."""
    sleep: Callable[[float], None]
    rate_limiter: RateLimiter | None
    """Replaces the provider's default limiter; `None` turns pacing off."""


class AsyncClientOptions(SharedOptions, total=False):
    """Keyword options of `connect_async()` beyond the documented ones."""

    concurrency: int
    transport: httpx.AsyncBaseTransport
    """Wins over `http_backend`."""
    http_client: httpx.AsyncClient
    """Your own `httpx.AsyncClient` to send every request through (see `ClientOptions`); it
    stays yours: `aclose()` does not close it."""
    http_backend: HttpBackend
    """"aiohttp" (the default with `sms-status[fast]` installed: lookups on asyncio's own
    connections read by httptools, `client.api` and any proxy on aiohttp) or "httpx"; the
    environment variable SMS_STATUS_HTTP_BACKEND sets the default (sms_status._transport)."""
    sleep: Callable[[float], Awaitable[None]]
    rate_limiter: RateLimiter | AsyncRateLimiter | None
    """Replaces the provider's default limiter (one whose `reserve()` is awaited, too);
    `None` turns pacing off."""


def connection_options(
    options: SharedOptions, own: tuple[str, ...]
) -> tuple[httpx.Proxy | None, bool | str | ssl.SSLContext]:
    """`proxy` and `verify` for the SDK's own transport; ValueError when they, `transport` or
    `http_client` would contradict each other (one of them would be silently ignored)."""
    given = [name for name in own if name in options]
    if len(given) > 1:
        raise ValueError("pass transport= or http_client=, not both")
    if given and ("proxy" in options or "verify" in options):
        raise ValueError(
            f"proxy= and verify= set up the SDK's own transport: with {given[0]}=, "
            f"configure them on it instead"
        )
    proxy = options.get("proxy")
    if proxy is not None and not isinstance(proxy, httpx.Proxy):
        proxy = httpx.Proxy(proxy)
    return proxy, options.get("verify", True)


class _Attempts(TypedDict, total=False):
    timeout: float | httpx.Timeout | None
    max_retries: int


class _Documented(_Attempts, total=False):
    api_key: str | None
    base_url: str | None


class SandboxClientOptions(_Attempts, ClientOptions, total=False):
    """`connect()`'s keyword arguments but the two a sandbox sets (`api_key`, `base_url`)."""


class AsyncSandboxClientOptions(_Attempts, AsyncClientOptions, total=False):
    """`connect_async()`'s keyword arguments but `api_key` and `base_url`."""


class ConnectArguments(_Documented, ClientOptions, total=False):
    """Every keyword argument of `connect()` (what its typed overloads take)."""


class AsyncConnectArguments(_Documented, AsyncClientOptions, total=False):
    """Every keyword argument of `connect_async()` (what its typed overloads take)."""
