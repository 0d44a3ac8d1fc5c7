"""Types and helpers the tracker's tests share (a module of its own: `conftest` is not
importable by name when several test folders have one)."""

from __future__ import annotations

from collections.abc import Callable

from sms_status import tracking
from sms_status.report import DeliveryState, StatusReport

MakeTracker = Callable[..., tracking.Tracker]
"""`make_tracker(clients={...}, **options)`, the fixture of tests/tracking/conftest.py."""


def delivered(message_id: str, provider: str = "telecom23") -> StatusReport:
    """A final DELIVRD report of `message_id`, as a push or a poll would read it."""
    return StatusReport(
        provider=provider,
        message_id=message_id,
        state=DeliveryState.DELIVERED,
        is_final=True,
        provider_status="DELIVRD",
    )
