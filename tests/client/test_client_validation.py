"""Input checks at the edge: bad ids never reach the network, odd-but-valid ids reach the server
as exactly one path segment (or as the literal `msg_id` value for seven)."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest
import sms_status
from client_support import (
    PER_ID_PROVIDERS,
    PROVIDERS,
    Recorder,
    connect,
    json_response,
    last_segment_id,
    seed_for,
)

REFUSED = [
    "",
    ".",
    "..",
    "a\x00b",
    "a\nb",
    "a\rb",
    "tab\there",
    "del\x7f",
    "nel\x85",
    "csi\x9b",
    "pad\x80",
]
ODD_BUT_VALID = [
    "a/b",
    "?x",
    "#x",
    "%2e%2e",
    "%2F",
    "+15551234567",
    "ü",
    "a b",
    "../etc/passwd",
    "...",
    "a;b=c",
    "x&y=z",
    "\\",
    "😀",
]


def _echo(provider: str) -> Recorder:
    """A server answering every lookup with a report for the id the path carries."""

    def handler(request: httpx.Request) -> httpx.Response:
        if provider == "seven":
            wanted = request.url.params["msg_id"]
        else:
            wanted = unquote(last_segment_id(provider, request))
        return json_response(seed_for(provider, wanted))

    return Recorder(handler)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("message_id", REFUSED)
def test_unsendable_ids_are_refused_before_any_request(provider: str, message_id: str) -> None:
    server = _echo(provider)
    with connect(provider, server) as client:
        with pytest.raises(ValueError, match="invalid message id"):
            client.get_status(message_id)
        with pytest.raises(ValueError, match="invalid message id"):
            client.wait_for_final(message_id)
        with pytest.raises(ValueError, match="invalid message id"):
            client.get_statuses(["fine", message_id])
    assert server.requests == []


@pytest.mark.parametrize("provider", PER_ID_PROVIDERS)
@pytest.mark.parametrize("message_id", ODD_BUT_VALID)
def test_odd_ids_reach_the_server_as_exactly_one_path_segment(
    provider: str, message_id: str
) -> None:
    server = _echo(provider)
    with connect(provider, server) as client:
        report = client.get_status(message_id)
    (request,) = server.requests
    segment = last_segment_id(provider, request)
    assert "/" not in segment
    assert "?" not in segment
    assert "#" not in segment
    assert unquote(segment) == message_id
    assert request.url.query == b""
    assert request.url.fragment == ""
    assert report.message_id == message_id


@pytest.mark.parametrize("message_id", [i for i in ODD_BUT_VALID if "," not in i])
def test_seven_sends_odd_ids_as_the_literal_msg_id_value(message_id: str) -> None:
    server = _echo("seven")
    with connect("seven", server) as client:
        report = client.get_status(message_id)
    (request,) = server.requests
    assert request.url.path == "/api/status"
    assert request.url.params.get_list("msg_id") == [message_id]
    assert report.message_id == message_id


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("ids", ["77232007287", b"77232007287", bytearray(b"7723")])
def test_a_bare_string_is_not_split_into_ids(provider: str, ids: object) -> None:
    # bytes were iterated as ints: "message id must be a str, not int" named no mistake.
    server = _echo(provider)
    with connect(provider, server) as client, pytest.raises(TypeError, match="list of ids"):
        client.get_statuses(ids)  # type: ignore[arg-type]
    assert server.requests == []


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("message_id", [None, 77232007287, b"abc"])
def test_non_string_ids_are_a_type_error(provider: str, message_id: object) -> None:
    server = _echo(provider)
    with connect(provider, server) as client, pytest.raises(TypeError):
        client.get_status(message_id)
    assert server.requests == []


def test_unknown_provider_is_a_value_error_listing_the_keys() -> None:
    with pytest.raises(ValueError, match="unknown provider") as info:
        sms_status.connect("twilio", api_key="sk_test_x")
    for key in PROVIDERS:
        assert key in str(info.value)
    with pytest.raises(ValueError, match="telecom23"):
        sms_status.connect_async("Telecom23", api_key="sk_test_x")


@pytest.mark.parametrize("connect_fn", [sms_status.connect, sms_status.connect_async])
def test_empty_api_key_is_refused(connect_fn: object) -> None:
    assert callable(connect_fn)
    with pytest.raises(ValueError, match="api_key"):
        connect_fn("roycetalk", api_key="")


@pytest.mark.parametrize("timeout", [0, -1.0])
def test_non_positive_timeout_is_refused(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        sms_status.connect("roycetalk", api_key="sk_test_x", timeout=timeout)


@pytest.mark.parametrize("connect_fn", [sms_status.connect, sms_status.connect_async])
@pytest.mark.parametrize(
    "timeout",
    [
        pytest.param(10**400, id="10**400"),
        float("nan"),
        float("inf"),
        pytest.param(httpx.Timeout(10.0, read=10**400), id="read=10**400"),
        # Finite, but past what a socket's timeout holds (~9.2e9 s): every sync call failed
        # with an OverflowError on a good answer. An attempt is a day at most.
        pytest.param(1e10, id="1e10"),
        pytest.param(86_400.5, id="a day and more"),
        pytest.param(httpx.Timeout(10.0, connect=1e12), id="connect=1e12"),
    ],
)
def test_a_timeout_no_float_can_hold_is_refused_like_any_bad_one(
    connect_fn: object, timeout: object
) -> None:
    assert callable(connect_fn)
    with pytest.raises(ValueError, match="timeout"):
        connect_fn("roycetalk", api_key="sk_test_x", timeout=timeout)


def test_request_timeout_defaults_to_ten_seconds() -> None:
    seen: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions.get("timeout"))
        return json_response(seed_for("roycetalk", "x"))

    with connect("roycetalk", handler) as client:
        client.get_status("x")
    with connect("roycetalk", handler, timeout=2.5) as client:
        client.get_status("x")
    assert seen[0] == {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}
    assert seen[1] == {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}


@pytest.mark.parametrize(
    ("provider", "origin"),
    [
        ("telecom23", "https://restlink23telecom.com"),
        ("namirial", "https://sms-apistatus.namirialtsp.com"),
        ("roycetalk", "https://roycetalk.com"),
        ("lisoloo", "https://apps.api.bloonio.com"),
        ("seven", "https://gateway.seven.io"),
    ],
)
def test_requests_go_to_the_production_origin_unless_base_url_is_given(
    provider: str, origin: str
) -> None:
    server = Recorder(lambda _request: json_response(seed_for(provider, "abc")))
    with connect(provider, server) as client:
        client.get_status("abc")
    with connect(provider, server, base_url="http://127.0.0.1:8080/proxy") as client:
        client.get_status("abc")
    first, second = server.requests
    assert str(first.url).startswith(origin + "/")
    assert str(second.url).startswith("http://127.0.0.1:8080/proxy/api/")


@pytest.mark.parametrize(
    ("provider", "header", "value"),
    [
        ("telecom23", "x-api-key", "{key}"),
        ("namirial", "x-api-key", "{key}"),
        ("roycetalk", "authorization", "Bearer {key}"),
        ("lisoloo", "app-key", "{key}"),
        ("seven", "x-api-key", "{key}"),
    ],
)
def test_the_key_travels_in_the_documented_header(provider: str, header: str, value: str) -> None:
    from client_support import API_KEY

    server = _echo(provider)
    with connect(provider, server) as client:
        client.get_status("abc")
    (request,) = server.requests
    assert request.headers[header] == value.format(key=API_KEY)
    if provider == "seven":
        assert request.headers["accept"] == "application/json"


@pytest.mark.parametrize(
    ("api_key", "message"),
    [
        ("sk_test_\u2026", "non-ASCII character U\\+2026 at position 8"),
        ("sk_test\tx", "control character U\\+0009 at position 7"),
        ("sk_test_x\n", "whitespace around it"),
    ],
)
def test_a_malformed_api_key_is_refused_naming_the_character_not_the_key(
    api_key: str, message: str
) -> None:
    # The README's "sk_test_…" pasted as is used to be blamed on a trailing newline.
    with pytest.raises(ValueError, match=message) as info:
        sms_status.connect("telecom23", api_key=api_key)
    assert "sk_test" not in str(info.value)


@pytest.mark.parametrize("connect_fn", [sms_status.connect, sms_status.connect_async])
@pytest.mark.parametrize("base_url", ["127.0.0.1:18100", "localhost:8080", "ftp://host", "http://"])
def test_a_base_url_that_can_never_be_sent_is_refused_at_connect(
    connect_fn: object, base_url: str
) -> None:
    # It used to be retried twice at the first request and surface as a TransportError.
    assert callable(connect_fn)
    with pytest.raises(ValueError, match="base_url must start with http:// or https://"):
        connect_fn("telecom23", api_key="sk_test_x", base_url=base_url)


@pytest.mark.parametrize("connect_fn", [sms_status.connect, sms_status.connect_async])
@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:18100/?x=1", "https://h.example/gw?token=s3cret", "http://h/#a"]
)
def test_a_base_url_with_a_query_or_fragment_is_refused_at_connect(
    connect_fn: object, base_url: str
) -> None:
    # Each path was written after it ("/?x=1/api/v1/sms/status/<id>"): every lookup read
    # as "not found". The URL is not echoed (its query may hold a secret).
    assert callable(connect_fn)
    with pytest.raises(ValueError, match="base_url must have no query") as info:
        connect_fn("telecom23", api_key="sk_test_x", base_url=base_url)
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("connect_fn", [sms_status.connect, sms_status.connect_async])
@pytest.mark.parametrize("port", ["0", "99999", "65536", "abc"])
def test_a_base_url_whose_port_is_out_of_range_is_refused_at_connect(
    connect_fn: object, port: str
) -> None:
    # Port 0 sent the key to port 80, 99999 to 34463 (99999 % 65536); letters escaped as
    # httpx.InvalidURL.
    assert callable(connect_fn)
    with pytest.raises(ValueError, match="port must be a number from 1 to 65535"):
        connect_fn("telecom23", api_key="sk_test_x", base_url=f"http://127.0.0.1:{port}")


@pytest.mark.parametrize("connect_fn", [sms_status.connect, sms_status.connect_async])
@pytest.mark.parametrize(
    ("base_url", "says"),
    [
        ("http://127.0.0.1:8000\n", "whitespace"),
        ("http://127.0.0.1:8000 ", "whitespace"),
        ("http://999.1.1.1:8000", "host cannot be read"),
        ("http://[::1]x:80", "host cannot be read"),
        ("http://exa mple.com", "whitespace in it"),
        ("http://example.com/p\udc80ath", "lone surrogate"),
    ],
)
def test_a_base_url_httpx_cannot_read_is_a_value_error_at_connect(
    connect_fn: object, base_url: str, says: str
) -> None:
    # httpx.InvalidURL escaped from connect() (the CLI called it "unexpected"), and a
    # trailing space was refused as a bad port.
    assert callable(connect_fn)
    with pytest.raises(ValueError, match=says):
        connect_fn("telecom23", api_key="sk_test_x", base_url=base_url)


def test_a_base_url_that_is_no_str_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="base_url must be a str"):
        sms_status.connect("telecom23", api_key="sk_test_x", base_url=8080)  # type: ignore[arg-type]


def test_an_http_or_https_base_url_is_kept_as_given() -> None:
    for base_url in ("http://127.0.0.1:18100", "HTTPS://gateway.example.com/prefix"):
        with sms_status.connect("telecom23", api_key="sk_test_x", base_url=base_url) as client:
            assert client.base_url == base_url


def test_a_timeout_and_a_retry_after_cap_of_a_day_are_taken() -> None:
    sms_status.connect(
        "roycetalk", api_key="sk_test_x", timeout=86_400, retry_after_cap=86_400
    ).close()
