"""Lisoloo's webhook: its documented payloads read into the polling vocabulary, and its own
signature scheme's refusals. (What every provider's webhook shares is tests/webhooks/.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sms_status import DeliveryState, RecipientCounts, webhooks
from sms_status.errors import MalformedWebhookError, WebhookSignatureError
from webhook_support import (
    LISOLOO_CREDENTIALS,
    basic,
    dump,
    spec_example,
)


def test_lisoloo_docs_example_is_a_per_recipient_report() -> None:
    body = dump(spec_example("lisoloo", "smsEvent", "delivered"))
    event = webhooks.parse(
        "lisoloo", body=body, headers=basic(LISOLOO_CREDENTIALS), secret=LISOLOO_CREDENTIALS
    )
    report = event.report
    assert event.event_id == "f8a3b7c1-2e4d-4a9b-9d8f-7c6e5b4a3d2c"
    assert event.kind == "sms.delivered"
    assert report.message_id == "507f1f77bcf86cd799439011"
    assert (report.state, report.is_final, report.provider_status) == (
        DeliveryState.DELIVERED,
        True,
        "sms.delivered",
    )
    assert report.recipient == "+254712345678"
    assert report.segments == 1
    assert report.delivered_at == report.updated_at == datetime(2026, 5, 27, 10, 15, 8, tzinfo=UTC)


def test_lisoloo_queued_is_message_level_with_everyone_pending() -> None:
    body = dump(spec_example("lisoloo", "smsEvent", "queued"))
    report = webhooks.parse(
        "lisoloo", body=body, headers=basic(LISOLOO_CREDENTIALS), secret=LISOLOO_CREDENTIALS
    ).report
    assert (report.state, report.is_final, report.recipient) == (DeliveryState.PENDING, False, None)
    assert report.recipients == RecipientCounts(total=1, delivered=0, failed=0, pending=1)


def test_lisoloo_wrong_or_missing_credentials_are_refused_and_never_shown() -> None:
    body = dump(spec_example("lisoloo", "smsEvent", "delivered"))
    for headers in (basic("hooks:wrong"), basic("hooks"), {"Authorization": "Basic !!!"}, {}):
        with pytest.raises(WebhookSignatureError) as caught:
            webhooks.parse("lisoloo", body=body, headers=headers, secret=LISOLOO_CREDENTIALS)
        assert "s3cr3t" not in str(caught.value) + repr(caught.value)
    with pytest.raises(WebhookSignatureError):
        webhooks.parse(
            "lisoloo",
            body=body,
            headers={
                "Authorization": basic(LISOLOO_CREDENTIALS)["Authorization"].replace(
                    "Basic", "Bearer"
                )
            },
            secret=LISOLOO_CREDENTIALS,
        )


@pytest.mark.parametrize("field", ["event_id", "event_type"])
def test_a_lisoloo_event_without_an_id_or_type_is_malformed(field: str) -> None:
    # Found by the fuzz test below: an empty event_id is nothing to deduplicate on, and an
    # empty event_type says nothing of what happened.
    payload = spec_example("lisoloo", "smsEvent", "delivered")
    payload[field] = ""
    with pytest.raises(MalformedWebhookError, match="names no event"):
        webhooks.parse(
            "lisoloo",
            body=dump(payload),
            headers=basic(LISOLOO_CREDENTIALS),
            secret=LISOLOO_CREDENTIALS,
        )
