"""RoyceTalk's polling reader: the spec's example bodies and the provider's quirks read into
a StatusReport. (What every provider's reader shares is tests/client/.)"""

from __future__ import annotations

from datetime import UTC, datetime

from client_support import MESSAGE_ID, read_served, seed, seed_for
from sms_status import DeliveryState as S


def test_roycetalk_seed_body_fills_the_report() -> None:
    report = read_served("roycetalk", seed("roycetalk"))
    assert report.state is S.DELIVERED
    assert report.recipient == "+254712345678"
    assert report.segments == 1
    assert report.created_at == datetime(2025, 11, 28, 13, 49, 13, 265444, tzinfo=UTC)
    assert report.sent_at == datetime(2025, 11, 28, 13, 49, 15, 123456, tzinfo=UTC)
    assert report.delivered_at == datetime(2025, 11, 28, 13, 49, 20, 789012, tzinfo=UTC)


def test_roycetalk_pending_message_has_no_sent_or_delivered_time() -> None:
    body = seed_for("roycetalk", MESSAGE_ID, "pending")
    body["data"]["sent_at"] = None
    body["data"]["delivered_at"] = None
    report = read_served("roycetalk", body)
    assert report.sent_at is None
    assert report.delivered_at is None
    assert report.is_final is False
