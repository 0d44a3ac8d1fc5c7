"""What every provider's client does the same way, checked against each sandbox."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import pytest
from sms_status import PROVIDERS, DeliveryState
from sms_status._registry import PER_ID_LOOKUP
from sms_status.errors import (
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)

PER_ID = list(PER_ID_LOOKUP)  # the registry's providers without batch lookups
ALL = list(PROVIDERS)  # the registry: a new provider is covered here at once
FIRST_AND_FINAL = {
    "telecom23": ("pending", "DELIVRD"),
    "namirial": ("PROVIDER_ACCEPTANCE", "DELIVERED"),
    "roycetalk": ("pending", "delivered"),
    "lisoloo": ("pending", "delivered"),
    "seven": ("ACCEPTED", "DELIVERED"),
}


@pytest.fixture(params=ALL)
def sandbox(request):  # type: ignore[no-untyped-def]
    return request.getfixturevalue(f"{request.param}_sandbox")


@pytest.fixture(params=PER_ID)
def per_id_sandbox(request):  # type: ignore[no-untyped-def]
    return request.getfixturevalue(f"{request.param}_sandbox")


def test_a_lifecycle_is_followed_to_its_final_state(sandbox, connect):
    first, final = FIRST_AND_FINAL[sandbox.key]
    sandbox.add_message("life-1", statuses=(first, final))
    with connect(sandbox) as client:
        assert client.get_status("life-1").is_final is False
        report = client.get_status("life-1")
    assert report.state is DeliveryState.DELIVERED
    assert report.is_final is True
    assert report.provider_status == final


def test_wait_for_final_polls_on_the_sandbox_clock_until_final(sandbox, connect, sandbox_clock):
    first, final = FIRST_AND_FINAL[sandbox.key]
    sandbox.add_message("slow-1", statuses=(first, final), advance=20.0)
    updates = []
    started = sandbox_clock.monotonic()
    with connect(sandbox) as client:
        report = client.wait_for_final("slow-1", timeout=120, on_update=updates.append)
    waited = sandbox_clock.monotonic() - started
    assert report.is_final
    assert [u.provider_status for u in updates] == [first, final]
    assert 20 <= waited <= 120  # the lifecycle's step, within the timeout
    assert len(sandbox.requests) >= 2


def test_wait_for_final_returns_last_report_on_timeout(sandbox, connect):
    first, _ = FIRST_AND_FINAL[sandbox.key]
    sandbox.add_message("stuck-1", statuses=(first,))
    with connect(sandbox) as client:
        report = client.wait_for_final("stuck-1", timeout=30)
    assert report.is_final is False
    assert report.provider_status == first


def test_a_wrong_key_is_an_authentication_error_that_never_shows_the_key(sandbox):
    import sms_status

    secret = "sk_test_definitely_wrong_key_42"
    client = sms_status.connect(sandbox.key, api_key=secret, base_url=sandbox.base_url)
    with client, pytest.raises(AuthenticationError) as caught:
        client.get_status("77232007287" if sandbox.key == "seven" else "whatever")
    err = caught.value
    assert secret not in f"{err} {err!r} {err.body_excerpt} {err.message}"
    assert secret not in repr(client)
    assert all(secret not in str(r.headers) for r in sandbox.requests)


def test_an_unknown_or_other_tenants_id_is_not_found(sandbox, connect):
    sandbox.add_tenant_key("sk_other_tenant", "other")
    first, _ = FIRST_AND_FINAL[sandbox.key]
    sandbox.add_message("theirs-1", statuses=(first,), tenant="other")
    with connect(sandbox) as client:
        for message_id in ("no-such-id", "theirs-1"):
            with pytest.raises(NotFoundError) as caught:
                client.get_status(message_id)
            assert caught.value.error_code in {"NOT_FOUND", "901"}


@pytest.mark.parametrize("message_id", ["a/b", "?x", "#x", "%2e%2e", "+15551234567", "a b", "ü"])
def test_odd_ids_reach_the_server_as_themselves_in_one_segment(per_id_sandbox, connect, message_id):
    first, _ = FIRST_AND_FINAL[per_id_sandbox.key]
    per_id_sandbox.add_message(message_id, statuses=(first,))
    with connect(per_id_sandbox) as client:
        report = client.get_status(message_id)
    assert report.message_id == message_id
    (request,) = per_id_sandbox.requests
    segments = [s for s in request.raw_path.split("/") if s]
    assert unquote(segments[-1]) == message_id
    assert "?" not in request.raw_path
    assert "#" not in request.raw_path


@pytest.mark.parametrize("message_id", ["", ".", "..", "a\nb"])
def test_dangerous_ids_are_refused_before_any_request(sandbox, connect, message_id):
    with connect(sandbox) as client, pytest.raises(ValueError, match="message id"):
        client.get_status(message_id)
    assert sandbox.requests == []


def test_a_429_with_retry_after_is_waited_out_then_answered(per_id_sandbox, connect):
    first, _ = FIRST_AND_FINAL[per_id_sandbox.key]
    per_id_sandbox.add_message("busy-1", statuses=(first,))
    per_id_sandbox.inject_fault("rate_limit", message_id="busy-1", retry_after="7")
    slept = []

    def sleep(seconds: float) -> None:  # recorded, and the client's clock moves on
        slept.append(seconds)
        per_id_sandbox.clock.sleep(seconds)

    with connect(per_id_sandbox, sleep=sleep) as client:
        report = client.get_status("busy-1")
    assert report.provider_status == first
    assert slept == [7.0]  # the retry's slot comes as the 429's hold of the budget ends


@pytest.mark.parametrize("body", ["empty", "html"])
def test_bodiless_and_html_429s_are_rate_limit_errors(per_id_sandbox, connect, body):
    per_id_sandbox.inject_fault("rate_limit", body=body, retry_after=None, times=None)
    with connect(per_id_sandbox, max_retries=0) as client, pytest.raises(RateLimitError) as caught:
        client.get_status("anything")
    assert caught.value.status_code == 429


def test_a_proxy_502_html_page_is_retried(per_id_sandbox, connect):
    first, _ = FIRST_AND_FINAL[per_id_sandbox.key]
    per_id_sandbox.add_message("proxy-1", statuses=(first,))
    per_id_sandbox.inject_fault("proxy_502_html", message_id="proxy-1", times=2)
    with connect(per_id_sandbox) as client:
        assert client.get_status("proxy-1").provider_status == first
    assert [r.status for r in per_id_sandbox.requests] == [502, 502, 200]


@pytest.mark.parametrize(
    ("kind", "params", "error"),
    [
        ("truncated_json", {}, MalformedResponseError),
        ("wrong_types", {}, MalformedResponseError),
        ("not_json", {}, MalformedResponseError),
        ("status_code", {"status": 520}, ServerError),
        ("status_code", {"status": 499}, ServerError),
        ("server_error", {"status": 500}, ServerError),
    ],
)
def test_broken_answers_become_documented_errors(sandbox, connect, kind, params, error):
    first, _ = FIRST_AND_FINAL[sandbox.key]
    sandbox.add_message("broken-1", statuses=(first,))
    sandbox.inject_fault(kind, message_id="broken-1", times=None, **params)
    with connect(sandbox) as client:
        if sandbox.key == "seven":
            (report,) = client.get_statuses(["broken-1"])
            caught = report.error
        else:
            with pytest.raises(error) as info:
                client.get_status("broken-1")
            caught = info.value
    assert isinstance(caught, error)
    assert type(caught).__module__ == "sms_status.errors"


def test_an_unknown_status_value_is_unrecognized_not_an_error(sandbox, connect):
    _first, _ = FIRST_AND_FINAL[sandbox.key]
    sandbox.add_message("new-1", statuses=("QUANTUM_DELIVERED",))
    with connect(sandbox) as client:
        (report,) = client.get_statuses(["new-1"])
    assert report.error is None
    assert report.state is DeliveryState.UNRECOGNIZED
    assert report.is_final is False
    assert report.provider_status == "QUANTUM_DELIVERED"


def test_a_stall_longer_than_the_timeout_is_a_transport_error(per_id_sandbox, connect):
    per_id_sandbox.inject_fault("stall", seconds=5.0, times=None)
    client = connect(per_id_sandbox, timeout=0.3, max_retries=1)
    with client, pytest.raises(TransportError) as caught:
        client.get_status("slow")
    assert "Timeout" in str(caught.value)
    # Each attempt had the whole timeout: the message says the call took two of them.
    assert str(caught.value).endswith("(the last of 2 attempts)")


def test_a_connection_reset_mid_body_is_retried(per_id_sandbox, connect):
    first, _ = FIRST_AND_FINAL[per_id_sandbox.key]
    per_id_sandbox.add_message("reset-1", statuses=(first,))
    per_id_sandbox.inject_fault("reset", message_id="reset-1", times=1)
    with connect(per_id_sandbox) as client:
        assert client.get_status("reset-1").provider_status == first


def test_async_bulk_keeps_order_and_reports_unknown_ids(sandbox, connect_async):
    _first, final = FIRST_AND_FINAL[sandbox.key]
    ids = [f"bulk-{i}" for i in range(40)]
    for message_id in ids:
        sandbox.add_message(message_id, statuses=(final,))

    async def lookup():  # type: ignore[no-untyped-def]
        async with connect_async(sandbox, concurrency=8, rate_limiter=None) as client:
            return await client.get_statuses([*ids[:20], "missing", *ids[20:]])

    reports = asyncio.run(lookup())
    assert [r.message_id for r in reports] == [*ids[:20], "missing", *ids[20:]]
    assert isinstance(reports[20].error, NotFoundError)
    assert all(r.error is None and r.is_final for i, r in enumerate(reports) if i != 20)
