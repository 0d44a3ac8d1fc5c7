"""The async client's attempts on asyncio's own connections, read by httptools' parser.

aiohttp's `ClientSession` spends about 70 µs of CPU on a request (URL, header and cookie
handling, traces, a `ClientRequest`, a `ClientResponse` with its stream), three times what
the request itself takes. Here one connection carries one request at a time: the request is
one write of bytes made mostly in advance, and the answer is parsed as it arrives by
httptools (llhttp, uvicorn's parser) into the bounded body reader (`body.py`).
Direct connections only: through a proxy, `aiohttp.AiohttpSender` sends.

The bounds are those of every sender:
- one timer per attempt ends it at its deadline: the wait for a connection, the connect
  and TLS handshake, the send, the whole answer; a read limit shorter than the attempt's
  ends a wait for the next byte, a connect limit the connect;
- the head is capped (`MAX_HEAD_BYTES`, `MAX_HEADERS`), the body by the client's cap;
- interim (1xx) answers are skipped, a 101 is an answer whose connection is closed;
- a connection goes back to the pool only after a whole answer that allows it, with nothing
  after it, and is reused only if nothing arrived while it was idle (a stale reply).

Only `AttemptTimeout`, `BodyRejected`, `OSError`s and `UnparsableResponse` leave `send`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import select
from collections.abc import Mapping
from typing import Any

import httptools
import httpx
from multidict import CIMultiDict

from sms_status._exchange import AttemptTimeout, BodyRejected, Reply
from sms_status._transport.base import plain_get_target
from sms_status._transport.body import ACCEPT_ENCODING, BoundedBody, bounded_body, feed
from sms_status._transport.tls import default_ssl_context

log = logging.getLogger("sms_status")

MAX_HEAD_BYTES = 64 * 1024
"""The status line and headers of one answer (interim ones included), as http.client caps a
line: past it the answer is refused, so a server cannot fill memory with headers."""
MAX_HEADERS = 100
"""Header (and trailer) lines of one answer: http.client's limit."""

_UNSAFE = frozenset(b"\r\n\0")


class UnparsableResponse(Exception):
    """The parser refused the answer. Its own reason only, never the bytes it refused (they
    may echo the key, cut where redaction would not find it)."""


class Disconnected(ConnectionError):
    """The server closed the connection before the whole answer."""


class _Stop(Exception):
    """Raised in a parser callback to stop parsing (httptools raises its own error from it):
    the reason is already recorded."""


def _safe(*pieces: bytes) -> bool:
    return not any(_UNSAFE.intersection(piece) for piece in pieces)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, carrying one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self._poller: Any = None
        self.closed = False
        self._waiter: asyncio.Future[Reply] | None = None
        self._parser: Any = None
        self._cap = 0
        self._status = 0
        self._pairs: list[tuple[str, str]] = []
        self._headers: CIMultiDict[str] | None = None
        self._body: BoundedBody | None = None
        self._head_bytes = 0
        self._parsed = False  # the parser made something of the bytes last read
        self._unparsed = 0  # bytes read since it last did (after the head)
        self._interim = False
        self._answered = False
        self._keep = False
        self._trailing = False  # bytes after the answer
        self._failure: BaseException | None = None
        self._read_limit: float | None = None
        self._read_at = 0.0
        self._read_timer: asyncio.TimerHandle | None = None

    # -- asyncio's side --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and hasattr(select, "poll"):
            self._poller = select.poll()
            self._poller.register(sock.fileno(), select.POLLIN)

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done() or self._answered:
            self._trailing = True  # a stale reply, or bytes after the answer: never reused
            return
        if self._read_limit is not None:
            self._read_at = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # a 101 was answered (on_message_complete); its connection is closed
        except Exception as exc:  # the parser's own error, or one of a callback
            if self._answered:
                self._trailing = True
            else:
                self._fail(self._failure or _refused(exc))
            return
        if self._headers is None or self._interim:  # a head still coming: bounded
            self._head_bytes += len(data)
            over = self._head_bytes > MAX_HEAD_BYTES
        elif self._parsed:  # a piece of body (or a trailer line) came of them
            self._parsed = False
            self._unparsed = 0
            over = False
        else:  # a trailer or chunk extension that never ends, which httptools would hold
            self._unparsed += len(data)
            over = self._unparsed > MAX_HEAD_BYTES
        if over:
            self._fail(UnparsableResponse(f"a head or trailer over {MAX_HEAD_BYTES} bytes"))

    def eof_received(self) -> bool | None:
        self._end()
        return None  # close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if exc is None:
            self._end()
        why = "" if exc is None else f" ({type(exc).__name__})"
        self._fail(Disconnected(f"the server closed the connection before a whole answer{why}"))

    def _end(self) -> None:
        """The server ended its side: that ends an answer sent without a length."""
        if self._headers is None or self._answered or self._interim or self._body is None:
            return
        headers = self._headers
        codings = ",".join(headers.getall("Transfer-Encoding", ()))
        if "Content-Length" in headers or codings.rsplit(",", 1)[-1].strip().lower() == "chunked":
            return  # ended early: connection_lost fails the attempt
        self._keep = False
        self._answer()

    # -- the parser's side (httptools calls these while it parses) ---------------------------

    def on_message_begin(self) -> None:
        if self._answered:
            self._trailing = True
            raise _Stop

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self._pairs) >= MAX_HEADERS:
            self._failure = UnparsableResponse(f"over {MAX_HEADERS} header lines")
            raise _Stop
        self._parsed = True
        # As http.client reads them: any byte is a character, none is refused.
        self._pairs.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self._interim = True  # 100, 102, 103: skipped, the answer follows
            return
        self._status = status
        self._headers = headers = CIMultiDict(self._pairs)
        try:
            self._body = bounded_body(status, headers, self._cap)
        except BodyRejected as exc:
            self._failure = exc
            raise _Stop from None

    def on_body(self, chunk: bytes) -> None:
        self._parsed = True
        body = self._body
        if body is not None:
            try:
                feed(body, chunk, self._status, self._headers or {})
            except BodyRejected as exc:
                self._failure = exc
                raise _Stop from None

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            self._pairs = []
            return
        self._keep = self._status != 101 and self._parser.should_keep_alive()
        self._answer()

    # -- the sender's side --------------------------------------------------------------------

    def sound(self) -> bool:
        """Whether this idle connection may carry a request: open, and nothing arrived (or
        waits in the kernel, unread by a loop that was busy) since its last answer."""
        if self.closed or self._trailing:
            return False
        poller = self._poller
        return poller is None or not poller.poll(0)

    def start(self, request: bytes, cap: int) -> asyncio.Future[Reply]:
        assert self.transport is not None
        self._waiter = waiter = self._loop.create_future()
        self._parser = httptools.HttpResponseParser(self)
        self._cap = cap
        self._status = 0
        self._pairs = []
        self._headers = None
        self._body = None
        self._head_bytes = self._unparsed = 0
        self._parsed = False
        self._answered = self._interim = self._keep = False
        self._failure = None
        self.transport.write(request)
        return waiter

    def reusable(self) -> bool:
        return self._keep and not self._trailing and not self.closed

    def limit_reads(self, limit: float) -> None:
        """End the attempt when no byte arrives for `limit` seconds."""
        self._read_limit = limit
        self._read_at = self._loop.time()
        self._read_timer = self._loop.call_at(self._read_at + limit, self._check_reads)

    def _check_reads(self) -> None:
        limit = self._read_limit
        if limit is None:
            return
        due = self._read_at + limit
        if self._loop.time() < due:
            self._read_timer = self._loop.call_at(due, self._check_reads)
        else:
            self._fail(AttemptTimeout(f"no byte read for {limit:.3g} s (the read timeout)"))

    def expire(self, left: float) -> None:
        self._fail(AttemptTimeout(f"no complete response within {left:.3g} s"))

    def settle(self) -> None:
        """The attempt is over (answered, failed or cancelled): its timers go."""
        self._read_limit = None
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def close(self, reason: BaseException | None = None) -> None:
        """Close the connection; an attempt on it fails with `reason`."""
        if reason is not None:
            self._fail(reason)
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _answer(self) -> None:
        self._answered = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        assert self._body is not None
        assert self._headers is not None
        try:
            data = feed(self._body, None, self._status, self._headers)
        except BodyRejected as exc:
            waiter.set_exception(exc)
            return
        assert data is not None
        waiter.set_result(Reply(self._status, self._headers, data))

    def _fail(self, error: BaseException) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
            self.close()


def _refused(exc: Exception) -> Exception:
    if isinstance(exc, httptools.HttpParserError):
        return UnparsableResponse(f"not a valid HTTP/1.1 response ({exc})")
    return UnparsableResponse(f"not a valid HTTP/1.1 response ({type(exc).__name__})")


class AsyncioSender:
    """Sends the async client's attempts over a pool of `_Connection`s to its origin."""

    def __init__(self, *, connections: int, base_url: httpx.URL, headers: httpx.Headers) -> None:
        base = str(base_url)  # as httpx normalised it
        self._base = base if base.endswith("/") else base + "/"
        url = httpx.URL(self._base)
        self._tls = url.scheme == "https"
        self._host = url.host
        self._port = url.port or (443 if self._tls else 80)
        self._origin = (base_url.scheme, base_url.netloc)
        self._prefix = url.raw_path.decode("ascii")  # ends with "/"
        plain = httpx.Headers(headers)
        plain["Accept-Encoding"] = ACCEPT_ENCODING
        pairs = [(b"Host", url.netloc), *((n, v) for n, v in plain.raw if n.lower() != b"host")]
        self._head_tail = b"".join(b"\r\n" + n + b": " + v for n, v in pairs) + b"\r\n\r\n"
        # Not for a base URL with credentials (aiohttp sends them, as httpx would), nor for
        # headers that cannot go on the wire as they are.
        self.usable = not url.userinfo and _safe(*(piece for pair in pairs for piece in pair))
        self._limit = connections
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._context: Any = None
        self._closings = 0  # aclose() calls so far

    def plain_target(self, request: Mapping[str, Any]) -> str | None:
        """The request target of a plain GET, or None for one httpx must build (or quote)."""
        target = plain_get_target(request, self._prefix)
        if target is None or not target.isascii() or not target.isprintable() or " " in target:
            return None
        return target

    def accepts(self, request: httpx.Request) -> bool:
        """Only requests for this client's own origin: its connections go there."""
        return (request.url.scheme, request.url.netloc) == self._origin

    async def send_plain(
        self, target: str, *, left: float, cap: int, phases: httpx.Timeout
    ) -> Reply:
        request = b"GET " + target.encode("ascii") + b" HTTP/1.1" + self._head_tail
        return await self._attempt(request, "GET", target, left, cap, phases)

    async def send(
        self, request: httpx.Request, *, left: float, cap: int, phases: httpx.Timeout
    ) -> Reply:
        """Send a request httpx built (for this client's origin)."""
        method = request.method.encode("ascii")
        target = request.url.raw_path
        pairs = request.headers.raw
        pieces = (piece for pair in pairs for piece in pair)
        if not _safe(method, target, *pieces) or b" " in target:
            raise httpx.LocalProtocolError("a request line or header holds CR, LF or NUL")
        head = [method + b" " + target + b" HTTP/1.1", *(n + b": " + v for n, v in pairs)]
        data = b"\r\n".join(head) + b"\r\n\r\n" + (request.content or b"")
        return await self._attempt(data, request.method, target.decode("ascii"), left, cap, phases)

    async def _attempt(
        self,
        request: bytes,
        method: str,
        target: str,
        left: float,
        cap: int,
        phases: httpx.Timeout,
    ) -> Reply:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._forget(loop)
        deadline = loop.time() + left
        connection = self._idle_one()
        if connection is None:
            connection = await self._new_or_freed(loop, deadline, left, phases.connect)
        waiter = connection.start(request, cap)
        timer = loop.call_at(deadline, connection.expire, left)
        read = phases.read
        if read is not None and read < left:
            connection.limit_reads(read)
        try:
            reply = await waiter
        except BaseException:
            self._drop(connection)
            raise
        finally:
            timer.cancel()
            connection.settle()
        if connection.reusable() and reply.status_code >= 200:
            self._checkin(connection)
        else:
            self._drop(connection)
        if log.isEnabledFor(logging.INFO):  # the line httpx logs, so --debug reads the same
            scheme = "https" if self._tls else "http"
            log.info(
                'HTTP Request: %s %s://%s:%d%s "HTTP/1.1 %d"',
                method,
                scheme,
                self._host,
                self._port,
                target,
                reply.status_code,
            )
        return reply

    def _idle_one(self) -> _Connection | None:
        idle = self._idle
        while idle:
            connection = idle.pop()
            if connection.sound():
                return connection
            self._drop(connection)  # closed, or written to while idle
        return None

    async def _new_or_freed(
        self,
        loop: asyncio.AbstractEventLoop,
        deadline: float,
        left: float,
        connect: float | None,
    ) -> _Connection:
        """A connection freed for this attempt, or a new one, within its deadline."""
        closings = self._closings
        try:
            async with asyncio.timeout_at(deadline):
                while len(self._open) >= self._limit:
                    waiter = loop.create_future()
                    self._waiting.append(waiter)
                    try:
                        await waiter
                    except BaseException:  # cancelled, or out of time
                        if waiter.done() and not waiter.cancelled():
                            self._wake()  # woken as it left: another waiter's turn
                        else:
                            with contextlib.suppress(ValueError):
                                self._waiting.remove(waiter)
                        raise
                    if self._closings != closings:
                        raise Disconnected("the client was closed while the attempt waited")
                    connection = self._idle_one()
                    if connection is not None:
                        return connection
                return await self._connect(loop, connect)
        except TimeoutError:
            raise AttemptTimeout(f"no complete response within {left:.3g} s") from None

    async def _connect(self, loop: asyncio.AbstractEventLoop, limit: float | None) -> _Connection:
        connection = _Connection(loop)
        self._open.add(connection)
        try:
            tls: Any = None
            if self._tls:
                if self._context is None:
                    self._context = default_ssl_context()
                tls = self._context
            opening = loop.create_connection(
                lambda: connection,
                self._host,
                self._port,
                ssl=tls,
                server_hostname=self._host if tls is not None else None,
            )
            try:
                async with asyncio.timeout(limit):
                    await opening
            except TimeoutError:
                raise AttemptTimeout(f"no connection within {limit:.3g} s") from None
        except BaseException:
            self._drop(connection)
            raise
        return connection

    def _checkin(self, connection: _Connection) -> None:
        self._idle.append(connection)
        self._wake()

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        if connection in self._open:
            self._open.discard(connection)
            self._wake()

    def _wake(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _forget(self, loop: asyncio.AbstractEventLoop) -> None:
        """Connections of another loop (a second `asyncio.run`) are left to it, unused."""
        for connection in self._open:
            connection.closed = True
            if self._loop is not None and not self._loop.is_closed():
                connection.close()
        self._open.clear()
        self._idle.clear()
        self._waiting.clear()
        self._loop = loop

    async def aclose(self) -> None:
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            self._forget(asyncio.get_running_loop())
            return
        # Attempts still running end now, and those waiting for a connection when woken;
        # the client may be used again later (connections are then made afresh).
        self._closings += 1
        for connection in list(self._open):
            connection.close(Disconnected("the client was closed during the attempt"))
        self._open.clear()
        self._idle.clear()
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
