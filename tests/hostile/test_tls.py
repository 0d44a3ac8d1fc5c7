"""Every sender's TLS path over loopback, with certificates from trustme: a certificate the
client trusts works (and its connection is kept alive), one for another host name or from
an unknown CA is a TransportError — on the sync sender, the sync client through httpx, the
async client on aiohttp and on httpx."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import sms_status
import trustme
from hostile_support import API_KEY, HostileServer, json_response
from sms_status.errors import TransportError

MODES = ("sync", "sync-httpx", "async", "async-httpx")
"""The sync client's own sender, the sync client through httpx (`verify=`), the async client
on aiohttp and on httpx."""
IDS = ["msgA", "msgB", "msgC"]


def _answer(connection: socket.socket, head: bytes, server: HostileServer) -> None:
    message_id = head.split(b" ")[1].rsplit(b"/", 1)[1].decode()
    body = {"status": True, "message": {"message_id": message_id, "status": "DELIVRD"}}
    server.send(connection, json_response(200, body))


@pytest.fixture
def ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> trustme.CA:
    """A CA the clients trust, as a user's SSL_CERT_FILE would make them."""
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return authority


@pytest.fixture
def tls_server(hostile: Any) -> Any:
    def start(authority: trustme.CA, *names: str) -> HostileServer:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert(*names).configure_cert(context)
        return hostile(_answer, context)

    return start


def _statuses(mode: str, server: HostileServer, ca: trustme.CA) -> list[str]:
    options: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": server.base_url,
        "timeout": 5.0,
        "max_retries": 0,
        "rate_limiter": None,
    }
    if mode == "sync-httpx":  # verify= sends through httpx
        options["verify"] = ca_context(ca)
    if mode.startswith("sync"):
        with sms_status.connect("telecom23", **options) as client:
            return [client.get_status(message_id).provider_status for message_id in IDS]

    async def main() -> list[str]:
        backend = {"http_backend": "httpx"} if mode == "async-httpx" else {}
        async with sms_status.connect_async("telecom23", **options, **backend) as client:
            return [(await client.get_status(message_id)).provider_status for message_id in IDS]

    return asyncio.run(main())


def ca_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.mark.parametrize("mode", MODES)
def test_a_trusted_certificate_works_and_its_connection_is_kept_alive(
    tls_server: Any, ca: trustme.CA, mode: str
) -> None:
    server = tls_server(ca, "127.0.0.1")
    assert _statuses(mode, server, ca) == ["DELIVRD"] * len(IDS)
    if mode != "async-httpx":  # httpx's requests take turns over several pools
        assert server.handshakes == 1  # TLS 1.3 tickets arriving idle are no stale reply


@pytest.mark.parametrize("mode", MODES)
def test_a_certificate_for_another_host_name_is_a_transport_error(
    tls_server: Any, ca: trustme.CA, mode: str
) -> None:
    server = tls_server(ca, "status.provider.example")
    with pytest.raises(TransportError):
        _statuses(mode, server, ca)
    assert server.handshakes == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_certificate_from_an_unknown_ca_is_a_transport_error(
    tls_server: Any, ca: trustme.CA, mode: str
) -> None:
    server = tls_server(trustme.CA(), "127.0.0.1")
    with pytest.raises(TransportError) as info:
        _statuses(mode, server, ca)
    assert "certificate" in str(info.value).lower()
    assert server.handshakes == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_refused_certificate_is_not_retried_and_ends_a_wait(
    tls_server: Any, ca: trustme.CA, mode: str
) -> None:
    # Sent again, a certificate that failed verification fails again: each lookup made
    # three handshakes, and wait_for_final polled on it until its deadline (96 handshakes
    # over telecom23's 180 s).
    server = tls_server(trustme.CA(), "127.0.0.1")
    options: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": server.base_url,
        "timeout": 5.0,
        "max_retries": 2,
        "rate_limiter": None,
    }
    if mode == "sync-httpx":
        options["verify"] = ca_context(ca)

    def check(error: TransportError) -> None:
        assert error.retryable is False
        assert server.connections_accepted == 1

    if mode.startswith("sync"):
        with sms_status.connect("telecom23", **options) as client:
            with pytest.raises(TransportError) as info:
                client.get_status("msgA")
            check(info.value)
            with pytest.raises(TransportError):
                client.wait_for_final("msgA", timeout=600)  # ends at once, not in 10 minutes
        assert server.connections_accepted == 2
        return

    async def main() -> None:
        backend = {"http_backend": "httpx"} if mode == "async-httpx" else {}
        async with sms_status.connect_async("telecom23", **options, **backend) as client:
            with pytest.raises(TransportError) as info:
                await client.get_status("msgA")
            check(info.value)
            with pytest.raises(TransportError):
                await client.wait_for_final("msgA", timeout=600)
        assert server.connections_accepted == 2

    asyncio.run(main())
