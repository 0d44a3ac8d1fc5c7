"""Every documented status of every provider lands on the documented DeliveryState and
finality; unknown values never raise; the specs' example bodies fill StatusReport."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from overlay_support import (
    PROVIDERS,
    connect,
    json_response,
    seed,
    seed_for,
    spec_finality,
    status_enum,
)
from sms_status import DeliveryState as S
from sms_status import RecipientCounts, StatusReport

# (provider, raw status, state): the DeliveryState each value means to us. Finality is
# not repeated here: it comes from the spec's `x-finality` (specs/README.md).
DOCUMENTED = [
    ("telecom23", "pending", S.PENDING),
    ("telecom23", "sent", S.SENT),
    ("telecom23", "ENROUTE", S.SENT),
    ("telecom23", "DELIVRD", S.DELIVERED),
    ("telecom23", "UNDELIV", S.UNDELIVERED),
    ("telecom23", "REJECTD", S.REJECTED),
    ("telecom23", "EXPIRED", S.EXPIRED),
    ("telecom23", "UNKNOWN", S.UNKNOWN),
    ("telecom23", "failed", S.FAILED),
    # SMPP 3.4 receipt states that "may appear as well" (spec MessageStatus description).
    ("telecom23", "ACCEPTD", S.DELIVERED),  # SMPP 3.4: final
    ("telecom23", "BUFFRED", S.SENT),
    ("telecom23", "DELETED", S.FAILED),
    ("telecom23", "SYSERR", S.FAILED),
    ("telecom23", "FAILED", S.FAILED),
    ("namirial", "PROVIDER_ACCEPTANCE", S.PENDING),
    ("namirial", "SENT", S.SENT),
    ("namirial", "DELIVERED", S.DELIVERED),
    ("namirial", "READ", S.READ),
    ("namirial", "REJECTED", S.REJECTED),
    ("namirial", "UNDELIVERED", S.UNDELIVERED),
    ("roycetalk", "pending", S.PENDING),
    ("roycetalk", "sent", S.SENT),
    ("roycetalk", "delivered", S.DELIVERED),
    ("roycetalk", "failed", S.FAILED),
    ("roycetalk", "rejected", S.REJECTED),
    ("lisoloo", "pending", S.PENDING),
    ("lisoloo", "scheduled", S.PENDING),
    ("lisoloo", "processing", S.PENDING),
    ("lisoloo", "accepted", S.PENDING),
    ("lisoloo", "enroute", S.SENT),
    ("lisoloo", "sent", S.SENT),
    ("lisoloo", "delivered", S.DELIVERED),
    ("lisoloo", "partially_delivered", S.PARTIALLY_DELIVERED),
    ("lisoloo", "delivery_unknown", S.UNKNOWN),
    ("lisoloo", "undelivered", S.UNDELIVERED),
    ("lisoloo", "rejected", S.REJECTED),
    ("lisoloo", "expired", S.EXPIRED),
    ("lisoloo", "failed", S.FAILED),
    ("lisoloo", "unknown", S.UNKNOWN),
    ("lisoloo", "none", S.PENDING),
    ("seven", "DELIVERED", S.DELIVERED),
    ("seven", "NOTDELIVERED", S.UNDELIVERED),
    ("seven", "BUFFERED", S.SENT),
    ("seven", "TRANSMITTED", S.SENT),
    ("seven", "ACCEPTED", S.PENDING),
    ("seven", "EXPIRED", S.EXPIRED),
    ("seven", "REJECTED", S.REJECTED),
    ("seven", "FAILED", S.FAILED),
    ("seven", "UNKNOWN", S.UNKNOWN),
]

MESSAGE_ID = "77232007287"  # numeric, so it suits seven as well as the per-id providers


def _lookup(provider: str, body: object) -> StatusReport:
    with connect(provider, lambda _request: json_response(body)) as client:
        report: StatusReport = client.get_status(MESSAGE_ID)
        return report


@pytest.mark.parametrize(("provider", "raw", "state"), DOCUMENTED)
def test_documented_status_maps_to_state_and_the_specs_finality(
    provider: str, raw: str, state: S
) -> None:
    report = _lookup(provider, seed_for(provider, MESSAGE_ID, raw))
    assert report.state is state
    assert report.is_final is spec_finality(provider)[raw]
    assert report.provider_status == raw
    assert type(report.provider_status) is str  # the raw text, not a generated enum member
    assert report.message_id == MESSAGE_ID
    assert report.provider == provider
    assert report.error is None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_overlay_table_agrees_with_the_specs_status_semantics(provider: str) -> None:
    """The spec (enum + x-finality) is the source; the overlay table must match it exactly."""
    table = importlib.import_module(f"sms_status.providers.{provider}").STATUSES
    finality = spec_finality(provider)
    where = f"specs/{provider}.yaml vs overlays/sms_status/providers/{provider}.py STATUSES"
    not_in_finality = set(status_enum(provider)) - set(finality)
    assert not not_in_finality, f"{where}: enum values without x-finality: {not_in_finality}"
    unmapped = set(finality) - set(table)
    assert not unmapped, f"{where}: spec values missing from the table: {sorted(unmapped)}"
    extra = set(table) - set(finality)
    assert not extra, f"{where}: table values the spec does not document: {sorted(extra)}"
    disagree = {
        raw: (final, table[raw][1]) for raw, final in finality.items() if table[raw][1] != final
    }
    assert not disagree, f"{where}: finality differs (spec, table): {disagree}"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_spec_status_value_has_a_pinned_state(provider: str) -> None:
    documented = {raw for p, raw, _ in DOCUMENTED if p == provider}
    assert documented == set(spec_finality(provider)), (
        f"{provider}: DOCUMENTED in this file must list exactly the x-finality values of "
        f"specs/{provider}.yaml"
    )


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("raw", ["QUEUED_AT_MARS", "delivered ", "Delivrd", "ÜBERMITTELT"])
def test_unknown_status_is_unrecognized_and_not_final(provider: str, raw: str) -> None:
    report = _lookup(provider, seed_for(provider, MESSAGE_ID, raw))
    assert report.state is S.UNRECOGNIZED
    assert report.is_final is False
    assert report.provider_status == raw


def test_telecom23_seed_body_fills_the_report() -> None:
    report = _lookup("telecom23", seed("telecom23"))
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
    assert _lookup("telecom23", body).cost == expected


def test_namirial_seed_body_fills_the_report() -> None:
    report = _lookup("namirial", seed("namirial"))
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
    report = _lookup("namirial", body)
    assert report.channel == "RCS"
    assert report.segments is None
    assert report.state is S.READ
    assert report.is_delivered


def test_roycetalk_seed_body_fills_the_report() -> None:
    report = _lookup("roycetalk", seed("roycetalk"))
    assert report.state is S.DELIVERED
    assert report.recipient == "+254712345678"
    assert report.segments == 1
    assert report.created_at == datetime(2025, 11, 28, 13, 49, 13, 265444, tzinfo=UTC)
    assert report.sent_at == datetime(2025, 11, 28, 13, 49, 15, 123456, tzinfo=UTC)
    assert report.delivered_at == datetime(2025, 11, 28, 13, 49, 20, 789012, tzinfo=UTC)


def test_roycetalk_pending_message_has_no_sent_or_delivered_time() -> None:
    body = seed_for("roycetalk", MESSAGE_ID, "pending")
    body["data"]["sent_at"] = None
    body["data"]["delivered_at"] = None
    report = _lookup("roycetalk", body)
    assert report.sent_at is None
    assert report.delivered_at is None
    assert report.is_final is False


def test_lisoloo_seed_body_fills_the_report_with_recipient_counts() -> None:
    report = _lookup("lisoloo", seed("lisoloo"))
    assert report.state is S.DELIVERED
    assert report.recipients == RecipientCounts(total=1, delivered=1, failed=0, pending=0)
    assert report.created_at == datetime(2026, 5, 27, 10, 15, tzinfo=UTC)
    assert report.updated_at == datetime(2026, 5, 27, 10, 15, 8, tzinfo=UTC)


def test_lisoloo_partial_delivery_reports_the_split() -> None:
    body = seed_for("lisoloo", MESSAGE_ID, "partially_delivered")
    body["data"].update(total_recipients=5, delivered=3, failed=2, pending=0)
    report = _lookup("lisoloo", body)
    assert report.state is S.PARTIALLY_DELIVERED
    assert report.is_final
    assert report.recipients == RecipientCounts(total=5, delivered=3, failed=2, pending=0)


def test_seven_status_time_is_read_as_berlin_local_time() -> None:
    report = _lookup("seven", seed("seven"))
    assert report.state is S.DELIVERED
    assert report.message_id == MESSAGE_ID
    assert report.updated_at is not None
    assert report.updated_at.utcoffset() == timedelta(hours=1)  # CET in February
    assert report.updated_at.astimezone(UTC) == datetime(2024, 2, 16, 14, 43, 16, 905000, UTC)


def test_seven_summer_status_time_is_central_european_summer_time() -> None:
    body = seed("seven")
    body["status_time"] = "2024-08-24 08:08:00.000"
    report = _lookup("seven", body)
    assert report.updated_at is not None
    assert report.updated_at.utcoffset() == timedelta(hours=2)


def test_seven_documented_list_example_reads_both_messages() -> None:
    from overlay_support import example

    body = example("seven", "200", "list")
    with connect("seven", lambda _request: json_response(body)) as client:
        first, second = client.get_statuses(["77232007287", "77232007195"])
    assert (first.message_id, second.message_id) == ("77232007287", "77232007195")
    assert first.updated_at is not None
    assert second.updated_at is not None
    assert first.updated_at - second.updated_at == timedelta(seconds=56, microseconds=916000)


def test_reports_are_immutable() -> None:
    report = _lookup("roycetalk", seed("roycetalk"))
    with pytest.raises(AttributeError):
        report.state = S.FAILED  # type: ignore[misc]


def test_seven_numeric_ids_in_the_reply_match_the_string_ids_asked_for() -> None:
    body = seed("seven")
    body["id"] = int(MESSAGE_ID)
    assert _lookup("seven", body).message_id == MESSAGE_ID


def test_json_body_served_with_a_wrong_content_type_is_still_read() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=seed("roycetalk"), headers={"content-type": "text/plain"})

    with connect("roycetalk", handler) as client:
        assert client.get_status(MESSAGE_ID).state is S.DELIVERED
