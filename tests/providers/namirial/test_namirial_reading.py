"""Namirial's polling reader: the spec's example bodies and the provider's quirks read into
a StatusReport. (What every provider's reader shares is tests/client/.)"""

from __future__ import annotations

from datetime import UTC, datetime

from client_support import MESSAGE_ID, read_served, seed, seed_for
from sms_status import DeliveryState as S


def test_namirial_seed_body_fills_the_report() -> None:
    report = read_served("namirial", seed("namirial"))
    assert report.state is S.DELIVERED
    assert report.is_final is True
    assert report.channel == "SMS"
    assert type(report.channel) is str
    assert report.segments == 1
    assert report.provider_code == "0"
    assert report.created_at == datetime(2026, 2, 4, 6, 54, 35, tzinfo=UTC)
    assert report.updated_at == datetime(2026, 2, 4, 6, 54, 55, tzinfo=UTC)
    assert report.created_at.tzinfo is not None
    assert report.updated_at.tzinfo is not None


def test_namirial_rcs_channel_and_missing_sms_block() -> None:
    body = seed_for("namirial", MESSAGE_ID, "READ")
    body["message"]["channel"] = "RCS"
    del body["message"]["sms"]
    report = read_served("namirial", body)
    assert report.channel == "RCS"
    assert report.segments is None
    assert report.state is S.READ
    assert report.is_delivered
