"""23 Telecom's webhook: its documented payloads read into the polling vocabulary, and its own
signature scheme's refusals. (What every provider's webhook shares is tests/webhooks/.)"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sms_status import DeliveryState, webhooks
from sms_status.errors import WebhookSignatureError
from webhook_support import (
    NOW,
    SECRET,
    dump,
    parse_signed,
    signed_telecom23,
    spec_example,
    telecom23_headers,
)


def test_telecom23_docs_example_reads_as_a_delivered_report() -> None:
    body = dump(spec_example("telecom23", "deliveryReport", "delivered"))
    event = webhooks.parse(
        "telecom23",
        body=body,
        headers=telecom23_headers(SECRET, body, NOW),
        secret=SECRET,
        now=NOW,
    )
    report = event.report
    assert (event.provider, event.kind) == ("telecom23", "delivery")
    assert report.message_id == "api_42_1743667200123456789_a3f8b2c1d9e45f67"
    assert (report.state, report.is_final, report.provider_status) == (
        DeliveryState.DELIVERED,
        True,
        "DELIVRD",
    )
    assert report.recipient == "+14155551234"
    assert report.segments == 1  # num_parts
    assert report.cost == Decimal("0.0085")
    assert report.provider_code == "000"
    assert report.updated_at == report.delivered_at == datetime(2026, 2, 13, 10, 30, 4, tzinfo=UTC)
    assert type(report.raw).__name__ == "DeliveryWebhook"  # the generated model


def test_telecom23_requires_the_sha256_prefix() -> None:
    body, headers = signed_telecom23()
    headers["X-Webhook-Signature"] = headers["X-Webhook-Signature"].removeprefix("sha256=")
    with pytest.raises(WebhookSignatureError, match="sha256="):
        parse_signed("telecom23", body, headers)
