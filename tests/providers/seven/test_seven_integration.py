"""seven over its sandbox: many ids per request, bare objects, Berlin timestamps."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sms_status import DeliveryState
from sms_status.errors import NotFoundError


def test_1000_ids_take_at_most_10_requests(seven_sandbox, connect):
    ids = [str(80000000000 + i) for i in range(1000)]
    for message_id in ids:
        seven_sandbox.add_message(message_id, statuses=("DELIVERED",))
    with connect(seven_sandbox) as client:
        reports = client.get_statuses(ids)
    assert [r.message_id for r in reports] == ids
    assert all(r.state is DeliveryState.DELIVERED for r in reports)
    requests = seven_sandbox.requests
    assert len(requests) <= 10
    assert all(len(r.query_params["msg_id"][0].split(",")) <= 100 for r in requests)


def test_the_docs_example_in_one_request_with_berlin_time(seven_sandbox, connect):
    with connect(seven_sandbox) as client:
        first, second = client.get_statuses(["77232007287", "77232007195"])
    assert len(seven_sandbox.requests) == 1
    assert first.updated_at == datetime(2024, 2, 16, 15, 43, 16, 905000, ZoneInfo("Europe/Berlin"))
    assert second.provider_status == "DELIVERED"


def test_a_single_id_answered_as_a_bare_object(seven_sandbox, connect):
    with connect(seven_sandbox) as client:
        report = client.get_status("77232007195")
    assert report.is_final


def test_unknown_ids_are_reported_without_losing_the_others(seven_sandbox, connect):
    with connect(seven_sandbox) as client:
        reports = client.get_statuses(["77232007287", "nope-1", "77232007195", "nope-2"])
    assert [r.error is None for r in reports] == [True, False, True, False]
    assert isinstance(reports[1].error, NotFoundError)


def test_an_unknown_single_id_raises_not_found_901(seven_sandbox, connect):
    with connect(seven_sandbox) as client, pytest.raises(NotFoundError) as caught:
        client.get_status("nope")
    assert caught.value.error_code in {"901", "NOT_FOUND"}


def test_status_time_of_a_new_message_reads_back_as_the_same_instant(
    seven_sandbox, connect, sandbox_clock
):
    seven_sandbox.add_message("90000000001", statuses=("DELIVERED",))
    with connect(seven_sandbox) as client:
        report = client.get_status("90000000001")
    assert report.updated_at is not None
    assert abs(report.updated_at.timestamp() - sandbox_clock.now()) < 1


def test_its_signed_dlr_webhooks_follow_every_change(seven_sandbox, sandbox_webhooks):
    seven_sandbox.add_message("77232000001", advance=5)
    events = sandbox_webhooks(seven_sandbox, 3, secret="seven-signing-secret")
    assert [e.report.provider_status for e in events] == ["ACCEPTED", "TRANSMITTED", "DELIVERED"]
    assert {e.kind for e in events} == {"dlr"}
    assert events[-1].report.state is DeliveryState.DELIVERED
