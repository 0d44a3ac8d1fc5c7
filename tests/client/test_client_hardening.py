"""Hardening at the unit level: arguments refused at the boundary before any request, error
envelopes never read as statuses, errors that pickle and carry their response's context,
seven's batches sized by encoded bytes, one configuration for the async pools, and a
property: any status, headers and bytes give a report or an SmsStatusError."""

from __future__ import annotations

import asyncio
import copy
import math
import pickle
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sms_status
from client_support import (
    API_KEY,
    PROVIDERS,
    Recorder,
    connect,
    connect_async,
    json_response,
    seed,
    seed_for,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sms_status.errors import (
    ApiError,
    AuthenticationError,
    MalformedResponseError,
    MissingProviderError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SmsStatusError,
    TransportError,
)
from sms_status.report import StatusReport

MESSAGE_ID = "77232007287"


def _never_called(_request: httpx.Request) -> httpx.Response:
    raise AssertionError("no request may be sent")


# --- arguments are refused at the boundary, before any request --------------------------


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"api_key": 123}, TypeError, "api_key must be a str"),
        ({"api_key": None}, ValueError, "no API key for telecom23"),  # and none in the env
        ({"timeout": float("nan")}, ValueError, "timeout"),
        ({"timeout": float("inf")}, ValueError, "timeout"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": -1.5}, ValueError, "timeout"),
        ({"timeout": "5"}, TypeError, "timeout"),
        ({"timeout": True}, TypeError, "timeout"),
        ({"timeout": httpx.Timeout(None)}, ValueError, "at least one phase"),
        ({"timeout": httpx.Timeout(5.0, connect=float("inf"))}, ValueError, "timeout.connect"),
        ({"timeout": httpx.Timeout(5.0, read=0)}, ValueError, "timeout.read"),
        ({"max_retries": -1}, ValueError, "max_retries"),
        ({"max_retries": 1.5}, TypeError, "max_retries"),
        ({"max_response_bytes": 0}, ValueError, "max_response_bytes"),
        ({"max_response_bytes": "4MB"}, TypeError, "max_response_bytes"),
        ({"timout": 5}, TypeError, "timout"),
        ({"http2": True}, TypeError, "http2"),
    ],
)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_bad_client_arguments_fail_at_connect(
    mode: str,
    options: dict[str, Any],
    error: type[Exception],
    match: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SMS_STATUS_TELECOM23_API_KEY", raising=False)
    arguments: dict[str, Any] = {"api_key": API_KEY, **options}
    make = sms_status.connect if mode == "sync" else sms_status.connect_async
    with pytest.raises(error, match=match):
        make("telecom23", **arguments)


def test_an_httpx_timeout_is_accepted_and_bounds_the_attempt_by_its_longest_phase() -> None:
    seen: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return json_response(seed_for("telecom23", MESSAGE_ID))

    with connect("telecom23", handler, timeout=httpx.Timeout(3.0, connect=1.0)) as client:
        client.get_status(MESSAGE_ID)
    assert seen == [{"connect": 1.0, "read": 3.0, "write": 3.0, "pool": 3.0}]


@pytest.mark.parametrize(
    "ids",
    [
        ["ok-1", "bad-\udc80", "ok-2"],
        ["ok-1", "x" * 2000],
        ["ok-1", "\u00fc" * 200],  # 200 characters, 1200 bytes once percent-encoded
    ],
    ids=["lone-surrogate", "long", "long-encoded"],
)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_ids_that_cannot_be_sent_are_refused_for_the_whole_batch_before_any_request(
    provider: str, ids: list[str]
) -> None:
    recorder = Recorder(_never_called)
    with connect(provider, recorder) as client, pytest.raises(ValueError, match="invalid"):
        client.get_statuses(ids)
    assert recorder.requests == []


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1])
def test_wait_for_final_refuses_timeouts_that_would_never_end(timeout: float) -> None:
    recorder = Recorder(_never_called)
    with connect("telecom23", recorder) as client, pytest.raises(ValueError, match="timeout"):
        client.wait_for_final(MESSAGE_ID, timeout=timeout)
    assert recorder.requests == []


def test_history_refuses_a_before_that_is_not_a_datetime() -> None:
    recorder = Recorder(_never_called)
    with connect("namirial", recorder) as client:
        with pytest.raises(TypeError, match="before must be a datetime"):
            client.history_by_phone("+14155551234", before="2024-01-01")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="before must be a datetime"):
            client.iter_history_by_reference("ref", before=20240101)  # type: ignore[arg-type]
    assert recorder.requests == []


def test_history_refuses_a_before_without_a_time_zone_before_any_request() -> None:
    # A naive datetime went out with no offset (the server guessing its zone), and the
    # walk raised a bare TypeError after its first page, comparing it with the pages' times.
    recorder = Recorder(_never_called)
    naive = datetime(2026, 2, 4, 6, 54, 30)
    with connect("namirial", recorder) as client:
        with pytest.raises(ValueError, match="timezone-aware"):
            client.history_by_phone("+14155551234", before=naive)
        with pytest.raises(ValueError, match="timezone-aware"):
            next(iter(client.iter_history_by_reference("ref", before=naive)))
    assert recorder.requests == []


@pytest.mark.parametrize("concurrency", [1.5, "4", True])
def test_a_concurrency_that_is_no_int_is_refused_at_connect(concurrency: object) -> None:
    # 1.5 was taken; every get_statuses then raised a bare TypeError from range().
    with pytest.raises(TypeError, match="concurrency must be an int"):
        sms_status.connect_async("telecom23", api_key="sk_test_x", concurrency=concurrency)  # type: ignore[arg-type]


# --- error envelopes are errors, never statuses ------------------------------------------


def _envelope(provider: str) -> Any:
    body = seed_for(provider, MESSAGE_ID)
    body["status" if provider == "telecom23" else "success"] = False
    return body


@pytest.mark.parametrize("provider", ["telecom23", "roycetalk", "lisoloo"])
@pytest.mark.parametrize("status", [200, 400, 500])
def test_a_failure_envelope_carrying_status_data_is_an_api_error(
    provider: str, status: int
) -> None:
    body = _envelope(provider)
    body.pop("error_code", None)
    with (
        connect(provider, lambda _r: json_response(body, status), max_retries=0) as client,
        pytest.raises(ApiError) as caught,
    ):
        client.get_status(MESSAGE_ID)
    assert caught.value.status_code == status
    if status == 200:
        assert type(caught.value) is ApiError
        assert caught.value.error_code == "API_ERROR"


# --- errors: picklable, deep-copyable, with their response's context ---------------------


def _errors() -> list[SmsStatusError]:
    common: dict[str, Any] = {
        "provider": "lisoloo",
        "status_code": 429,
        "error_code": "1301",
        "body_excerpt": "{}",
        "request_id": "req_1",
        "headers": {"retry-after": "3"},
    }
    return [
        ApiError("m", **common),
        AuthenticationError("m", **common),
        NotFoundError("m", **common),
        RateLimitError("m", **common, retry_after=3.0),
        ServerError("m", **common, retryable=True),
        MalformedResponseError("m", provider="seven", status_code=200, request_id="r"),
        TransportError("ReadTimeout: timed out", provider="seven"),
        MissingProviderError("seven"),
    ]


@pytest.mark.parametrize("error", _errors(), ids=lambda e: type(e).__name__)
def test_every_error_pickles_and_deep_copies(error: SmsStatusError) -> None:
    for clone in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error), copy.copy(error)):
        assert type(clone) is type(error)
        assert vars(clone) == vars(error)
        assert str(clone) == str(error)
        assert clone.args == error.args
    if isinstance(error, MissingProviderError):
        assert pickle.loads(pickle.dumps(error)).name == error.name


def test_a_failed_id_in_get_statuses_crosses_a_pickle_boundary() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/missing"):
            return json_response({"status": False, "error_code": "NOT_FOUND"}, 404)
        return json_response(seed_for("telecom23", "found"))

    with connect("telecom23", handler) as client:
        reports = client.get_statuses(["found", "missing"])
    restored = pickle.loads(pickle.dumps(reports))
    assert restored == reports
    assert isinstance(restored[1].error, NotFoundError)


def test_lisoloo_errors_carry_the_request_id_and_masked_headers() -> None:
    body = {
        "success": False,
        "status_code": 429,
        "error_code": "1301",
        "message": "slow down",
        "request_id": "req_0123456789abcdef",
        "retry_after": 1,
    }
    headers = {"Retry-After": "1", "Set-Cookie": "s=1", "app-key": API_KEY, "X-Echo": API_KEY}
    answer = json_response(body, 429, headers)
    with (
        connect("lisoloo", lambda _r: answer, max_retries=0) as client,
        pytest.raises(RateLimitError) as caught,
    ):
        client.get_status(MESSAGE_ID)
    error = caught.value
    assert error.request_id == "req_0123456789abcdef"
    assert error.headers["retry-after"] == "1"
    assert error.headers["set-cookie"] == "***"
    assert error.headers["app-key"] == "***"
    assert error.headers["x-echo"] == "***"


def test_a_request_id_header_is_preferred_and_transport_errors_have_none() -> None:
    answer = json_response({}, 503, {"X-Request-Id": "abc-123"})
    with (
        connect("telecom23", lambda _r: answer, max_retries=0) as client,
        pytest.raises(ServerError) as caught,
    ):
        client.get_status(MESSAGE_ID)
    assert caught.value.request_id == "abc-123"
    transport = TransportError("x", provider="telecom23")
    assert (transport.status_code, transport.request_id, dict(transport.headers)) == (
        None,
        None,
        {},
    )


# --- seven: batches sized by what the URL really carries ----------------------------------


@pytest.mark.parametrize(
    "make_id", [lambda n: f"id-{n:04d}", lambda n: f"\u00fc\u00e9{n:04d}", lambda n: f"a b/{n:03d}"]
)
def test_seven_batch_urls_stay_under_2_kb_even_when_ids_need_encoding(make_id: Any) -> None:
    ids = [make_id(n) for n in range(250)]
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        joined = request.url.params["msg_id"]
        return json_response(
            [
                {"id": i, "status": "DELIVERED", "status_time": "2024-02-16 15:43:16.905"}
                for i in joined.split(",")
            ]
        )

    with connect("seven", handler, lookup="status") as client:
        reports = client.get_statuses(ids)
    assert [r.message_id for r in reports] == ids
    assert all(r.error is None for r in reports)
    assert max(len(u.encode()) for u in urls) < 2048


# --- the async client: one configuration, one result per id, no orphan tasks -------------


def test_async_pools_send_what_the_api_client_is_configured_with() -> None:
    seen: list[str | None] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-tenant"))
        return json_response(seed_for("telecom23", request.url.path.rsplit("/", 1)[-1]))

    async def main() -> list[StatusReport]:
        async with connect_async("telecom23", handler, concurrency=16) as client:
            assert len(client._owned) == 4  # api's client and three lending theirs
            # Configured after construction, on the documented escape hatch only.
            client.api.get_async_httpx_client().headers["X-Tenant"] = "t1"
            return await client.get_statuses([f"m{n}" for n in range(32)])

    reports = asyncio.run(main())
    assert len(reports) == 32
    assert seen == ["t1"] * 32


def test_an_aborted_bulk_lookup_leaves_no_task_behind() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/m3"):
            return json_response({"status": False, "error_code": "INVALID_API_KEY"}, 401)
        await asyncio.sleep(0.01)
        return json_response(seed_for("telecom23", "x"))

    async def main() -> set[asyncio.Task[Any]]:
        async with connect_async("telecom23", handler, concurrency=8) as client:
            with pytest.raises(AuthenticationError):
                await client.get_statuses([f"m{n}" for n in range(40)])
            current = asyncio.current_task()
            left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
            # Only attempts already sent on httpx may still run, to their end (httpcore,
            # cancelled mid-request, kept its connection booked: `send_async`): each ends
            # by itself, within its timeout.
            assert all("_attempt" in repr(t.get_coro()) for t in left), left
            if not left:
                return set()
            _, hanging = await asyncio.wait(left, timeout=10)
            return hanging

    assert asyncio.run(main()) == set()


# --- property: any status, headers and bytes -> a report or an SmsStatusError ------------

header_names = st.sampled_from(
    ["retry-after", "content-type", "x-request-id", "set-cookie", "content-length", "x-odd"]
)
header_values = st.one_of(
    st.sampled_from(
        [
            b"Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
            b"Fri, 31 Dec 9999 23:59:59 GMT",
            b"1e309",
            b"-5",
            b"nan",
            b"\xff\xfe",
            API_KEY.encode(),
        ]
    ),
    st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
)


@st.composite
def bodies(draw: st.DrawFn, provider: str) -> bytes:
    import json

    choice = draw(st.integers(min_value=0, max_value=3))
    if choice == 0:
        return draw(st.binary(max_size=200))
    body = seed(provider)
    if choice == 1 and isinstance(body, dict):
        key = draw(st.sampled_from(sorted(body)))
        body[key] = draw(st.sampled_from([None, False, True, 0, "", API_KEY, [], {}, 1e308]))
    if choice == 2 and isinstance(body, dict):
        body.update({"status": False, "success": False})
    return json.dumps(body).encode()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_any_status_headers_and_bytes_give_a_report_or_an_sms_status_error(provider: str) -> None:
    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        status=st.integers(min_value=100, max_value=599),
        headers=st.lists(st.tuples(header_names, header_values), max_size=4),
        content=bodies(provider),
    )
    def check(status: int, headers: list[tuple[str, bytes]], content: bytes) -> None:
        pairs = [(n, v) for n, v in headers if n != "content-length"]

        def handler(_request: httpx.Request) -> httpx.Response:
            return httpx.Response(status, headers=pairs, content=content)

        lookup: dict[str, Any] = {"lookup": "status"} if provider == "seven" else {}
        with connect(provider, handler, max_retries=1, retry_after_cap=0.0, **lookup) as client:
            try:
                result: object = client.get_status(MESSAGE_ID)
            except SmsStatusError as exc:
                result = exc
                said = f"{exc} {exc!r} {vars(exc)}"
                assert API_KEY not in said
            else:
                assert isinstance(result, StatusReport)
        assert isinstance(result, StatusReport | SmsStatusError)

    check()


def test_retry_after_dates_beyond_year_9999_are_ignored_not_raised() -> None:
    from sms_status._responses import retry_after_seconds

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after_seconds("Mon, 01 Jan 99999999999999999999 00:00:00 GMT", now=now) is None
    assert retry_after_seconds("1e309", now=now) is None
    far = retry_after_seconds("Fri, 31 Dec 9999 23:59:59 GMT", now=now)
    assert far is not None
    assert math.isfinite(far)


@pytest.mark.slow  # 191 s
def test_log_masking_of_a_key_ends_when_its_last_client_closes() -> None:
    """A service making a client per tenant key must not grow the process-wide log filter
    (its memory, and its cost on every log record) without bound."""
    from sms_status import _redact

    before = set(_redact._filter.secrets)
    for tenant in range(20):  # each round opens two clients: enough to see growth
        key = f"tenant-key-{tenant:04d}-abcdefgh"
        first = sms_status.connect("telecom23", api_key=key)
        second = sms_status.connect("telecom23", api_key=key)
        assert key in _redact._filter.secrets
        first.close()
        assert key in _redact._filter.secrets  # still used by an open client
        second.with_options(timeout=1.0).close()  # a copy's close ends nothing
        assert key in _redact._filter.secrets
        second.close()
        assert key not in _redact._filter.secrets
    assert set(_redact._filter.secrets) <= before


# --- bounded decoding ---------------------------------------------------------------------


def _deflate(data: bytes, wbits: int) -> bytes:
    import zlib

    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        (None, lambda d: d),
        ("identity", lambda d: d),
        ("gzip", lambda d: _deflate(d, 31)),
        ("x-gzip", lambda d: _deflate(d, 31)),
        ("deflate", lambda d: _deflate(d, 15)),  # zlib-wrapped, as the RFC says
        ("deflate", lambda d: _deflate(d, -15)),  # raw, as many servers send it
        ("gzip, gzip", lambda d: _deflate(_deflate(d, 31), 31)),
        ("GZip ", lambda d: _deflate(d, 31)),
    ],
)
def test_bounded_body_decodes_what_it_accepts(encoding: str | None, encode: Any) -> None:
    from sms_status._transport.body import BoundedBody

    data = b'{"status": true, "padding": "' + b"x" * 300_000 + b'"}'
    encoded = encode(data)
    body = BoundedBody(encoding, cap=len(data))
    for start in range(0, len(encoded), 1000):  # network-sized chunks
        body.feed(encoded[start : start + 1000])
    assert body.finish() == data


def test_bounded_body_stops_a_bomb_after_at_most_one_step_past_the_cap() -> None:
    import zlib

    from sms_status._transport.body import BoundedBody

    bomb = _deflate(b"\0" * (64 * 1024 * 1024), 31)
    body = BoundedBody("gzip", cap=100_000)
    with pytest.raises(OverflowError, match="larger than 100000 bytes"):
        body.feed(bomb)
    assert len(body._body) <= 100_001  # inflated in steps no larger than what is left
    with pytest.raises(ValueError, match="unsupported Content-Encoding 'br'"):
        BoundedBody("gzip, br", cap=10)
    with pytest.raises(zlib.error):
        BoundedBody("gzip", cap=10).feed(b"not gzip at all")


def test_a_callback_that_would_never_be_awaited_is_refused() -> None:
    # The async client called an async on_update and dropped its coroutine: three updates,
    # no call, a "never awaited" warning at best.
    async def on_update(_report: StatusReport) -> None:
        pass

    recorder = Recorder(_never_called)
    async_client = connect_async("telecom23", recorder)
    with pytest.raises(TypeError, match="on_update is called, never awaited"):
        asyncio.run(async_client.wait_for_final(MESSAGE_ID, on_update=on_update))  # type: ignore[arg-type]
    with connect("telecom23", recorder) as client, pytest.raises(TypeError, match="never awaited"):
        client.wait_for_final(MESSAGE_ID, on_update=on_update)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_retry is called, never awaited"):
        connect("telecom23", recorder, on_retry=on_update)
    assert recorder.requests == []
