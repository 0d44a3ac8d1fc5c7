"""lisoloo over its sandbox: pacing under 120 requests/min, recipient counts, 429 once."""

from __future__ import annotations

import pytest
from sms_status import DeliveryState, RecipientCounts
from sms_status.errors import NotFoundError, RateLimitError


@pytest.mark.slow  # 9.5 s: 500 requests
def test_500_lookups_stay_within_120_a_minute_and_meet_no_429(lisoloo_sandbox, connect):
    ids = [f"bulk-{i}" for i in range(500)]
    for message_id in ids:
        lisoloo_sandbox.add_message(message_id, statuses=("delivered",))
    with connect(lisoloo_sandbox) as client:
        reports = client.get_statuses(ids)
    assert all(r.error is None for r in reports)
    requests = lisoloo_sandbox.requests
    assert len(requests) == 500
    assert all(r.status == 200 for r in requests)  # the sandbox enforces 120/60 s: no 429
    times = sorted(r.at for r in requests)
    busiest = max(sum(1 for t in times[i:] if t - start < 60.0) for i, start in enumerate(times))
    assert busiest <= 120


def test_multi_recipient_message_reports_its_totals(lisoloo_sandbox, connect):
    lisoloo_sandbox.add_message(
        "multi-1",
        statuses=("partially_delivered",),
        total_recipients=3,
        delivered=2,
        failed=1,
        pending=0,
    )
    with connect(lisoloo_sandbox) as client:
        report = client.get_status("multi-1")
    assert report.state is DeliveryState.PARTIALLY_DELIVERED
    assert report.is_final
    assert report.recipients == RecipientCounts(total=3, delivered=2, failed=1, pending=0)


def test_a_429_is_retried_once_at_most(lisoloo_sandbox, connect):
    lisoloo_sandbox.inject_fault("rate_limit", times=None)
    slept = []

    def sleep(seconds: float) -> None:  # recorded, and the client's clock moves on
        slept.append(seconds)
        lisoloo_sandbox.clock.sleep(seconds)

    client = connect(lisoloo_sandbox, sleep=sleep)
    with client, pytest.raises(RateLimitError) as caught:
        client.get_status("507f1f77bcf86cd799439011")
    assert len(lisoloo_sandbox.requests) == 2
    assert caught.value.error_code == "1301"
    assert caught.value.retry_after is not None
    assert len(slept) == 1


def test_the_detail_shaped_404_is_not_found(lisoloo_sandbox, connect):
    with connect(lisoloo_sandbox) as client, pytest.raises(NotFoundError) as caught:
        client.get_status("507f1f77bcf86cd799439099")
    assert caught.value.message == "Message not found"


def test_its_basic_auth_webhooks_name_each_recipient(lisoloo_sandbox, sandbox_webhooks):
    lisoloo_sandbox.add_message(
        "m-hook", statuses=("pending", "delivered"), advance=5, recipients=["+254700000001"]
    )
    queued, delivered = sandbox_webhooks(lisoloo_sandbox, 2, secret="hooks:pass")
    assert (queued.kind, queued.report.recipients.total) == ("sms.queued", 1)
    assert (delivered.kind, delivered.report.recipient) == ("sms.delivered", "+254700000001")
    assert delivered.report.state is DeliveryState.DELIVERED
