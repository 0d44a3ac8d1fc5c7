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
- the head and any trailer are capped, the body by the client's cap, interim answers
  skipped, stale replies never read as answers (`asyncio_connection`, one connection);
- at most `connections` connections, handed to the attempts waiting for one in turn.

Only `AttemptTimeout`, `BodyRejected`, `OSError`s (`Disconnected` among them),
`UnparsableResponse` and httpx's `LocalProtocolError` (a header it cannot write) leave
`send`: the flow turns each into an `SmsStatusError`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from sms_status._exchange import AttemptTimeout, Reply
from sms_status._transport.asyncio_connection import Connection, Disconnected
from sms_status._transport.base import Origin, plain_get_target
from sms_status._transport.body import ACCEPT_ENCODING
from sms_status._transport.tls import default_ssl_context

log = logging.getLogger("sms_status")

_UNSAFE = frozenset(b"\r\n\0")


def _safe(*pieces: bytes) -> bool:
    return not any(_UNSAFE.intersection(piece) for piece in pieces)


class AsyncioSender:
    """Sends the async client's attempts over a pool of `Connection`s to its origin."""

    def __init__(self, *, connections: int, base_url: httpx.URL, headers: httpx.Headers) -> None:
        self._origin = origin = Origin.of(base_url)
        url = origin.url
        plain = httpx.Headers(headers)
        plain["Accept-Encoding"] = ACCEPT_ENCODING
        pairs = [(b"Host", url.netloc), *((n, v) for n, v in plain.raw if n.lower() != b"host")]
        self._head_tail = b"".join(b"\r\n" + n + b": " + v for n, v in pairs) + b"\r\n\r\n"
        # Not for a base URL with credentials (aiohttp sends them, as httpx would), nor for
        # headers that cannot go on the wire as they are.
        self.usable = not url.userinfo and _safe(*(piece for pair in pairs for piece in pair))
        self._limit = connections
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[Connection] = []
        self._open: set[Connection] = set()
        self._waiting: collections.deque[asyncio.Future[Connection | None]] = collections.deque()
        self._context: Any = None
        self._closings = 0  # aclose() calls so far
        self._connecting: set[asyncio.Future[Any]] = set()

    def plain_target(self, request: Mapping[str, Any]) -> str | None:
        """The request target of a plain GET, or None for one httpx must build (or quote)."""
        target = plain_get_target(request, self._origin.prefix)
        if target is None or not target.isascii() or not target.isprintable() or " " in target:
            return None
        return target

    def accepts(self, request: httpx.Request) -> bool:
        """Only requests for this client's own origin: its connections go there."""
        return (request.url.scheme, request.url.netloc) == self._origin.key

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
        timer = loop.call_at(deadline, connection.expire, left)
        try:
            waiter = connection.start(request, cap)
            read = phases.read
            if read is not None and read < left:
                connection.limit_reads(read)
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
            log.info(
                'HTTP Request: %s %s%s "HTTP/1.1 %d"',
                method,
                self._origin,
                target,
                reply.status_code,
            )
        return reply

    def _idle_one(self) -> Connection | None:
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
    ) -> Connection:
        """A connection freed for this attempt, or a new one, within its deadline."""
        closings = self._closings
        within = asyncio.timeout_at(deadline)
        try:
            async with within:
                while len(self._open) >= self._limit:
                    # Handed a connection (or told of a free place: None) in turn, so an
                    # attempt never waits behind later ones (`_checkin`).
                    waiter: asyncio.Future[Connection | None] = loop.create_future()
                    self._waiting.append(waiter)
                    try:
                        handed = await waiter
                    except BaseException:  # cancelled, or out of time
                        if waiter.done() and not waiter.cancelled():
                            self._pass_on(waiter.result())  # woken as it left
                        else:
                            with contextlib.suppress(ValueError):
                                self._waiting.remove(waiter)
                        raise
                    if self._closings != closings:
                        raise Disconnected("the client was closed while the attempt waited")
                    if handed is not None:
                        if handed.sound():
                            return handed
                        self._drop(handed)  # written to meanwhile: its place is free
                return await self._connect(loop, connect, closings)
        except TimeoutError:
            if within.expired():
                raise AttemptTimeout(f"no complete response within {left:.3g} s") from None
            raise  # the system's own (a connect timed out): said as it is

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, limit: float | None, closings: int
    ) -> Connection:
        connection = Connection(loop)
        self._open.add(connection)
        try:
            tls: Any = None
            origin = self._origin
            if origin.tls:
                if self._context is None:
                    self._context = default_ssl_context()
                tls = self._context
            # A task of its own, which aclose() cancels (a handshake may stall for long).
            opening = asyncio.ensure_future(
                loop.create_connection(
                    lambda: connection,
                    origin.host,
                    origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls is not None else None,
                )
            )
            self._connecting.add(opening)
            connecting = asyncio.timeout(limit)
            try:
                async with connecting:
                    await opening
            except TimeoutError:
                if limit is None or not connecting.expired():
                    raise  # the system's own, or the attempt's deadline (`_new_or_freed`)
                raise AttemptTimeout(f"no connection within {limit:.3g} s") from None
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if self._closings == closings or (task is not None and task.cancelling()):
                    raise  # this attempt's own cancellation (a timeout's too)
            finally:
                self._connecting.discard(opening)
            if self._closings != closings:
                raise Disconnected("the client was closed while the attempt connected")
        except BaseException:
            self._drop(connection)
            raise
        return connection

    def _checkin(self, connection: Connection) -> None:
        """A connection free again: to the attempt that waited longest, else to the pool
        (none once closed: an attempt then, a retry of one aclose() ended, say, opens a
        connection of its own, closed after it, so nothing is left open)."""
        if self._closings:
            self._drop(connection)
            return
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    def _pass_on(self, handed: Connection | None) -> None:
        """What a waiter was handed as it left (cancelled): to the next one."""
        if handed is None:
            self._wake()
        else:
            self._checkin(handed)

    def _drop(self, connection: Connection) -> None:
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
        # the client still sends if used again, but keeps no connection (`_checkin`).
        self._closings += 1
        for opening in list(self._connecting):
            opening.cancel()
        for connection in list(self._open):
            connection.close(Disconnected("the client was closed during the attempt"))
        self._open.clear()
        self._idle.clear()
        while self._waiting:
            self._wake()
