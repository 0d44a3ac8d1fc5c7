"""The clients users hold: `connect()` / `connect_async()` and what they return.

Both clients run the flows of `sms_status._flows` through the drivers they inherit
(`sms_status._drivers`: the sync one blocks, the async one awaits), so retries, pacing,
polling, batching and paging behave identically in both. This module is construction and
the public methods.
"""

from __future__ import annotations

import copy
import inspect
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from datetime import datetime
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    Self,
    TypedDict,
    TypeVar,
    Unpack,
    cast,
    get_args,
    overload,
)

import attrs
import httpx

from sms_status import _environment, _flows, _redact, _transport, _validation
from sms_status._drivers import AsyncDriver, SyncDriver
from sms_status._flows import Context, Flow, RetryEvent
from sms_status._provider import GeneratedClient, Provider
from sms_status._registry import PROVIDERS, load_provider
from sms_status._signing import RequestSigner
from sms_status._transport import HttpBackend
from sms_status._transport.tls import default_ssl_context, env_proxies
from sms_status._version import __version__
from sms_status.pacing import AsyncRateLimiter, RateLimiter, TokenBucket, Unlimited
from sms_status.report import StatusReport

if TYPE_CHECKING:  # each only types `client.api`; a provider's extra may be absent
    import sms_status_lisoloo
    import sms_status_namirial
    import sms_status_roycetalk
    import sms_status_seven
    import sms_status_telecom23

if TYPE_CHECKING:
    from typing_extensions import TypeVar as TypeVarWithDefault

    ApiT_co = TypeVarWithDefault(
        "ApiT_co", bound=GeneratedClient, covariant=True, default=GeneratedClient
    )
else:  # the default (PEP 696) is for type checkers; typing_extensions costs ~15 ms to import
    ApiT_co = TypeVar("ApiT_co", bound=GeneratedClient, covariant=True)
"""The provider's generated `AuthenticatedClient`, the type of `client.api`."""

ProviderKey = Literal["telecom23", "namirial", "roycetalk", "lisoloo", "seven"]
"""Every provider key (`sms_status.PROVIDERS`, as a type): a typo fails type checking."""


_PROVIDER_KEYS: tuple[ProviderKey, ...] = get_args(ProviderKey)


def provider_key(value: str) -> ProviderKey:
    """`value` as a `ProviderKey`, for keys known only at run time (a setting, a command-line
    option); ValueError listing the keys when it is none of them."""
    for key in _PROVIDER_KEYS:
        if key == value:
            return key
    raise ValueError(f"unknown provider {value!r}; expected one of: {', '.join(PROVIDERS)}")


DEFAULT_TIMEOUT = 10.0
"""Seconds one attempt may take when `timeout` is not given (or None)."""
DEFAULT_CONCURRENCY = 16
"""Lookups in flight at once in the async client's bulk and polling work."""


class _SharedOptions(TypedDict, total=False):
    proxy: str | httpx.URL | httpx.Proxy
    """An HTTP(S) proxy for every request, as httpx's `proxy=` takes it."""
    verify: bool | str | ssl.SSLContext
    """TLS verification, as httpx's `verify=`: a CA bundle path, an `ssl.SSLContext`, or False."""
    on_retry: Callable[[RetryEvent], None]
    retry_after_cap: float
    signing_secret: str
    """telecom23 only: sign every request (X-Timestamp, X-Signature) with this secret."""
    clock: Callable[[], float]
    max_response_bytes: int
    """Cap on a response body after decompression (default 4 MiB): past it the call ends
    with MalformedResponseError, having read no more than the cap."""
    lookup: Literal["status", "logbook"]
    """seven only: "logbook" looks statuses up in the logbook from the start. Otherwise the
    deprecated status endpoint is used until it is gone, then the logbook; "status" says so
    explicitly and silences the DeprecationWarning."""


class ClientOptions(_SharedOptions, total=False):
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


class AsyncClientOptions(_SharedOptions, total=False):
    """Keyword options of `connect_async()` beyond the documented ones."""

    concurrency: int
    transport: httpx.AsyncBaseTransport
    """Wins over `http_backend`."""
    http_client: httpx.AsyncClient
    """Your own `httpx.AsyncClient` to send every request through (see `ClientOptions`); it
    stays yours: `aclose()` does not close it."""
    http_backend: HttpBackend
    """"aiohttp" (the default with `sms-status[fast]` installed) or "httpx"; the environment
    variable SMS_STATUS_HTTP_BACKEND sets the default (sms_status._transport)."""
    sleep: Callable[[float], Awaitable[None]]
    rate_limiter: RateLimiter | AsyncRateLimiter | None
    """Replaces the provider's default limiter (one whose `reserve()` is awaited, too);
    `None` turns pacing off."""


_UNSET: Any = object()


def _connection_options(
    options: _SharedOptions, own: tuple[str, ...]
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


class _Base(Generic[ApiT_co]):
    """Construction and settings shared by the sync and async clients."""

    def __init__(
        self,
        provider: Provider,
        *,
        api_key: str,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        options: _SharedOptions,
        transport: object,
        rate_limiter: RateLimiter | AsyncRateLimiter | None,
        client_args: dict[str, Any] | None = None,
    ) -> None:
        clock = options.get("clock", time.monotonic)
        signing_secret = options.get("signing_secret")
        api_key = _validation.api_key(api_key)
        credentials = provider.credentials(api_key)
        # What goes on the wire is the secret a server can echo: seven's "Bearer <token>"
        # key sends only the token, which scrubbing the whole key would never match.
        secret = (
            credentials.token if credentials.token and credentials.token in api_key else api_key
        )
        max_retries = _validation.max_retries(max_retries)
        self._set_timeout(timeout)
        self._max_response_bytes = _validation.max_response_bytes(
            options.get("max_response_bytes", _validation.DEFAULT_MAX_RESPONSE_BYTES)
        )
        self.provider = provider.key
        self.base_url = _validation.base_url(base_url) if base_url else provider.origin
        if rate_limiter is _UNSET:
            rate_limiter = (
                TokenBucket.for_limit(provider.rate_limit, clock=clock)
                if provider.rate_limit is not None
                else Unlimited()
            )
        self.rate_limiter: RateLimiter | AsyncRateLimiter = rate_limiter or Unlimited()
        self._provider = provider
        self._separator = provider.batch.separator if provider.batch is not None else None
        self._clock = clock
        self._ctx = Context(
            provider=provider,
            secret=secret,
            max_retries=max_retries,
            retry_after_cap=options.get("retry_after_cap", _flows.DEFAULT_RETRY_AFTER_CAP),
            clock=clock,
            on_retry=options.get("on_retry"),
            lookup=_flows.lookup_state(provider, options.get("lookup")),
        )
        if signing_secret is not None and provider.sign is None:
            raise ValueError(f"{provider.key} does not sign requests: drop signing_secret")
        self._signer = (
            RequestSigner(provider.sign, signing_secret)
            if signing_secret is not None and provider.sign is not None
            else None
        )
        """Signs each attempt (telecom23 with `signing_secret`); None: requests go unsigned."""
        httpx_args: dict[str, Any] = dict(client_args or {})
        verify = httpx_args.pop("verify", True)  # the generated client's own argument
        # httpx loads the default CAs for its own transport (none passed) and for proxies
        # from the environment: those get the process's one copy (`default_ssl_context`).
        if verify is True and (transport is None or env_proxies()):
            verify = default_ssl_context()
        if transport is not None:
            httpx_args["transport"] = transport
        self._api = provider.client_class(
            base_url=self.base_url,
            token=credentials.token,
            prefix=credentials.prefix,
            auth_header_name=credentials.header,
            headers={"User-Agent": f"sms-status/{__version__} ({provider.key})"},
            verify_ssl=verify,
            timeout=self._phases,
            raise_on_unexpected_status=False,
            httpx_args=httpx_args,
        )
        # Last, once nothing can raise: a client that fails to construct is never closed,
        # and would keep its key in the process-wide log filter for good.
        _redact.scrub_logs(secret)
        self._log_scrub: str | None = secret
        """The key this client masks in logs until it closes (None: a copy, or closed)."""

    def _set_timeout(self, timeout: float | httpx.Timeout | None) -> None:
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self._phases = _validation.timeout(self.timeout)
        self._attempt_limit = _validation.attempt_limit(self._phases)
        """No attempt (connect, send, the whole body) lasts longer than this, in seconds."""

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = _UNSET,
        max_retries: int = _UNSET,
    ) -> Self:
        """A client like this one but with another `timeout` (None: the default) and/or
        `max_retries`, for some calls: `client.with_options(timeout=2).get_status(id)`.

        It shares this client's connections, rate limiter and settings, so it costs nothing
        to make; close this client, not the copy, when done with both.
        """
        derived = copy.copy(self)
        derived._log_scrub = None  # the original's close() ends the masking it started
        if timeout is not _UNSET:
            derived._set_timeout(timeout)
        if max_retries is not _UNSET:
            derived._ctx = attrs.evolve(self._ctx, max_retries=_validation.max_retries(max_retries))
        return derived

    def _release_logs(self) -> None:
        if self._log_scrub is not None:
            _redact.release_logs(self._log_scrub)
            self._log_scrub = None

    @property
    def api(self) -> ApiT_co:
        """The provider's generated `AuthenticatedClient`, on this client's connection pool
        and credentials: the escape hatch for anything the overlay does not cover (pass it as
        `client=` to the functions of `sms_status_<key>.api`)."""
        return cast(ApiT_co, self._api)

    def _message_id(self, value: str) -> str:
        return _validation.message_id(value, separator=self._separator)

    def _history_flow(
        self, by: str, key: str, count: int, before: datetime | None
    ) -> Flow[list[StatusReport]]:
        return _flows.history_page(
            self._ctx,
            by,
            self._history_key(by, key),
            _validation.page_count(count),
            _validation.before(before),
        )

    def _history_walk(
        self, by: str, key: str, page_size: int, before: datetime | None, limit: int | None
    ) -> Flow[None]:
        return _flows.iter_history(
            self._ctx,
            by,
            self._history_key(by, key),
            page_size=_validation.page_count(page_size, name="page_size"),
            before=_validation.before(before),
            limit=_validation.positive_limit(limit),
        )

    @staticmethod
    def _history_key(by: str, key: str) -> str:
        if by == "phone":
            return _validation.e164(key)
        return _validation.message_id(key, what="reference key")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, base_url={self.base_url!r})"


class StatusClient(_Base[ApiT_co], SyncDriver):
    """A blocking client for one provider. Safe to share between threads."""

    def __init__(
        self,
        provider: Provider,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        **options: Unpack[ClientOptions],
    ) -> None:
        _validation.known_options(options, ClientOptions.__optional_keys__, "connect")
        proxy, verify = _connection_options(options, ("transport", "http_client"))
        http_client = options.get("http_client")
        limiter = options.get("rate_limiter")
        if inspect.iscoroutinefunction(getattr(limiter, "reserve", None)):
            raise TypeError("this rate_limiter's reserve() is awaited: use it with connect_async")
        transport = _transport.sync_transport(
            options.get("transport"), http_client, proxy=proxy, verify=verify
        )
        super().__init__(
            provider,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            options=options,
            transport=transport,
            rate_limiter=options.get("rate_limiter", _UNSET),
        )
        self._limiter = cast(RateLimiter, self.rate_limiter)
        self._sleep = options.get("sleep", time.sleep)
        # Requests are built by `_http` (URL, credentials, headers, timeouts); a user's
        # http_client only sends them. With no connection option, plain attempts skip
        # httpx's client layers.
        self._http: httpx.Client = self._api.get_httpx_client()
        no_option = not ({"transport", "http_client", "proxy", "verify"} & options.keys())
        self._fast, self._httpx = _transport.sync_senders(
            self._http, http_client=http_client, direct=no_option
        )

    def get_status(self, message_id: str) -> StatusReport:
        """The current status of one message."""
        return self._run(_flows.status(self._ctx, self._message_id(message_id)))

    def get_statuses(self, message_ids: Iterable[str]) -> list[StatusReport]:
        """Statuses of many messages, in input order. seven: one request per batch of up to
        100 ids; others: one request per id, one after another (use the async client for
        concurrency). An id that cannot be looked up gets a report whose `error` says why."""
        ids = _validation.message_ids(message_ids, separator=self._separator)
        if self._provider.batch is not None:
            return self._run(_flows.batch_statuses(self._ctx, ids))
        return [self._run(_flows.status_or_failure(self._ctx, i)) for i in ids]

    def wait_for_final(
        self,
        message_id: str,
        *,
        timeout: float | None = None,
        on_update: Callable[[StatusReport], None] | None = None,
    ) -> StatusReport:
        """Poll on the provider's cadence until the status is final or `timeout` seconds
        pass (default: the provider's cap); then return the last report seen."""
        flow = _flows.wait_for_final(
            self._ctx,
            self._message_id(message_id),
            timeout=_validation.wait_timeout(timeout),
            on_update=on_update,
        )
        return self._run(flow)

    def close(self) -> None:
        """Close the connection pool (also on leaving a `with` block)."""
        self._http.close()
        if self._fast is not None:
            self._fast.close()
        self._release_logs()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class HistoryClient(StatusClient[ApiT_co]):
    """A client for providers with message history (namirial)."""

    def history_by_phone(
        self, phone: str, *, count: int = 50, before: datetime | None = None
    ) -> list[StatusReport]:
        """The latest `count` (capped at 100) messages to an E.164 number sent before `before`."""
        return self._run(self._history_flow("phone", phone, count, before))

    def history_by_reference(
        self, key: str, *, count: int = 50, before: datetime | None = None
    ) -> list[StatusReport]:
        """The latest `count` (capped at 100) messages sent with reference key `key`."""
        return self._run(self._history_flow("reference", key, count, before))

    def iter_history_by_phone(
        self,
        phone: str,
        *,
        page_size: int = 100,
        before: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[StatusReport]:
        """Every message to `phone`, newest first, paging backwards by send date."""
        return self._steps(self._history_walk("phone", phone, page_size, before, limit))

    def iter_history_by_reference(
        self,
        key: str,
        *,
        page_size: int = 100,
        before: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[StatusReport]:
        """Every message with reference key `key`, newest first, paging backwards."""
        return self._steps(self._history_walk("reference", key, page_size, before, limit))


class AsyncStatusClient(_Base[ApiT_co], AsyncDriver):
    """An asyncio client for one provider. Safe to share between tasks."""

    def __init__(
        self,
        provider: Provider,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        **options: Unpack[AsyncClientOptions],
    ) -> None:
        _validation.known_options(options, AsyncClientOptions.__optional_keys__, "connect_async")
        proxy, verify = _connection_options(options, ("transport", "http_client"))
        http_client = options.get("http_client")
        # proxy= and verify= are httpx's own transport's (each connection pool gets them).
        connection: dict[str, Any] = (
            {"proxy": proxy, "verify": verify} if "proxy" in options or "verify" in options else {}
        )
        concurrency = options.get("concurrency", DEFAULT_CONCURRENCY)
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        transport = options.get("transport")
        fast = False
        if transport is None and http_client is None and not connection:
            transport = _transport.async_transport(options.get("http_backend"))
            fast = transport is not None
        super().__init__(
            provider,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            options=options,
            transport=transport,
            rate_limiter=options.get("rate_limiter", _UNSET),
            client_args=connection,
        )
        self.concurrency = concurrency
        # asyncio is imported here, not at the top: it costs ~50 ms to import, and users of
        # the sync client should not pay for it (benchmarks: import time).
        import asyncio

        self._sleep = options.get("sleep", asyncio.sleep)
        self._http: httpx.AsyncClient = self._api.get_async_httpx_client()
        # On aiohttp, the overlay's own attempts skip httpx's client layers (and its pools).
        self._fast, self._httpx, self._owned = _transport.async_senders(
            self._http,
            http_client=http_client,
            fast=fast,
            concurrency=concurrency,
            transport=transport,
            connection=connection,
        )

    async def get_status(self, message_id: str) -> StatusReport:
        """The current status of one message."""
        return await self._run(_flows.status(self._ctx, self._message_id(message_id)))

    async def get_statuses(self, message_ids: Iterable[str]) -> list[StatusReport]:
        """Statuses of many messages, in input order, with at most `concurrency` requests in
        flight (seven: batches of up to 100 ids). An id that cannot be looked up gets a
        report whose `error` says why; only an authentication error raises."""
        ids = _validation.message_ids(message_ids, separator=self._separator)
        # seven on its logbook looks ids up one a request: concurrently, like the others.
        if self._provider.batch is not None and not self._ctx.lookup.on_successor:
            return await self._run(_flows.batch_statuses(self._ctx, ids))
        results: list[StatusReport | None] = [None] * len(ids)
        positions = iter(range(len(ids)))

        async def worker() -> None:
            for position in positions:  # shared iterator: each id is taken once
                flow = _flows.status_or_failure(self._ctx, ids[position])
                results[position] = await self._run(flow)

        import asyncio  # see __init__: kept off the sync client's import path

        workers = [asyncio.ensure_future(worker()) for _ in range(min(self.concurrency, len(ids)))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            # Let the cancelled workers finish (closing their responses) before raising.
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        missing = [ids[i] for i, report in enumerate(results) if report is None]
        if missing:  # every worker ended normally, so every id must have its report
            raise AssertionError(f"get_statuses lost the results of {len(missing)} id(s)")
        return cast(list[StatusReport], results)

    async def wait_for_final(
        self,
        message_id: str,
        *,
        timeout: float | None = None,
        on_update: Callable[[StatusReport], None] | None = None,
    ) -> StatusReport:
        """Poll on the provider's cadence until the status is final or `timeout` seconds
        pass (default: the provider's cap); then return the last report seen."""
        flow = _flows.wait_for_final(
            self._ctx,
            self._message_id(message_id),
            timeout=_validation.wait_timeout(timeout),
            on_update=on_update,
        )
        return await self._run(flow)

    async def aclose(self) -> None:
        """Close the connection pools (also on leaving an `async with` block)."""
        for http in self._owned:
            await http.aclose()
        if self._fast is not None:
            await self._fast.aclose()
        self._release_logs()

    async def close(self) -> None:
        """The same as `aclose()`."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class AsyncHistoryClient(AsyncStatusClient[ApiT_co]):
    """The asyncio client for providers with message history (namirial)."""

    async def history_by_phone(
        self, phone: str, *, count: int = 50, before: datetime | None = None
    ) -> list[StatusReport]:
        """The latest `count` (capped at 100) messages to an E.164 number sent before `before`."""
        return await self._run(self._history_flow("phone", phone, count, before))

    async def history_by_reference(
        self, key: str, *, count: int = 50, before: datetime | None = None
    ) -> list[StatusReport]:
        """The latest `count` (capped at 100) messages sent with reference key `key`."""
        return await self._run(self._history_flow("reference", key, count, before))

    def iter_history_by_phone(
        self,
        phone: str,
        *,
        page_size: int = 100,
        before: datetime | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StatusReport]:
        """Every message to `phone`, newest first, paging backwards by send date."""
        return self._steps(self._history_walk("phone", phone, page_size, before, limit))

    def iter_history_by_reference(
        self,
        key: str,
        *,
        page_size: int = 100,
        before: datetime | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StatusReport]:
        """Every message with reference key `key`, newest first, paging backwards."""
        return self._steps(self._history_walk("reference", key, page_size, before, limit))


@overload
def connect(
    provider: Literal["telecom23"],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[ClientOptions],
) -> StatusClient[sms_status_telecom23.AuthenticatedClient]: ...
@overload
def connect(
    provider: Literal["namirial"],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[ClientOptions],
) -> HistoryClient[sms_status_namirial.AuthenticatedClient]: ...
@overload
def connect(
    provider: Literal["roycetalk"],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[ClientOptions],
) -> StatusClient[sms_status_roycetalk.AuthenticatedClient]: ...
@overload
def connect(
    provider: Literal["lisoloo"],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[ClientOptions],
) -> StatusClient[sms_status_lisoloo.AuthenticatedClient]: ...
@overload
def connect(
    provider: Literal["seven"],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[ClientOptions],
) -> StatusClient[sms_status_seven.AuthenticatedClient]: ...
@overload
def connect(
    provider: ProviderKey,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[ClientOptions],
) -> StatusClient: ...
def connect(
    provider: ProviderKey,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[ClientOptions],
) -> StatusClient:
    """A blocking client for `provider` (a key such as "telecom23").

    `api_key` None reads `SMS_STATUS_<KEY>_API_KEY` (ValueError if that is unset too).
    `base_url` is an origin, optionally with a proxy prefix; None reads
    `SMS_STATUS_<KEY>_BASE_URL`, and without it means the provider's production origin.
    `timeout` bounds each attempt: seconds, an `httpx.Timeout` for per-phase limits, or None
    for the default (10 s; a call always ends). `SMS_STATUS_LOG=debug` switches on the
    `sms_status` logger. Every request says `User-Agent: sms-status/<version> (<provider>)`.
    Unknown keys raise ValueError; a provider whose extra is not installed raises
    MissingProviderError with the install command.
    """
    _environment.configure_logging()
    definition = load_provider(provider)
    cls = HistoryClient if definition.history is not None else StatusClient
    return cls(
        definition,
        api_key=_environment.api_key(provider, api_key),
        base_url=_environment.base_url(provider, base_url),
        timeout=timeout,
        max_retries=max_retries,
        **options,
    )


@overload
def connect_async(
    provider: Literal["telecom23"],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[AsyncClientOptions],
) -> AsyncStatusClient[sms_status_telecom23.AuthenticatedClient]: ...
@overload
def connect_async(
    provider: Literal["namirial"],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[AsyncClientOptions],
) -> AsyncHistoryClient[sms_status_namirial.AuthenticatedClient]: ...
@overload
def connect_async(
    provider: Literal["roycetalk"],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[AsyncClientOptions],
) -> AsyncStatusClient[sms_status_roycetalk.AuthenticatedClient]: ...
@overload
def connect_async(
    provider: Literal["lisoloo"],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[AsyncClientOptions],
) -> AsyncStatusClient[sms_status_lisoloo.AuthenticatedClient]: ...
@overload
def connect_async(
    provider: Literal["seven"],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[AsyncClientOptions],
) -> AsyncStatusClient[sms_status_seven.AuthenticatedClient]: ...
@overload
def connect_async(
    provider: ProviderKey,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[AsyncClientOptions],
) -> AsyncStatusClient: ...
def connect_async(
    provider: ProviderKey,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
    max_retries: int = 2,
    **options: Unpack[AsyncClientOptions],
) -> AsyncStatusClient:
    """The asyncio twin of `connect()`; the same arguments, plus `concurrency`."""
    _environment.configure_logging()
    definition = load_provider(provider)
    cls = AsyncHistoryClient if definition.history is not None else AsyncStatusClient
    return cls(
        definition,
        api_key=_environment.api_key(provider, api_key),
        base_url=_environment.base_url(provider, base_url),
        timeout=timeout,
        max_retries=max_retries,
        **options,
    )
