"""What every sender is: one protocol, a sync and an async twin, whatever library sends.

A driver (`sms_status._drivers`) asks a sender for the target of a plain GET (one it can
send without httpx building a request), sends that or an `httpx.Request` built and signed
as usual, and gets back a `Reply` — or `AttemptTimeout`, `BodyRejected`, or the library's
own transport error, which the flow turns into an `SmsStatusError`. Every sender reads the
body through `body.BoundedBody` within the attempt's time left.
"""

from __future__ import annotations

import contextvars
import select
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

import httpx

from sms_status._exchange import Reply

ATTEMPT_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "sms_status_attempt_deadline", default=None
)
"""The sync attempt's deadline (a `time.monotonic()` value), set around one attempt sent
through httpx (`httpx.py`), read by its sockets (`deadline_sockets.py`)."""


def readable(sock: Any) -> bool:
    """Whether an idle kept-alive connection's socket has bytes (or an end) waiting: the
    server closed it, or wrote to it between requests (a late or stale reply), so it must
    not carry the next request, whose answer those bytes would be read as. Any object with
    `fileno()` (a socket, an event loop transport's socket)."""
    try:
        if hasattr(select, "poll"):  # select.select refuses descriptors past 1023
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class Origin(NamedTuple):
    """Where a direct sender (`httpclient`, `asyncio_http`) connects, from the base URL."""

    url: httpx.URL
    """The base URL, its path ending with "/"."""
    tls: bool
    host: str
    """The name as httpx encoded it (IDNA 2008), as the Host header says: `url.host` is
    decoded, and the standard library would encode it by IDNA 2003 (faß.de -> fass.de,
    another domain)."""
    port: int
    key: tuple[str, bytes]
    """(scheme, netloc): what a request for this origin has (`Sender.accepts`)."""
    prefix: str
    """The base URL's path, which every target starts with; ends with "/"."""

    @classmethod
    def of(cls, base_url: httpx.URL) -> Origin:
        base = str(base_url)  # as httpx normalised it
        url = httpx.URL(base if base.endswith("/") else base + "/")
        tls = url.scheme == "https"
        return cls(
            url=url,
            tls=tls,
            host=url.raw_host.decode("ascii"),
            port=url.port or (443 if tls else 80),
            key=(base_url.scheme, base_url.netloc),
            prefix=url.raw_path.decode("ascii"),
        )

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"


class Sender(Protocol):
    """Sends the sync client's attempts."""

    def plain_target(self, request: Mapping[str, Any]) -> str | None:
        """What `send_plain` takes for a plain GET, or None: httpx must build this one."""
        ...

    def accepts(self, request: httpx.Request) -> bool:
        """Whether this sender can send `request` (e.g. it is for its own origin)."""
        ...

    def send_plain(self, target: str, *, left: float, cap: int, phases: httpx.Timeout) -> Reply: ...

    def send(
        self, request: httpx.Request, *, left: float, cap: int, phases: httpx.Timeout
    ) -> Reply: ...

    def close(self) -> None:
        """Close the connections this sender made (not a client it was handed)."""
        ...


class AsyncSender(Protocol):
    """Sends the async client's attempts (the same protocol, awaited)."""

    def plain_target(self, request: Mapping[str, Any]) -> str | None: ...

    def accepts(self, request: httpx.Request) -> bool: ...

    async def send_plain(
        self, target: str, *, left: float, cap: int, phases: httpx.Timeout
    ) -> Reply: ...

    async def send(
        self, request: httpx.Request, *, left: float, cap: int, phases: httpx.Timeout
    ) -> Reply: ...

    async def aclose(self) -> None: ...


_PLAIN_KEYS = frozenset({"method", "url", "params"})


def plain_get_target(request: Mapping[str, Any], prefix: str) -> str | None:
    """`prefix` + the path and query of a plain GET (query encoded as httpx does), or None for
    a request that httpx must build. The fast senders send plain GETs without httpx."""
    path = request.get("url")
    if (
        request.get("method", "").lower() != "get"
        or not isinstance(path, str)
        or not path.startswith("/")
        or not _PLAIN_KEYS.issuperset(request)
    ):
        return None
    params = request.get("params")
    query = f"?{httpx.QueryParams(params)}" if params else ""
    return f"{prefix}{path[1:]}{query}"
