"""Client options users expect from openai/stripe-class SDKs: settings from the environment."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import tomllib
import typing
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sms_status
from sms_status.testing import Sandbox

# Keys are long and distinctive: the SDK masks every key it has seen in all log lines, so a
# key such as "k" would mask that letter in other tests' logs.
KEY = "sk_test_clientOptionsKey0123456789"
GIVEN_KEY = "sk_test_givenExplicitly0123456789"
ENV_KEY = "sk_test_fromTheEnvironment0123"
SANDBOXED = "http://sandbox.invalid:8080"


def _recorder(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"error": "NOT_FOUND", "message": "Message not found"})

    return httpx.MockTransport(answer)


def _lookup(client: sms_status.StatusClient) -> None:
    with client, pytest.raises(sms_status.errors.NotFoundError):
        client.get_status("m1")


def test_the_api_key_and_base_url_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMS_STATUS_TELECOM23_API_KEY", ENV_KEY)
    monkeypatch.setenv("SMS_STATUS_TELECOM23_BASE_URL", SANDBOXED)
    seen: list[httpx.Request] = []

    _lookup(sms_status.connect("telecom23", transport=_recorder(seen)))

    assert seen[0].headers["X-API-Key"] == ENV_KEY
    assert str(seen[0].url) == f"{SANDBOXED}/api/v1/sms/status/m1"


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_STATUS_ROYCETALK_API_KEY", ENV_KEY)
    monkeypatch.setenv("SMS_STATUS_ROYCETALK_BASE_URL", SANDBOXED)
    seen: list[httpx.Request] = []

    client = sms_status.connect(
        "roycetalk", api_key=GIVEN_KEY, base_url="http://given.invalid", transport=_recorder(seen)
    )
    _lookup(client)

    assert seen[0].headers["Authorization"] == f"Bearer {GIVEN_KEY}"
    assert seen[0].url.host == "given.invalid"


def test_without_a_base_url_anywhere_the_production_origin_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SMS_STATUS_SEVEN_BASE_URL", raising=False)
    with sms_status.connect("seven", api_key=KEY) as client:
        assert client.base_url.startswith("https://")


def test_no_api_key_anywhere_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMS_STATUS_LISOLOO_API_KEY", raising=False)
    with pytest.raises(ValueError, match="SMS_STATUS_LISOLOO_API_KEY"):
        sms_status.connect("lisoloo")
    with pytest.raises(ValueError, match="SMS_STATUS_LISOLOO_API_KEY"):
        sms_status.connect_async("lisoloo")


def test_the_async_client_reads_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_STATUS_NAMIRIAL_API_KEY", ENV_KEY)

    async def key_sent() -> str:
        seen: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(404, json={"message": "not found"})

        transport = httpx.MockTransport(answer)
        async with sms_status.connect_async("namirial", transport=transport) as client:
            with pytest.raises(sms_status.errors.NotFoundError):
                await client.get_status("m1")
        return seen[0].headers["X-Api-Key"]

    assert asyncio.run(key_sent()) == ENV_KEY


def test_the_provider_key_type_lists_every_provider() -> None:
    assert typing.get_args(sms_status.ProviderKey) == sms_status.PROVIDERS


def test_provider_key_narrows_a_runtime_string_or_lists_the_keys() -> None:
    assert sms_status.provider_key("seven") == "seven"
    with pytest.raises(ValueError, match="expected one of: telecom23, namirial"):
        sms_status.provider_key("telcom23")


def test_api_is_the_providers_generated_client() -> None:
    import sms_status_telecom23

    with sms_status.connect("telecom23", api_key=KEY) as client:
        assert isinstance(client.api, sms_status_telecom23.AuthenticatedClient)
        assert client.api.get_httpx_client() is client._http


# -- options users expect from openai/stripe-class SDKs -------------------------------------


def _answering(status: int, seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json={"error": "X", "message": "no"})

    return httpx.MockTransport(answer)


def test_every_request_names_the_sdk_version_and_provider() -> None:
    seen: list[httpx.Request] = []
    _lookup(sms_status.connect("telecom23", api_key=KEY, transport=_answering(404, seen)))
    assert seen[0].headers["User-Agent"] == f"sms-status/{sms_status.__version__} (telecom23)"


def test_the_version_in_the_user_agent_is_the_distributions() -> None:
    # __version__ is written by hand in sms_status/_version.py: a release that bumps only
    # pyproject.toml would otherwise tell providers' support desks the old version.
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    assert sms_status.__version__ == tomllib.loads(pyproject.read_text())["project"]["version"]


def test_timeout_none_means_the_default_and_a_timeout_object_is_kept() -> None:
    with sms_status.connect("seven", api_key=KEY, timeout=None) as client:
        assert client.timeout == 10.0
    phases = httpx.Timeout(5.0, connect=2.0)
    with sms_status.connect("seven", api_key=KEY, timeout=phases) as client:
        assert client.timeout == phases


def test_with_options_changes_retries_and_timeout_for_some_calls_only() -> None:
    seen: list[httpx.Request] = []
    client = sms_status.connect(
        "roycetalk", api_key=KEY, transport=_answering(503, seen), sleep=lambda _s: None
    )
    with client:
        quick = client.with_options(max_retries=0, timeout=2.5)
        with pytest.raises(sms_status.errors.ServerError):
            quick.get_status("m1")
        assert len(seen) == 1
        with pytest.raises(sms_status.errors.ServerError):
            client.get_status("m1")
        assert len(seen) == 1 + 3  # the original still retries twice
        assert (quick.timeout, client.timeout) == (2.5, 10.0)
        assert quick.rate_limiter is client.rate_limiter
        assert quick.api is client.api  # the same connections
        with pytest.raises(ValueError, match="max_retries"):
            client.with_options(max_retries=-1)


def test_http_client_sends_every_request_and_stays_open() -> None:
    hooked: list[str] = []
    seen: list[httpx.Request] = []
    mine = httpx.Client(
        transport=_answering(404, seen),
        event_hooks={"request": [lambda request: hooked.append(str(request.url))]},
    )
    with mine:
        _lookup(sms_status.connect("telecom23", api_key=KEY, http_client=mine))
        assert hooked == [str(seen[0].url)]  # through the user's client, hooks and all
        assert seen[0].url.path == "/api/v1/sms/status/m1"
        assert seen[0].headers["X-API-Key"] == KEY
        assert seen[0].headers["User-Agent"].startswith("sms-status/")
        assert not mine.is_closed  # the SDK's close() left it alone


def test_async_http_client_sends_every_request() -> None:
    async def run() -> tuple[list[httpx.Request], bool]:
        seen: list[httpx.Request] = []

        async def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(404, json={"message": "not found"})

        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as mine:
            async with sms_status.connect_async("namirial", api_key=KEY, http_client=mine) as c:
                with pytest.raises(sms_status.errors.NotFoundError):
                    await c.get_status("m1")
            return seen, mine.is_closed

    seen, closed = asyncio.run(run())
    assert seen[0].headers["X-Api-Key"] == KEY
    assert not closed


@pytest.mark.parametrize(
    "options",
    [
        {"transport": httpx.MockTransport(lambda r: httpx.Response(200)), "http_client": None},
        {"http_client": None, "proxy": "http://127.0.0.1:3128"},
        {"transport": httpx.MockTransport(lambda r: httpx.Response(200)), "verify": False},
    ],
    ids=["transport-and-http_client", "http_client-and-proxy", "transport-and-verify"],
)
def test_connection_options_that_would_be_ignored_are_refused(options: dict[str, object]) -> None:
    if "http_client" in options:
        options["http_client"] = httpx.Client()
    with pytest.raises(ValueError, match=r"not both|configure them on it"):
        sms_status.connect("seven", api_key=KEY, **options)  # type: ignore[arg-type]


def test_verify_false_reaches_the_sdk_transport() -> None:
    import ssl

    with sms_status.connect("seven", api_key=KEY, verify=False) as client:
        pool = client._http._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context.verify_mode == ssl.CERT_NONE
    with sms_status.connect("seven", api_key=KEY) as client:
        pool = client._http._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context.verify_mode == ssl.CERT_REQUIRED


class _RecordingProxy:
    """A forward proxy on loopback that answers every request itself with a 404 and records
    the request line (absolute-form through a proxy: `GET http://host/path HTTP/1.1`)."""

    def __init__(self) -> None:
        import socketserver
        import threading

        lines = self.lines = []
        headers: list[str] = []
        self.headers = headers

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                lines.append(self.rfile.readline().decode().strip())
                while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                    headers.append(line.decode("latin-1").strip())
                body = b'{"message": "not found"}'
                self.wfile.write(
                    b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
                )

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recording_proxy() -> Iterator[_RecordingProxy]:
    proxy = _RecordingProxy()
    yield proxy
    proxy.close()


def test_proxy_carries_sync_and_async_requests(recording_proxy: _RecordingProxy) -> None:
    origin = "http://status.provider.invalid"
    with (
        sms_status.connect(
            "telecom23", api_key=KEY, base_url=origin, proxy=recording_proxy.url
        ) as c,
        pytest.raises(sms_status.errors.NotFoundError),
    ):
        c.get_status("m1")

    async def run() -> None:
        async with sms_status.connect_async(
            "telecom23", api_key=KEY, base_url=origin, proxy=recording_proxy.url
        ) as c:
            with pytest.raises(sms_status.errors.NotFoundError):
                await c.get_status("m2")

    asyncio.run(run())
    assert recording_proxy.lines == [
        f"GET {origin}/api/v1/sms/status/m1 HTTP/1.1",
        f"GET {origin}/api/v1/sms/status/m2 HTTP/1.1",
    ]


def test_sms_status_log_debug_logs_each_request_without_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    logger = logging.getLogger("sms_status")
    handlers, level = list(logger.handlers), logger.level
    monkeypatch.setenv("SMS_STATUS_LOG", "debug")
    try:
        seen: list[httpx.Request] = []
        secret = "sk_live_DoNotLogMe0123456789"
        _lookup(sms_status.connect("telecom23", api_key=secret, transport=_answering(404, seen)))
        sms_status.connect("telecom23", api_key=secret).close()  # a second client: no 2nd handler
        assert len(logger.handlers) == len(handlers) + 1
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)
    logged = capsys.readouterr().err
    assert "sms_status DEBUG telecom23" in logged
    assert "/api/v1/sms/status/m1" in logged
    assert secret not in logged


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
def test_netrc_credentials_never_go_to_the_provider_through_an_environment_proxy(
    recording_proxy: _RecordingProxy,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    backend: str,
) -> None:
    # aiohttp's trust_env, which the aiohttp sender used for the proxy, also adds
    # `Authorization: Basic` from ~/.netrc to every request (a `default` entry: any host).
    netrc = tmp_path / "netrc"
    netrc.write_text("default login alice password hunter2-netrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    _look_up_through(recording_proxy, monkeypatch, backend)
    assert len(recording_proxy.lines) == 1  # through the proxy
    assert not [h for h in recording_proxy.headers if h.lower().startswith("authorization")]


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
def test_a_proxy_from_the_environment_carries_async_requests_on_either_backend(
    recording_proxy: _RecordingProxy, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """HTTP(S)_PROXY is honoured whichever backend is chosen (httpx mounts the environment's
    proxies over the aiohttp transport), so installing `sms-status[fast]` behind a corporate
    proxy does not quietly go around it."""
    origin = _look_up_through(recording_proxy, monkeypatch, backend)
    assert recording_proxy.lines == [f"GET {origin}/api/v1/sms/status/m3 HTTP/1.1"]


def test_a_proxy_from_the_environment_carries_sync_requests(
    recording_proxy: _RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a proxy in the environment the sync client sends through httpx, on a transport
    # of its own, which httpx does not give the environment's proxies: it went direct.
    for name in ("http_proxy", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", recording_proxy.url)
    origin = "http://status.provider.invalid"
    client = sms_status.connect("telecom23", api_key=KEY, base_url=origin, max_retries=0)
    with client, pytest.raises(sms_status.errors.NotFoundError):
        client.get_status("m3")
    assert recording_proxy.lines == [f"GET {origin}/api/v1/sms/status/m3 HTTP/1.1"]


@pytest.mark.parametrize("exempt", ["host", "host:port"])
def test_no_proxy_in_the_environment_keeps_a_sync_client_direct(
    recording_proxy: _RecordingProxy,
    monkeypatch: pytest.MonkeyPatch,
    telecom23_sandbox: Sandbox,
    exempt: str,
) -> None:
    for name in ("http_proxy", "all_proxy", "ALL_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", recording_proxy.url)
    origin = httpx.URL(telecom23_sandbox.base_url)
    named = origin.host if exempt == "host" else f"{origin.host}:{origin.port}"
    monkeypatch.setenv("NO_PROXY", named)
    with sms_status.connect(
        "telecom23", api_key=telecom23_sandbox.api_key, base_url=telecom23_sandbox.base_url
    ) as client:
        telecom23_sandbox.add_message("m-1", statuses=("DELIVRD",))
        assert client.get_status("m-1").is_delivered
    assert recording_proxy.lines == []


@pytest.mark.parametrize("backend", ["sync", "aiohttp", "httpx"])
def test_all_proxy_in_the_environment_carries_requests_on_every_client(
    recording_proxy: _RecordingProxy, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    # The aiohttp sender read the scheme's variable only: with ALL_PROXY alone it went direct.
    if backend == "sync":
        _clear_proxy_variables(monkeypatch)
        monkeypatch.setenv("ALL_PROXY", recording_proxy.url)
        origin = "http://status.provider.invalid"
        client = sms_status.connect("telecom23", api_key=KEY, base_url=origin, max_retries=0)
        with client, pytest.raises(sms_status.errors.NotFoundError):
            client.get_status("m3")
    else:
        origin = _look_up_through(recording_proxy, monkeypatch, backend, variable="ALL_PROXY")
    assert recording_proxy.lines == [f"GET {origin}/api/v1/sms/status/m3 HTTP/1.1"]


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
def test_lookups_and_client_api_calls_go_through_the_environments_proxy_with_its_credentials(
    recording_proxy: _RecordingProxy, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    # On aiohttp, `client.api`'s own calls went direct, around the proxy every lookup took;
    # and the lookups' credentials went only with a CONNECT (aiohttp's proxy_headers): to
    # an http:// origin, none (a 407 from a proxy that asks for them).
    _clear_proxy_variables(monkeypatch)
    user = "us\u20acr"  # UTF-8 on the wire, as httpx sends it (aiohttp's BasicAuth: latin-1)
    monkeypatch.setenv("HTTP_PROXY", recording_proxy.url.replace("//", "//us%E2%82%ACr:pw@"))
    origin = "http://status.provider.invalid"

    async def look_up_and_call() -> int:
        async with sms_status.connect_async(
            "telecom23", api_key=KEY, base_url=origin, http_backend=backend
        ) as client:
            with pytest.raises(sms_status.errors.NotFoundError):  # the proxy's own 404
                await client.get_status("m3")
            http = client.api.get_async_httpx_client()  # what the generated functions send on
            return (await http.get("/api/v1/sms/status/m4")).status_code

    assert asyncio.run(look_up_and_call()) == 404
    path = f"{origin}/api/v1/sms/status"
    assert recording_proxy.lines == [f"GET {path}/m3 HTTP/1.1", f"GET {path}/m4 HTTP/1.1"]
    basic = "Basic " + base64.b64encode(f"{user}:pw".encode()).decode()
    sent = [h.split(":", 1)[1].strip() for h in recording_proxy.headers]
    assert sent.count(basic) == 2, recording_proxy.headers


# httpx's own transport (the async client's httpx backend) speaks SOCKS with httpx[socks],
# and says so in an ImportError without it: that one is httpx's to handle.
@pytest.mark.parametrize("backend", ["sync", "aiohttp"])
def test_a_socks_proxy_in_the_environment_is_a_transport_error_never_a_direct_request(
    monkeypatch: pytest.MonkeyPatch, telecom23_sandbox: Sandbox, backend: str
) -> None:
    # Our own senders do not speak SOCKS: going direct would go around the proxy named.
    _clear_proxy_variables(monkeypatch)
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:9")
    telecom23_sandbox.add_message("m-1", statuses=("DELIVRD",))
    api_key, origin = telecom23_sandbox.api_key, telecom23_sandbox.base_url

    def look_up() -> None:
        if backend == "sync":
            with sms_status.connect("telecom23", api_key=api_key, base_url=origin) as client:
                client.get_status("m-1")
            return

        async def run() -> None:
            async with sms_status.connect_async(
                "telecom23", api_key=api_key, base_url=origin, http_backend=backend
            ) as client:
                await client.get_status("m-1")

        asyncio.run(run())

    with pytest.raises(sms_status.errors.TransportError, match="socks5://"):
        look_up()
    assert telecom23_sandbox.requests == []


@pytest.mark.skipif(
    importlib.util.find_spec("socksio") is not None, reason="httpx[socks] is installed"
)
@pytest.mark.parametrize(
    "variables",
    [{"ALL_PROXY": "socks5://127.0.0.1:9"}, {"HTTP_PROXY": "socks5://127.0.0.1:9"}],
    ids=["ALL_PROXY", "the scheme's"],
)
def test_a_socks_proxy_without_httpx_socks_is_a_transport_error_on_the_httpx_backend(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]
) -> None:
    # A bare ImportError (asking for socksio) escaped connect_async.
    _clear_proxy_variables(monkeypatch)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(sms_status.errors.TransportError, match=r"httpx\[socks\]"):
        sms_status.connect_async(
            "telecom23",
            api_key=KEY,
            base_url="http://status.provider.invalid",
            http_backend="httpx",
        )
    with pytest.raises(sms_status.errors.TransportError, match="the environment names"):
        sms_status.connect_async(  # proxy=None is no proxy of the user's (httpx: the env's)
            "telecom23",
            api_key=KEY,
            base_url="http://status.provider.invalid",
            proxy=None,  # type: ignore[arg-type]
        )


@pytest.mark.skipif(
    importlib.util.find_spec("socksio") is not None, reason="httpx[socks] is installed"
)
@pytest.mark.parametrize(
    "variables",
    [
        {"ALL_PROXY": "socks5://127.0.0.1:9", "NO_PROXY": "127.0.0.1"},
        {"HTTPS_PROXY": "socks5://127.0.0.1:9"},  # the sandbox is http://
    ],
    ids=["NO_PROXY exempts the origin", "another scheme's"],
)
def test_a_socks_proxy_not_for_this_origin_leaves_the_httpx_backend_working(
    monkeypatch: pytest.MonkeyPatch, telecom23_sandbox: Sandbox, variables: dict[str, str]
) -> None:
    # httpx builds every proxy the environment names when its client is made, whatever
    # NO_PROXY says: without httpx[socks], connect_async failed over a proxy it would
    # never have used. It now takes the one named for its origin, as the other senders do.
    _clear_proxy_variables(monkeypatch)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    telecom23_sandbox.add_message("m-1", statuses=("DELIVRD",))

    async def look_up() -> sms_status.StatusReport:
        async with sms_status.connect_async(
            "telecom23",
            api_key=telecom23_sandbox.api_key,
            base_url=telecom23_sandbox.base_url,
            http_backend="httpx",
        ) as client:
            return await client.get_status("m-1")

    assert asyncio.run(look_up()).state == "delivered"
    assert len(telecom23_sandbox.requests) == 1  # direct, as NO_PROXY or the scheme says


@pytest.mark.skipif(
    importlib.util.find_spec("socksio") is not None, reason="httpx[socks] is installed"
)
def test_a_socks_proxy_in_the_environment_beside_the_users_http_client(
    monkeypatch: pytest.MonkeyPatch, telecom23_sandbox: Sandbox
) -> None:
    # The client that builds requests for a user's http_client is on httpx's own
    # transport: httpx's bare ImportError escaped connect() for any SOCKS proxy named.
    _clear_proxy_variables(monkeypatch)
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:9")
    telecom23_sandbox.add_message("m-1", statuses=("DELIVRD",))
    api_key, origin = telecom23_sandbox.api_key, telecom23_sandbox.base_url
    with (
        httpx.Client(trust_env=False) as http,
        pytest.raises(  # the user's reads no proxy
            sms_status.errors.TransportError, match=r"httpx\[socks\]"
        ),
    ):
        sms_status.connect("telecom23", api_key=api_key, base_url=origin, http_client=http)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with (
        httpx.Client(trust_env=False) as http,
        sms_status.connect(
            "telecom23", api_key=api_key, base_url=origin, http_client=http
        ) as client,
    ):
        assert client.get_status("m-1").state == "delivered"
    assert len(telecom23_sandbox.requests) == 1


@pytest.mark.skipif(
    importlib.util.find_spec("socksio") is not None, reason="httpx[socks] is installed"
)
def test_a_socks_proxy_given_without_httpx_socks_is_a_value_error_naming_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # It was blamed on the environment, as a TransportError; the sync client says ValueError.
    _clear_proxy_variables(monkeypatch)
    with pytest.raises(ValueError, match=r"proxy is a SOCKS proxy.*httpx\[socks\]"):
        sms_status.connect_async(
            "telecom23",
            api_key=KEY,
            base_url="http://status.provider.invalid",
            proxy="socks5://127.0.0.1:9",
            http_backend="httpx",
        )


def _clear_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)


def _look_up_through(
    proxy: _RecordingProxy,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    *,
    variable: str = "HTTP_PROXY",
) -> str:
    """One async lookup of "m3" with `proxy` as the environment's `variable` (it answers
    404 itself); the origin looked up."""
    _clear_proxy_variables(monkeypatch)
    monkeypatch.setenv(variable, proxy.url)
    origin = "http://status.provider.invalid"

    async def run() -> None:
        async with sms_status.connect_async(
            "telecom23", api_key=KEY, base_url=origin, http_backend=backend
        ) as c:
            with pytest.raises(sms_status.errors.NotFoundError):
                await c.get_status("m3")

    asyncio.run(run())
    return origin
