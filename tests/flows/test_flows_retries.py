"""`_request.request_with_retries` and `_flows.lookup` driven directly: which answers are
retried, how long each wait is (backoff, Retry-After honoured and capped), and that no wait
or request passes a deadline."""

from __future__ import annotations

import copy
from typing import Any, NoReturn

import attrs
import pytest
from flows_support import SECRET, Clock, Script, context, empty_reply, json_reply
from sms_status import _flows, _request
from sms_status._exchange import AttemptTimeout, BodyRejected, Reply
from sms_status._flows import DeadlineReached, Send
from sms_status.errors import (
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from sms_status.providers import lisoloo, telecom23
from sms_status.report import DeliveryState
from sms_status.testing import telecom23 as telecom23_fake

MESSAGE_ID = telecom23_fake.PROVIDER.examples[0].id


def delivered() -> Any:
    """telecom23's own documented example answer (status DELIVRD)."""
    return copy.deepcopy(telecom23_fake.PROVIDER.examples[0].body)


def telecom23_error(code: str) -> dict[str, object]:
    return {"status": False, "error_code": code, "description": "scripted"}


def status_flow(clock: Clock, **options: Any) -> _flows.Flow[Any]:
    return _flows.lookup(context(telecom23.PROVIDER, clock, **options), MESSAGE_ID)


def test_server_errors_are_retried_with_doubling_backoff_until_an_answer() -> None:
    clock = Clock()
    script = Script(
        clock,
        [
            empty_reply(503),
            empty_reply(502),
            json_reply(telecom23_error("DB_ERROR"), 504),
            json_reply(delivered()),
        ],
    )
    report = script.run(status_flow(clock))
    assert report.state is DeliveryState.DELIVERED
    assert report.message_id == MESSAGE_ID
    assert len(script.sent) == 4
    assert script.sleeps == [0.5, 1.0, 2.0]  # BACKOFF_BASE * 2**attempt, jitter pinned to 1


def test_backoff_is_capped() -> None:
    clock = Clock()
    script = Script(clock, [empty_reply(503)] * 7 + [json_reply(delivered())])
    script.run(status_flow(clock, max_retries=7))
    assert script.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_the_last_error_is_raised_once_the_retries_are_spent() -> None:
    clock = Clock()
    script = Script(clock, [empty_reply(503)] * 3)
    with pytest.raises(ServerError) as caught:
        script.run(status_flow(clock, max_retries=2))
    assert caught.value.status_code == 503
    assert len(script.sent) == 3
    assert script.sleeps == [0.5, 1.0]


def test_a_certificate_refused_on_a_retry_stays_not_retryable() -> None:
    # The error that names its attempts was rebuilt without `retryable`: a certificate
    # refused after a 503 read as retryable, and wait_for_final looked again.
    import ssl

    clock = Clock()
    refused = ssl.SSLCertVerificationError("certificate verify failed: unable to get issuer")
    script = Script(clock, [empty_reply(503), refused])
    with pytest.raises(TransportError) as caught:
        script.run(status_flow(clock, max_retries=2))
    assert "the last of 2 attempts" in str(caught.value)
    assert caught.value.retryable is False
    assert len(script.sent) == 2


def test_a_not_found_is_not_retried() -> None:
    clock = Clock()
    script = Script(clock, [json_reply(telecom23_error("NOT_FOUND"), 404)])
    with pytest.raises(NotFoundError):
        script.run(status_flow(clock))
    assert script.sleeps == []


@pytest.mark.parametrize(("retry_after", "waited"), [("7", 7.0), ("0", 0.0), ("3600", 60.0)])
def test_retry_after_is_honoured_up_to_the_cap(retry_after: str, waited: float) -> None:
    clock = Clock()
    limited = json_reply(telecom23_error("RATE_LIMIT_EXCEEDED"), 429, {"Retry-After": retry_after})
    script = Script(clock, [limited, json_reply(delivered())])
    script.run(status_flow(clock))
    assert script.sleeps == [waited]


@pytest.mark.parametrize("status", [408, 502, 503, 504])
@pytest.mark.parametrize(("retry_after", "waited"), [("30", 30.0), ("3600", 60.0)])
def test_retry_after_on_any_retried_status_is_honoured_up_to_the_cap(
    status: int, retry_after: str, waited: float
) -> None:
    # A 503 with Retry-After is a maintenance window (RFC 9110 10.2.3): backing off for
    # half a second would keep a fleet of clients hammering it.
    clock = Clock()
    unavailable = empty_reply(status, {"Retry-After": retry_after})
    script = Script(clock, [unavailable, unavailable, json_reply(delivered())])
    script.run(status_flow(clock))
    assert script.sleeps == [waited, waited]


def test_a_503_whose_retries_are_spent_carries_its_retry_after() -> None:
    clock = Clock()
    script = Script(clock, [empty_reply(503, {"Retry-After": "30"})] * 2)
    with pytest.raises(ServerError) as caught:
        script.run(status_flow(clock, max_retries=1))
    assert caught.value.retry_after == 30.0


def test_a_429_without_retry_after_backs_off() -> None:
    clock = Clock()
    script = Script(clock, [empty_reply(429), empty_reply(429), json_reply(delivered())])
    script.run(status_flow(clock))
    assert script.sleeps == [0.5, 1.0]


def test_lisoloo_retries_a_429_only_once() -> None:
    clock = Clock()
    ctx = context(lisoloo.PROVIDER, clock)
    limited = empty_reply(429, {"Retry-After": "2"})
    script = Script(clock, [limited, limited, limited])
    with pytest.raises(RateLimitError):
        script.run(_request.request_with_retries(ctx, lisoloo.PROVIDER.status_request("m1")))
    assert script.sleeps == [2.0]
    assert script.unused == 1


@pytest.mark.parametrize("retry_after", ["1" + "0" * 400, "1e400"])
def test_a_lisoloo_429_with_an_unusable_retry_after_backs_off_then_raises(retry_after: str) -> None:
    # Valid JSON both, past the range of a float: no advice, as in a Retry-After header.
    clock = Clock()
    ctx = context(lisoloo.PROVIDER, clock)
    body = f'{{"success": false, "error_code": "1301", "retry_after": {retry_after}}}'
    limited = Reply(429, {"content-type": "application/json"}, body.encode())
    script = Script(clock, [limited, limited])
    with pytest.raises(RateLimitError) as caught:
        script.run(_request.request_with_retries(ctx, lisoloo.PROVIDER.status_request("m1")))
    assert script.sleeps == [0.5]
    assert caught.value.retry_after is None


def _overflows(_body: object) -> NoReturn:
    raise OverflowError("int too large to convert to float")


@pytest.mark.parametrize(
    "hook",
    [
        "error_code_from_body",
        "is_error_envelope",
        "error_message_from_body",
        "retry_after_from_body",
    ],
)
def test_a_provider_hook_overflowing_on_an_error_body_still_gives_the_documented_error(
    hook: str,
) -> None:
    clock = Clock()
    provider = attrs.evolve(telecom23.PROVIDER, **{hook: _overflows})
    ctx = context(provider, clock, max_retries=1)
    # No error code: every hook reads the body.
    limited = json_reply({"status": False, "description": "slow down"}, 429)
    script = Script(clock, [limited, limited])
    with pytest.raises(RateLimitError):
        script.run(_flows.lookup(ctx, MESSAGE_ID))
    assert script.sleeps == [0.5]


def test_transport_failures_are_retried_and_described_without_the_key() -> None:
    clock = Clock()
    failure = AttemptTimeout(f"no answer (key {SECRET})")
    script = Script(clock, [failure, OSError("connection refused"), failure])
    with pytest.raises(TransportError) as caught:
        script.run(status_flow(clock, max_retries=2))
    assert str(caught.value).count("Timeout") == 1
    assert SECRET not in str(caught.value)
    assert script.sleeps == [0.5, 1.0]


def test_a_rejected_body_is_malformed_and_not_retried() -> None:
    clock = Clock()
    rejected = BodyRejected(
        "the body is larger than 10 bytes", status_code=200, headers={"x-api-key": SECRET}
    )
    script = Script(clock, [rejected])
    with pytest.raises(MalformedResponseError) as caught:
        script.run(status_flow(clock))
    assert caught.value.headers == {"x-api-key": "***"}
    assert script.sleeps == []


def test_no_wait_ends_past_the_deadline() -> None:
    clock = Clock()
    ctx = context(telecom23.PROVIDER, clock)
    request = telecom23.PROVIDER.status_request(MESSAGE_ID)
    script = Script(clock, [empty_reply(503), empty_reply(503)])
    with pytest.raises(ServerError):
        # The first backoff (0.5 s) fits before 1.2 s; the second (1.0 s) would end past it.
        script.run(_request.request_with_retries(ctx, request, deadline=1.2))
    assert script.sleeps == [0.5]
    assert all(send.deadline == 1.2 for send in script.sent)


def test_a_request_that_cannot_go_out_before_the_deadline_ends_the_call() -> None:
    clock = Clock()
    script = Script(clock, [DeadlineReached(), json_reply(delivered())])
    with pytest.raises(TransportError, match="no time left"):
        script.run(status_flow(clock))
    assert script.sleeps == []
    assert script.unused == 1


def test_on_retry_hears_each_retry_before_its_wait() -> None:
    clock = Clock()
    events: list[_flows.RetryEvent] = []
    ctx = _flows.Context(
        provider=telecom23.PROVIDER,
        secret=SECRET,
        max_retries=3,
        retry_after_cap=60.0,
        clock=clock,
        jitter=lambda: 1.0,
        on_retry=events.append,
    )
    script = Script(clock, [empty_reply(503), empty_reply(503), json_reply(delivered())])
    script.run(_flows.lookup(ctx, MESSAGE_ID))
    assert [(e.attempt, e.delay) for e in events] == [(1, 0.5), (2, 1.0)]
    assert all(isinstance(e.error, ServerError) for e in events)
    assert isinstance(script.effects[0], Send)


def test_a_retry_that_finds_no_time_ends_with_what_the_sent_attempt_met() -> None:
    # The driver could not send the retry (no time, no rate slot): the call ended with a
    # TransportError "no time left" (and later "(the last of 2 attempts)"), the 503 that
    # the one request sent met lost to an `except ServerError`.
    clock = Clock()
    script = Script(clock, [empty_reply(503), DeadlineReached("no time left")])
    with pytest.raises(ServerError) as raised:
        script.run(status_flow(clock))
    assert raised.value.status_code == 503
    assert len(script.sent) == 2


def test_timeouts_on_every_attempt_say_how_many_there_were() -> None:
    clock = Clock()
    timeout = AttemptTimeout("no complete response within 10 s")
    script = Script(clock, [timeout, timeout, timeout])
    with pytest.raises(TransportError) as raised:
        script.run(status_flow(clock, max_retries=2))
    assert str(raised.value).endswith("(the last of 3 attempts)")
