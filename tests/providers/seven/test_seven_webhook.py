"""seven's webhook: its documented payloads read into the polling vocabulary, and its own
signature scheme's refusals. (What every provider's webhook shares is tests/webhooks/.)"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sms_status import DeliveryState, webhooks
from sms_status.errors import WebhookSignatureError
from webhook_support import (
    NOW,
    SECRET,
    SEVEN_URL,
    dump,
    parse_signed,
    seven_headers,
    signed_seven,
    spec_example,
)


def test_seven_docs_example_reads_as_a_delivered_report_in_berlin_time() -> None:
    body = dump(spec_example("seven", "dlr", "dlr"))
    event = webhooks.parse(
        "seven",
        body=body,
        headers=seven_headers(SECRET, body, NOW, SEVEN_URL),
        secret=SECRET,
        url=SEVEN_URL,
        now=NOW,
    )
    report = event.report
    assert (event.kind, report.message_id, report.state, report.is_final) == (
        "dlr",
        "77232007287",
        DeliveryState.DELIVERED,
        True,
    )
    # The docs pair "2021-08-24 08:08:00.000000" with webhook_timestamp 08:08:00+02:00.
    assert report.updated_at == datetime(2021, 8, 24, 8, 8, tzinfo=ZoneInfo("Europe/Berlin"))
    assert report.updated_at == datetime.fromisoformat("2021-08-24T08:08:00+02:00")


def test_seven_refuses_another_url_or_method() -> None:
    body, headers = signed_seven()
    with pytest.raises(WebhookSignatureError):
        parse_signed("seven", body, headers, url=SEVEN_URL + "?x=1")
    with pytest.raises(WebhookSignatureError):
        parse_signed("seven", body, headers, url="https://evil.example/hooks/seven")
    with pytest.raises(WebhookSignatureError):
        parse_signed("seven", body, headers, method="PUT")
    body, headers = signed_seven(method="GET")
    with pytest.raises(WebhookSignatureError):
        parse_signed("seven", body, headers)  # signed for GET, received as POST
    parse_signed("seven", body, headers, method="get")  # the method is compared upper-cased
