"""TLS, proxy and cookie policy for every sender: one verifying context per CA setting, the
environment's proxy read one way, and no cookies kept or sent, whichever library carries the
request."""

from __future__ import annotations

import os
import ssl
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx


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


def env_proxies() -> bool:
    """Whether the environment names a proxy (httpx and aiohttp honour it: the SDK does too)."""
    import urllib.request

    return bool(urllib.request.getproxies())


def environment_proxy(
    scheme: str, host: str, port: int | None, *, socks: bool = False
) -> str | None:
    """The proxy URL HTTP_PROXY/HTTPS_PROXY (or else ALL_PROXY) names for an origin, unless
    NO_PROXY exempts it; as httpx reads them for a transport of its own.

    Only an http:// or https:// proxy is taken (with `socks`, a socks5:// or socks5h:// one
    too: httpx's own transport speaks it, with httpx[socks]): for any other this raises
    `httpx.ProxyError`, as no sender here speaks it and going direct would go around it.
    """
    if not env_proxies():
        return None
    import urllib.request

    proxies = urllib.request.getproxies()
    named = proxies.get(scheme) or proxies.get("all")
    # With its port too: NO_PROXY may name "host:port" (urllib matches either form).
    if not named or urllib.request.proxy_bypass(host if port is None else f"{host}:{port}"):
        return None
    url = named if "://" in named else f"http://{named}"
    proxy_scheme = url.partition("://")[0].lower()
    if proxy_scheme not in (_HTTP_AND_SOCKS if socks else _HTTP):
        raise httpx.ProxyError(
            f"the environment names a {proxy_scheme}:// proxy for {host}; the SDK's own "
            "senders take an http:// or https:// one (proxy=, or HTTP(S)_PROXY)"
        )
    return url


_HTTP = ("http", "https")
_HTTP_AND_SOCKS = (*_HTTP, "socks5", "socks5h")


def httpx_transport_proxy(base_url: str) -> dict[str, Any]:
    """The arguments of an `httpx.Client`/`AsyncClient` made on httpx's own transport (the
    async client's httpx backend; the client that builds requests for a user's
    `http_client=`): the proxy the environment names for `base_url`'s origin, read as the
    other senders read it, and `trust_env=False`. httpx's own reading builds every proxy
    the environment names when a client is made, whatever NO_PROXY says of the origin, and
    a SOCKS one needs httpx[socks]: one for another scheme, or one NO_PROXY exempts the
    provider from, made such a client fail. Raises `httpx.ProxyError` for a proxy of this
    origin it cannot take."""
    url = httpx.URL(base_url)
    named = environment_proxy(url.scheme, url.host, url.port, socks=True)
    if named is not None and named.lower().startswith("socks"):
        import importlib.util

        if importlib.util.find_spec("socksio") is None:
            raise httpx.ProxyError(
                f"the environment names a SOCKS proxy for {url.host} (ALL_PROXY or "
                f"{url.scheme.upper()}_PROXY), which httpx's transport takes only with its "
                "extra: pip install 'httpx[socks]', or name an http:// proxy"
            )
    return {"trust_env": False, "proxy": named}


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


def never_cookies(http: httpx.Client | httpx.AsyncClient) -> None:
    """Give `http` cookies that are never kept nor sent, backed by a jar that keeps none.

    httpx copies any `Cookies` given to it into a plain one, so the client's own attribute is
    replaced; where it is missing (another httpx version) the client keeps the jar alone.
    """
    jar = no_cookies()
    if hasattr(http, "_cookies"):
        setattr(http, "_cookies", _NoCookies(jar))  # noqa: B010 - httpx offers no public way
    else:
        http.cookies = jar
