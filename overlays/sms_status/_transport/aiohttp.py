"""The aiohttp backend (`sms-status[fast]`): `client.api`'s transport (httpx-aiohttp) and the
async client's sender through a proxy (`AiohttpSender`; direct, `asyncio_http` sends), both
made to fail only as httpx transports do.

httpx-aiohttp maps the usual aiohttp errors to httpx's; these classes catch the rest (a
malformed status line, say) so that nothing but `httpx.TransportError` reaches the overlay.
Its `ClientSession` keeps a cookie jar of its own, below httpx's (which the client empties):
here it keeps nothing, so a server's cookies are never sent back on either transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx
import yarl
from httpx_aiohttp import AiohttpTransport

from sms_status._exchange import AttemptTimeout, Reply
from sms_status._transport.base import plain_get_target, readable
from sms_status._transport.body import ACCEPT_ENCODING, bounded_body, feed
from sms_status._transport.tls import default_ssl_context, environment_proxy

if TYPE_CHECKING:
    from aiohttp.client_proto import ResponseHandler
    from aiohttp.client_reqrep import ConnectionKey
    from aiohttp.connector import Connection
    from aiohttp.tracing import Trace

_UNMAPPED = (aiohttp.ClientError, TimeoutError)
_NEVER_ROUND = float("inf")
"""aiohttp rounds timeouts of 5 s and more up to a whole second unless told otherwise."""


def _shorter(phase: float | None, left: float) -> float | None:
    """A phase limit worth its own timer: one shorter than the whole attempt's."""
    return phase if phase is not None and phase < left else None


def _fits(headers: Mapping[str, str], cap: int) -> bool:
    """Whether a body may be read whole: not encoded, not chunked, declared within the cap."""
    length = headers.get("Content-Length")
    return (
        length is not None
        and length.isascii()
        and length.isdigit()  # no sign, spaces or "1_000"
        and len(length) <= 18  # int() of it stays cheap (a parser refuses longer ones anyway)
        and int(length) <= cap
        and "Content-Encoding" not in headers
        and "Transfer-Encoding" not in headers
    )


def _unread(protocol: ResponseHandler) -> bool:
    """Bytes (or an end) waiting in the kernel for an idle connection's socket."""
    transport = protocol.transport
    sock = None if transport is None else transport.get_extra_info("socket")
    return sock is not None and readable(sock)


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, never reusing a connection the server wrote to while it sat idle.

    aiohttp parses such bytes as they arrive and hands them to the next request on that
    connection as its answer (a stale reply read as another message's status); httpcore and
    `httpclient.HttpClientSender` drop such a connection, and so does this."""

    def _release(
        self, key: ConnectionKey, protocol: ResponseHandler, *, should_close: bool = False
    ) -> None:
        parser = protocol._parser  # pyright: ignore[reportPrivateUsage]
        if parser is not None and not should_close:
            # Bytes that came after the reply in the same read (the start of another) are
            # held by its parser, where `should_close` does not look: ended here, a parser
            # holding a message begun says so.
            try:
                should_close = parser.feed_eof() is not None
            except Exception:
                should_close = True
        super()._release(key, protocol, should_close=should_close)
        # Pooled without a parser, bytes arriving while it is idle wait in its tail, which
        # `should_close` sees; a parser would hold the first bytes of a stale reply where
        # nothing does (each request gets a parser of its own).
        protocol._parser = None  # pyright: ignore[reportPrivateUsage]

    async def _get(self, key: ConnectionKey, traces: list[Trace]) -> Connection | None:
        # Only the connection about to be reused is checked: what the loop has read of it
        # (`should_close`), and what waits in the kernel still (a loop busy with the
        # caller's own work has not read it yet).
        while (connection := await super()._get(key, traces)) is not None:
            protocol = connection.protocol
            if protocol is None or not (protocol.should_close or _unread(protocol)):
                return connection
            connection.close()  # bytes or an error arrived while it was idle
        return None


def _env_proxy(base: str) -> tuple[str | None, dict[str, str] | None]:
    """The proxy the environment names for `base` (`tls.environment_proxy`, as for the sync
    client), and the Proxy-Authorization header its URL's credentials make."""
    origin = yarl.URL(base)
    named = environment_proxy(origin.scheme, origin.host or "", origin.explicit_port)
    if named is None:
        return None, None
    proxy = yarl.URL(named)
    if proxy.user is None:
        return str(proxy), None
    import base64

    credentials = f"{proxy.user}:{proxy.password or ''}".encode()
    basic = "Basic " + base64.b64encode(credentials).decode("ascii")
    return str(proxy.with_user(None)), {"Proxy-Authorization": basic}


class UnparsableResponse(Exception):
    """aiohttp's parser refused a response. Its own message quotes the offending bytes, cut
    at a read's edge or at 100 bytes: an echoed key cut there would slip past redaction, so
    none of them is passed on."""

    def __init__(self, status: int) -> None:
        super().__init__(f"not a valid HTTP/1.1 response (aiohttp's parser: {status})")


_QUOTING = (
    aiohttp.ClientResponseError,
    aiohttp.ClientPayloadError,
    aiohttp.ServerDisconnectedError,  # its text: the partial head, every header in it
)
"""aiohttp's errors whose text may quote the response (a header echoing the key, say)."""


def _unquoted(exc: BaseException) -> str:
    """What aiohttp raised, without the response bytes its parser's errors quote:
    `client.api`'s callers get this text, and no SDK code scrubs it."""
    if isinstance(exc, aiohttp.ClientResponseError):  # its `status` is the parser's code
        return f"{type(exc).__name__}: the response could not be parsed"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"{type(exc).__name__}: the response body could not be read"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{type(exc).__name__}: the server closed the connection"
    return f"{type(exc).__name__}: {exc}"


def _scrubbed(exc: httpx.TransportError) -> httpx.TransportError:
    """httpx-aiohttp's own mapping of an aiohttp error keeps its text (a disconnect's quotes
    the partial head): one whose cause quotes is made anew from `_unquoted`, unchained."""
    cause = exc.__cause__
    return type(exc)(_unquoted(cause)) if isinstance(cause, _QUOTING) else exc


def _mapped(exc: BaseException, kind: type[httpx.TransportError]) -> httpx.TransportError:
    """`exc` as httpx's `kind`, chained to it unless its text quotes the response (raised
    outside the handler then, so it is not even the context)."""
    error = kind(_unquoted(exc))
    if not isinstance(exc, _QUOTING):
        error.__cause__ = exc  # a refused certificate is told by its cause (`_request`)
    return error


class _GuardedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        failure = None
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.TransportError as exc:
            failure = _scrubbed(exc)
        except _UNMAPPED as exc:
            failure = _mapped(exc, httpx.ReadError)
        if failure is not None:
            raise failure  # out of the handler (`_mapped`)

    async def aclose(self) -> None:
        failure = None
        try:
            await self._inner.aclose()
        except httpx.TransportError as exc:
            failure = _scrubbed(exc)
        except _UNMAPPED as exc:
            failure = _mapped(exc, httpx.ReadError)
        if failure is not None:
            raise failure


class GuardedAiohttpTransport(AiohttpTransport):
    def __init__(self) -> None:
        # httpx-aiohttp builds its TLS context here, loading the CAs (~20 ms) for a client that
        # may never open a TLS connection; handed one that trusts nothing, it loads none.
        # `get_client` uses the process's shared context instead, when the session is made.
        super().__init__(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        self._proxy_read = False
        self._proxy_headers: dict[str, str] | None = None

    def get_client(self) -> aiohttp.ClientSession:
        """httpx-aiohttp's session, with a jar that keeps nothing (aiohttp's default jar
        refuses cookies from IP addresses only: a test on 127.0.0.1 would not see this)."""
        if self.client is not None:
            return super().get_client()  # one the caller passed in: theirs to configure
        limit = self.limits.max_connections
        connector = _Connector(
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=default_ssl_context(),
            local_addr=(self.local_address, 0) if self.local_address else None,
            limit=100 if limit is None else limit,  # aiohttp's default, as httpx-aiohttp has it
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._proxy_read:
            # httpx gives the environment's proxies only to a transport of its own: this one
            # (`client.api`'s calls, which went direct) takes the one named for the origin
            # it first sends to, as `AiohttpSender` does. One it cannot take raises here,
            # at every call: never a request around it. Its credentials go as a header of
            # our making (UTF-8, as httpx sends them; aiohttp's BasicAuth raised on others).
            named, self._proxy_headers = _env_proxy(str(request.url))
            self.proxy = None if named is None else httpx.Proxy(named, headers=self._proxy_headers)
            self._proxy_read = True
        if self._proxy_headers and request.url.scheme == "http":  # (proxy_headers: CONNECT's)
            request.headers.update(self._proxy_headers)
        response: httpx.Response | httpx.TransportError
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as exc:
            response = _scrubbed(exc)
        except _UNMAPPED as exc:
            response = _mapped(exc, httpx.TransportError)
        if isinstance(response, httpx.TransportError):
            raise response  # out of the handler (`_mapped`)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _GuardedStream(response.stream)
        return response


class AiohttpSender:
    """The async client's attempts sent on aiohttp directly, without httpx's client layers.

    httpx's AsyncClient wraps each request in URL parsing, auth, redirect, cookie, logging
    and stream layers, which together cost more CPU than aiohttp itself (benchmarks/, section
    6). Plain requests (a method, a path the generated client has already quoted, query
    parameters) go straight to aiohttp with the client's headers; any other request is built by
    httpx as before (a signed one, say) and only sent here. Either way the body is read through
    the same bounded reader as every attempt (`body.py`), under the same whole-attempt
    deadline and phase timeouts.
    """

    def __init__(self, *, connections: int, base_url: httpx.URL, headers: httpx.Headers) -> None:
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._closed = False  # aclose() was called: an attempt after it closes its session
        self._loop: asyncio.AbstractEventLoop | None = None  # the session's
        self._proxy: str | None = None
        self._proxy_headers: dict[str, str] | None = None
        self._auth_each: dict[str, str] | None = None  # the proxy's, with each request
        # The last attempt's timeout, reused while the next one's limits are the same (a
        # bulk lookup without a deadline: every attempt).
        self._timeout = aiohttp.ClientTimeout()
        self._phases: httpx.Timeout | None = None
        base = str(base_url)  # as httpx normalised it
        self._base = base if base.endswith("/") else base + "/"
        # A target's URL is the base's origin with the target's path: parsing only the path
        # costs a quarter of parsing the whole URL (~1.3 µs a request). Not with credentials
        # in the base URL (the origin drops them): such a base's targets are parsed whole.
        origin = yarl.URL(self._base, encoded=True).origin()
        self._origin_prefix = str(origin) + "/"
        self._origin = origin if self._base.startswith(self._origin_prefix) else None
        plain = httpx.Headers(headers)
        plain["Accept-Encoding"] = ACCEPT_ENCODING
        self._headers = plain.multi_items()
        # What aiohttp would add of its own to a request lacking it (httpx's defaults
        # include both): never sent, as with httpx.
        self._unsent_defaults = tuple(n for n in ("User-Agent", "Accept") if n not in plain)

    def session(self) -> aiohttp.ClientSession:
        """The session, made on first use: aiohttp sessions belong to a running loop, so a
        client used from another loop (a second `asyncio.run`) gets a new one."""
        loop = asyncio.get_running_loop()
        if self._session is not None and self._loop is not loop:
            self._forget_session()
        if self._session is None or self._session.closed:
            self._loop = loop
            self._session = self._new_session()
        return self._session

    def _new_session(self) -> aiohttp.ClientSession:
        # The environment's proxy, as httpx honours it, looked up here once (requests
        # go to the base URL's origin only). Not aiohttp's `trust_env`: that also adds
        # credentials from ~/.netrc to every request, which httpx never does.
        self._proxy, self._proxy_headers = _env_proxy(self._base)
        # aiohttp sends proxy_headers only with a CONNECT (an https:// origin): through
        # a proxy to an http:// one, the credentials go with each request instead.
        self._auth_each = self._proxy_headers if self._base.startswith("http:") else None
        # No redirects either: for an http:// origin without a proxy no TLS connection
        # is ever made, and no CAs need loading.
        tls = self._base.startswith("https:") or self._proxy is not None
        connector = _Connector(limit=self._connections, ssl=default_ssl_context() if tls else True)
        session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # the bounded reader inflates, in bounded steps
            cookie_jar=aiohttp.DummyCookieJar(),  # cookies are never kept
            trust_env=False,
            headers=self._headers,  # a request's own headers replace these by name
            # Ours are sent; naming none to skip keeps aiohttp on its fast path (a skip
            # list costs ~5 µs a request), and it adds only what ours lack.
            skip_auto_headers=self._unsent_defaults or None,
        )
        # aiohttp resends an idempotent request once by itself when the connection
        # drops (private, on by default): an attempt outside the retry policy (no
        # backoff, no on_retry, no rate-limiter slot, a signature sent twice).
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False  # pyright: ignore[reportPrivateUsage]
        return session

    def plain_target(self, request: Mapping[str, Any]) -> str | None:
        """The URL of a plain GET (path joined to the base, query encoded as httpx does), or
        None for a request that httpx must build."""
        return plain_get_target(request, self._base)

    def accepts(self, request: httpx.Request) -> bool:
        return True  # any URL: aiohttp resolves and connects it itself

    async def send(
        self, request: httpx.Request, *, left: float, cap: int, phases: httpx.Timeout
    ) -> Reply:
        return await self.send_plain(
            str(request.url),
            left=left,
            cap=cap,
            phases=phases,
            method=request.method,
            headers=request.headers.multi_items(),
            content=request.content or None,
        )

    async def send_plain(
        self,
        target: str,
        *,
        left: float,
        cap: int,
        phases: httpx.Timeout,
        method: str = "GET",
        headers: list[tuple[str, str]] | None = None,
        content: bytes | None = None,
    ) -> Reply:
        """Send a plain GET of `target` (or, from `send`, any request httpx built) as one
        attempt. One coroutine for both: a plain GET is every bulk lookup's attempt."""
        # aiohttp's `total` bounds the whole attempt (pool wait, connect, send, every body
        # read) on the timer its reads and connects already check: one timer per attempt,
        # not an `asyncio.timeout` around aiohttp's own. Phase limits only where shorter.
        timeout = self._timeout
        if timeout.total != left or self._phases is not phases:  # else the last one fits
            timeout = self._timeout = aiohttp.ClientTimeout(
                total=left,
                sock_connect=_shorter(phases.connect, left),
                sock_read=_shorter(phases.read, left),
                ceil_threshold=_NEVER_ROUND,
            )
            self._phases = phases
        closed = self._closed  # an attempt after aclose(): a session of its own, closed after
        session = self._new_session() if closed else self._session
        # A closed loop means another one runs now (a second asyncio.run): cheaper to ask
        # than the running loop, which costs a getpid() each time on 3.11.
        if not closed and (
            session is None or session.closed or (self._loop is not None and self._loop.is_closed())
        ):
            session = self.session()
        assert session is not None
        auth = self._auth_each
        try:
            try:
                async with session.request(
                    method,
                    self._url(target),
                    headers=headers if auth is None else [*(headers or ()), *auth.items()],
                    data=content,
                    allow_redirects=False,
                    timeout=timeout,
                    proxy=self._proxy,
                    proxy_headers=self._proxy_headers,
                ) as response:
                    status = response.status
                    reply_headers = response.headers  # case-insensitive, repeated names kept
                    if _fits(reply_headers, cap):
                        # Plain and of a declared size within the cap: aiohttp's parser stops
                        # at Content-Length, so reading it whole is bounded too.
                        data: bytes | None = await response.read()
                    else:
                        body = bounded_body(status, reply_headers, cap)
                        async for chunk in response.content.iter_any():
                            feed(body, chunk, status, reply_headers)
                        data = feed(body, None, status, reply_headers)
            except aiohttp.ServerTimeoutError as exc:  # a phase's own limit, shorter than `left`
                raise AttemptTimeout(str(exc)) from None
            except aiohttp.ClientResponseError as exc:  # its parser refused the response
                raise UnparsableResponse(exc.status) from None
            except TimeoutError:
                raise AttemptTimeout(f"no complete response within {left:.3g} s") from None
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if self._closed and task is not None and not task.cancelling():
                    # aclose() closed the session under it (aiohttp cancels what waits on
                    # its connector): this attempt failed; its caller was not cancelled.
                    raise ConnectionError("the client was closed during the attempt") from None
                raise
        finally:
            if closed:
                await session.close()
        assert data is not None
        return Reply(status, reply_headers, data)

    def _url(self, target: str) -> yarl.URL:
        """`target` as a URL, sent as quoted (never re-quoted)."""
        origin = self._origin
        if (
            origin is not None
            and target.startswith(self._origin_prefix)
            and "?" not in target
            and "#" not in target
        ):
            return origin.with_path(target[len(self._origin_prefix) - 1 :], encoded=True)
        return yarl.URL(target, encoded=True)

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            if self._loop is asyncio.get_running_loop():
                await self._session.close()
            else:
                self._forget_session()

    def _forget_session(self) -> None:
        """Drop a session whose loop is not running (closed, most likely): it cannot be
        closed from here, and its connections went with that loop."""
        session, self._session = self._session, None
        if session is not None and session.connector is not None:
            with contextlib.suppress(Exception):  # its transports belong to that loop
                session.connector._close()  # pyright: ignore[reportPrivateUsage]
            session.detach()  # no "unclosed session" warning for what cannot be closed
