"""Error bodies of every provider become the documented exception classes and error codes;
odd statuses and bodies never escape as raw ValueError/KeyError/JSONDecodeError; the API key
never shows in an error, and `body_excerpt` stays bounded."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import sms_status
from client_support import (
    API_KEY,
    PER_ID_PROVIDERS,
    PROVIDERS,
    connect,
    connect_async,
    example,
    json_response,
    seed_for,
    spec,
)
from sms_status._registry import load_provider
from sms_status.errors import (
    ApiError,
    AuthenticationError,
    HttpErrorCode,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SmsStatusError,
    TransportError,
)
from sms_status.providers.lisoloo import LisolooErrorCode
from sms_status.providers.seven import SevenErrorCode
from sms_status.providers.telecom23 import Telecom23ErrorCode

MESSAGE_ID = "77232007287"
DOCUMENTED_TYPES = (ApiError, MalformedResponseError, TransportError)
HTML = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def _error_from(
    provider: str,
    status: int,
    content: bytes = b"",
    headers: dict[str, str] | None = None,
    **options: Any,
) -> SmsStatusError:
    """The error `get_status` raises for one response (no retries)."""

    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers=headers or {})

    options.setdefault("max_retries", 0)
    with connect(provider, handler, **options) as client, pytest.raises(SmsStatusError) as info:
        client.get_status(MESSAGE_ID)
    return info.value


def _body(value: object) -> bytes:
    return json.dumps(value).encode()


# (provider, HTTP status, body, expected class, expected error_code)
DOCUMENTED_ERRORS: list[tuple[str, int, object, type[ApiError], str]] = [
    (
        "telecom23",
        401,
        example("telecom23", "401", "invalidKey", "/api/v1/sms/status/{message_id}"),
        AuthenticationError,
        "INVALID_API_KEY",
    ),
    (
        "telecom23",
        404,
        example("telecom23", "404", "notFound"),
        NotFoundError,
        "NOT_FOUND",
    ),
    (
        "telecom23",
        403,
        {"status": False, "error_code": "NO_SMS_ACCESS", "description": "No SMS access"},
        AuthenticationError,
        "NO_SMS_ACCESS",
    ),
    (
        "telecom23",
        429,
        {"status": False, "error_code": "RATE_LIMIT_EXCEEDED", "description": "Slow down"},
        RateLimitError,
        "RATE_LIMIT_EXCEEDED",
    ),
    (
        "telecom23",
        402,
        {"status": False, "error_code": "INSUFFICIENT_BALANCE", "description": "Top up"},
        ApiError,
        "INSUFFICIENT_BALANCE",
    ),
    (
        "telecom23",
        500,
        {"status": False, "error_code": "DB_ERROR", "description": "Database error"},
        ServerError,
        "DB_ERROR",
    ),
    ("lisoloo", 404, example("lisoloo", "404", "notFound"), NotFoundError, "NOT_FOUND"),
    (
        "lisoloo",
        404,
        {
            "success": False,
            "status_code": 404,
            "error_code": "1105",
            "message": "Message not found",
            "details": None,
            "retryable": False,
            "retry_after": None,
        },
        NotFoundError,
        "1105",
    ),
    ("lisoloo", 401, example("lisoloo", "401", "invalidAppKey"), AuthenticationError, "1001"),
    ("lisoloo", 401, example("lisoloo", "401", "appSuspended"), AuthenticationError, "1004"),
    (
        "lisoloo",
        403,
        {"success": False, "status_code": 403, "error_code": "1302", "message": "Suspended"},
        AuthenticationError,
        "1302",
    ),
    ("lisoloo", 429, example("lisoloo", "429", "rateLimited"), RateLimitError, "1301"),
    (
        "roycetalk",
        403,
        example("roycetalk", "403", "authenticationError"),
        AuthenticationError,
        "FORBIDDEN",
    ),
    ("roycetalk", 404, example("roycetalk", "404", "notFound"), NotFoundError, "NOT_FOUND"),
    ("roycetalk", 401, {"detail": "Invalid token."}, AuthenticationError, "UNAUTHORIZED"),
    ("seven", 200, 900, AuthenticationError, "900"),
    ("seven", 401, 900, AuthenticationError, "900"),
    ("seven", 200, 901, NotFoundError, "901"),
    ("seven", 404, 901, NotFoundError, "901"),
    ("seven", 200, 902, AuthenticationError, "902"),
    ("seven", 403, 903, AuthenticationError, "903"),
    ("seven", 200, 500, ApiError, "500"),
    # The specs require only `error_code`: a body without the envelope's flag is read too
    # (these read UNAUTHORIZED, PAYMENT_REQUIRED, and a retried RATE_LIMITED).
    ("telecom23", 401, {"error_code": "INVALID_API_KEY"}, AuthenticationError, "INVALID_API_KEY"),
    ("telecom23", 402, {"error_code": "INSUFFICIENT_BALANCE"}, ApiError, "INSUFFICIENT_BALANCE"),
    ("lisoloo", 429, {"status_code": 429, "error_code": "1302"}, AuthenticationError, "1302"),
    ("lisoloo", 429, {"error_code": "1302", "data": None}, AuthenticationError, "1302"),
]


@pytest.mark.parametrize(
    ("provider", "status", "body", "cls", "code"),
    DOCUMENTED_ERRORS,
    ids=[f"{p}-{s}-{c}" for p, s, _, _, c in DOCUMENTED_ERRORS],
)
def test_documented_error_body_raises_documented_class_and_code(
    provider: str, status: int, body: object, cls: type[ApiError], code: str
) -> None:
    error = _error_from(provider, status, _body(body))
    assert type(error) is cls
    assert isinstance(error, ApiError)
    assert error.error_code == code
    assert error.status_code == status
    assert error.provider == provider
    assert error.message  # something a human can read
    assert code in str(error)


def test_a_lisoloo_status_body_with_an_error_code_of_zero_is_still_a_status() -> None:
    # Read as an error once a bare error code was (the success body has no `success`).
    body = seed_for("lisoloo", MESSAGE_ID)
    body["error_code"] = 0
    with connect("lisoloo", lambda _request: json_response(body)) as client:
        report = client.get_status(MESSAGE_ID)
    assert report.error is None
    assert report.provider_status == body["data"]["status"]


def test_roycetalk_reads_the_message_from_both_error_shapes() -> None:
    forbidden = _error_from("roycetalk", 403, _body({"error": {"message": "Invalid API key"}}))
    not_found = _error_from("roycetalk", 404, _body({"message": "Message not found"}))
    assert isinstance(forbidden, AuthenticationError)
    assert forbidden.message == "Invalid API key"
    assert isinstance(not_found, NotFoundError)
    assert not_found.message == "Message not found"


def test_lisoloo_404_detail_shape_keeps_its_message() -> None:
    error = _error_from("lisoloo", 404, _body({"detail": "Message not found"}))
    assert isinstance(error, NotFoundError)
    assert error.message == "Message not found"


def test_error_codes_compare_equal_to_the_provider_enums() -> None:
    auth = _error_from("telecom23", 401, _body({"status": False, "error_code": "INVALID_API_KEY"}))
    assert isinstance(auth, ApiError)
    assert auth.error_code == Telecom23ErrorCode.INVALID_API_KEY
    limited = _error_from("lisoloo", 429, _body(example("lisoloo", "429", "rateLimited")))
    assert isinstance(limited, ApiError)
    assert limited.error_code == LisolooErrorCode.RATE_LIMIT_EXCEEDED
    seven = _error_from("seven", 200, b"901")
    assert isinstance(seven, ApiError)
    assert seven.error_code == SevenErrorCode.INVALID_MESSAGE_ID


def _spec_error_codes(provider: str) -> dict[str, str] | None:
    """The spec's machine-readable `x-error-codes` (code -> meaning), None where it has none."""
    schemas = spec(provider)["components"]["schemas"]
    found = [schema["x-error-codes"] for schema in schemas.values() if "x-error-codes" in schema]
    assert len(found) <= 1, f"specs/{provider}.yaml: more than one schema with x-error-codes"
    return {str(code): meaning for code, meaning in found[0].items()} if found else None


WITH_ERROR_CODES = [p for p in PROVIDERS if _spec_error_codes(p) is not None]


def test_seven_lists_its_error_codes_in_its_spec() -> None:
    assert "seven" in WITH_ERROR_CODES  # else the next test would check nothing


@pytest.mark.parametrize("provider", WITH_ERROR_CODES)
def test_overlay_error_codes_are_the_specs_x_error_codes(provider: str) -> None:
    # A code added to the spec left SevenErrorCode and ERROR_CLASSES without it, silently
    # (a review's find): the spec is the source, as `x-finality` is for STATUSES.
    documented = _spec_error_codes(provider) or {}
    entry = load_provider(provider)
    enum = entry.error_codes
    where = (
        f"specs/{provider}.yaml x-error-codes vs {enum.__name__} in "
        f"overlays/sms_status/providers/{provider}.py"
    )
    members = {member.value for member in enum}
    missing = sorted(documented.keys() - members)
    assert not missing, f"{where}: spec codes missing from the enum: {missing}"
    extra = sorted(members - documented.keys())
    assert not extra, f"{where}: enum codes the spec does not document: {extra}"
    unknown = sorted(set(entry.error_classes) - members)
    assert not unknown, f"{where}: ERROR_CLASSES codes not in the enum: {unknown}"


def test_lisoloo_429_takes_retry_after_from_the_body() -> None:
    error = _error_from("lisoloo", 429, _body(example("lisoloo", "429", "rateLimited")))
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 30.0
    assert error.retryable


@pytest.mark.parametrize(
    ("status", "retryable", "expected"),
    [
        (500, True, True),
        (503, False, False),
        (400, True, False),
        (429, False, True),
        (500, None, False),
    ],
    ids=["5xx-says-yes", "503-says-no", "4xx-says-yes", "429-says-no", "5xx-silent"],
)
def test_lisoloo_errors_are_retried_as_their_envelope_says(
    status: int, retryable: bool | None, expected: bool
) -> None:
    # The envelope's `retryable` (and `retry_after`) were ignored but on 408/429/5xx-gateway:
    # a 500 of its server range saying retryable=true was tried once. A body never makes a
    # 4xx retryable (sent again, it is refused again).
    envelope = {
        "success": False,
        "status_code": status,
        "error_code": "1401",
        "message": "Internal error",
        "retryable": retryable,
        "retry_after": 5,
    }
    error = _error_from("lisoloo", status, _body(envelope), {"Retry-After": "120"})
    assert error.retryable is expected
    # Kept whatever the body says of retrying: a tracker rests the provider that long.
    assert error.retry_after == (120.0 if status in (429, 503) or expected else None)


def test_retry_after_header_wins_over_the_body() -> None:
    body = _body(example("lisoloo", "429", "rateLimited"))
    error = _error_from("lisoloo", 429, body, {"Retry-After": "12"})
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 12.0


@pytest.mark.parametrize("content", [b"", HTML], ids=["bodiless", "html"])
def test_telecom23_bodiless_and_html_429_are_rate_limit_errors(content: bytes) -> None:
    error = _error_from("telecom23", 429, content)
    assert isinstance(error, RateLimitError)
    assert error.error_code == "RATE_LIMITED"
    assert error.retry_after is None


def test_namirial_bodiless_403_is_an_authentication_error() -> None:
    error = _error_from("namirial", 403)
    assert type(error) is AuthenticationError
    assert error.error_code == "FORBIDDEN"


@pytest.mark.parametrize("provider", PER_ID_PROVIDERS)
@pytest.mark.parametrize(
    ("status", "cls", "code"),
    [
        (401, AuthenticationError, "UNAUTHORIZED"),
        (403, AuthenticationError, "FORBIDDEN"),
        (404, NotFoundError, "NOT_FOUND"),
        (429, RateLimitError, "RATE_LIMITED"),
        (500, ServerError, "SERVER_ERROR"),
        (503, ServerError, "SERVER_ERROR"),
    ],
)
def test_bodiless_status_gets_a_code_derived_from_the_status(
    provider: str, status: int, cls: type[ApiError], code: str
) -> None:
    error = _error_from(provider, status)
    assert type(error) is cls
    assert isinstance(error, ApiError)
    assert error.error_code == code
    assert error.error_code == HttpErrorCode(code)  # every derived code has its member
    assert type(error.error_code) is str  # a plain str, as a provider's own code is
    assert error.status_code == status


def _documented_4xx(provider: str) -> set[int]:
    """The 4xx statuses the provider's spec gives any operation as an answer."""
    return {
        int(status)
        for path in spec(provider)["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict)
        for status in operation.get("responses", {})
        if str(status).startswith("4")
    }


@pytest.mark.parametrize("provider", PER_ID_PROVIDERS)
@pytest.mark.parametrize("status", [400, 402, 405, 408, 409, 410, 418, 422, 451])
def test_a_4xx_is_the_providers_answer_only_where_its_spec_documents_it(
    provider: str, status: int
) -> None:
    # API.md: ServerError is "5xx and any other unexpected status". 400, 402, 408, 409 and
    # 422 were ApiError for every provider (roycetalk documents none but 400), while 405,
    # 410 and 418 were ServerError: code catching the four leaf classes missed the first.
    error = _error_from(provider, status)
    expected = ApiError if status in _documented_4xx(provider) else ServerError
    assert type(error) is expected
    assert error.status_code == status
    assert load_provider(provider).error_statuses == _documented_4xx(provider)


ODD = [
    (499, b""),
    (499, HTML),
    (520, b""),
    (520, HTML),
    (520, b'{"status": false'),
    (102, b""),
    (302, b""),
    (200, HTML),
    (200, b'{"status": true, "message": {"message_id": "x", "sta'),
    (200, b"\xff\xfe\x00garbage"),
    (200, b"[]"),
    (200, b"null"),
    (200, b'"DELIVRD"'),
    (299, HTML),
    (204, b""),
]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("status", "content"), ODD)
def test_odd_statuses_and_bodies_raise_only_documented_errors(
    provider: str, status: int, content: bytes
) -> None:
    error = _error_from(provider, status, content)
    assert isinstance(error, DOCUMENTED_TYPES)
    if status >= 500 or status < 200 or 300 <= status < 400:
        assert isinstance(error, ServerError)
    if isinstance(error, ApiError):
        assert error.status_code == status
        assert error.error_code


@pytest.mark.parametrize("provider", PROVIDERS)
def test_html_body_on_200_is_a_malformed_response(provider: str) -> None:
    error = _error_from(provider, 200, HTML)
    assert isinstance(error, MalformedResponseError)
    assert "502 Bad Gateway" in error.body_excerpt


@pytest.mark.parametrize("provider", PROVIDERS)
def test_any_2xx_status_with_a_valid_body_succeeds(provider: str) -> None:
    body = seed_for(provider, MESSAGE_ID, None)
    with connect(provider, lambda _request: json_response(body, status=299)) as client:
        assert client.get_status(MESSAGE_ID).message_id == MESSAGE_ID


@pytest.mark.parametrize("after", [b" x", b"}", b"\x0b", "\u00a0".encode(), b'{"a": 1}'])
def test_a_200_body_with_more_than_json_whitespace_after_its_value_is_malformed(
    after: bytes,
) -> None:
    # As `json.loads` has it: a value, then only spaces, tabs, CR or LF.
    body = json.dumps(seed_for("telecom23", MESSAGE_ID, None)).encode() + after
    error = _error_from("telecom23", 200, body)
    assert isinstance(error, MalformedResponseError)
    assert "not JSON" in str(error)


def test_a_200_body_with_json_whitespace_after_its_value_is_read() -> None:
    body = json.dumps(seed_for("telecom23", MESSAGE_ID, None)).encode() + b" \r\n\t\n"
    with connect("telecom23", lambda _request: httpx.Response(200, content=body)) as client:
        assert client.get_status(MESSAGE_ID).message_id == MESSAGE_ID


def test_an_error_body_on_a_2xx_status_is_still_an_error() -> None:
    body = _body(example("telecom23", "404", "notFound"))
    error = _error_from("telecom23", 299, body)
    assert isinstance(error, NotFoundError)
    assert error.error_code == "NOT_FOUND"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [200, 404, 500])
def test_body_excerpt_is_bounded_at_500_characters(provider: str, status: int) -> None:
    error = _error_from(provider, status, b"<p>" + b"x" * 20_000 + b"</p>")
    assert isinstance(error, ApiError | MalformedResponseError)
    assert 0 < len(error.body_excerpt) <= 500
    assert error.body_excerpt.startswith("<p>")


def _echoing_bodies(provider: str) -> list[tuple[int, bytes]]:
    """Bodies a misbehaving server might send that repeat the key back. The malformed 200
    echoes it in the status (a bad secondary field is read leniently, not an error)."""
    key = API_KEY
    malformed = seed_for(provider, MESSAGE_ID, None)
    if provider == "telecom23":
        malformed["message"]["status"] = {"echo": key}
        error_body: object = {"status": False, "error_code": "INVALID_API_KEY", "description": key}
    elif provider == "namirial":
        malformed["message"]["statusChangedAt"] = key  # required: read strictly
        error_body = {"message": f"bad key {key}"}
    elif provider == "roycetalk":
        malformed["data"]["status"] = {"echo": key}
        error_body = {"error": {"message": f"Invalid API key {key}"}}
    elif provider == "lisoloo":
        malformed["data"]["status"] = [f"at {key}"]
        error_body = {"success": False, "error_code": "1001", "message": f"Invalid key {key}"}
    else:
        malformed["status"] = {"echo": key}
        error_body = {"error": key}
    return [
        (200, _body(malformed)),
        (401, _body(error_body)),
        (403, f"<html>forbidden for {key}</html>".encode()),
        (429, _body(error_body)),
        (500, (("y" * 480) + key).encode()),  # the key straddles the excerpt limit
        (200, f"<html>{key}</html>".encode()),
    ]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_api_key_never_appears_in_errors_even_when_the_server_echoes_it(provider: str) -> None:
    for status, content in _echoing_bodies(provider):
        error = _error_from(provider, status, content)
        assert isinstance(error, DOCUMENTED_TYPES)
        texts = [str(error), repr(error), *map(str, error.args)]
        texts.append(getattr(error, "message", ""))
        texts.append(getattr(error, "body_excerpt", ""))
        for text in texts:
            assert API_KEY not in text, (status, text)
            assert API_KEY[:20] not in text, (status, text)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_key_echoed_json_escaped_never_appears_in_errors(provider: str) -> None:
    # A base64-style key with "/" in it, echoed by a PHP-style encoder as "\/": the error's
    # message (read from the decoded JSON) was scrubbed, its body excerpt was not.
    key = "sk_live_AbC/dEf+GhI/jKl0123456789"
    echoed = json.dumps({"error": f"bad key {key}", "message": f"bad key {key}"})
    content = echoed.replace("/", "\\/").encode()

    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, content=content)

    with (
        sms_status.connect(
            provider, api_key=key, transport=httpx.MockTransport(handler), max_retries=0
        ) as client,
        pytest.raises(SmsStatusError) as info,
    ):
        client.get_status(MESSAGE_ID)
    error = info.value
    for text in (str(error), repr(error), error.body_excerpt or "", *map(str, error.args)):
        assert "dEf+GhI" not in text, text


def test_transport_error_text_never_holds_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy refused headers {dict(request.headers)}")

    with (
        connect("telecom23", handler, max_retries=0) as client,
        pytest.raises(TransportError) as info,
    ):
        client.get_status(MESSAGE_ID)
    assert "proxy refused" in str(info.value)
    assert API_KEY not in str(info.value)
    assert API_KEY not in repr(info.value)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_client_repr_never_shows_the_key(provider: str) -> None:
    with connect(provider, lambda _request: httpx.Response(200)) as client:
        assert API_KEY not in repr(client)
        assert API_KEY not in repr(client.api)
        assert API_KEY not in str(client)
        assert provider in repr(client)
    async_client = connect_async(provider, _async_ok)
    assert API_KEY not in repr(async_client)
    assert API_KEY not in repr(async_client.api)


def test_client_repr_masks_credentials_in_its_base_url() -> None:
    base_url = "https://user:hunter2pass@proxy.example/prefix"
    with sms_status.connect("telecom23", api_key=API_KEY, base_url=base_url) as client:
        shown = repr(client)
    assert "hunter2pass" not in shown
    assert "user" not in shown
    assert "base_url='https://[secure]@proxy.example/prefix'" in shown


async def _async_ok(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200)


@pytest.mark.parametrize(
    "bad_key",
    ["", "sk_test_abc\n", " sk_test_abc", "sk_test_abc\r\nX-Evil: 1", "sk_tést", "sk\x00test"],
)
def test_unusable_api_key_is_refused_at_connect_without_echoing_it(bad_key: str) -> None:
    with pytest.raises(ValueError, match="api_key") as info:
        sms_status.connect("telecom23", api_key=bad_key)
    if bad_key:
        assert bad_key.strip() not in str(info.value)


def test_seven_accepts_a_bearer_prefixed_key() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        return json_response(seed_for("seven", MESSAGE_ID))

    client = sms_status.connect(
        "seven", api_key=f"Bearer {API_KEY}", transport=httpx.MockTransport(handler)
    )
    with client:
        client.get_status(MESSAGE_ID)
    assert seen == [f"Bearer {API_KEY}"]


def test_every_error_names_its_provider_and_message_even_a_bare_one() -> None:
    # The base class declares both for `except SmsStatusError as e:`; a bare one (a user's
    # own subclass, say) raised AttributeError on them.
    bare = sms_status.errors.SmsStatusError("x")
    assert (bare.provider, bare.message) == ("", "")
    missing = sms_status.errors.MissingProviderError("seven")
    assert missing.provider == "seven"
    assert missing.message.startswith("the seven client is not installed")


@pytest.mark.parametrize(
    ("provider", "status", "body", "refused_as"),
    [
        (
            "lisoloo",
            429,
            {
                "success": False,
                "status_code": 429,
                "error_code": "1302",
                "message": "Suspicious activity",
                "retryable": True,
            },
            AuthenticationError,
        ),
        ("seven", 503, 900, AuthenticationError),
    ],
    ids=["lisoloo 1302 on a 429", "seven 900 on a 503"],
)
def test_a_refused_key_is_not_retried_whatever_status_carries_it(
    provider: str, status: int, body: object, refused_as: type[ApiError]
) -> None:
    # lisoloo's 1302 (the key suspended) comes on a 429: it was retried twice, the very loop
    # lisoloo's docs warn suspends keys, and read as retryable.
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(status, content=_body(body), headers={"Retry-After": "0"})

    with connect(provider, handler, max_retries=2) as client, pytest.raises(refused_as) as info:
        client.get_status("77232007287" if provider == "seven" else MESSAGE_ID)
    assert (info.value.retryable, len(requests)) == (False, 1)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-30", None),  # a retry at once, before
        ("+7", None),
        ("1e3", None),
        ("1_0", None),
        ("٣", None),  # an Arabic-Indic digit: float() reads it
        ("nan", None),
    ],
)
def test_retry_after_is_delta_seconds_or_a_date_nothing_float_reads(
    header: str, seconds: float | None
) -> None:
    from sms_status._responses import retry_after_seconds

    assert retry_after_seconds(header) == seconds


def test_every_error_has_a_status_code_none_where_there_was_no_response() -> None:
    # API.md: every exception carries it where there was a response; a catch-all logging
    # `error.status_code` raised AttributeError for the webhook errors (and failed mypy).
    from sms_status import errors

    caught: errors.SmsStatusError = errors.WebhookSignatureError("bad", provider="telecom23")
    assert caught.status_code is None
    assert errors.TransportError("reset", provider="seven").status_code is None
    refused = _error_from("telecom23", 401)
    assert refused.status_code == 401
