"""Clients wired to the sandbox fixtures (real loopback HTTP, the sandbox's fake clock), and
a receiver for the webhooks a sandbox pushes: fixtures shared by tests/integration and
tests/providers (each conftest imports them)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator

import pytest
import sms_status
from sms_status import webhooks
from sms_status.testing import FakeClock, Sandbox

Connect = Callable[..., sms_status.StatusClient]


@pytest.fixture
def connect(sandbox_clock: FakeClock) -> Connect:
    """`connect(sandbox, **options)`: a sync client on the sandbox's origin and clock."""

    def make(sandbox: Sandbox, **options: object) -> sms_status.StatusClient:
        options.setdefault("clock", sandbox_clock.monotonic)
        options.setdefault("sleep", sandbox_clock.sleep)
        return sms_status.connect(
            sandbox.key, api_key=sandbox.api_key, base_url=sandbox.base_url, **options
        )

    return make


@pytest.fixture(params=["aiohttp", "httpx"])
def connect_async(
    sandbox_clock: FakeClock, request: pytest.FixtureRequest
) -> Callable[..., sms_status.AsyncStatusClient]:
    """`connect_async(sandbox, **options)`, once over each HTTP backend (aiohttp: `[fast]`)."""

    def make(sandbox: Sandbox, **options: object) -> sms_status.AsyncStatusClient:
        options.setdefault("http_backend", request.param)
        options.setdefault("clock", sandbox_clock.monotonic)
        options.setdefault("sleep", sandbox_clock.async_sleep)
        return sms_status.connect_async(
            sandbox.key, api_key=sandbox.api_key, base_url=sandbox.base_url, **options
        )

    return make


class _Receiver(http.server.BaseHTTPRequestHandler):
    """Keeps every POST as received (body and headers) and answers 200."""

    received: list[tuple[bytes, dict[str, str]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((body, dict(self.headers.items())))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


PushedEvents = Callable[..., list[webhooks.WebhookEvent]]


@pytest.fixture
def sandbox_webhooks(sandbox_clock: FakeClock) -> Iterator[PushedEvents]:
    """`sandbox_webhooks(sandbox, count, secret=None, seconds=60)`: a loopback receiver
    subscribed to `sandbox`, the sandbox clock moved on by `seconds`, and the first `count`
    deliveries as `webhooks.parse` reads them (seven's signed URL included)."""
    handler = type("Receiver", (_Receiver,), {"received": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/sms"

    def receive(
        sandbox: Sandbox, count: int, *, secret: str | None = None, seconds: float = 60.0
    ) -> list[webhooks.WebhookEvent]:
        sandbox.add_webhook(url, secret=secret)
        sandbox_clock.advance(seconds)
        sandbox.wait_for_webhooks(count)
        return [
            webhooks.parse(
                sandbox.key,
                body=body,
                headers=headers,
                secret=secret,
                url=url,
                now=sandbox_clock.now(),
            )
            for body, headers in handler.received[:count]
        ]

    yield receive
    server.shutdown()
    server.server_close()
    thread.join(10)
