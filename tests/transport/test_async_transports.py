"""The async client's transport: aiohttp when `sms-status[fast]` is installed, httpx on request,
an explicit transport over both; and on either, a broken server is a TransportError."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sms_status
import yarl
from sms_status._transport.aiohttp import GuardedAiohttpTransport
from sms_status.errors import TransportError
from sms_status.testing import Sandbox

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


def _chain(error: BaseException | None) -> list[BaseException]:
    """`error` and every exception reachable from it as a cause or context."""
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


ECHOES = {
    # aiohttp's parser quotes the line it refuses: a header that is the key came back whole.
    "bad-header": f"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n{API_KEY}\r\n\r\n{{}}",
    # A disconnect's text is the partial head, every header in it (mapped by httpx-aiohttp).
    "head-cut-short": f"HTTP/1.1 200 OK\r\nX-Echo: {API_KEY}\r\n",
}


@pytest.mark.parametrize("echo", sorted(ECHOES))
def test_client_api_on_aiohttp_never_hands_back_the_key_a_server_echoes(echo: str) -> None:
    # It came back in the httpx.TransportError of a `client.api` call, or in its cause.
    async def echo_key(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(ECHOES[echo].encode())
        await writer.drain()
        if echo == "head-cut-short":
            writer.close()
            return
        await reader.read()

    async def call() -> None:
        async for base_url in _serve(echo_key):
            client = sms_status.connect_async(
                "telecom23", api_key=API_KEY, base_url=base_url, http_backend="aiohttp"
            )
            async with client:
                await client.api.get_async_httpx_client().get("/v1/messages/m-1/status")

    with pytest.raises(httpx.TransportError) as caught:
        asyncio.run(call())
    for error in _chain(caught.value):
        assert API_KEY[:12] not in f"{error!s} {error!r}", type(error)


def _requests_seen(
    backend: str, key: str, look_up: Callable[[Any], Awaitable[object]]
) -> list[Any]:
    sandbox = Sandbox(key, rate_limit=None)
    for message_id in ("a b/1", "m-2"):
        sandbox.add_message(message_id, statuses=(sandbox.provider.default_statuses[-1],))

    async def run() -> None:
        async with sms_status.connect_async(
            key,
            api_key=sandbox.api_key,
            base_url=sandbox.base_url,
            http_backend=backend,  # type: ignore[arg-type]
        ) as client:
            await look_up(client)

    with sandbox.serve():
        asyncio.run(run())
    return sorted(  # bulk lookups run concurrently: compare as sets
        (
            (
                r.method,
                r.raw_path,
                r.query,
                sorted((k, v) for k, v in r.headers.items() if k in _COMPARED),
            )
            for r in sandbox.requests
        ),
        key=repr,
    )


_COMPARED = ("accept", "accept-encoding", "authorization", "x-api-key", "user-agent")


@pytest.mark.parametrize(
    ("key", "look_up"),
    [
        ("telecom23", lambda client: client.get_statuses(["a b/1", "m-2"])),
        ("seven", lambda client: client.get_statuses(["1234567", "7654321"])),
        ("namirial", lambda client: client.history_by_phone("+14155551234", count=5)),
    ],
    ids=["path-ids", "query-ids", "query-params"],
)
def test_aiohttp_sends_what_httpx_sends(key: str, look_up: Callable[[Any], Any]) -> None:
    on_aiohttp = _requests_seen("aiohttp", key, look_up)
    assert on_aiohttp == _requests_seen("httpx", key, look_up)
    assert on_aiohttp  # something was sent


def test_signed_requests_on_aiohttp_are_signed_afresh_per_attempt() -> None:
    sandbox = Sandbox("telecom23", signing_secret="whsec_demo_signing", rate_limit=None)
    sandbox.add_message("signed-1", statuses=("DELIVRD",))
    sandbox.inject_fault("proxy_502_html", message_id="signed-1", times=1)

    async def look_up() -> sms_status.StatusReport:
        async with sms_status.connect_async(
            "telecom23",
            api_key=sandbox.api_key,
            base_url=sandbox.base_url,
            signing_secret="whsec_demo_signing",
            http_backend="aiohttp",
            sleep=_no_sleep,
        ) as client:
            return await client.get_status("signed-1")

    with sandbox.serve():
        report = asyncio.run(look_up())
    assert report.is_delivered
    stamps = [r.headers["x-timestamp"] for r in sandbox.requests]
    assert len(stamps) == len(set(stamps)) == 2


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
def test_one_async_client_serves_one_event_loop_after_another(backend: str) -> None:
    # Connections belong to a loop: the client's second asyncio.run failed every call with
    # "Event loop is closed" on aiohttp, and closing it from a new loop raised on httpx.
    # On httpx, attempts take turns over four pools: the fifth loop's came back to the
    # first pool's connection of the first loop, and failed (retries included).
    sandbox = Sandbox("telecom23", rate_limit=None)
    sandbox.add_message("loop-1", statuses=("DELIVRD",))
    with sandbox.serve():
        client = sms_status.connect_async(
            "telecom23", api_key=sandbox.api_key, base_url=sandbox.base_url, http_backend=backend
        )

        async def look_up() -> str:
            return (await client.get_status("loop-1")).provider_status

        async def close() -> None:
            await client.aclose()

        assert [asyncio.run(look_up()) for _ in range(6)] == ["DELIVRD"] * 6
        asyncio.run(close())
    assert len(sandbox.requests) == 6


def _delivered(message_id: str) -> Sandbox:
    """A telecom23 sandbox (not rate-limited) whose one message is delivered."""
    sandbox = Sandbox("telecom23", rate_limit=None)
    sandbox.add_message(message_id, statuses=("DELIVRD",))
    return sandbox


@pytest.mark.parametrize(
    "options",
    [{}, {"http_backend": "httpx"}, {"http_backend": "aiohttp"}],
    ids=["default", "httpx", "aiohttp"],
)
def test_an_async_client_closed_and_used_again_opens_new_connections(
    options: dict[str, Any],
) -> None:
    # `async with client:` again: on httpx the client's pools were closed for good, and each
    # call after failed as a network error, retried twice (the other senders opened new
    # connections). In one event loop, and in one asyncio.run after another.
    sandbox = _delivered("again-1")
    with sandbox.serve():
        client = sms_status.connect_async(
            "telecom23", api_key=sandbox.api_key, base_url=sandbox.base_url, **options
        )

        async def look_up_then_close() -> str:
            async with client:
                return (await client.get_status("again-1")).provider_status

        async def three_times() -> list[str]:
            return [await look_up_then_close() for _ in range(3)]

        assert asyncio.run(three_times()) == ["DELIVRD"] * 3
        assert [asyncio.run(look_up_then_close()) for _ in range(3)] == ["DELIVRD"] * 3
    assert len(sandbox.requests) == 6


@pytest.mark.parametrize(
    "options",
    [{}, {"verify": True}, {"transport": "httpx.HTTPTransport"}],
    ids=["default", "httpx", "transport="],
)
def test_a_sync_client_closed_and_used_again_opens_new_connections(
    options: dict[str, Any],
) -> None:
    sandbox = _delivered("again-1")
    if options.get("transport"):  # a user's own (given by name: a transport is used once)
        options = {"transport": httpx.HTTPTransport()}
    with sandbox.serve():
        client = sms_status.connect(
            "telecom23", api_key=sandbox.api_key, base_url=sandbox.base_url, **options
        )
        for _ in range(3):
            with client:
                assert client.get_status("again-1").provider_status == "DELIVRD"
    assert len(sandbox.requests) == 3


def test_a_client_used_again_after_close_masks_its_key_in_logs_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # close() ended the masking; the client, used again, logged its key in the clear.
    import logging

    sandbox = _delivered("again-1")
    logger = logging.getLogger("sms_status")
    with sandbox.serve():
        client = sms_status.connect("telecom23", api_key=sandbox.api_key, base_url=sandbox.base_url)
        client.close()
        assert client.get_status("again-1").provider_status == "DELIVRD"
        with caplog.at_level(logging.WARNING, logger="sms_status"):
            logger.warning("echoed %s", sandbox.api_key)
        client.close()
        copy = client.with_options(timeout=5)  # a copy of a closed client, used: the same
        assert copy.get_status("again-1").provider_status == "DELIVRD"
        with caplog.at_level(logging.WARNING, logger="sms_status"):
            logger.warning("echoed %s", sandbox.api_key)
        client.close()
    assert all(sandbox.api_key not in record.getMessage() for record in caplog.records)


async def _no_sleep(_seconds: float) -> None:
    return None


def test_the_cached_ssl_context_follows_ssl_cert_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Built once per CA setting, never reused across settings: a client made after
    SSL_CERT_FILE changes trusts the new bundle only."""
    import certifi
    from sms_status._transport.tls import default_ssl_context

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    certifi_context = default_ssl_context()
    assert default_ssl_context() is certifi_context
    first = Path(certifi.where()).read_text().split("-----END CERTIFICATE-----")[0]
    bundle = tmp_path / "one-ca.pem"
    bundle.write_text(first + "-----END CERTIFICATE-----\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert default_ssl_context().cert_store_stats()["x509_ca"] == 1
    monkeypatch.delenv("SSL_CERT_FILE")
    assert default_ssl_context() is certifi_context


def test_clients_after_the_first_load_no_certificates(
    count_ca_loads: Callable[[], list[object]],
) -> None:
    """Loading the CA bundle costs ~20 ms: a process making a client per job pays it once,
    not once (or twice) per client, sync or async, whatever the backend."""

    async def make_async(**options: Any) -> None:
        await sms_status.connect_async("telecom23", api_key=API_KEY, **options).aclose()

    def make_all() -> None:
        sms_status.connect("telecom23", api_key=API_KEY).close()
        asyncio.run(make_async())
        asyncio.run(make_async(http_backend="httpx"))

    make_all()  # the first may load them
    loads = count_ca_loads()
    make_all()
    assert loads == []


def test_an_async_client_on_an_http_origin_loads_no_certificates(
    monkeypatch: pytest.MonkeyPatch, count_ca_loads: Callable[[], list[object]]
) -> None:
    """No TLS connection, no CA bundle: an async client on aiohttp looking statuses up from an
    http:// origin (a sandbox, a gateway on the host) never loads one. (`client.api`'s
    transport may be sent anywhere: it loads them with its first request.)"""
    from sms_status._transport import tls

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tls, "_ssl_contexts", {})  # as in a fresh process
    sandbox = Sandbox("telecom23", rate_limit=None)
    sandbox.add_message("plain-1", statuses=("DELIVRD",))
    loads = count_ca_loads()

    async def look_up() -> sms_status.StatusReport:
        async with sms_status.connect_async(
            "telecom23", api_key=sandbox.api_key, base_url=sandbox.base_url
        ) as client:
            return await client.get_status("plain-1")

    with sandbox.serve():
        assert asyncio.run(look_up()).is_delivered
    assert loads == []


def test_the_aiohttp_senders_proxy_is_the_environments_credentials_from_its_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sms_status._transport.aiohttp import _env_proxy

    for name in ("http_proxy", "https_proxy", "all_proxy", "ALL_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://user:pa%20ss@proxy.local:3128")
    monkeypatch.setenv("NO_PROXY", "internal.local")
    proxy, headers = _env_proxy("http://status.provider.example/")
    assert proxy == "http://proxy.local:3128"
    assert headers == {"Proxy-Authorization": "Basic dXNlcjpwYSBzcw=="}  # user:pa ss
    assert _env_proxy("http://api.internal.local/") == (None, None)  # NO_PROXY
    assert _env_proxy("https://status.provider.example/") == (None, None)  # no HTTPS_PROXY


@pytest.mark.parametrize(
    "base",
    [
        "http://127.0.0.1:8080",
        "https://api.provider.example/v2/",
        "http://user:secret@api.provider.example/",  # the origin would drop the credentials
        "https://bücher.example/x",
        "http://[::1]:8080/",
    ],
)
@pytest.mark.parametrize("rest", ["api/v1/sms/status/a%2Fb", "%2E%2E", "status?id=a%26b", "p%23f"])
def test_the_aiohttp_senders_url_is_the_target_as_quoted(base: str, rest: str) -> None:
    # The sender joins the base's origin to the target's path rather than parsing the
    # whole target (cheaper): the URL sent must be the same, never re-quoted.
    from sms_status._transport.aiohttp import AiohttpSender

    sender = AiohttpSender(connections=1, base_url=httpx.URL(base), headers=httpx.Headers())
    target = sender.plain_target({"method": "GET", "url": "/" + rest})
    assert target is not None
    url = sender._url(target)  # pyright: ignore[reportPrivateUsage]
    whole = yarl.URL(target, encoded=True)
    assert (url, str(url), url.raw_path_qs) == (whole, str(whole), whole.raw_path_qs)
    assert url.user == whole.user


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
def test_credentials_in_the_base_url_are_sent_on_both_backends(backend: str) -> None:
    # The direct sender writes only the client's headers: a base URL with credentials is
    # left to aiohttp, which sends them as httpx does (it had dropped them).
    sandbox = Sandbox("telecom23", rate_limit=None)
    sandbox.add_message("m-1", statuses=("DELIVRD",))

    async def run() -> None:
        async with sms_status.connect_async(
            "telecom23",
            api_key=sandbox.api_key,
            base_url=sandbox.base_url.replace("://", "://user:pw@", 1),
            http_backend=backend,  # type: ignore[arg-type]
        ) as client:
            assert (await client.get_status("m-1")).is_delivered

    with sandbox.serve():
        asyncio.run(run())
    # (the sandbox records an Authorization header masked)
    assert [r.headers.get("authorization") for r in sandbox.requests] == ["***"]


def test_the_direct_sender_leaves_what_it_cannot_write_as_it_is_to_others() -> None:
    from sms_status._transport.asyncio_http import AsyncioSender

    def sender(base: str = "http://h/", **headers: str) -> AsyncioSender:
        url, sent = httpx.URL(base), httpx.Headers(headers)
        return AsyncioSender(connections=1, base_url=url, headers=sent)

    assert sender(X_Key="k").usable
    assert not sender(X_Key="k\r\nX-Evil: 1").usable  # one header, never two on the wire
    assert not sender("http://user:pw@h/").usable
    for path in ("/a b", "/\u00e9", "/a\x7f", "/a\r\nX: 1"):  # httpx quotes these
        assert sender().plain_target({"method": "GET", "url": path}) is None
    assert sender().plain_target({"method": "GET", "url": "/a%20b"}) == "/a%20b"


def test_lookups_on_uvloop() -> None:
    # uvloop's transports are not subclasses of asyncio's: the direct sender refused each
    # one, every lookup failed, and each left its connection counted until none was free.
    uvloop = pytest.importorskip("uvloop")
    sandbox = Sandbox("telecom23", rate_limit=None)
    ids = [f"uv-{i}" for i in range(6)]
    for message_id in ids:
        sandbox.add_message(message_id, statuses=("DELIVRD",))

    async def run() -> list[bool]:
        async with sms_status.connect_async(
            "telecom23",
            api_key=sandbox.api_key,
            base_url=sandbox.base_url,
            concurrency=2,
            timeout=5.0,
            max_retries=0,
        ) as client:
            one_by_one = [(await client.get_status(i)).is_delivered for i in ids]
            at_once = [report.is_delivered for report in await client.get_statuses(ids)]
        return one_by_one + at_once

    with sandbox.serve():
        assert uvloop.run(run()) == [True] * 12


@pytest.mark.parametrize("mode", ["sync", "aiohttp", "httpx"])
def test_an_international_host_name_is_resolved_as_httpx_encodes_it(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    # faß.de is xn--fa-hia.de (IDNA 2008, as httpx and the Host header have it); the
    # standard library's IDNA 2003 codec makes it fass.de, another domain: the direct
    # senders resolved (and, over TLS, verified) that one.
    import socket

    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name == "xn--fa-hia.de":
            return real("127.0.0.1", *args, **kwargs)
        if name in ("fass.de", "faß.de"):
            raise socket.gaierror(socket.EAI_NONAME, "resolved as another domain")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    sandbox = Sandbox("telecom23", rate_limit=None)
    sandbox.add_message("idn-1", statuses=("DELIVRD",))
    with sandbox.serve():
        base_url = "http://faß.de:" + str(httpx.URL(sandbox.base_url).port)
        options: dict[str, Any] = {"api_key": sandbox.api_key, "base_url": base_url}
        if mode == "sync":
            with sms_status.connect("telecom23", max_retries=0, **options) as client:
                assert client.get_status("idn-1").is_delivered
            return

        async def run() -> bool:
            async with sms_status.connect_async(
                "telecom23", max_retries=0, http_backend=mode, **options
            ) as client:
                return (await client.get_status("idn-1")).is_delivered

        assert asyncio.run(run())


def test_a_connect_timing_out_in_the_system_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # With no connect limit of the client's own, the system's connect timeout (ETIMEDOUT)
    # came out as "TypeError: unsupported format string passed to NoneType.__format__".
    async def timed_out(*_args: Any, **_kwargs: Any) -> None:
        raise TimeoutError(110, "Connection timed out")

    monkeypatch.setattr(asyncio.selector_events.BaseSelectorEventLoop, "sock_connect", timed_out)

    async def run() -> None:
        async with sms_status.connect_async(
            "telecom23",
            api_key=API_KEY,
            base_url="http://127.0.0.1:9",
            max_retries=0,
            timeout=httpx.Timeout(5.0, connect=None),
        ) as client:
            await client.get_status("m-1")

    with pytest.raises(TransportError, match="Connection timed out"):
        asyncio.run(run())


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
def test_calls_cancelled_at_every_step_leave_the_client_usable(
    telecom23_sandbox: Sandbox, backend: str
) -> None:
    # On httpx, a call cancelled twice at an unlucky step (a tracker stopped twice, say)
    # left its connection booked in httpcore's pool (whose cleanup a second plain
    # task.cancel() cuts short, encode/httpcore#1093): within a few such calls, every
    # lookup of the client timed out, for good.
    telecom23_sandbox.add_message("answered", statuses=("DELIVRD",))

    async def main() -> None:
        async with telecom23_sandbox.connect_async(
            http_backend=backend, concurrency=1, timeout=5.0, max_retries=0
        ) as client:
            for steps in [*range(80), *range(80)]:  # a cancel at a later await point each time
                call = asyncio.ensure_future(client.get_status("answered"))
                for _ in range(steps):
                    await asyncio.sleep(0)
                call.cancel()
                await asyncio.sleep(0)
                call.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await call
                async with asyncio.timeout(4.0):  # a booked connection: 5 s, then an error
                    report = await client.get_status("answered")
                assert report.is_delivered, steps

    asyncio.run(main())
