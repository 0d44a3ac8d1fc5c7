"""Retries: which failures are retried, how long the client waits (Retry-After or backoff with
jitter), lisoloo's single 429 retry, and what users see (on_retry, logging without the key)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import sms_status
from client_support import (
    API_KEY,
    PROVIDERS,
    FakeClock,
    Recorder,
    connect,
    example,
    json_response,
    seed_for,
)
from sms_status import RetryEvent
from sms_status.errors import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SmsStatusError,
    TransportError,
)

MESSAGE_ID = "77232007287"


def _failing(failure: int | type[Exception], times: int, provider: str = "telecom23") -> Any:
    """A handler that fails `times` times with `failure` (a status or an httpx exception),
    then answers the provider's seed body."""
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= times:
            if isinstance(failure, int):
                return httpx.Response(failure)
            raise failure("simulated", request=request)
        return json_response(seed_for(provider, MESSAGE_ID))

    return handler


RETRYABLE: list[int | type[Exception]] = [
    httpx.ConnectError,
    httpx.ReadTimeout,
    httpx.RemoteProtocolError,
    408,
    429,
    502,
    503,
    504,
]
NOT_RETRYABLE = [400, 401, 403, 404, 500, 501, 520]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("failure", RETRYABLE, ids=str)
def test_transient_failures_are_retried_twice_by_default_then_succeed(
    provider: str, failure: int | type[Exception], clock: FakeClock
) -> None:
    failures = 1 if (provider, failure) == ("lisoloo", 429) else 2  # lisoloo: one 429 retry
    server = Recorder(_failing(failure, failures, provider))
    with connect(provider, server, clock) as client:
        report = client.get_status(MESSAGE_ID)
    assert report.message_id == MESSAGE_ID
    assert len(server.requests) == failures + 1
    assert len(clock.sleeps) == failures


@pytest.mark.parametrize("failure", RETRYABLE, ids=str)
def test_transient_failures_raise_after_three_attempts(
    failure: int | type[Exception], clock: FakeClock
) -> None:
    server = Recorder(_failing(failure, 99))
    with connect("telecom23", server, clock) as client, pytest.raises(SmsStatusError) as info:
        client.get_status(MESSAGE_ID)
    assert len(server.requests) == 3
    expected = TransportError if not isinstance(failure, int) else ApiError
    assert isinstance(info.value, expected)
    if isinstance(failure, int):
        assert isinstance(info.value, ApiError)
        assert info.value.status_code == failure
        assert info.value.retryable


@pytest.mark.parametrize("status", NOT_RETRYABLE)
def test_other_statuses_are_answered_at_once(status: int, clock: FakeClock) -> None:
    server = Recorder(_failing(status, 99))
    with connect("telecom23", server, clock) as client, pytest.raises(ApiError) as info:
        client.get_status(MESSAGE_ID)
    assert len(server.requests) == 1
    assert clock.sleeps == []
    assert not info.value.retryable


@pytest.mark.parametrize("failure", [httpx.ConnectError, 503], ids=str)
def test_max_retries_zero_disables_retries(
    failure: int | type[Exception], clock: FakeClock
) -> None:
    server = Recorder(_failing(failure, 99))
    with (
        connect("roycetalk", server, clock, max_retries=0) as client,
        pytest.raises(SmsStatusError),
    ):
        client.get_status(MESSAGE_ID)
    assert len(server.requests) == 1
    assert clock.sleeps == []


def test_max_retries_is_configurable(clock: FakeClock) -> None:
    server = Recorder(_failing(502, 99))
    with connect("roycetalk", server, clock, max_retries=5) as client, pytest.raises(ServerError):
        client.get_status(MESSAGE_ID)
    assert len(server.requests) == 6


def test_negative_max_retries_is_refused() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        connect("roycetalk", _failing(502, 0), max_retries=-1)


def _rate_limited_once(retry_after: str) -> Any:
    calls = {"n": 0}

    def handler(_request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(429, headers={"Retry-After": retry_after})
        return json_response(seed_for("telecom23", MESSAGE_ID))

    return handler


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("0", 0.0), ("2.5", 2.5)])
def test_retry_after_seconds_is_honoured(header: str, expected: float, clock: FakeClock) -> None:
    with connect("telecom23", _rate_limited_once(header), clock) as client:
        client.get_status(MESSAGE_ID)
    assert clock.sleeps == [expected]


def test_retry_after_seconds_is_capped_at_60_by_default(clock: FakeClock) -> None:
    with connect("telecom23", _rate_limited_once("3600"), clock) as client:
        client.get_status(MESSAGE_ID)
    assert clock.sleeps == [60.0]


def test_retry_after_cap_is_configurable(clock: FakeClock) -> None:
    with connect("telecom23", _rate_limited_once("45"), clock, retry_after_cap=5.0) as client:
        client.get_status(MESSAGE_ID)
    assert clock.sleeps == [5.0]


@pytest.mark.parametrize("connect_fn", [sms_status.connect, sms_status.connect_async])
@pytest.mark.parametrize(
    ("cap", "error"),
    [
        (-1.0, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        pytest.param(10**400, ValueError, id="10**400"),
        # A server's Retry-After of 1e11 under such a cap: time.sleep raised a bare
        # OverflowError from the sync client. A day at most, as a hold is.
        pytest.param(1e12, ValueError, id="1e12"),
        ("60", TypeError),
        (True, TypeError),
    ],
)
def test_a_retry_after_cap_that_cannot_bound_a_wait_is_refused_at_connect(
    connect_fn: Any, cap: object, error: type[Exception]
) -> None:
    # A negative cap made the sync client's first 429 raise a bare ValueError from
    # time.sleep (the async one retried at once); nan left every Retry-After uncapped.
    with pytest.raises(error, match="retry_after_cap"):
        connect_fn("telecom23", api_key=API_KEY, retry_after_cap=cap)


def test_retry_after_cap_zero_retries_at_once(clock: FakeClock) -> None:
    with connect("telecom23", _rate_limited_once("45"), clock, retry_after_cap=0) as client:
        client.get_status(MESSAGE_ID)
    assert clock.sleeps == [0.0]


def test_retry_after_http_date_is_honoured_and_capped(clock: FakeClock) -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    with connect("telecom23", _rate_limited_once(soon), clock) as client:
        client.get_status(MESSAGE_ID)
    (waited,) = clock.sleeps
    assert 27.0 <= waited <= 31.0  # an HTTP-date has one-second resolution

    later = FakeClock()
    far = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    with connect("telecom23", _rate_limited_once(far), later) as client:
        client.get_status(MESSAGE_ID)
    assert later.sleeps == [60.0]


def test_retry_after_http_date_in_the_past_retries_at_once(clock: FakeClock) -> None:
    past = format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    with connect("telecom23", _rate_limited_once(past), clock) as client:
        client.get_status(MESSAGE_ID)
    assert clock.sleeps == [0.0]


@pytest.mark.parametrize("header", ["soon", "", "-5", "nan", "inf", "1e999"])
def test_garbage_retry_after_falls_back_to_a_bounded_backoff(header: str, clock: FakeClock) -> None:
    with connect("telecom23", _rate_limited_once(header), clock) as client:
        client.get_status(MESSAGE_ID)
    (waited,) = clock.sleeps
    assert 0.0 <= waited <= 0.5


def test_backoff_without_retry_after_grows_exponentially_with_jitter() -> None:
    first_waits: list[float] = []
    for _ in range(30):
        clock = FakeClock()
        server = Recorder(_failing(503, 99))
        with (
            connect("roycetalk", server, clock, max_retries=7) as client,
            pytest.raises(ServerError),
        ):
            client.get_status(MESSAGE_ID)
        assert len(clock.sleeps) == 7
        for attempt, waited in enumerate(clock.sleeps):
            assert 0.0 <= waited <= min(8.0, 0.5 * 2**attempt), (attempt, waited)
        first_waits.append(clock.sleeps[-1])
    # Jittered: not a constant, and not always zero.
    assert len(set(first_waits)) > 1
    assert max(first_waits) > 0


def test_lisoloo_retries_a_429_once_at_most(clock: FakeClock) -> None:
    body = example("lisoloo", "429", "rateLimited")
    server = Recorder(lambda _request: json_response(body, status=429), clock)
    with connect("lisoloo", server, clock) as client, pytest.raises(RateLimitError) as info:
        client.get_status(MESSAGE_ID)
    assert len(server.requests) == 2
    assert info.value.retry_after == 30.0
    assert clock.sleeps == [30.0]  # the body's retry_after was honoured before the one retry


def test_lisoloo_still_retries_other_transient_failures_twice(clock: FakeClock) -> None:
    server = Recorder(_failing(503, 99, "lisoloo"))
    with connect("lisoloo", server, clock) as client, pytest.raises(ServerError):
        client.get_status(MESSAGE_ID)
    assert len(server.requests) == 3


def test_telecom23_retries_a_429_up_to_max_retries(clock: FakeClock) -> None:
    server = Recorder(lambda _request: httpx.Response(429))
    with connect("telecom23", server, clock) as client, pytest.raises(RateLimitError):
        client.get_status(MESSAGE_ID)
    assert len(server.requests) == 3


def test_on_retry_receives_each_retry_with_its_attempt_number(clock: FakeClock) -> None:
    events: list[RetryEvent] = []
    handler = _failing(503, 2)
    with connect("telecom23", handler, clock, on_retry=events.append) as client:
        client.get_status(MESSAGE_ID)
    assert [e.attempt for e in events] == [1, 2]
    assert [e.delay for e in events] == clock.sleeps
    assert all(e.provider == "telecom23" for e in events)
    assert all(isinstance(e.error, ServerError) for e in events)
    assert all(e.error.status_code == 503 for e in events if isinstance(e.error, ApiError))


def test_on_retry_sees_transport_errors(clock: FakeClock) -> None:
    events: list[RetryEvent] = []
    with connect(
        "roycetalk", _failing(httpx.ConnectError, 1, "roycetalk"), clock, on_retry=events.append
    ) as client:
        client.get_status(MESSAGE_ID)
    assert len(events) == 1
    assert isinstance(events[0].error, TransportError)
    assert events[0].attempt == 1


def test_each_retry_is_logged_at_info_on_the_sms_status_logger(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sms_status")
    with connect("telecom23", _failing(502, 2), clock) as client:
        client.get_status(MESSAGE_ID)
    retries = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(retries) == 2
    assert all(r.name.startswith("sms_status") for r in retries)
    assert "retry 1" in retries[0].getMessage()
    assert "retry 2" in retries[1].getMessage()


def test_no_log_record_at_any_level_holds_the_key(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    def echo_status(status: int) -> Any:
        def handler(request: httpx.Request) -> httpx.Response:
            body = {"status": False, "error_code": "X", "description": f"{request.headers}"}
            return json_response(body, status=status)

        return handler

    def echo_transport(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused {request.headers}", request=request)

    for handler in (echo_status(503), echo_status(429), echo_status(401), echo_transport):
        with connect("telecom23", handler, clock) as client, pytest.raises(SmsStatusError):
            client.get_status(MESSAGE_ID)
    assert caplog.records  # something was logged, and ...
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "") + str(record.args)
        assert API_KEY not in text, text


def test_a_retry_that_succeeds_returns_the_report_not_an_error(clock: FakeClock) -> None:
    with connect("namirial", _failing(504, 1, "namirial"), clock) as client:
        report = client.get_status(MESSAGE_ID)
    assert report.error is None
    assert report.is_final


@pytest.mark.parametrize("status", [401, 404])
def test_definitive_answers_are_not_retried_even_with_retry_after(
    status: int, clock: FakeClock
) -> None:
    server = Recorder(lambda _request: httpx.Response(status, headers={"Retry-After": "1"}))
    with connect("telecom23", server, clock) as client, pytest.raises(ApiError) as info:
        client.get_status(MESSAGE_ID)
    assert isinstance(info.value, AuthenticationError | NotFoundError)
    assert len(server.requests) == 1
