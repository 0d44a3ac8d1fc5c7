"""The sync client's attempts sent on `http.client` directly, without httpx's client layers.

httpx's Client wraps each request in URL parsing, auth, redirect, cookie, logging and
stream layers that cost about as much CPU as the rest of a call (benchmarks/, section 6b).
Here a plain GET goes straight to a pooled `http.client` connection with the client's
headers; any other request (a signed one, say) is built by httpx as before and only sent
here. The bounds are the same as on httpx's transport (`httpx.py`):

- every connect, TLS handshake, send and receive on the socket is cut to the time left in
  the attempt (`_DeadlineSocket`, `_DeadlineSSLSocket`), so a server that drips the status
  line, headers or body one byte at a time still ends the attempt at its deadline;
- the raw body is read through `BoundedBody` (the cap applies after gzip/deflate);
- no cookies are kept or sent, no redirect is followed.

Connections are kept alive in a pool shared by threads (a connection is used by one thread
at a time). Only `AttemptTimeout`, `BodyRejected` and `OSError`/`http.client.HTTPException`
leave `send` — what `_request.request_with_retries` turns into `SmsStatusError`s.
"""

from __future__ import annotations

import http.client
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import httpx

from sms_status._exchange import AttemptTimeout, Reply
from sms_status._transport.base import Origin, plain_get_target, readable
from sms_status._transport.body import ACCEPT_ENCODING, bounded_body, feed
from sms_status._transport.tls import default_ssl_context

log = logging.getLogger("sms_status")

_CHUNK = 64 * 1024
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")  # tab allowed (RFC 9110, 5.5)
_FOLD = re.compile("\r\n[ \t]+")
_UNSENT = (ConnectionResetError, BrokenPipeError)
"""What sending on a kept-alive connection the server has closed meanwhile raises: the
request never left, so it is sent on a fresh one. Once it is sent, a failure (even a reset
before any byte of an answer: the server may have read it, then aborted) is the attempt's,
for the retry policy to repeat."""


class _Deadline:
    """The deadline of the attempt a socket currently serves (monotonic seconds)."""

    def __init__(self) -> None:
        self.at = float("inf")
        self.phase: float | None = None

    def left(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise AttemptTimeout("the attempt's deadline has passed")
        return left if self.phase is None else min(left, self.phase)


class _DeadlineSocket(socket.socket):
    """A socket whose every receive and send waits at most the attempt's time left."""

    deadline: _Deadline

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self.settimeout(self.deadline.left())
        return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.settimeout(self.deadline.left())
        super().sendall(data, flags)


class _DeadlineSSLSocket(ssl.SSLSocket):
    """The TLS twin of `_DeadlineSocket` (made by the context: `sslsocket_class`)."""

    deadline: _Deadline

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        self.settimeout(self.deadline.left())
        return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.settimeout(self.deadline.left())
        super().sendall(data, flags)


def _open_socket(host: str, port: int, deadline: _Deadline, connect: float | None) -> socket.socket:
    limit = deadline.left() if connect is None else min(connect, deadline.left())
    plain = socket.create_connection((host, port), timeout=limit)
    plain.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock = _DeadlineSocket(plain.family, plain.type, plain.proto, fileno=plain.detach())
    sock.deadline = deadline
    return sock


class _Response(http.client.HTTPResponse):
    """`http.client`'s response, skipping every interim (1xx) response before the answer, not
    only 100 Continue: taken for the answer, a 103 Early Hints left the real one on the
    connection, to be read as the next request's. (A 101 is returned: the sender closes
    the connection after it.)"""

    def _read_status(self) -> tuple[str, int, str]:
        while True:
            read = cast("Callable[[], tuple[str, int, str]]", super()._read_status)  # type: ignore[misc]
            version, status, reason = read()
            if not 100 < status < 200 or status == 101:
                return version, status, reason
            http.client.parse_headers(self.fp)  # its headers, skipped (at most 100 of them)


class _Connection(http.client.HTTPConnection):
    response_class = _Response

    def __init__(self, host: str, port: int, connect: float | None) -> None:
        super().__init__(host, port)
        self.deadline = _Deadline()
        self._connect_limit = connect

    def connect(self) -> None:
        self.sock = _open_socket(self.host, self.port, self.deadline, self._connect_limit)


class _TLSConnection(http.client.HTTPSConnection):
    response_class = _Response

    def __init__(
        self, host: str, port: int, connect: float | None, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, context=context)
        self.deadline = _Deadline()
        self._connect_limit = connect
        self._tls = context

    def connect(self) -> None:
        plain = _open_socket(self.host, self.port, self.deadline, self._connect_limit)
        plain.settimeout(self.deadline.left())  # the handshake, too, ends by the deadline
        sock = self._tls.wrap_socket(plain, server_hostname=self.host)
        assert isinstance(sock, _DeadlineSSLSocket)
        sock.deadline = self.deadline
        self.sock = sock


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle kept-alive connection was closed by the server (or sent junk)."""
    sock = connection.sock
    return sock is None or readable(sock)


def _put(
    connection: http.client.HTTPConnection,
    deadline_at: float,
    phases: httpx.Timeout,
    method: str,
    target: str,
    headers: dict[str, str],
    content: bytes | None,
) -> None:
    """Send the request on `connection`, within the attempt's deadline."""
    deadline: _Deadline = connection.deadline  # type: ignore[attr-defined]
    deadline.at = deadline_at
    deadline.phase = phases.write
    connection.request(method, target, body=content, headers=headers)


def _begin(connection: http.client.HTTPConnection, phases: httpx.Timeout) -> _Response:
    """The answer to the request `_put` sent, its status line and headers read."""
    deadline: _Deadline = connection.deadline  # type: ignore[attr-defined]
    deadline.phase = phases.read
    response = connection.getresponse()
    assert isinstance(response, _Response)
    return response


class HttpClientSender:
    """Sends the sync client's attempts over a pool of `http.client` connections."""

    def __init__(self, *, base_url: httpx.URL, headers: httpx.Headers, max_idle: int = 20) -> None:
        self._origin = Origin.of(base_url)
        plain = httpx.Headers(headers)
        plain["Accept-Encoding"] = ACCEPT_ENCODING
        self._headers = dict(plain.multi_items())
        self._context: ssl.SSLContext | None = None
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._max_idle = max_idle
        self._closed = False

    def plain_target(self, request: Mapping[str, Any]) -> str | None:
        """The request target of a plain GET (path joined to the base, query encoded as
        httpx does), or None for a request that httpx must build."""
        return plain_get_target(request, self._origin.prefix)

    def accepts(self, request: httpx.Request) -> bool:
        """Only requests for this client's own origin: its connections go there."""
        return (request.url.scheme, request.url.netloc) == self._origin.key

    def send_plain(self, target: str, *, left: float, cap: int, phases: httpx.Timeout) -> Reply:
        return self._send("GET", target, self._headers, None, left, cap, phases)

    def send(
        self, request: httpx.Request, *, left: float, cap: int, phases: httpx.Timeout
    ) -> Reply:
        """Send a request httpx built (for this client's base URL: same host and scheme)."""
        headers = dict(request.headers.multi_items())
        target = request.url.raw_path.decode("ascii")
        return self._send(
            request.method, target, headers, request.content or None, left, cap, phases
        )

    def _new_connection(self, connect: float | None) -> http.client.HTTPConnection:
        origin = self._origin
        if not origin.tls:
            return _Connection(origin.host, origin.port, connect)
        if self._context is None:
            self._context = default_ssl_context(_DeadlineSSLSocket)
        return _TLSConnection(origin.host, origin.port, connect, self._context)

    def _checkout(self, connect: float | None) -> tuple[http.client.HTTPConnection, bool]:
        """A kept-alive connection (and True) if one is idle and sound, else a new one."""
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self._new_connection(connect), False
            if not _dropped(connection):
                return connection, True
            connection.close()

    def _checkin(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(connection)
                return
        connection.close()

    def _send(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        content: bytes | None,
        left: float,
        cap: int,
        phases: httpx.Timeout,
    ) -> Reply:
        deadline_at = time.monotonic() + left
        connection, reused = self._checkout(phases.connect)
        try:
            try:
                _put(connection, deadline_at, phases, method, target, headers, content)
            except _UNSENT:
                if not reused:
                    raise
                # The server closed it while idle and the request could not be sent: on a
                # fresh one. (Sent, a failure is the attempt's, for the retry policy to
                # repeat with its backoff, on_retry, limiter slot and a new signature.)
                connection.close()
                connection = self._new_connection(phases.connect)
                _put(connection, deadline_at, phases, method, target, headers, content)
            response = _begin(connection, phases)
            reply = self._answer(response, method, target, cap)
        except (TimeoutError, AttemptTimeout):  # a socket's timeout, or `_Deadline.left()`
            connection.close()
            if time.monotonic() >= deadline_at - 0.001:  # one message, whichever noticed
                raise AttemptTimeout(f"no complete response within {left:.3g} s") from None
            raise
        except BaseException:
            connection.close()
            raise
        if connection.sock is None or reply.status_code < 200:  # Connection: close, or a 101
            connection.close()
        else:
            self._checkin(connection)
        return reply

    def _answer(
        self, response: http.client.HTTPResponse, method: str, target: str, cap: int
    ) -> Reply:
        """The answer `_begin` began reading, its body read whole."""
        if log.isEnabledFor(logging.INFO):  # the line httpx logs, so --debug reads the same
            log.info(
                'HTTP Request: %s %s%s "HTTP/1.1 %d %s"',
                method,
                self._origin,
                target,
                response.status,
                response.reason,
            )
        # http.client reads header bytes as Latin-1: so must httpx, or any other byte fails
        pairs = response.getheaders()
        if _CONTROL.search("".join(value for _, value in pairs)):  # h11 and httptools refuse
            # A folded line (obs-fold, CRLF then a space) is read as one, as h11 reads it.
            pairs = [(name, _FOLD.sub(" ", value)) for name, value in pairs]
            if _CONTROL.search("".join(value for _, value in pairs)):
                raise http.client.HTTPException("a control character in a response header")
        reply_headers = httpx.Headers(pairs, encoding="latin-1")
        body = bounded_body(response.status, reply_headers, cap)
        while True:
            chunk = response.read1(_CHUNK)
            if not chunk:
                break
            feed(body, chunk, response.status, reply_headers)
        if response.length:  # read1, unlike read, takes an early close for the end
            raise http.client.IncompleteRead(b"", response.length)
        data = feed(body, None, response.status, reply_headers)
        assert data is not None
        response.close()
        return Reply(response.status, reply_headers, data)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
