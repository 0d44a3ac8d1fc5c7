"""The sockets of the sync httpx transport (`httpx.DeadlineTransport`): httpcore's, with every
connect, read and write cut to the time left in the attempt (`base.ATTEMPT_DEADLINE`).

Its own module because it needs httpcore (and h11), which `import httpx` does not load: the
sync client makes this pool only when httpx first sends for it (`client.api`, or an option
that routes attempts through httpx), so a client that never does never imports them.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from typing import Any

import httpcore
import httpx

from sms_status._transport.base import ATTEMPT_DEADLINE
from sms_status._transport.idle_replies import checking_idle_replies
from sms_status._transport.tls import default_ssl_context


def _cut(timeout: float | None) -> float | None:
    deadline = ATTEMPT_DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _cut(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _cut(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, _cut(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync sockets (or `backend`'s), with every connect, read and write cut to
    the time left."""

    def __init__(self, backend: httpcore.NetworkBackend | None = None) -> None:
        self._backend = httpcore.SyncBackend() if backend is None else backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, _cut(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._backend.connect_unix_socket(path, _cut(timeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def cut_to_attempt_deadlines(http: httpx.Client | httpx.BaseTransport) -> None:
    """The sockets of httpx's own sync transports in a user's `http_client=` (or its own
    `transport=`) cut to each attempt's deadline as ours are, by its pool's network backend:
    else a server sending its head, a chunk line or a trailer a byte at a time held the call
    as long as it went on (httpx's timeouts are per read). Requests of the user's own through
    it have no attempt deadline, so nothing changes for them; a transport of another class
    is left as it is (checked between body chunks only)."""
    transports: list[object] = [http]
    if isinstance(http, httpx.Client):
        transports = [getattr(http, "_transport", None), *getattr(http, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None) if type(transport) is httpx.HTTPTransport else None
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend) and not isinstance(
            backend, DeadlineBackend
        ):
            pool._network_backend = DeadlineBackend(backend)  # type: ignore[union-attr]
            # Its connections made before (idle, or in use by another thread of the user's)
            # read on the sockets as they were: one of them held a trickled call 15 s.
            with getattr(pool, "_optional_thread_lock", contextlib.nullcontext()):
                for connection in list(getattr(pool, "_connections", ())):
                    _cut_stream_of(connection)


def _cut_stream_of(connection: object) -> None:
    """The network stream of `connection` (down its layers: a proxy's connection holds the
    origin's) read and written through `_DeadlineStream`; one not made yet is left."""
    while connection is not None:
        stream = getattr(connection, "_network_stream", None)
        if isinstance(stream, httpcore.NetworkStream):
            if not isinstance(stream, _DeadlineStream):
                connection._network_stream = _DeadlineStream(stream)  # type: ignore[attr-defined]
            return
        connection = getattr(connection, "_connection", None)


def make_pool(
    verify: ssl.SSLContext | str | bool, proxy: httpx.Proxy | None
) -> httpcore.ConnectionPool | httpcore.HTTPProxy:
    """The pool `DeadlineTransport` sends through: `verify` and an HTTP(S) `proxy` as
    httpx's own transport takes them."""
    ssl_context = default_ssl_context() if verify is True else httpx.create_ssl_context(verify)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    pool_limits: dict[str, Any] = {
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }
    if proxy is None:
        return checking_idle_replies(
            httpcore.ConnectionPool(
                ssl_context=ssl_context, network_backend=DeadlineBackend(), **pool_limits
            )
        )
    proxied = httpcore.HTTPProxy(
        proxy_url=httpcore.URL(
            scheme=proxy.url.raw_scheme,
            host=proxy.url.raw_host,
            port=proxy.url.port,
            target=proxy.url.raw_path,
        ),
        proxy_auth=proxy.raw_auth,
        proxy_headers=proxy.headers.raw,
        ssl_context=ssl_context,
        proxy_ssl_context=proxy.ssl_context,
        network_backend=DeadlineBackend(),
        **pool_limits,
    )
    return checking_idle_replies(proxied)
