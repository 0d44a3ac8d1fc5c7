"""seven survives its status endpoint being switched off: clients use /api/status while it
answers (with one DeprecationWarning), move to the logbook for good when it is gone, and
`lookup="logbook"` starts there."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sms_status
import sms_status._successor
from sms_status import DeliveryState
from sms_status._registry import REGISTRY
from sms_status.errors import AuthenticationError, NotFoundError

STATUS, JOURNAL = "/api/status", "/api/journal/outbound"


@pytest.fixture(autouse=True)
def fresh_deprecation(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts as a fresh process would: the deprecation not yet announced (and,
    but in the test that records it, not shown)."""
    monkeypatch.setattr(sms_status._successor, "_deprecation_warned", set())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _paths(sandbox) -> list[str]:
    return [r.path for r in sandbox.requests]


def test_the_status_endpoint_is_used_while_it_answers_with_one_deprecation_warning(
    seven_sandbox, connect
):
    with warnings.catch_warnings(record=True) as caught, connect(seven_sandbox) as client:
        warnings.simplefilter("always", DeprecationWarning)
        assert client.get_status("77232007287").state is DeliveryState.DELIVERED
        client.get_statuses(["77232007287", "77232007195"])
    (warning,) = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert 'lookup="logbook"' in str(warning.message)
    assert warning.filename == __file__  # the user's line, not the SDK's
    assert _paths(seven_sandbox) == [STATUS, STATUS]


@pytest.mark.parametrize(("setting", "http_status"), [("off", 404), ("gone", 410)])
def test_a_switched_off_status_endpoint_moves_the_client_to_the_logbook_for_good(
    seven_sandbox, connect, caplog, setting, http_status
):
    seven_sandbox.add_message("90000000001", statuses=("ACCEPTED", "DELIVERED"), advance=1e9)
    seven_sandbox.options["status_endpoint"] = setting
    with connect(seven_sandbox) as client:
        first = client.get_status("90000000001")
        second = client.get_status("90000000001")
    assert (first.state, second.state) == (DeliveryState.PENDING, DeliveryState.PENDING)
    assert first.provider_status == "ACCEPTED"
    # One failed try of the status endpoint, then the logbook only: the move is remembered.
    assert _paths(seven_sandbox) == [STATUS, JOURNAL, JOURNAL]
    assert seven_sandbox.requests[0].status == http_status
    assert seven_sandbox.requests[1].query_params["id"] == ["90000000001"]
    assert f"the status endpoint is gone (HTTP {http_status})" in caplog.text
    # Another client starts on the status endpoint again: the move is per client.
    seven_sandbox.clear_requests()
    with connect(seven_sandbox) as client:
        client.get_status("90000000001")
    assert _paths(seven_sandbox) == [STATUS, JOURNAL]


def test_bulk_lookups_survive_the_switch_off(seven_sandbox, connect):
    ids = [str(90000000100 + i) for i in range(5)]
    for message_id in ids:
        seven_sandbox.add_message(message_id, statuses=("DELIVERED",))
    seven_sandbox.options["status_endpoint"] = "off"
    with connect(seven_sandbox) as client:
        reports = client.get_statuses([*ids, "123", ids[0]])
    assert [r.message_id for r in reports] == [*ids, "123", ids[0]]
    assert all(r.state is DeliveryState.DELIVERED and r.is_final for r in reports[:5])
    assert isinstance(reports[5].error, NotFoundError)
    assert reports[6] == reports[0]
    assert _paths(seven_sandbox) == [STATUS] + [JOURNAL] * 6  # duplicates asked once


def test_the_logbook_report_is_read_like_the_status_one(seven_sandbox, connect):
    with connect(seven_sandbox, lookup="logbook") as client:
        report = client.get_status("77232007287")
    assert report.state is DeliveryState.DELIVERED
    assert report.is_final
    assert report.provider_status == "DELIVERED"
    assert report.cost == Decimal("0.075")
    assert report.channel == "SMS"
    assert report.recipient == "4917612345678"
    assert report.updated_at is not None
    assert report.updated_at.tzinfo is not None
    assert _paths(seven_sandbox) == [JOURNAL]


def test_lookup_status_keeps_the_status_endpoint_without_the_warning(seven_sandbox, connect):
    seven_sandbox.add_message("90000000005", statuses=("DELIVERED",))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        with connect(seven_sandbox, lookup="status") as client:
            client.get_status("90000000005")
            seven_sandbox.options["status_endpoint"] = "off"
            assert client.get_status("90000000005").is_final  # still moves when it is gone
    assert _paths(seven_sandbox) == [STATUS, STATUS, JOURNAL]


def test_lookup_logbook_never_touches_the_status_endpoint_nor_warns(seven_sandbox, connect):
    seven_sandbox.add_message("90000000002", statuses=("DELIVERED",))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        with connect(seven_sandbox, lookup="logbook") as client:
            client.get_status("90000000002")
            client.get_statuses(["90000000002", "77232007195"])
            client.wait_for_final("90000000002", timeout=10)
    assert set(_paths(seven_sandbox)) == {JOURNAL}


def test_logbook_times_are_berlin_local(seven_sandbox, connect):
    seven_sandbox.add_message(
        "90000000003", statuses=("DELIVERED",), dlr_timestamp="2024-08-24 08:08:00.000"
    )
    with connect(seven_sandbox, lookup="logbook") as client:
        report = client.get_status("90000000003")
    assert report.updated_at == datetime(2024, 8, 24, 8, 8, tzinfo=ZoneInfo("Europe/Berlin"))


def test_an_unknown_or_non_numeric_id_is_not_found_in_the_logbook(seven_sandbox, connect):
    with connect(seven_sandbox, lookup="logbook") as client:
        with pytest.raises(NotFoundError):
            client.get_status("90000000999")
        with pytest.raises(NotFoundError) as raised:
            client.get_status("abc")
    assert _paths(seven_sandbox) == [JOURNAL]  # "abc" cannot be in it: no request
    # It said "HTTP 200 ... the logbook has no message with this id", though none was asked.
    assert "not asked: it takes numeric ids only" in str(raised.value)


def test_a_seven_error_code_with_404_is_an_error_not_a_switch_off(seven_sandbox, connect):
    seven_sandbox.add_message("90000000004", statuses=("DELIVERED",))
    with connect(seven_sandbox) as client:
        with pytest.raises(NotFoundError):
            client.get_status("90000000999")  # 901 with HTTP 200: the id is unknown
        assert client.get_status("90000000004").is_final
    assert _paths(seven_sandbox) == [STATUS, STATUS]


def test_a_bad_key_on_the_logbook_is_an_authentication_error(seven_sandbox, connect):
    with (
        sms_status.connect(
            "seven", api_key="wrong", base_url=seven_sandbox.base_url, lookup="logbook"
        ) as client,
        pytest.raises(AuthenticationError),
    ):
        client.get_statuses(["77232007287", "77232007195"])


def test_the_async_client_moves_to_the_logbook_too(seven_sandbox, connect_async):
    seven_sandbox.options["status_endpoint"] = "off"

    async def lookups():
        async with connect_async(seven_sandbox) as client:
            assert (await client.get_status("77232007287")).is_final
            return await client.get_statuses(["77232007287", "77232007195"])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        reports = asyncio.run(lookups())
    assert all(r.error is None for r in reports)
    (warning,) = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert warning.filename == __file__  # the awaiting line in the user's coroutine
    assert _paths(seven_sandbox) == [STATUS, JOURNAL, JOURNAL, JOURNAL]


@pytest.mark.parametrize("provider", [k for k, e in REGISTRY.items() if e.successor is None])
def test_lookup_is_refused_for_providers_with_one_endpoint(provider):
    with pytest.raises(ValueError, match="lookup must be one of 'status'"):
        sms_status.connect(provider, api_key="k", lookup="logbook")


def test_an_unknown_lookup_is_refused_before_any_request():
    with pytest.raises(ValueError, match="'status', 'logbook'"):
        sms_status.connect("seven", api_key="k", lookup="journal")  # type: ignore[typeddict-item]


def test_a_seeded_example_has_the_same_times_on_both_endpoints(seven_sandbox, connect):
    # The logbook served the docs' second list example (77232007195) with today's clock.
    with connect(seven_sandbox, lookup="status") as client:
        polled = client.get_status("77232007195")
    with connect(seven_sandbox, lookup="logbook") as client:
        logged = client.get_status("77232007195")
    assert logged.updated_at == polled.updated_at
    assert logged.delivered_at == polled.delivered_at
    assert logged.created_at is not None
    assert polled.updated_at is not None
    assert logged.created_at < polled.updated_at
