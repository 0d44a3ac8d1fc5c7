"""RoyceTalk's webhook: its documented payloads read into the polling vocabulary, and its own
signature scheme's refusals. (What every provider's webhook shares is tests/webhooks/.)"""

from __future__ import annotations

from sms_status import DeliveryState, webhooks
from webhook_support import (
    dump,
)


def test_roycetalk_callback_reads_the_status_object_bare_or_enveloped() -> None:
    spec_body = {
        "success": True,
        "data": {"id": "f2672215-c20b-452a-9b6b-1ba51884c55e", "status": "failed"},
    }
    for body in (spec_body, spec_body["data"]):
        report = webhooks.parse("roycetalk", body=dump(body), headers={}, secret=None).report
        assert (report.message_id, report.state, report.is_final) == (
            "f2672215-c20b-452a-9b6b-1ba51884c55e",
            DeliveryState.FAILED,
            True,
        )
