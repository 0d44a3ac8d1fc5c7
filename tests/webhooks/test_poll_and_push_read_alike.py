"""A pushed report and a polled one read the same odd secondary fields the same way.

The sandbox serves the same message, with the same vendor oddities, over its status endpoint
and as its signed webhook; both channels go through the provider module's one set of
lenient readers, so an unreadable cost, count, recipient or code costs that field (None and
a warning) on either channel, never the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sms_status
from sms_status import DeliveryState, StatusReport, webhooks
from sms_status._registry import REGISTRY
from sms_status.testing import FakeClock, Sandbox
from webhook_support import Recorder, serve

SECRET = "whsec_alike_0123"

ODD_FIELDS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    # provider: (fields served on both channels, fields only one channel carries)
    "telecom23": (
        {"cost": "n/a", "segments": "two", "recipient": 4155551234, "status_code": [0]},
        ("created_at", "updated_at"),  # polling has created_at; the push has its timestamp
    ),
    "roycetalk": (
        {"sms_units_consumed": -3, "recipient_phone": ["+254712345678"], "sent_at": "soon"},
        (),
    ),
}


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, str]]:
    receiver = Recorder()
    with serve(receiver) as origin:
        yield receiver, origin + "/hooks/in"


def _comparable(report: StatusReport, only_one_channel: tuple[str, ...]) -> dict[str, object]:
    return {k: v for k, v in report.to_dict().items() if k not in only_one_channel}


@pytest.mark.sandbox_serves_off_spec  # the odd fields are the point
@pytest.mark.parametrize("key", list(ODD_FIELDS))
def test_the_same_odd_secondary_fields_read_alike_polled_and_pushed(
    key: str,
    request: pytest.FixtureRequest,
    sandbox_clock: FakeClock,
    recorder: tuple[Recorder, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sandbox: Sandbox = request.getfixturevalue(f"{key}_sandbox")
    fields, only_one_channel = ODD_FIELDS[key]
    receiver, url = recorder
    signed = REGISTRY[key].webhooks == "signed"
    sandbox.add_webhook(url, secret=SECRET if signed else None)
    final = sandbox.provider.default_statuses[-1]
    sandbox.add_message("m-odd-1", statuses=(final,), **fields)
    sandbox_clock.advance(1)
    sandbox.wait_for_webhooks(1)
    [(_, _, headers, body)] = receiver.received

    pushed = webhooks.parse(
        key,
        body=body,
        headers=headers,
        secret=SECRET if signed else None,
        now=sandbox_clock.now(),
    ).report
    with sms_status.connect(key, api_key=sandbox.api_key, base_url=sandbox.base_url) as client:
        polled = client.get_status("m-odd-1")

    assert pushed.state is polled.state is DeliveryState.DELIVERED
    assert _comparable(pushed, only_one_channel) == _comparable(polled, only_one_channel)
    unread = ("cost", "segments", "recipient", "provider_code", "sent_at")
    assert any(getattr(pushed, name) is None for name in unread)
    assert any("ignoring unreadable" in r.getMessage() for r in caplog.records)
