"""StatusReport.to_dict(): JSON-safe, exact, every field but `raw`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest
from sms_status import DeliveryState, RecipientCounts, StatusReport
from sms_status.errors import NotFoundError

BERLIN_WINTER = timezone(timedelta(hours=1))


def full_report() -> StatusReport:
    return StatusReport(
        provider="lisoloo",
        message_id="507f1f77bcf86cd799439011",
        state=DeliveryState.PARTIALLY_DELIVERED,
        is_final=True,
        provider_status="partially_delivered",
        recipient="+14155550100",
        segments=2,
        cost=Decimal("0.00850000000000000001"),
        created_at=datetime(2026, 5, 27, 10, 15, tzinfo=UTC),
        sent_at=datetime(2026, 5, 27, 10, 15, 1, 250000, tzinfo=UTC),
        delivered_at=None,
        updated_at=datetime(2024, 2, 16, 15, 43, 16, 905000, tzinfo=BERLIN_WINTER),
        provider_code="000",
        recipients=RecipientCounts(total=3, delivered=2, failed=1, pending=0),
        channel="SMS",
        raw=object(),
    )


def test_attrs_asdict_is_not_json_safe_but_to_dict_is() -> None:
    report = full_report()
    with pytest.raises(TypeError, match="not JSON serializable"):
        json.dumps(attrs.asdict(report))

    decoded = json.loads(json.dumps(report.to_dict()))

    assert decoded == {
        "provider": "lisoloo",
        "message_id": "507f1f77bcf86cd799439011",
        "state": "partially_delivered",
        "is_final": True,
        "provider_status": "partially_delivered",
        "recipient": "+14155550100",
        "segments": 2,
        "cost": "0.00850000000000000001",
        "created_at": "2026-05-27T10:15:00+00:00",
        "sent_at": "2026-05-27T10:15:01.250000+00:00",
        "delivered_at": None,
        "updated_at": "2024-02-16T15:43:16.905000+01:00",
        "provider_code": "000",
        "recipients": {"total": 3, "delivered": 2, "failed": 1, "pending": 0},
        "channel": "SMS",
        "error": None,
    }


def test_values_read_back_exactly() -> None:
    report = full_report()
    decoded = json.loads(json.dumps(report.to_dict()))
    assert Decimal(decoded["cost"]) == report.cost
    assert datetime.fromisoformat(decoded["updated_at"]) == report.updated_at
    assert DeliveryState(decoded["state"]) is report.state


def test_an_error_report_carries_its_error_as_data() -> None:
    error = NotFoundError(
        "Message not found", provider="telecom23", status_code=404, error_code="NOT_FOUND"
    )
    report = StatusReport(
        provider="telecom23",
        message_id="nope",
        state=DeliveryState.UNKNOWN,
        is_final=False,
        provider_status="",
        error=error,
    )

    decoded = json.loads(json.dumps(report.to_dict()))

    assert decoded["error"] == {
        "type": "NotFoundError",
        "error_code": "NOT_FOUND",
        "status_code": 404,
        "message": str(error),
    }
    assert decoded["cost"] is None
    assert decoded["state"] == "unknown"
