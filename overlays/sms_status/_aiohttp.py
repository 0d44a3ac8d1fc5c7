"""The aiohttp transport (httpx-aiohttp), made to fail only as httpx transports do.

httpx-aiohttp maps the usual aiohttp errors to httpx's; these classes catch the rest (a
malformed status line, say) so that nothing but `httpx.TransportError` reaches the overlay.
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
