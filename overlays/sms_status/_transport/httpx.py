"""The httpx senders: one HTTP attempt with hard bounds, ending by its deadline and reading
at most a capped body, for `client.api`'s transport and whenever httpx sends.

httpx's timeouts are per phase and per read, so a server that trickles a byte every second
can hold a call forever; `response.content` holds the whole body, and its gzip decoder
inflates a whole network chunk at once. Here the body is streamed raw and inflated in
bounded steps, the async attempt runs under one `asyncio.timeout` (on aiohttp, under aiohttp's
own whole-request timer: `aiohttp.py`), and the sync one, when it
goes through httpx (`transport=`, `proxy=`, `verify=` or an environment proxy; otherwise
`httpclient.py` sends it the same way on `http.client`), reads through sockets whose
every connect, read and write is cut to the time left (`deadline_sockets.py`), with the deadline
also checked between chunks. A sync `http_client=` of the user's own has httpx's sockets:
only the check between body chunks bounds it.
"""

from __future__ import annotations

import itertools
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from sms_status._exchange import AttemptTimeout, Reply
from sms_status._transport.base import ATTEMPT_DEADLINE
from sms_status._transport.body import ACCEPT_ENCODING, BoundedBody, bounded_body, feed
from sms_status._transport.idle_replies import check_idle_replies
from sms_status._transport.tls import (
    default_ssl_context,
    environment_proxy,
    never_cookies,
    no_cookies,
)

if TYPE_CHECKING:
    import httpcore


def _in_memory(response: httpx.Response) -> bool:
    """An `httpx.Response(content=...)` (a MockTransport's) is read, and decoded, already."""
    return response.is_stream_consumed


def _new_body(response: httpx.Response, cap: int) -> BoundedBody:
    if _in_memory(response):  # already decoded by httpx
        return BoundedBody(None, cap)
    return bounded_body(response.status_code, response.headers, cap)


def _feed(body: BoundedBody, chunk: bytes | None, response: httpx.Response) -> bytes | None:
    return feed(body, chunk, response.status_code, response.headers)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's default transport over `DeadlineBackend` sockets; `verify` and an HTTP(S)
    `proxy` as httpx's own transport takes them.

    Its pool, and with it the CA bundle (~20 ms to load), is made on first use: the sync
    client sends its own plain requests over `httpclient.py`, so this transport
    often serves only `client.api` calls, or none. httpx's own __init__ is not run: it would
    build a pool (loading the CAs) for this class to replace."""

    def __init__(
        self, *, verify: ssl.SSLContext | str | bool = True, proxy: httpx.Proxy | None = None
    ) -> None:
        if proxy is not None and proxy.url.scheme not in ("http", "https"):
            raise ValueError(f"proxy must be an http:// or https:// URL, got {proxy.url.scheme}://")
        self._verify = verify
        self._proxy = proxy
        self._made: httpcore.ConnectionPool | httpcore.HTTPProxy | None = None
        self._making = threading.Lock()

    def sending_client(self) -> httpx.Client:
        """A client on a transport of the same settings, to send what `client.api`'s client
        builds once that one was closed (the client used again)."""
        return sending_client(DeadlineTransport(verify=self._verify, proxy=self._proxy))

    @property
    def _pool(self) -> httpcore.ConnectionPool | httpcore.HTTPProxy:
        """What httpx.HTTPTransport's methods send through, made on first use."""
        if self._made is None:
            with self._making:
                if self._made is None:
                    self._made = self._make_pool()
        return self._made

    @_pool.setter
    def _pool(self, pool: httpcore.ConnectionPool | httpcore.HTTPProxy) -> None:
        self._made = pool

    def _make_pool(self) -> httpcore.ConnectionPool | httpcore.HTTPProxy:
        from sms_status._transport.deadline_sockets import make_pool  # loads httpcore

        return make_pool(self._verify, self._proxy)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._made is None and self._proxy is None:
            # httpx gives the environment's proxies only to a transport of its own making:
            # this one takes the proxy named for the origin it first sends to (a client
            # sends to one), as aiohttp's sender does.
            named = environment_proxy(request.url.scheme, request.url.host, request.url.port)
            self._proxy = None if named is None else httpx.Proxy(named)
        return super().handle_request(request)

    def __exit__(self, *exc_info: Any) -> None:
        if self._made is not None:  # never made: nothing to close
            super().__exit__(*exc_info)

    def close(self) -> None:
        if self._made is not None:
            super().close()


def sending_client(transport: httpx.BaseTransport) -> httpx.Client:
    """A client on `transport` that sends what `client.api`'s client built, once that one was
    closed (the client used again): ours made anew, or the user's `transport=` again."""
    sender = httpx.Client(transport=transport, cookies=no_cookies())
    never_cookies(sender)
    if isinstance(transport, DeadlineTransport):  # httpx's own pool (a user's is left as it is)
        check_idle_replies(sender)
    return sender


def _timeouts(phases: httpx.Timeout, left: float) -> httpx.Timeout:
    """Each phase limit, cut to the time left in the attempt."""
    return httpx.Timeout(
        **{name: left if s is None else min(s, left) for name, s in phases.as_dict().items()}
    )


def build(
    http: httpx.Client | httpx.AsyncClient,
    request: dict[str, Any],
    phases: httpx.Timeout,
    left: float,
) -> httpx.Request:
    """The request, with phase timeouts cut to `left` and only encodings we inflate asked for."""
    built = http.build_request(**request, timeout=_timeouts(phases, left))
    built.headers["Accept-Encoding"] = ACCEPT_ENCODING
    return built


def send(http: httpx.Client, request: httpx.Request, *, left: float, cap: int) -> Reply:
    """Send `request` and read its body, all within `left` seconds and `cap` bytes."""
    deadline = time.monotonic() + left
    token = ATTEMPT_DEADLINE.set(deadline)
    try:
        # Never on: a user's client may follow redirects, and a provider's key header
        # (unlike Authorization) would go with the request to another host.
        response = http.send(request, stream=True, follow_redirects=False)
        try:
            body = _new_body(response, cap)
            chunks = [response.content] if _in_memory(response) else response.iter_raw()
            for chunk in chunks:
                if time.monotonic() > deadline:
                    raise AttemptTimeout(f"no complete response within {left:.3g} s")
                _feed(body, chunk, response)
            content = _feed(body, None, response)
            assert content is not None
            return Reply(response.status_code, response.headers, content)
        finally:
            response.close()
    except httpx.TimeoutException:
        if time.monotonic() >= deadline - 0.001:
            raise AttemptTimeout(f"no complete response within {left:.3g} s") from None
        raise
    finally:
        ATTEMPT_DEADLINE.reset(token)


async def _read_async(response: httpx.Response, cap: int) -> bytes:
    body = _new_body(response, cap)
    if _in_memory(response):
        _feed(body, response.content, response)
    else:
        chunks: AsyncIterator[bytes] = response.aiter_raw()
        async for chunk in chunks:
            _feed(body, chunk, response)
    content = _feed(body, None, response)
    assert content is not None
    return content


_attempts: set[Any] = set()
"""Attempts running in tasks of their own (`send_async`), held: the loop holds tasks weakly."""


async def send_async(
    http: httpx.AsyncClient, request: httpx.Request, *, left: float, cap: int
) -> Reply:
    """The async `send`: the whole attempt runs under one `asyncio.timeout`, in a task of
    its own, which a cancel of the caller's does not reach: the caller's call ends at once,
    and the attempt within its time left, its connection given back. httpcore, cancelled at
    some steps of a request (encode/httpcore#1093, #830), left its connection booked in the
    pool: after a few cancelled calls (a tracker stopped, say) every lookup timed out."""
    import asyncio  # kept off the sync client's import path (~50 ms)

    attempt = asyncio.ensure_future(_attempt(http, request, left=left, cap=cap))
    _attempts.add(attempt)
    attempt.add_done_callback(_finished)
    return await asyncio.shield(attempt)


def _finished(attempt: Any) -> None:
    _attempts.discard(attempt)
    if not attempt.cancelled():
        attempt.exception()  # retrieved: one whose caller was cancelled is not logged


async def _attempt(
    http: httpx.AsyncClient, request: httpx.Request, *, left: float, cap: int
) -> Reply:
    import asyncio

    try:
        async with asyncio.timeout(left):
            response = await http.send(request, stream=True, follow_redirects=False)
            try:
                content = await _read_async(response, cap)
            finally:
                await response.aclose()
    except TimeoutError:
        raise AttemptTimeout(f"no complete response within {left:.3g} s") from None
    return Reply(response.status_code, response.headers, content)


class HttpxSender:
    """Sends the sync client's attempts on an `httpx.Client` (its transport, or the user's
    `http_client`): any request, built by httpx."""

    def __init__(self, http: httpx.Client, renew: Callable[[], httpx.Client] | None = None) -> None:
        self._http = http
        # Used again once closed (`close()`, a `with` block's end), the client sends on a new
        # one (`renew`: the same transport settings), as the other senders open new
        # connections; httpx's own refusal was taken for a network failure, and retried.
        self._renew, self._renewed = renew, False

    def plain_target(self, request: Mapping[str, Any]) -> str | None:
        return None

    def accepts(self, request: httpx.Request) -> bool:
        return True

    def send_plain(self, target: str, *, left: float, cap: int, phases: httpx.Timeout) -> Reply:
        raise AssertionError("httpx sends only the requests it built")  # pragma: no cover

    def send(
        self, request: httpx.Request, *, left: float, cap: int, phases: httpx.Timeout
    ) -> Reply:
        if self._http.is_closed and self._renew is not None:
            self._http, self._renewed = self._renew(), True
        return send(self._http, request, left=left, cap=cap)

    def close(self) -> None:
        if self._renewed:  # the client it was handed is closed by its owner; this one, here
            self._http.close()


CONNECTIONS_PER_POOL = 4
"""Connections per httpx client in the async client's pool of clients."""


class AsyncHttpxSender:
    """Sends the async client's attempts on httpx, over several small connection pools.

    httpcore walks its whole pool on every request, so one pool of 16 connections costs far
    more CPU than four pools of four (benchmarks/: ~2x the bulk throughput): attempts take
    turns over `pools`. Every request is built by `client.api`'s client (base URL, headers,
    key, timeouts); the others only lend their connections, so there is one configuration,
    not copies."""

    def __init__(
        self,
        pools: list[httpx.AsyncClient],
        sizes: list[int] | None = None,
        *,
        renew: Callable[[list[int]], list[httpx.AsyncClient]] | None = None,
        owned: list[httpx.AsyncClient] | None = None,
    ) -> None:
        self._sizes = sizes or [1] * len(pools)
        self._use(pools)
        self._made = pools[1:]  # the first is `client.api`'s client, closed as it is
        self._turn = itertools.count()
        # A pool's connections belong to the event loop they were made on: on another (a
        # second `asyncio.run`), or once closed and used again, `renew` makes pools of the
        # same sizes, and `owned`, the clients the client closes, holds those instead.
        self._renew, self._owned = renew, owned
        self._loop: object = None

    def _use(self, pools: list[httpx.AsyncClient]) -> None:
        # Each pool's turns as many as its connections, interleaved: a smaller one no longer
        # queues an even share of the attempts while the others' sit idle.
        sized = list(zip(pools, self._sizes, strict=True))
        self._pools = [p for turn in range(max(n for _, n in sized)) for p, n in sized if turn < n]

    def plain_target(self, request: Mapping[str, Any]) -> str | None:
        return None

    def accepts(self, request: httpx.Request) -> bool:
        return True

    async def send_plain(
        self, target: str, *, left: float, cap: int, phases: httpx.Timeout
    ) -> Reply:
        raise AssertionError("httpx sends only the requests it built")  # pragma: no cover

    async def send(
        self, request: httpx.Request, *, left: float, cap: int, phases: httpx.Timeout
    ) -> Reply:
        import asyncio  # here: a sync client imports this module, and asyncio costs ~30 ms

        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._pools[0].is_closed:  # closed: used again
            if self._renew is not None and (self._loop is not None or self._pools[0].is_closed):
                last, fresh = self._made, self._renew(self._sizes)
                if self._owned is not None:  # the last loop's went with it: not closed
                    self._owned[:] = [c for c in self._owned if c not in last] + fresh
                self._use(fresh)
                self._made = fresh
            self._loop = loop
        http = self._pools[next(self._turn) % len(self._pools)]
        return await send_async(http, request, left=left, cap=cap)

    async def aclose(self) -> None:
        return None  # the clients it was handed are closed by their owner


def shares(concurrency: int) -> list[int]:
    """`concurrency` connections as pools of at most `CONNECTIONS_PER_POOL`, as even as they
    go (attempts take turns over the pools: a small one would queue its share)."""
    count = -(-concurrency // CONNECTIONS_PER_POOL)
    return [concurrency // count + (i < concurrency % count) for i in range(count)]


def own_pool_limits(concurrency: int) -> httpx.Limits:
    """The limits of `client.api`'s async client: the first share (`shares`); its lenders
    hold the others."""
    return httpx.Limits(max_connections=shares(concurrency)[0])


def lenders(
    concurrency: int,
    *,
    transport: httpx.AsyncBaseTransport | None,
    connection: Mapping[str, Any],
) -> list[httpx.AsyncClient]:
    """The clients that lend `client.api`'s client their connections: with it, pools of the
    `shares` of `concurrency`, that many requests in flight in all. `transport` and
    `connection` (proxy=, verify=) are the ones `client.api`'s client was made with."""
    return pools(shares(concurrency)[1:], transport=transport, connection=connection)


def pools(
    sizes: list[int],
    *,
    transport: httpx.AsyncBaseTransport | None,
    connection: Mapping[str, Any],
) -> list[httpx.AsyncClient]:
    """One client of each size, that only sends what `client.api`'s client built (the first
    one's place is that client's own, but on another event loop than its connections')."""
    # The default CAs as `api_client` has them: loaded once per process, not once per pool.
    options = {**connection, "verify": connection.get("verify", True)}
    if options["verify"] is True and sizes:
        options["verify"] = default_ssl_context()
    made = [
        httpx.AsyncClient(
            transport=transport,
            limits=httpx.Limits(max_connections=share),
            cookies=no_cookies(),
            **options,
        )
        for share in sizes
    ]
    for lender in made:
        never_cookies(lender)
        if transport is None:  # httpx's own (a user's is left as it is)
            check_idle_replies(lender)
    return made
