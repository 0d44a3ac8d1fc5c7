"""Serving a sandbox: a uvicorn server on a real loopback socket in a background thread.

Also the ASGI edge: ``AsgiEndpoint`` hands Starlette's raw scope to the sandbox, and
``send_reply`` writes a ``Reply`` (or, for the ``reset`` fault, part of it, then drops it).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sms_status.testing._base import Reply

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["AsgiEndpoint", "ServerThread", "send_reply"]


class _Logging:
    """Silence uvicorn's one expected complaint: the ``reset`` fault's unfinished body."""

    installed = False

    @classmethod
    def install(cls) -> None:
        if cls.installed:
            return
        cls.installed = True

        def drop(record: logging.LogRecord) -> bool:
            return "without completing response" not in record.getMessage()

        logging.getLogger("uvicorn.error").addFilter(drop)


class ServerThread:
    """A sandbox's uvicorn server on its own socket and daemon thread."""

    def __init__(self, key: str) -> None:
        self._key = key
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, app: ASGIApp, host: str, port: int) -> str:
        """Serve ``app`` on ``host:port`` (0: any free port); returns once it accepts."""
        import uvicorn

        if self._server is not None:
            raise RuntimeError("already serving")
        _Logging.install()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on connections whose socket
        # says so, and without it Nagle + delayed ACK cost ~40 ms per keep-alive request.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((host, port))
            sock.listen(1024)
        except OSError:
            sock.close()
            raise
        bound_port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"sms-sandbox-{self._key}",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"the {self._key} sandbox failed to start")
            time.sleep(0.001)
        self._server, self._thread, self._sock = server, thread, sock
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        return f"http://{shown}:{bound_port}"

    def stop(self) -> None:
        """Stop serving (idempotent); waits up to 5 s, then forces the exit."""
        server, thread, sock = self._server, self._thread, self._sock
        if server is None or thread is None or sock is None:
            return
        server.should_exit = True
        thread.join(5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5)
        sock.close()
        self._server = self._thread = self._sock = None


class AsgiEndpoint:
    """An ASGI callable (not a function, so Starlette hands it the raw scope)."""

    def __init__(self, handler: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handler(scope, receive, send)


async def send_reply(send: Send, reply: Reply, *, reset: bool, reset_length: Any) -> None:
    body = reply.body
    declared = len(body)
    cut = declared
    if reset:
        if declared < 2:
            declared = len(body) + 64
            cut = len(body)
        else:
            cut = int(reset_length) if reset_length is not None else declared // 2
            cut = max(0, min(cut, declared - 1))
    headers: list[tuple[bytes, bytes]] = []
    if reply.content_type is not None:
        headers.append((b"content-type", reply.content_type.encode("latin-1")))
    headers.append((b"content-length", str(declared).encode()))
    headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers)
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    if reset:
        # Part of the declared body, then return without finishing: uvicorn closes the
        # connection, the client sees a short body (a protocol/read error).
        await send({"type": "http.response.body", "body": body[:cut], "more_body": True})
        return
    await send({"type": "http.response.body", "body": body, "more_body": False})
