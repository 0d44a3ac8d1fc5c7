"""A raw-socket HTTP server on loopback that misbehaves as each test scripts it.

Real servers (and the project's sandbox) speak HTTP properly; these tests need one that
trickles bytes, never answers, sends 200 MB, never ends a chunked body, sends a gzip bomb,
resets the connection, or echoes the key back. A script gets the accepted socket and the
request head and writes whatever bytes it likes. Scripts wait on `server.stopped`, never on
bare sleeps, so every connection ends when the test does.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from functools import cache

API_KEY = "sk_test_Hostile0SECRET0key0123456789"
MESSAGE_ID = "api_42_1743667200123456789_a3f8b2c1d9e45f67"
TELECOM23_DELIVERED = {
    "status": True,
    "message": {
        "message_id": MESSAGE_ID,
        "recipient": "+14155551234",
        "segments": 1,
        "status": "DELIVRD",
        "status_code": "000",
        "created_at": "2026-02-13T10:30:00Z",
        "delivered_at": "2026-02-13T10:30:04Z",
    },
}

Script = Callable[[socket.socket, bytes, "HostileServer"], None]


class HostileServer:
    """Accepts connections on 127.0.0.1 and runs `script` on each, in its own thread; over
    TLS with `tls`'s certificate, if given (`handshakes` counts those that succeeded)."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.tls = tls
        self.handshakes = 0
        self.stopped = threading.Event()
        self.requests: list[bytes] = []
        """The head of every request received, in arrival order."""
        self.request_seen = threading.Event()
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def connections_accepted(self) -> int:
        with self._lock:
            return len(self._connections)

    @property
    def base_url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections.append(connection)
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        if self.tls is not None:
            try:
                connection = self.tls.wrap_socket(connection, server_side=True)
            except (ssl.SSLError, OSError):  # the client refused the certificate
                connection.close()
                return
            with self._lock:
                self.handshakes += 1
        with connection:
            try:
                while True:  # keep-alive: one script run per request on this connection
                    head = read_head(connection)
                    if head is None:
                        return
                    with self._lock:
                        self.requests.append(head)
                    self.request_seen.set()
                    self.script(connection, head, self)
            except OSError:
                return  # the client gave up: that is what most tests want

    def send(self, connection: socket.socket, data: bytes) -> None:
        connection.sendall(data)
        with self._lock:
            self.bytes_sent += len(data)

    def close(self) -> None:
        self.stopped.set()
        with contextlib.suppress(OSError):  # wakes the thread blocked in accept() (Linux)
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        for thread in [self._acceptor, *self._threads]:
            thread.join(timeout=10)


def read_head(connection: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


def header_value(head: bytes, name: str) -> str:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            return value.strip().decode("latin-1")
    return ""


def response(status: int, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> bytes:
    return response(
        status, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})}
    )


def drip(interval: float, *, head_first: bool = True) -> Script:
    """One byte every `interval` seconds, forever: in the body, or in a header's value."""

    def script(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
        if head_first:
            server.send(connection, b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        else:
            server.send(connection, b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while not server.stopped.wait(interval):
            server.send(connection, b" " if head_first else b"a")

    return script


def drip_after(prefix: bytes, interval: float) -> Script:
    """`prefix`, then one byte ("a") every `interval` seconds, forever: where no body chunk
    is ever complete (a chunk line's extension, a trailer)."""

    def script(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
        server.send(connection, prefix)
        while not server.stopped.wait(interval):
            server.send(connection, b"a")

    return script


CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def silent(_connection: socket.socket, _head: bytes, server: HostileServer) -> None:
    server.stopped.wait()


def huge(size: int) -> Script:
    """A `size`-byte body generated on the fly (never held in memory here either)."""

    def script(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
        server.send(connection, f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
        block = b" " * 65536
        left = size
        while left > 0 and not server.stopped.is_set():
            server.send(connection, block[: min(left, len(block))])
            left -= len(block)

    return script


def endless_chunked(
    connection: socket.socket, _head: bytes, server: HostileServer, *, declared: bytes = b""
) -> None:
    server.send(connection, b"HTTP/1.1 200 OK\r\n%sTransfer-Encoding: chunked\r\n\r\n" % declared)
    chunk = b"%x\r\n%s\r\n" % (65536, b"[" * 65536)
    while not server.stopped.is_set():
        server.send(connection, chunk)


def endless_chunked_declared_small(
    connection: socket.socket, head: bytes, server: HostileServer
) -> None:
    """Endless chunks behind a small Content-Length: a reader trusting the length is fooled."""
    endless_chunked(connection, head, server, declared=b"Content-Length: 2\r\n")


@cache
def gzip_bomb(inflated_mib: int = 128) -> bytes:
    """`inflated_mib` MiB of zeros, gzipped (128 MiB -> about 0.6 MB)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(inflated_mib)]
    return b"".join([*parts, compressor.flush()])


@cache
def zero_output_bomb(inner_gib: int = 4) -> bytes:
    """Gzip, twice, of a gzip header whose comment never ends (`inner_gib` GiB of it): the
    innermost coding inflates to nothing, so no body cap ever fills. A few KB on the wire.
    Each MiB of the middle layer is compressed once, and flushed whole, so the same bytes
    serve for all of them."""
    block = b"a" * (1 << 20)
    middle = zlib.compressobj(9, zlib.DEFLATED, 31)
    header = b"\x1f\x8b\x08\x10\x00\x00\x00\x00\x00\xff"  # gzip, FLG.FCOMMENT
    first = middle.compress(header + block) + middle.flush(zlib.Z_FULL_FLUSH)
    again = middle.compress(block) + middle.flush(zlib.Z_FULL_FLUSH)
    outer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [outer.compress(first), *(outer.compress(again) for _ in range(inner_gib * 1024))]
    return b"".join([*parts, outer.flush(zlib.Z_SYNC_FLUSH)])


def bomb(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
    body = gzip_bomb()
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    server.send(connection, response(200, body, headers))


def reset(connection: socket.socket, _head: bytes, _server: HostileServer) -> None:
    """Close with RST instead of FIN (SO_LINGER 0)."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def raw(data: bytes) -> Script:
    """Send `data` as the whole answer, then close."""

    def script(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
        server.send(connection, data)
        connection.shutdown(socket.SHUT_WR)

    return script


def sequence(*scripts: Script) -> Script:
    """The n-th request gets the n-th script (the last repeats)."""
    turn: Iterator[int] = iter(range(1_000_000))

    def script(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        scripts[min(next(turn), len(scripts) - 1)](connection, head, server)

    return script
