"""Lisoloo's polling reader: the spec's example bodies and the provider's quirks read into
a StatusReport. (What every provider's reader shares is tests/client/.)"""

from __future__ import annotations

from datetime import UTC, datetime

from client_support import MESSAGE_ID, read_served, seed, seed_for
from sms_status import DeliveryState as S
from sms_status import RecipientCounts


def test_lisoloo_seed_body_fills_the_report_with_recipient_counts() -> None:
    report = read_served("lisoloo", seed("lisoloo"))
    assert report.state is S.DELIVERED
    assert report.recipients == RecipientCounts(total=1, delivered=1, failed=0, pending=0)
    assert report.created_at == datetime(2026, 5, 27, 10, 15, tzinfo=UTC)
    assert report.updated_at == datetime(2026, 5, 27, 10, 15, 8, tzinfo=UTC)


def test_lisoloo_partial_delivery_reports_the_split() -> None:
    body = seed_for("lisoloo", MESSAGE_ID, "partially_delivered")
    body["data"].update(total_recipients=5, delivered=3, failed=2, pending=0)
    report = read_served("lisoloo", body)
    assert report.state is S.PARTIALLY_DELIVERED
    assert report.is_final
    assert report.recipients == RecipientCounts(total=5, delivered=3, failed=2, pending=0)
