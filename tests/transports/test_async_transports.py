"""The async client's transport: aiohttp when `sms-status[fast]` is installed, httpx on request,
an explicit transport over both; and on either, a broken server is a TransportError."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import sms_status
from sms_status._aiohttp import GuardedAiohttpTransport
from sms_status.errors import TransportError

API_KEY = "sk_test_transport_key_0123456789"
StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _transport_of(client: sms_status.AsyncStatusClient) -> httpx.AsyncBaseTransport:
    return client.api.get_async_httpx_client()._transport


def test_aiohttp_is_the_default_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMS_STATUS_HTTP_BACKEND", raising=False)
    client = sms_status.connect_async("telecom23", api_key=API_KEY)
    assert isinstance(_transport_of(client), GuardedAiohttpTransport)


def test_the_environment_can_keep_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_STATUS_HTTP_BACKEND", "httpx")
    client = sms_status.connect_async("telecom23", api_key=API_KEY)
    assert isinstance(_transport_of(client), httpx.AsyncHTTPTransport)


def test_the_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_STATUS_HTTP_BACKEND", "httpx")
    client = sms_status.connect_async("telecom23", api_key=API_KEY, http_backend="aiohttp")
    assert isinstance(_transport_of(client), GuardedAiohttpTransport)


def test_an_explicit_transport_wins_over_everything() -> None:
    mock = httpx.MockTransport(lambda request: httpx.Response(200))
    client = sms_status.connect_async(
        "telecom23", api_key=API_KEY, transport=mock, http_backend="aiohttp"
    )
    assert _transport_of(client) is mock


@pytest.mark.parametrize("where", ["option", "environment"])
def test_an_unknown_backend_is_refused(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    options: dict[str, str] = {}
    if where == "option":
        options["http_backend"] = "curl"
    else:
        monkeypatch.setenv("SMS_STATUS_HTTP_BACKEND", "curl")
    with pytest.raises(ValueError, match="'aiohttp' or 'httpx'"):
        sms_status.connect_async("telecom23", api_key=API_KEY, **options)  # type: ignore[arg-type]


async def _garbage_status_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 two-hundred OK\r\nContent-Length: 2\r\n\r\n{}")
    await writer.drain()
    writer.close()


async def _truncated_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"id'
    )
    await writer.drain()
    writer.close()


async def _closed_without_answer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.close()


async def _serve(handler: StreamHandler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
@pytest.mark.parametrize("handler", [_garbage_status_line, _truncated_body, _closed_without_answer])
def test_a_broken_server_is_a_transport_error_on_both_backends(
    backend: str, handler: StreamHandler
) -> None:
    async def look_up() -> None:
        async for base_url in _serve(handler):
            async with sms_status.connect_async(
                "telecom23",
                api_key=API_KEY,
                base_url=base_url,
                max_retries=0,
                http_backend=backend,  # type: ignore[typeddict-item]
            ) as client:
                await client.get_status("msg-1")

    with pytest.raises(TransportError) as caught:
        asyncio.run(look_up())
    assert API_KEY not in str(caught.value)
