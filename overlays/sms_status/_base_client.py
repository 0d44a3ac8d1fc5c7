"""What the sync and async clients share: construction (credentials, limiter, signer, the
generated client), settings, `with_options()`, `api` and the history arguments.

`sms_status.client` holds the public classes built on it; how their attempts travel is
`sms_status._transport`'s, how their flows run is `sms_status._drivers`'.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast

import attrs
import httpx

from sms_status import _flows, _redact, _successor, _validation
from sms_status._flows import Context, Flow
from sms_status._options import DEFAULT_TIMEOUT, SharedOptions
from sms_status._provider import GeneratedClient, Provider
from sms_status._signing import RequestSigner
from sms_status._transport.tls import default_ssl_context, env_proxies, httpx_transport_proxy
from sms_status._version import __version__
from sms_status.errors import TransportError
from sms_status.pacing import AsyncRateLimiter, RateLimiter, TokenBucket, Unlimited
from sms_status.report import StatusReport

if TYPE_CHECKING:
    from typing_extensions import TypeVar as TypeVarWithDefault

    # No `bound=GeneratedClient`: mypy joins two providers' clients (a list of both) by
    # their type arguments, and the join of two generated clients is `object`, outside such
    # a bound: the list became `list[object]`, on which `close()` did not type-check.
    ApiT_co = TypeVarWithDefault("ApiT_co", covariant=True, default=GeneratedClient)
else:  # the default (PEP 696) is for type checkers; typing_extensions costs ~15 ms to import
    ApiT_co = TypeVar("ApiT_co", covariant=True)
"""The provider's generated `AuthenticatedClient`, the type of `client.api`."""

UNSET: Any = object()
"""An argument not given (where None means something)."""


def own_transport(provider: Provider, base_url: str | None) -> dict[str, Any]:
    """The proxy arguments of an httpx client of ours on httpx's own transport
    (`tls.httpx_transport_proxy`): the environment's proxy for its origin only; one it
    cannot take is a TransportError."""
    try:
        return httpx_transport_proxy(resolved_base_url(provider, base_url))
    except httpx.ProxyError as exc:
        raise TransportError(str(exc), provider=provider.key) from None


def resolved_base_url(provider: Provider, base_url: str | None) -> str:
    """The URL a client sends to: `base_url` (checked), else the provider's origin."""
    return _validation.base_url(base_url) if base_url else provider.origin


class BaseClient(Generic[ApiT_co]):
    """Construction and settings shared by the sync and async clients."""

    def __init__(
        self,
        provider: Provider,
        *,
        api_key: str,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        options: SharedOptions,
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
        self.base_url = resolved_base_url(provider, base_url)
        if rate_limiter is UNSET:
            rate_limiter = (
                TokenBucket.for_limit(provider.rate_limit, clock=clock)
                if provider.rate_limit is not None
                else Unlimited()
            )
        self.rate_limiter = rate_limiter or Unlimited()  # typed per client class
        self._provider = provider
        self._separator = provider.batch.separator if provider.batch is not None else None
        self._clock = clock
        self._ctx = Context(
            provider=provider,
            secret=secret,
            max_retries=max_retries,
            retry_after_cap=_validation.seconds(
                options.get("retry_after_cap", _flows.DEFAULT_RETRY_AFTER_CAP),
                "retry_after_cap",
                allow_zero=True,
                at_most=_validation.A_DAY,
            ),
            clock=clock,
            on_retry=_validation.plain_callback(options.get("on_retry"), "on_retry"),
            lookup=_successor.lookup_state(provider, options.get("lookup")),
        )
        if signing_secret is not None and provider.sign is None:
            raise ValueError(f"{provider.key} does not sign requests: drop signing_secret")
        self._signer = (
            RequestSigner(
                provider.sign, signing_secret, base_path=httpx.URL(self.base_url).raw_path.decode()
            )
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
            headers={
                "User-Agent": f"sms-status/{__version__} ({provider.key})",
                **_workspace(provider, options.get("workspace_id")),
            },
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
        self._logs_released = False  # closed: masking ended, until it is used again
        self._original = self  # a `with_options` copy's: the client it was made from

    def _set_timeout(self, timeout: float | httpx.Timeout | None) -> None:
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self._phases = _validation.timeout(self.timeout)
        self._attempt_limit = _validation.attempt_limit(self._phases)
        """No attempt (connect, send, the whole body) lasts longer than this, in seconds."""

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = UNSET,
        max_retries: int = UNSET,
    ) -> Self:
        """A client like this one but with another `timeout` (None: the default) and/or
        `max_retries`, for some calls: `client.with_options(timeout=2).get_status(id)`.

        It shares this client's connections, rate limiter and settings, so it costs nothing
        to make; close this client, not the copy, when done with both.
        """
        derived = copy.copy(self)
        derived._log_scrub = None  # the original's close() ends the masking it started
        derived._logs_released = False
        derived._original = self._original  # which masks again if used after its close
        if timeout is not UNSET:
            derived._set_timeout(timeout)
        if max_retries is not UNSET:
            derived._ctx = attrs.evolve(self._ctx, max_retries=_validation.max_retries(max_retries))
        return derived

    def _release_logs(self) -> None:
        if self._log_scrub is not None:
            _redact.release_logs(self._log_scrub)
            self._log_scrub = None
            self._logs_released = True

    def _mask_logs_again(self) -> None:
        """A closed client used again (it opens new connections), or a copy of it, masks its
        key again, until the client is closed again."""
        original = self._original
        if original._logs_released:
            original._logs_released = False
            _redact.scrub_logs(original._ctx.secret)
            original._log_scrub = original._ctx.secret

    @property
    def api(self) -> ApiT_co:
        """The provider's generated `AuthenticatedClient`, on this client's connection pool
        and credentials: the escape hatch for anything the overlay does not cover (pass it as
        `client=` to the functions of `sms_status_<key>.api`)."""
        return cast(ApiT_co, self._api)

    def _message_id(self, value: str) -> str:
        return _validation.message_id(value, separator=self._separator)

    def _wait_flow(
        self,
        message_id: str,
        timeout: float | None,
        on_update: Callable[[StatusReport], None] | None,
    ) -> Flow[StatusReport]:
        """`wait_for_final`'s flow, its arguments checked (sync and async alike)."""
        return _flows.wait_for_final(
            self._ctx,
            self._message_id(message_id),
            timeout=_validation.wait_timeout(timeout),
            on_update=_validation.plain_callback(on_update, "on_update"),
            look_limit=self._attempt_limit,
        )

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
        # Credentials in the URL (a proxy's, say) are masked, as httpx masks a proxy's.
        scheme, _, rest = self.base_url.partition("://")
        authority, slash, path = rest.partition("/")
        _, at, host = authority.rpartition("@")
        shown = f"{scheme}://{'[secure]@' if at else ''}{host}{slash}{path}"
        return f"{type(self).__name__}(provider={self.provider!r}, base_url={shown!r})"


def _workspace(provider: Provider, workspace_id: object) -> dict[str, str]:
    """The header naming `workspace_id`, for a provider with workspaces."""
    if workspace_id is None:
        return {}
    if provider.workspace_header is None:
        raise ValueError(f"{provider.key} has no workspaces: drop workspace_id")
    if not isinstance(workspace_id, str):
        raise TypeError(f"workspace_id must be a str, not {type(workspace_id).__name__}")
    if not workspace_id or not all(" " < c <= "~" for c in workspace_id):  # never CR/LF
        raise ValueError("workspace_id must be printable ASCII without spaces")
    return {provider.workspace_header: workspace_id}
