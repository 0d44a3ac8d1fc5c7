"""23 Telecom's polling reader: the spec's example bodies and the provider's quirks read into
a StatusReport. (What every provider's reader shares is tests/client/.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from client_support import read_served, seed
from sms_status import DeliveryState as S


def test_telecom23_seed_body_fills_the_report() -> None:
    report = read_served("telecom23", seed("telecom23"))
    assert report.state is S.DELIVERED
    assert report.is_final is True
    assert report.is_delivered
    assert report.recipient == "+14155551234"
    assert report.segments == 1
    assert report.cost == Decimal("0.0085")
    assert str(report.cost) == "0.0085"  # exact, not a binary-float approximation
    assert report.provider_code == "000"
    assert report.created_at == datetime(2026, 2, 13, 10, 30, tzinfo=UTC)
    assert report.delivered_at == datetime(2026, 2, 13, 10, 30, 4, tzinfo=UTC)
    assert report.created_at.utcoffset() == timedelta(0)
    assert report.raw is not None
    assert type(report.raw).__module__.startswith("sms_status_telecom23")


@pytest.mark.parametrize(("cost", "expected"), [(12, Decimal(12)), (0.1, Decimal("0.1"))])
def test_telecom23_cost_is_the_exact_decimal_of_the_json_number(
    cost: float, expected: Decimal
) -> None:
    body = seed("telecom23")
    body["message"]["cost"] = cost
    assert read_served("telecom23", body).cost == expected
