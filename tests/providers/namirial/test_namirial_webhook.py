"""Namirial's webhook: its documented payloads read into the polling vocabulary, and its own
signature scheme's refusals. (What every provider's webhook shares is tests/webhooks/.)"""

from __future__ import annotations

from datetime import UTC, datetime

from sms_status import DeliveryState, webhooks
from webhook_support import (
    dump,
    spec_example,
)


def test_namirial_docs_example_reads_like_the_status_endpoint() -> None:
    body = dump(spec_example("namirial", "statusUpdate", "statusUpdate"))
    event = webhooks.parse("namirial", body=body, headers={}, secret=None)
    report = event.report
    assert (event.kind, event.event_id) == ("STATUS_UPDATE", "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c")
    assert report.message_id == "011d9d6e-b5b9-4cb9-be13-2bc336a923ce"
    assert (report.state, report.is_final, report.channel) == (DeliveryState.DELIVERED, True, "SMS")
    assert report.updated_at == datetime(2026, 2, 4, 6, 54, 55, tzinfo=UTC)
    assert report.segments == 1
