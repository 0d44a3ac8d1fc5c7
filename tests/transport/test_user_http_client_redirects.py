"""A user's own httpx client (`http_client=`) may follow redirects; the SDK's requests never do.

httpx drops `Authorization` on a redirect to another host, but not a provider's own key
header (`X-API-Key`, namirial's `app-key`): a 302 from the configured origin would carry the
key to wherever it points. Every built-in sender treats a 3xx as a ServerError; so must a
request sent on the user's client."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import sms_status
from sms_status.errors import ServerError

KEY = "sk_live_redirect_canary"


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str]
    location: str | None = None

    def do_GET(self) -> None:
        self.seen.append(self.path)
        if self.location is not None:  # the configured origin: sends the request elsewhere
            self.send_response(302)
            self.send_header("Location", self.location + self.path)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _serve(seen: list[str], location: str | None) -> ThreadingHTTPServer:
    handler = type("Handler", (_Recorder,), {"seen": seen, "location": location})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def origin_redirecting_elsewhere() -> Iterator[tuple[str, list[str], list[str]]]:
    """(the configured base URL, paths it was asked, paths the other host was asked)."""
    at_origin: list[str] = []
    elsewhere: list[str] = []
    other = _serve(elsewhere, None)
    # "localhost": another host than the configured 127.0.0.1, as httpx compares them.
    origin = _serve(at_origin, f"http://localhost:{other.server_port}")
    try:
        yield f"http://127.0.0.1:{origin.server_port}", at_origin, elsewhere
    finally:
        for server in (origin, other):
            server.shutdown()
            server.server_close()


@pytest.mark.parametrize("provider", ["telecom23", "namirial"])
def test_a_sync_lookup_on_a_users_redirecting_client_is_not_sent_on(
    origin_redirecting_elsewhere: tuple[str, list[str], list[str]], provider: str
) -> None:
    base_url, at_origin, elsewhere = origin_redirecting_elsewhere
    with httpx.Client(follow_redirects=True) as http_client:
        client = sms_status.connect(
            provider, api_key=KEY, base_url=base_url, http_client=http_client, max_retries=0
        )
        with client, pytest.raises(ServerError) as raised:
            client.get_status("m-1")
    assert raised.value.status_code == 302
    assert at_origin
    assert elsewhere == []  # neither the request nor its key went there


def test_an_async_history_walk_on_a_users_redirecting_client_is_not_sent_on(
    origin_redirecting_elsewhere: tuple[str, list[str], list[str]],
) -> None:
    base_url, at_origin, elsewhere = origin_redirecting_elsewhere

    async def walk() -> None:
        async with httpx.AsyncClient(follow_redirects=True) as http_client:
            client = sms_status.connect_async(
                "namirial", api_key=KEY, base_url=base_url, http_client=http_client, max_retries=0
            )
            async with client:
                async for _report in client.iter_history_by_phone("+14155551234"):
                    pass

    with pytest.raises(ServerError) as raised:
        asyncio.run(walk())
    assert raised.value.status_code == 302
    assert at_origin
    assert elsewhere == []
