"""seven's polling reader: the spec's example bodies and the provider's quirks read into
a StatusReport. (What every provider's reader shares is tests/client/.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from client_support import MESSAGE_ID, connect, json_response, read_served, seed
from sms_status import DeliveryState as S


def test_seven_status_time_is_read_as_berlin_local_time() -> None:
    report = read_served("seven", seed("seven"))
    assert report.state is S.DELIVERED
    assert report.message_id == MESSAGE_ID
    assert report.updated_at is not None
    assert report.updated_at.utcoffset() == timedelta(hours=1)  # CET in February
    assert report.updated_at.astimezone(UTC) == datetime(2024, 2, 16, 14, 43, 16, 905000, UTC)


def test_seven_summer_status_time_is_central_european_summer_time() -> None:
    body = seed("seven")
    body["status_time"] = "2024-08-24 08:08:00.000"
    report = read_served("seven", body)
    assert report.updated_at is not None
    assert report.updated_at.utcoffset() == timedelta(hours=2)


def test_seven_documented_list_example_reads_both_messages() -> None:
    from client_support import example

    body = example("seven", "200", "list")
    with connect("seven", lambda _request: json_response(body)) as client:
        first, second = client.get_statuses(["77232007287", "77232007195"])
    assert (first.message_id, second.message_id) == ("77232007287", "77232007195")
    assert first.updated_at is not None
    assert second.updated_at is not None
    assert first.updated_at - second.updated_at == timedelta(seconds=56, microseconds=916000)


def test_seven_numeric_ids_in_the_reply_match_the_string_ids_asked_for() -> None:
    body = seed("seven")
    body["id"] = int(MESSAGE_ID)
    assert read_served("seven", body).message_id == MESSAGE_ID


def test_seven_a_delivered_status_time_is_when_it_was_delivered_by_every_reader() -> None:
    # delivered_at was None for seven whatever the status (telecom23's webhook sets it).
    from sms_status.providers import seven

    delivered = read_served("seven", seed("seven"))
    assert delivered.delivered_at == delivered.updated_at is not None
    body = seed("seven") | {"status": "TRANSMITTED"}
    assert read_served("seven", body).delivered_at is None
    entry = {"id": MESSAGE_ID, "dlr": "DELIVERED", "dlr_timestamp": "2024-02-16 15:43:16.905"}
    logbook = seven.read_journal(MESSAGE_ID, [entry])
    assert logbook is not None
    assert logbook.delivered_at == logbook.updated_at == delivered.updated_at
    push = {
        "data": {
            "msg_id": MESSAGE_ID,
            "status": "DELIVERED",
            "timestamp": "2024-02-16 15:43:16.905",
        },
        "webhook_event": "dlr",
        "webhook_timestamp": "2024-02-16T15:43:16+01:00",
    }
    pushed = seven.read_webhook(push).report
    assert pushed.delivered_at == pushed.updated_at == delivered.updated_at


@pytest.mark.parametrize("zone_data", ["system", "dateutil's own"])
@pytest.mark.parametrize(
    ("status_time", "offset"),
    [
        ("2021-03-28 01:59:59.000", 1),  # the last second of winter time
        ("2021-03-28 02:30:00.000", 1),  # a local time that never was: read before the jump
        ("2021-03-28 03:00:00.000", 2),
        ("2021-10-31 02:30:00.000", 2),  # a local time that was twice: the first (summer)
        ("2021-10-31 03:00:00.000", 1),
    ],
)
def test_seven_times_around_the_clock_changes_read_the_same_with_either_zone_data(
    monkeypatch: pytest.MonkeyPatch, zone_data: str, status_time: str, offset: int
) -> None:
    import zoneinfo

    from sms_status.providers import seven

    if zone_data != "system":  # a machine without zone data (Windows with no tzdata)

        def no_zone(key: str) -> zoneinfo.ZoneInfo:
            raise zoneinfo.ZoneInfoNotFoundError(key)

        monkeypatch.setattr(zoneinfo, "ZoneInfo", no_zone)
    seven._berlin.cache_clear()
    try:
        body = seed("seven")
        body["status_time"] = status_time
        report = read_served("seven", body)
    finally:
        seven._berlin.cache_clear()
    assert report.updated_at is not None
    assert report.updated_at.utcoffset() == timedelta(hours=offset)
