"""How requests travel: the backends, their senders, and the policy they share.

- `base`: the sender protocol (`Sender`, `AsyncSender`) every backend implements;
- `body`: the bounded body reader, and `ACCEPT_ENCODING` derived from its decoders;
- `tls`: the one verifying TLS context per CA setting, the environment's proxy, and the
  no-cookies policy;
- `httpx`: httpx's senders (sockets cut to each attempt's deadline, pools for the async
  client), which also carry `client.api`'s requests;
- `deadline_sockets`: those sockets, and the sync pool, made (and httpcore imported) only
  when httpx first sends for a sync client;
- `httpclient`: the sync client's fast sender, on `http.client` directly;
- `asyncio_http`: the async client's fast sender (`sms-status[fast]`), a pool of
  `asyncio_connection`s: asyncio's own connections, read by httptools' parser;
- `aiohttp`: its sender through a proxy, on aiohttp directly, and `client.api`'s transport.

This package never imports the client, the flows or a provider: the client asks it for a
transport and for senders (`sync_senders`, `async_senders`), and the drivers
(`sms_status._drivers`) decide, once for both, which sender sends each attempt.

With `sms-status[fast]` installed, the async client sends over aiohttp: `client.api`'s httpx
client on httpx-aiohttp's transport, and the overlay's own attempts on aiohttp directly,
skipping httpx's client layers (benchmarks/, section 6). The request is built as httpx would,
and the body read through the same bounded reader under the same whole-attempt deadline:
timeouts, the response cap, retries and the errors users see are the overlay's and work the
same on both. An explicit `transport=` always wins; `http_backend="httpx"` or the environment
variable `SMS_STATUS_HTTP_BACKEND=httpx` keep httpx's own transport.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import ssl
from collections.abc import Mapping
from typing import Any, Literal

import httpx

from sms_status._transport.base import AsyncSender, Sender
from sms_status._transport.httpclient import HttpClientSender
from sms_status._transport.httpx import (
    AsyncHttpxSender,
    DeadlineTransport,
    HttpxSender,
    lenders,
    own_pool_limits,
    pools,
    sending_client,
    shares,
)
from sms_status._transport.idle_replies import check_idle_replies
from sms_status._transport.tls import env_proxies, httpx_transport_proxy, never_cookies

HttpBackend = Literal["aiohttp", "httpx"]
BACKENDS: tuple[HttpBackend, ...] = ("aiohttp", "httpx")
ENVIRONMENT_VARIABLE = "SMS_STATUS_HTTP_BACKEND"


def aiohttp_available() -> bool:
    return importlib.util.find_spec("httpx_aiohttp") is not None


def chosen_backend(option: str | None) -> HttpBackend:
    """The backend named by the option, else by the environment, else the fastest installed."""
    named = option if option is not None else os.environ.get(ENVIRONMENT_VARIABLE) or None
    if named is None:
        return "aiohttp" if aiohttp_available() else "httpx"
    if named not in BACKENDS:
        where = "http_backend" if option is not None else ENVIRONMENT_VARIABLE
        raise ValueError(f"{where} must be 'aiohttp' or 'httpx', got {named!r}")
    if named == "aiohttp" and not aiohttp_available():
        raise ImportError("the aiohttp backend needs httpx-aiohttp: pip install 'sms-status[fast]'")
    return "aiohttp" if named == "aiohttp" else "httpx"


def sync_transport(
    transport: httpx.BaseTransport | None,
    http_client: httpx.Client | None,
    *,
    proxy: httpx.Proxy | None,
    verify: ssl.SSLContext | str | bool,
) -> httpx.BaseTransport | None:
    """The transport `client.api`'s sync client is made with: the user's, or (with neither
    `transport=` nor `http_client=`) httpx's with sockets cut to each attempt's deadline."""
    if transport is None and http_client is None:
        return DeadlineTransport(verify=verify, proxy=proxy)
    return transport


def sync_senders(
    http: httpx.Client,
    *,
    http_client: httpx.Client | None,
    direct: bool,
    transport: httpx.BaseTransport | None = None,
) -> tuple[Sender | None, Sender]:
    """The fast sender (`http.client`, for `http`'s own origin; None when `direct` is False or
    the environment names a proxy) and the httpx one (the user's `http_client`, else `http`,
    made on `transport`: a client used again after `close()` sends on a new client, on a new
    transport alike if it is ours, else on the user's). `http` builds every request; from
    now on it keeps no cookies."""
    never_cookies(http)
    fast = (
        HttpClientSender(base_url=http.base_url, headers=http.headers)
        if direct and not env_proxies()
        else None
    )
    users = http_client if http_client is not None else transport
    if users is not None and not isinstance(users, DeadlineTransport):
        from sms_status._transport.deadline_sockets import cut_to_attempt_deadlines

        cut_to_attempt_deadlines(users)
    if http_client is not None:
        # httpx's own pools in it too: a reply glued after an answer was read as the next
        # call's answer (another message's status, or a 404 for one that exists).
        check_idle_replies(http_client)
        return fast, HttpxSender(http_client)
    if transport is None:
        return fast, HttpxSender(http)
    if isinstance(transport, DeadlineTransport):
        return fast, HttpxSender(http, transport.sending_client)
    return fast, HttpxSender(http, functools.partial(sending_client, transport))


def async_transport(option: str | None) -> httpx.AsyncBaseTransport | None:
    """A transport for the async client, or None for httpx's own (see the module doc)."""
    if chosen_backend(option) == "httpx":
        return None
    from sms_status._transport.aiohttp import GuardedAiohttpTransport  # loads aiohttp

    return GuardedAiohttpTransport()


def _direct_sender(http: httpx.AsyncClient, concurrency: int) -> AsyncSender | None:
    """The sender on asyncio's own connections (`asyncio_http`), for a client that connects
    directly (no proxy in the environment) with headers it can write as they are."""
    if env_proxies() or importlib.util.find_spec("httptools") is None:  # an older [fast]
        return None
    from sms_status._transport.asyncio_http import AsyncioSender

    sender = AsyncioSender(connections=concurrency, base_url=http.base_url, headers=http.headers)
    return sender if sender.usable else None


def async_senders(
    http: httpx.AsyncClient,
    *,
    http_client: httpx.AsyncClient | None,
    fast: bool,
    concurrency: int,
    transport: httpx.AsyncBaseTransport | None,
    connection: Mapping[str, Any],
) -> tuple[AsyncSender | None, AsyncSender, list[httpx.AsyncClient]]:
    """The fast sender (aiohttp directly, when `fast`: `http` runs on its transport), the
    httpx one (the user's `http_client`, else `http` and the clients lending it their
    connections: several small pools), and the httpx clients made here, which the client
    closes. `http` builds every request; from now on it keeps no cookies."""
    never_cookies(http)
    if transport is None:  # httpx's own: its pool must not read a glued reply as an answer
        check_idle_replies(http)
    aiohttp: AsyncSender | None = None
    if fast:
        aiohttp = _direct_sender(http, concurrency)
        if aiohttp is None:
            from sms_status._transport.aiohttp import AiohttpSender

            aiohttp = AiohttpSender(
                connections=concurrency, base_url=http.base_url, headers=http.headers
            )
    # httpx sends over several small pools, unless aiohttp or the user's client sends.
    sharded = http_client is None and aiohttp is None
    owned = [
        http,
        *lenders(concurrency if sharded else 1, transport=transport, connection=connection),
    ]
    if http_client is not None:
        check_idle_replies(http_client)  # as the sync client's (`senders`)
        return aiohttp, AsyncHttpxSender([http_client]), owned
    if not sharded:
        return aiohttp, AsyncHttpxSender(owned), owned

    def renew(sizes: list[int]) -> list[httpx.AsyncClient]:  # on another event loop
        return pools(sizes, transport=transport, connection=connection)

    sender = AsyncHttpxSender(owned, shares(concurrency), renew=renew, owned=owned)
    return aiohttp, sender, owned


__all__ = [
    "BACKENDS",
    "ENVIRONMENT_VARIABLE",
    "AsyncSender",
    "DeadlineTransport",
    "HttpBackend",
    "Sender",
    "async_senders",
    "async_transport",
    "chosen_backend",
    "env_proxies",
    "httpx_transport_proxy",
    "own_pool_limits",
    "sync_senders",
    "sync_transport",
]
