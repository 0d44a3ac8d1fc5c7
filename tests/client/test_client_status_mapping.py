"""Every documented status of every provider lands on the documented DeliveryState and
finality; unknown values never raise; the specs' example bodies fill StatusReport."""

from __future__ import annotations

import importlib

import httpx
import pytest
from client_support import (
    MESSAGE_ID,
    PROVIDERS,
    connect,
    read_served,
    seed,
    seed_for,
    spec_finality,
    status_enum,
)
from sms_status import DeliveryState as S

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


@pytest.mark.parametrize(("provider", "raw", "state"), DOCUMENTED)
def test_documented_status_maps_to_state_and_the_specs_finality(
    provider: str, raw: str, state: S
) -> None:
    report = read_served(provider, seed_for(provider, MESSAGE_ID, raw))
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
    report = read_served(provider, seed_for(provider, MESSAGE_ID, raw))
    assert report.state is S.UNRECOGNIZED
    assert report.is_final is False
    assert report.provider_status == raw


def test_reports_are_immutable() -> None:
    report = read_served("roycetalk", seed("roycetalk"))
    with pytest.raises(AttributeError):
        report.state = S.FAILED  # type: ignore[misc]


def test_json_body_served_with_a_wrong_content_type_is_still_read() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=seed("roycetalk"), headers={"content-type": "text/plain"})

    with connect("roycetalk", handler) as client:
        assert client.get_status(MESSAGE_ID).state is S.DELIVERED
