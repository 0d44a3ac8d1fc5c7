"""One HTTP/1.1 connection of the async client's direct sender (`asyncio_http`): an asyncio
protocol carrying one request at a time, its answer fed as it arrives to httptools' parser
(llhttp, as uvicorn uses) and from the parser's callbacks into the bounded body reader.

What it refuses: a head over `MAX_HEAD_BYTES` or `MAX_HEADERS` lines, a trailer or chunk
extension that never ends, a body over the cap, anything the parser refuses. Interim (1xx)
answers are skipped; a 101 is an answer after which the connection closes. It is reusable
only after a whole answer that allows it, with nothing after it (`reusable`), and only if
nothing arrived while it sat idle (`sound`: a stale reply is never read as an answer).
"""

from __future__ import annotations

import asyncio
import select
from typing import Any, cast

import httptools
from multidict import CIMultiDict

from sms_status._exchange import AttemptTimeout, BodyRejected, Reply
from sms_status._transport.body import BoundedBody, bounded_body, feed

MAX_HEAD_BYTES = 64 * 1024
"""The status line and headers of one answer (interim ones included), as http.client caps a
line: past it the answer is refused, so a server cannot fill memory with headers."""
MAX_HEADERS = 100
"""Header (and trailer) lines of one answer: http.client's limit."""


class UnparsableResponse(Exception):
    """The parser refused the answer. Its own reason only, never the bytes it refused (they
    may echo the key, cut where redaction would not find it)."""


class Disconnected(ConnectionError):
    """The connection ended before the whole answer: the server closed it, or the client
    was closed."""


class _Stop(Exception):
    """Raised in a parser callback to stop parsing (httptools raises its own error from it):
    the reason is already recorded."""


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, carrying one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.WriteTransport | None = None
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
        # (uvloop's transports have the methods without subclassing asyncio's classes)
        self.transport = cast("asyncio.WriteTransport", transport)
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
            self._failure = exc.with_traceback(None)  # its frames hold this connection
            raise _Stop from None

    def on_body(self, chunk: bytes) -> None:
        self._parsed = True
        body = self._body
        if body is not None:
            try:
                feed(body, chunk, self._status, self._headers or {})
            except BodyRejected as exc:
                self._failure = exc.with_traceback(None)  # its frames hold this connection
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
        transport = self.transport
        if self.closed or self._trailing or transport is None or transport.is_closing():
            return False  # (closing: its descriptor may already name another socket)
        poller = self._poller
        return poller is None or not poller.poll(0)

    def start(self, request: bytes, cap: int) -> asyncio.Future[Reply]:
        if self.transport is None or self.closed:
            raise Disconnected("the connection was closed before the request")
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
        body, self._body = self._body, None  # an idle connection in the pool keeps no reply
        assert body is not None
        assert self._headers is not None
        try:
            data = feed(body, None, self._status, self._headers)
        except BodyRejected as exc:
            waiter.set_exception(exc.with_traceback(None))  # its frames hold this connection
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
