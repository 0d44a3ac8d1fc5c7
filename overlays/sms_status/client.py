"""The clients users hold: `connect()` / `connect_async()` and what they return.

Both clients run the flows of `sms_status._flows` through the drivers they inherit
(`sms_status._drivers`: the sync one blocks, the async one awaits), so retries, pacing,
polling, batching and paging behave identically in both. This module is only the public
surface: construction is `_base_client.BaseClient`'s, the options are `_options`', the
senders `_transport`'s. The typed `connect()` overloads and `ProviderKey` are written from
the registry by scripts/typed_connect.py, between the marker comments.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Self, Unpack, get_args, overload

import httpx

from sms_status import _environment, _flows, _transport, _validation
from sms_status._base_client import UNSET, ApiT_co, BaseClient, own_transport
from sms_status._drivers import AsyncDriver, SyncDriver
from sms_status._options import (
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT,
    AsyncClientOptions,
    AsyncConnectArguments,
    ClientOptions,
    ConnectArguments,
    connection_options,
)
from sms_status._provider import Provider
from sms_status._registry import PROVIDERS, load_provider
from sms_status.pacing import RateLimiter, is_async
from sms_status.report import StatusReport

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_TIMEOUT",
    "AsyncClientOptions",
    "AsyncConnectArguments",
    "AsyncHistoryClient",
    "AsyncStatusClient",
    "ClientOptions",
    "ConnectArguments",
    "HistoryClient",
    "ProviderKey",
    "StatusClient",
    "connect",
    "connect_async",
    "provider_key",
]

# -- generated from the registry by scripts/typed_connect.py: provider keys --
if TYPE_CHECKING:  # each only types `client.api`; a provider's extra may be absent
    import sms_status_lisoloo
    import sms_status_namirial
    import sms_status_roycetalk
    import sms_status_seven
    import sms_status_telecom23

ProviderKey = Literal["telecom23", "namirial", "roycetalk", "lisoloo", "seven"]
"""Every provider key (`sms_status.PROVIDERS`, as a type): a typo fails type checking."""
# -- end of the generated provider keys --

_PROVIDER_KEYS: tuple[ProviderKey, ...] = get_args(ProviderKey)


def provider_key(value: str) -> ProviderKey:
    """`value` as a `ProviderKey`, for keys known only at run time (a setting, a command-line
    option); ValueError listing the keys when it is none of them."""
    for key in _PROVIDER_KEYS:
        if key == value:
            return key
    raise ValueError(f"unknown provider {value!r}; expected one of: {', '.join(PROVIDERS)}")


class StatusClient(BaseClient[ApiT_co], SyncDriver):
    """A blocking client for one provider. Safe to share between threads."""

    rate_limiter: RateLimiter  # `connect` refuses one whose reserve() is awaited

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
        proxy, verify = connection_options(options, ("transport", "http_client"))
        http_client = options.get("http_client")
        limiter = options.get("rate_limiter")
        if limiter is not None and is_async(limiter):
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
            rate_limiter=options.get("rate_limiter", UNSET),
            # The client that builds requests for a user's http_client (and sends
            # `client.api`'s) is on httpx's own transport.
            client_args=None if transport is not None else own_transport(provider, base_url),
        )
        self._limiter = self.rate_limiter
        self._sleep = options.get("sleep", time.sleep)
        # Requests are built by `_http` (URL, credentials, headers, timeouts); a user's
        # http_client only sends them. With no connection option, plain attempts skip
        # httpx's client layers.
        self._http: httpx.Client = self._api.get_httpx_client()
        no_option = not ({"transport", "http_client", "proxy", "verify"} & options.keys())
        self._fast, self._httpx = _transport.sync_senders(
            self._http,
            http_client=http_client,
            direct=no_option,
            transport=transport,
        )

    def get_status(self, message_id: str) -> StatusReport:
        """The current status of one message."""
        return self._run(_flows.lookup(self._ctx, self._message_id(message_id)))

    def get_statuses(self, message_ids: Iterable[str]) -> list[StatusReport]:
        """Statuses of many messages, in input order. seven: one request per batch of up to
        100 ids; others: one request per id, one after another (use the async client for
        concurrency). An id that cannot be looked up gets a report whose `error` says why."""
        ids = _validation.message_ids(message_ids, separator=self._separator)
        if self._provider.batch is not None:
            return self._run(_flows.batch_statuses(self._ctx, ids))
        unique = list(dict.fromkeys(ids))  # an id given twice is looked up once
        reports = [self._run(_flows.lookup_or_report_failure(self._ctx, i)) for i in unique]
        return _in_input_order(ids, unique, reports)

    def wait_for_final(
        self,
        message_id: str,
        *,
        timeout: float | None = None,
        on_update: Callable[[StatusReport], None] | None = None,
    ) -> StatusReport:
        """Poll on the provider's cadence until the status is final or `timeout` seconds
        pass (default: the provider's cap); then return the last report seen, or raise the
        last error if no look got an answer (`timeout=0`: one look, no retries)."""
        flow = self._wait_flow(message_id, timeout, on_update)
        return self._run(flow)

    def close(self) -> None:
        """Close the connection pool (also on leaving a `with` block). Used again, the client
        opens new connections: close it again when done."""
        self._http.close()
        self._httpx.close()
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


class AsyncStatusClient(BaseClient[ApiT_co], AsyncDriver):
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
        proxy, verify = connection_options(options, ("transport", "http_client"))
        http_client = options.get("http_client")
        # proxy= and verify= are httpx's own transport's (each connection pool gets them).
        connection: dict[str, Any] = (
            {"proxy": proxy, "verify": verify} if "proxy" in options or "verify" in options else {}
        )
        concurrency = options.get("concurrency", DEFAULT_CONCURRENCY)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"concurrency must be an int, not {type(concurrency).__name__}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        transport = options.get("transport")
        fast = False
        if transport is None and http_client is None and not connection:
            transport = _transport.async_transport(options.get("http_backend"))
            fast = transport is not None
        if transport is None and proxy is None:  # httpx's own transport, sending for us
            connection = {**connection, **own_transport(provider, base_url)}
        super().__init__(
            provider,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            options=options,
            transport=transport,
            rate_limiter=options.get("rate_limiter", UNSET),
            # Its pool and the lenders' (`_transport.httpx.lenders`) hold `concurrency`
            # connections in all, as the other senders do (it had httpx's 100 of its own).
            client_args={**connection, "limits": _transport.own_pool_limits(concurrency)},
        )
        self.concurrency = concurrency
        # asyncio is imported here, not at the top: it costs ~50 ms to import, and users of
        # the sync client should not pay for it (benchmarks: import time).
        import asyncio

        self._sleep = options.get("sleep", asyncio.sleep)
        try:
            self._http: httpx.AsyncClient = self._api.get_async_httpx_client()
            # With [fast], the overlay's own attempts skip httpx's client layers (and pools).
            self._fast, self._httpx, self._owned = _transport.async_senders(
                self._http,
                http_client=http_client,
                fast=fast,
                concurrency=concurrency,
                transport=transport,
                connection=connection,
            )
        except ImportError as exc:
            # A SOCKS proxy= on httpx's own transport needs its extra (the environment's
            # is checked before: `own_transport`): only our errors escape, saying so.
            if "socks" not in str(exc).lower():
                raise
            raise ValueError(
                "proxy is a SOCKS proxy, which httpx's transport takes only with its "
                "extra: pip install 'httpx[socks]', or give an http:// or https:// proxy"
            ) from None

    async def get_status(self, message_id: str) -> StatusReport:
        """The current status of one message."""
        return await self._run(_flows.lookup(self._ctx, self._message_id(message_id)))

    async def get_statuses(self, message_ids: Iterable[str]) -> list[StatusReport]:
        """Statuses of many messages, in input order, with at most `concurrency` requests in
        flight (seven: batches of up to 100 ids). An id that cannot be looked up gets a
        report whose `error` says why; only an authentication error raises."""
        ids = _validation.message_ids(message_ids, separator=self._separator)
        # seven on its logbook looks ids up one a request: concurrently, like the others.
        if self._provider.batch is not None and not self._ctx.lookup.on_successor:
            return await self._run(_flows.batch_statuses(self._ctx, ids))
        unique = list(dict.fromkeys(ids))  # an id given twice is looked up once
        flows = (_flows.lookup_or_report_failure(self._ctx, i) for i in unique)
        reports = await self._run_each(flows, len(unique), self.concurrency)
        return _in_input_order(ids, unique, reports)

    async def wait_for_final(
        self,
        message_id: str,
        *,
        timeout: float | None = None,
        on_update: Callable[[StatusReport], None] | None = None,
    ) -> StatusReport:
        """Poll on the provider's cadence until the status is final or `timeout` seconds
        pass (default: the provider's cap); then return the last report seen, or raise the
        last error if no look got an answer (`timeout=0`: one look, no retries)."""
        flow = self._wait_flow(message_id, timeout, on_update)
        return await self._run(flow)

    async def aclose(self) -> None:
        """Close the connection pools (also on leaving an `async with` block). Used again, the
        client opens new connections: close it again when done."""
        for http in self._owned:
            try:
                await http.aclose()
            except RuntimeError as exc:
                # Its connections were made on an event loop that has closed since (a
                # second `asyncio.run`): they cannot be closed from this one, and went with
                # that loop. The client is closed all the same.
                if str(exc) != "Event loop is closed":
                    raise
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


def _in_input_order(
    ids: list[str], unique: list[str], reports: list[StatusReport]
) -> list[StatusReport]:
    """The reports of `unique` (the ids once each), one per id of `ids`, in its order."""
    if len(unique) == len(ids):
        return reports
    by_id = dict(zip(unique, reports, strict=True))
    return [by_id[message_id] for message_id in ids]


# -- generated from the registry by scripts/typed_connect.py: connect overloads --
@overload
def connect(
    provider: Literal["telecom23"], **arguments: Unpack[ConnectArguments]
) -> StatusClient[sms_status_telecom23.AuthenticatedClient]: ...
@overload
def connect(
    provider: Literal["namirial"], **arguments: Unpack[ConnectArguments]
) -> HistoryClient[sms_status_namirial.AuthenticatedClient]: ...
@overload
def connect(
    provider: Literal["roycetalk"], **arguments: Unpack[ConnectArguments]
) -> StatusClient[sms_status_roycetalk.AuthenticatedClient]: ...
@overload
def connect(
    provider: Literal["lisoloo"], **arguments: Unpack[ConnectArguments]
) -> StatusClient[sms_status_lisoloo.AuthenticatedClient]: ...
@overload
def connect(
    provider: Literal["seven"], **arguments: Unpack[ConnectArguments]
) -> StatusClient[sms_status_seven.AuthenticatedClient]: ...
@overload
def connect(provider: ProviderKey, **arguments: Unpack[ConnectArguments]) -> StatusClient: ...
# -- end of the generated connect overloads --
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


# -- generated from the registry by scripts/typed_connect.py: connect_async overloads --
@overload
def connect_async(
    provider: Literal["telecom23"], **arguments: Unpack[AsyncConnectArguments]
) -> AsyncStatusClient[sms_status_telecom23.AuthenticatedClient]: ...
@overload
def connect_async(
    provider: Literal["namirial"], **arguments: Unpack[AsyncConnectArguments]
) -> AsyncHistoryClient[sms_status_namirial.AuthenticatedClient]: ...
@overload
def connect_async(
    provider: Literal["roycetalk"], **arguments: Unpack[AsyncConnectArguments]
) -> AsyncStatusClient[sms_status_roycetalk.AuthenticatedClient]: ...
@overload
def connect_async(
    provider: Literal["lisoloo"], **arguments: Unpack[AsyncConnectArguments]
) -> AsyncStatusClient[sms_status_lisoloo.AuthenticatedClient]: ...
@overload
def connect_async(
    provider: Literal["seven"], **arguments: Unpack[AsyncConnectArguments]
) -> AsyncStatusClient[sms_status_seven.AuthenticatedClient]: ...
@overload
def connect_async(
    provider: ProviderKey, **arguments: Unpack[AsyncConnectArguments]
) -> AsyncStatusClient: ...
# -- end of the generated connect_async overloads --
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
