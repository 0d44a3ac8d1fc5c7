"""The aiohttp transport (httpx-aiohttp), made to fail only as httpx transports do.

httpx-aiohttp maps the usual aiohttp errors to httpx's; these classes catch the rest (a
malformed status line, say) so that nothing but `httpx.TransportError` reaches the overlay.
Its `ClientSession` keeps a cookie jar of its own, below httpx's (which the client empties):
here it keeps nothing, so a server's cookies are never sent back on either transport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

_UNMAPPED = (aiohttp.ClientError, TimeoutError)


def _read_error(exc: BaseException) -> httpx.ReadError:
    return httpx.ReadError(f"{type(exc).__name__}: {exc}")


class _GuardedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.HTTPError:
            raise
        except _UNMAPPED as exc:
            raise _read_error(exc) from exc

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except httpx.HTTPError:
            raise
        except _UNMAPPED as exc:
            raise _read_error(exc) from exc


class GuardedAiohttpTransport(AiohttpTransport):
    def get_client(self) -> aiohttp.ClientSession:
        """httpx-aiohttp's session, with a jar that keeps nothing (aiohttp's default jar
        refuses cookies from IP addresses only: a test on 127.0.0.1 would not see this)."""
        if self.client is not None:
            return super().get_client()  # one the caller passed in: theirs to configure
        limit = self.limits.max_connections
        connector = aiohttp.TCPConnector(
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
            local_addr=(self.local_address, 0) if self.local_address else None,
            limit=100 if limit is None else limit,  # aiohttp's default, as httpx-aiohttp has it
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx.HTTPError:
            raise
        except _UNMAPPED as exc:
            raise httpx.TransportError(f"{type(exc).__name__}: {exc}") from exc
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _GuardedStream(response.stream)
        return response
