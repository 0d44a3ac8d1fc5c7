"""The sync client's default sender (`http.client` directly: `_transport/httpclient.py`): it sends
what httpx sends, keeps connections alive, recovers from one the server closed while idle, and
serves many threads at once. Its bounds (deadline, cap) are tests/hostile's."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sms_status
from sms_status.testing import Sandbox

MESSAGE_ID = "api_42_1743667200123456789_a3f8b2c1d9e45f67"
_BODY = json.dumps(
    {
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
).encode()
_COMPARED = ("accept", "accept-encoding", "authorization", "x-api-key", "user-agent", "host")


def _requests_seen(key: str, look_up: Callable[[Any], object], **options: Any) -> list[Any]:
    sandbox = Sandbox(key, rate_limit=None)
    for message_id in ("a b/1", "m-2"):
        sandbox.add_message(message_id, statuses=(sandbox.provider.default_statuses[-1],))
    with (
        sandbox.serve(),
        sms_status.connect(
            key, api_key=sandbox.api_key, base_url=sandbox.base_url, **options
        ) as client,
    ):
        here = sandbox.base_url.split("://", 1)[1].rstrip("/")
        look_up(client)
    return [
        (
            r.method,
            r.raw_path,
            r.query,
            sorted(
                (k, "<sandbox>" if v == here else v) for k, v in r.headers.items() if k in _COMPARED
            ),
        )
        for r in sandbox.requests
    ]


@pytest.mark.parametrize(
    ("key", "look_up"),
    [
        ("telecom23", lambda client: client.get_statuses(["a b/1", "m-2"])),
        ("seven", lambda client: client.get_statuses(["1234567", "7654321"])),
        ("namirial", lambda client: client.history_by_phone("+14155551234", count=5)),
    ],
    ids=["path-ids", "query-ids", "query-params"],
)
def test_http_client_sends_what_httpx_sends(key: str, look_up: Callable[[Any], Any]) -> None:
    direct = _requests_seen(key, look_up)
    assert direct  # something was sent
    assert direct == _requests_seen(key, look_up, verify=True)  # verify=: httpx's transport


class _KeepAliveServer:
    """Answers every request with the telecom23 report; `close_after_each` drops the
    connection after each answer without saying so (a server's idle timeout, early)."""

    def __init__(self, *, close_after_each: bool) -> None:
        self.close_after_each = close_after_each
        self.connections = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        head = b""
        with connection, contextlib.suppress(OSError):
            while True:
                while b"\r\n\r\n" not in head:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                head = head.split(b"\r\n\r\n", 1)[1]
                with self._lock:
                    self.requests += 1
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(_BODY)}\r\n\r\n".encode()
                    + _BODY
                )
                if self.close_after_each:
                    return

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=10)


@pytest.fixture
def keep_alive() -> Iterator[Callable[[bool], _KeepAliveServer]]:
    servers: list[_KeepAliveServer] = []

    def start(close_after_each: bool) -> _KeepAliveServer:
        servers.append(_KeepAliveServer(close_after_each=close_after_each))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _client(server: _KeepAliveServer, **options: Any) -> sms_status.StatusClient:
    return sms_status.connect(
        "telecom23", api_key="sk_test_direct_key_0123456789", base_url=server.base_url, **options
    )


def test_one_connection_serves_calls_one_after_another(
    keep_alive: Callable[[bool], _KeepAliveServer],
) -> None:
    server = keep_alive(False)
    with _client(server) as client:
        for _ in range(5):
            assert client.get_status(MESSAGE_ID).is_delivered
    assert (server.requests, server.connections) == (5, 1)


def test_a_connection_the_server_closed_while_idle_is_replaced_and_every_request_accounted(
    keep_alive: Callable[[bool], _KeepAliveServer],
) -> None:
    server = keep_alive(True)
    retries: list[object] = []
    with _client(server, on_retry=retries.append, sleep=lambda _seconds: None) as client:
        for _ in range(3):
            assert client.get_status(MESSAGE_ID).is_delivered
    # A close seen before the next request replaces the connection unseen. One racing it
    # (the request sent, then the close read) is the attempt's failure: the retry policy
    # sends it again, so the server reads no request the policy did not make.
    assert 3 <= server.requests <= 3 + len(retries)


def test_threads_share_one_client(keep_alive: Callable[[bool], _KeepAliveServer]) -> None:
    server = keep_alive(False)
    with _client(server) as client, ThreadPoolExecutor(8) as pool:
        reports = list(pool.map(lambda _: client.get_status(MESSAGE_ID), range(80)))
    assert all(report.is_delivered for report in reports)
    assert server.requests == 80
    assert server.connections <= 8  # kept alive and reused, one per thread at most


def test_a_sync_client_loads_no_certificates_until_it_needs_them(
    monkeypatch: pytest.MonkeyPatch, count_ca_loads: Callable[[], list[object]]
) -> None:
    """A sync client sends its plain requests over http.client: constructing one (a CLI run,
    a job) loads no CA bundle; only a first TLS connection does."""
    from sms_status._transport import tls

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tls, "_ssl_contexts", {})  # as in a fresh process
    loads = count_ca_loads()
    sms_status.connect("telecom23", api_key="sk_test_direct_key_0123456789").close()
    assert loads == []


def test_a_sync_client_loads_httpcore_only_when_httpx_first_sends(
    telecom23_sandbox: Sandbox,
) -> None:
    """Import time (#20: a client within 50 ms of `import httpx`): plain lookups go over
    http.client, so httpx's own pool (httpcore, h11) is made, and imported, on first use."""
    import subprocess
    import sys

    telecom23_sandbox.add_message("m-1", statuses=("DELIVRD",))
    code = (
        "import sys, sms_status\n"
        f"c = sms_status.connect('telecom23', api_key={telecom23_sandbox.api_key!r}, "
        f"base_url={telecom23_sandbox.base_url!r})\n"
        "assert 'httpcore' not in sys.modules and 'h11' not in sys.modules, 'at connect'\n"
        "c.get_status('m-1')\n"
        "assert 'httpcore' not in sys.modules, 'after a plain lookup'\n"
        "assert 'asyncio' not in sys.modules, 'asyncio (~30 ms) for a sync client'\n"
        "c.api.get_httpx_client().get('/api/v1/sms/status/m-1')\n"
        "assert 'httpcore' in sys.modules, 'httpx sent without its pool?'\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr
