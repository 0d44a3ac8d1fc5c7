"""Which transport the async client sends over.

With `sms-status[fast]` installed, the async client sends over aiohttp: `client.api`'s httpx
client on httpx-aiohttp's transport, and the overlay's own attempts on aiohttp directly,
skipping httpx's client layers (`_aiohttp.AiohttpSender`; benchmarks/, section 6). The
request is built as httpx would, and the body read through the same bounded reader under the
same whole-attempt deadline (`_attempt`): timeouts, the response cap, retries and the errors
users see are the overlay's and work the same on both.

An explicit `transport=` always wins; `http_backend="httpx"` or the environment variable
`SMS_STATUS_HTTP_BACKEND=httpx` keep httpx's own transport.
"""

from __future__ import annotations

import importlib.util
import os
import ssl
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Literal

import httpx

if TYPE_CHECKING:
    from sms_status._aiohttp import AiohttpSender

HttpBackend = Literal["aiohttp", "httpx"]
BACKENDS: tuple[HttpBackend, ...] = ("aiohttp", "httpx")
ENVIRONMENT_VARIABLE = "SMS_STATUS_HTTP_BACKEND"


def aiohttp_available() -> bool:
    return importlib.util.find_spec("httpx_aiohttp") is not None


def chosen_backend(option: str | None) -> HttpBackend:
    """The backend named by the option, else by the environment, else the fastest installed."""
    named = option if option is not None else os.environ.get(ENVIRONMENT_VARIABLE) or None
    if named is None:
        return "aiohttp" if aiohttp_available() else "httpx"
    if named not in BACKENDS:
        where = "http_backend" if option is not None else ENVIRONMENT_VARIABLE
        raise ValueError(f"{where} must be 'aiohttp' or 'httpx', got {named!r}")
    if named == "aiohttp" and not aiohttp_available():
        raise ImportError("the aiohttp backend needs httpx-aiohttp: pip install 'sms-status[fast]'")
    return "aiohttp" if named == "aiohttp" else "httpx"


def async_transport(option: str | None) -> httpx.AsyncBaseTransport | None:
    """A transport for the async client, or None for httpx's own (see the module doc)."""
    if chosen_backend(option) == "httpx":
        return None
    return _aiohttp_transport()


def _aiohttp_transport() -> httpx.AsyncBaseTransport:
    from sms_status._aiohttp import GuardedAiohttpTransport  # aiohttp loads only when used

    return GuardedAiohttpTransport()


def default_ssl_context(socket_class: type[ssl.SSLSocket] = ssl.SSLSocket) -> ssl.SSLContext:
    """The verifying context httpx would build (certifi's CAs, or SSL_CERT_FILE/SSL_CERT_DIR),
    built once per CA setting and socket class: loading the CAs costs ~20 ms, more than 100
    requests' CPU, and every client would pay it again."""
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"), socket_class)
    context = _ssl_contexts.get(key)
    if context is None:
        context = httpx.create_ssl_context()  # reads the same two variables
        context.sslsocket_class = socket_class
        context = _ssl_contexts.setdefault(key, context)  # two threads at once: one wins
    return context


_ssl_contexts: dict[tuple[str | None, str | None, type[ssl.SSLSocket]], ssl.SSLContext] = {}


def async_sender(http: httpx.AsyncClient, connections: int) -> AiohttpSender:
    """What sends the overlay's own attempts when `client.api` runs on the aiohttp transport:
    aiohttp directly, without httpx's client layers (see `_aiohttp.AiohttpSender`)."""
    from sms_status._aiohttp import AiohttpSender

    return AiohttpSender(connections=connections, base_url=http.base_url, headers=http.headers)


class _NoCookies(httpx.Cookies):
    """Cookies never read from a response nor sent with a request.

    httpx parses every response's headers for cookies through `http.cookiejar` (a urllib
    request and an email message built per response): about a tenth of a sync call's CPU
    (benchmarks/, section 6b), for cookies the SDK refuses to keep anyway.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


def no_cookies() -> CookieJar:
    """A jar that keeps nothing: a server's cookies are never stored nor sent back.

    (A `CookieJar`, not `httpx.Cookies`: httpx copies the latter into a default jar.)
    """
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def never_cookies(http: httpx.Client | httpx.AsyncClient, jar: CookieJar) -> None:
    """Give `http` cookies that are never kept nor sent, backed by `jar` (one that keeps none).

    httpx copies any `Cookies` given to it into a plain one, so the client's own attribute is
    replaced; where it is missing (another httpx version) the client keeps `jar` alone.
    """
    if hasattr(http, "_cookies"):
        setattr(http, "_cookies", _NoCookies(jar))  # noqa: B010 - httpx offers no public way
    else:
        http.cookies = jar
