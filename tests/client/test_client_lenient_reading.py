"""Reading what a vendor sends: a bad secondary field (time, cost, count) costs the user only
that field, with a warning; unrecognised statuses and unknown fields are logged once; and a
reader that trips over our own generated model is reported as our bug, not the vendor's."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest
import sms_status._generated
import sms_status._warnings
from client_support import API_KEY, connect, json_response, seed, seed_for
from sms_status import DeliveryState as S
from sms_status import StatusReport, _fields
from sms_status._generated import is_overlay_bug
from sms_status.errors import MalformedResponseError
from sms_status.providers import telecom23

MESSAGE_ID = "77232007287"


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no warning remembered as already given."""
    monkeypatch.setattr(sms_status._warnings, "_warned", set())


def _lookup(provider: str, body: object) -> StatusReport:
    with connect(provider, lambda _request: json_response(body)) as client:
        report: StatusReport = client.get_status(MESSAGE_ID)
        return report


def _lookup_text(text: str) -> StatusReport:
    """telecom23's lookup of a body given as JSON text (its numbers as written)."""
    with connect(
        "telecom23", lambda _request: httpx.Response(200, content=text.encode())
    ) as client:
        report: StatusReport = client.get_status(MESSAGE_ID)
        return report


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "sms_status" and r.levelno == logging.WARNING
    ]


def test_seven_impossible_status_time_keeps_the_status(caplog: pytest.LogCaptureFixture) -> None:
    body = seed("seven")
    body["status_time"] = "5993-29-09 88:20:80"  # fits the old spec pattern, is no time
    report = _lookup("seven", body)
    assert report.state is S.DELIVERED
    assert report.is_final is True
    assert report.updated_at is None
    (warning,) = _warnings(caplog)
    assert "seven" in warning
    assert "status_time" in warning
    assert "5993-29-09 88:20:80" in warning


@pytest.mark.parametrize(
    ("provider", "where", "field", "bad", "attribute"),
    [
        ("telecom23", "message", "cost", "twelve", "cost"),
        ("telecom23", "message", "segments", "3", "segments"),
        ("telecom23", "message", "segments", -1, "segments"),
        ("telecom23", "message", "created_at", "yesterday", "created_at"),
        ("telecom23", "message", "delivered_at", 17, "delivered_at"),
        ("telecom23", "message", "recipient", ["+1"], "recipient"),
        ("roycetalk", "data", "created_at", "not a time", "created_at"),
        ("roycetalk", "data", "created_at", 1700000000, "created_at"),
        ("roycetalk", "data", "sent_at", "2025-13-45T99:00:00Z", "sent_at"),
        ("roycetalk", "data", "sms_units_consumed", "one", "segments"),
        ("lisoloo", "data", "created_at", "soon", "created_at"),
        ("lisoloo", "data", "updated_at", True, "updated_at"),
        ("lisoloo", "data", "total_recipients", "5", "recipients"),
        ("namirial", "message.sms", "segments", "1", "segments"),
        ("namirial", "message.provider", "code", [0], "provider_code"),
    ],
)
def test_unreadable_secondary_field_becomes_none_with_a_warning(
    caplog: pytest.LogCaptureFixture,
    provider: str,
    where: str,
    field: str,
    bad: object,
    attribute: str,
) -> None:
    body = seed_for(provider, MESSAGE_ID)
    target = body
    for key in where.split("."):
        target = target[key]
    target[field] = bad
    report = _lookup(provider, body)
    expected = _lookup(provider, seed_for(provider, MESSAGE_ID))
    assert getattr(expected, attribute) is not None  # the seed fills it: the test can fail
    assert getattr(report, attribute) is None
    assert (report.state, report.is_final) == (expected.state, expected.is_final)
    assert any(f"{provider}: ignoring unreadable" in w and field in w for w in _warnings(caplog))


def test_a_readable_non_iso_optional_time_is_kept() -> None:
    body = seed_for("lisoloo", MESSAGE_ID)
    body["data"]["created_at"] = "2026-05-27 10:15:00 +0000"  # dateutil reads it
    report = _lookup("lisoloo", body)
    assert report.created_at is not None
    assert report.created_at.isoformat() == "2026-05-27T10:15:00+00:00"


def test_the_same_bad_value_warns_once_per_process(caplog: pytest.LogCaptureFixture) -> None:
    body = seed("seven")
    body["status_time"] = "5993-29-09 88:20:80"
    for _ in range(3):
        _lookup("seven", body)
    body["status_time"] = "0000-00-00 00:00:00"
    _lookup("seven", body)
    assert len(_warnings(caplog)) == 2


def test_unrecognized_status_warns_once_per_provider_and_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for provider in ("seven", "seven", "roycetalk"):
        report = _lookup(provider, seed_for(provider, MESSAGE_ID, "SCHEDULED"))
        assert report.state is S.UNRECOGNIZED
    _lookup("seven", seed_for("seven", MESSAGE_ID, "QUEUED"))
    warnings = _warnings(caplog)
    assert len(warnings) == 3
    assert "seven: unrecognized status 'SCHEDULED'" in warnings[0]
    assert "specs/seven.yaml" in warnings[0]
    assert "roycetalk: unrecognized status 'SCHEDULED'" in warnings[1]
    assert "'QUEUED'" in warnings[2]


def test_documented_statuses_do_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    _lookup("seven", seed_for("seven", MESSAGE_ID, "ACCEPTED"))
    assert _warnings(caplog) == []


@pytest.mark.parametrize(
    ("provider", "where", "expected"),
    [
        ("telecom23", ("message",), "message.delivery_time"),
        ("namirial", ("message",), "message.delivery_time"),
        ("roycetalk", ("data",), "data.delivery_time"),
        ("lisoloo", ("data",), "data.delivery_time"),
        ("seven", (), "delivery_time"),
    ],
)
def test_unknown_response_field_warns_once(
    caplog: pytest.LogCaptureFixture, provider: str, where: tuple[str, ...], expected: str
) -> None:
    body = seed_for(provider, MESSAGE_ID)
    target: dict[str, Any] = body
    for key in where:
        target = target[key]
    target["delivery_time"] = "2026-02-13T10:30:04Z"  # e.g. a vendor renamed a field
    _lookup(provider, body)
    _lookup(provider, body)
    (warning,) = _warnings(caplog)
    assert f"{provider}: the response has a field the spec does not describe" in warning
    assert expected in warning


def test_keys_of_an_object_the_spec_declares_open_warn_of_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # roycetalk's `metadata` is the sender's own data and `meta` is open too
    # (`additionalProperties: true`): each key of theirs read as "a vendor change?".
    body = seed_for("roycetalk", MESSAGE_ID)
    body["data"]["metadata"] = {"client_ref": "order-12345", "campaign": "spring"}
    body["meta"] = {"api_version": "v1", "request_id": "r-1"}
    body["data"]["delivery_time"] = "2026-02-13T10:30:04Z"  # a closed object's: warned
    report = _lookup("roycetalk", body)
    (warning,) = _warnings(caplog)
    assert "data.delivery_time" in warning
    assert report.raw.data.metadata.additional_properties["campaign"] == "spring"


def test_warnings_never_show_the_api_key(caplog: pytest.LogCaptureFixture) -> None:
    body = seed("seven")
    body["status_time"] = API_KEY
    body["status"] = f"ECHO {API_KEY}"
    body[API_KEY] = 1
    report = _lookup("seven", body)
    assert report.state is S.UNRECOGNIZED
    assert len(_warnings(caplog)) == 3
    assert API_KEY not in caplog.text
    assert API_KEY[:20] not in caplog.text


def _reads_a_renamed_field(message_id: str, body: object) -> StatusReport:
    """telecom23's reader as it would be after the spec renamed `delivered_at`, with the
    overlay left behind: the generated model no longer has the attribute."""
    report = telecom23.read_status(message_id, body)
    renamed: Any = report.raw
    return attrs.evolve(report, delivered_at=renamed.message.delivery_time)


def test_a_reader_using_a_field_the_model_lacks_is_our_bug_not_a_malformed_response(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = attrs.evolve(telecom23.PROVIDER, read_status=_reads_a_renamed_field)
    monkeypatch.setattr(telecom23, "PROVIDER", broken)
    with pytest.raises(AttributeError) as info:
        _lookup("telecom23", seed_for("telecom23", MESSAGE_ID))
    assert not isinstance(info.value, MalformedResponseError)
    assert info.value.name == "delivery_time"
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "sms_status bug" in notes
    assert "sms_status/providers/telecom23.py" in notes
    assert "not a problem with the provider's response" in notes


def test_a_body_of_the_wrong_shape_is_still_a_malformed_response() -> None:
    body = seed_for("namirial", MESSAGE_ID)
    body["message"]["statusChangedAt"] = "not a time"  # required, and history pages on it
    with pytest.raises(MalformedResponseError):
        _lookup("namirial", body)
    body = seed_for("telecom23", MESSAGE_ID)
    body["message"] = "a string where the message object belongs"
    with pytest.raises(MalformedResponseError):
        _lookup("telecom23", body)


@pytest.mark.parametrize(
    ("target", "bug"),
    [
        ("text", False),
        ({"a": 1}, False),
        (None, False),
        (datetime(2026, 1, 1), True),
        (telecom23.PROVIDER, True),
    ],
)
def test_only_attribute_errors_on_our_own_objects_count_as_bugs(target: object, bug: bool) -> None:
    with pytest.raises(AttributeError) as info:
        _ = target.no_such_attribute  # type: ignore[attr-defined]
    assert is_overlay_bug(info.value) is bug
    assert is_overlay_bug(ValueError("x")) is False


@attrs.define
class _Nested:
    additional_properties: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class _Unresolvable:
    child: NoSuchModel  # type: ignore[name-defined]  # noqa: F821 - cannot be resolved
    children: list[_Nested]
    flag: bool
    additional_properties: dict[str, Any] = attrs.field(factory=dict)


def test_unknown_fields_walks_every_field_when_annotations_cannot_be_resolved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The walk skips fields typed as scalars; a model it cannot type is walked in full.
    model = _Unresolvable(
        child=_Nested(additional_properties={"renamed": 1}),
        children=[_Nested(additional_properties={"added": 2})],
        flag=True,
    )
    sms_status._generated.unknown_fields("acme", model)
    warnings = _warnings(caplog)
    assert len(warnings) == 2
    assert "child.renamed" in warnings[0]
    assert "children.added" in warnings[1]


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("0.008500000000000000123", "0.008500000000000000123"),  # past a float's 17 digits
        ("0.0850", "0.0850"),  # its trailing zero: a float's repr read "0.085"
        ("85E-4", "0.0085"),
        ("3", "3"),
        # Valid JSON whose exponent no Decimal holds: the float's repr, as before (an
        # InvalidOperation escaped webhooks.parse, and a lookup lost its whole report).
        ("0e9999999999999999999", "0.0"),
        ("1e-9999999999999999999", "0.0"),
    ],
)
def test_cost_is_the_exact_decimal_of_the_json_number(sent: str, read: str) -> None:
    # API.md: "exact decimal of the JSON number". The body was read into floats, and cost
    # taken from the float's shortest repr.
    text = json.dumps(seed_for("telecom23", MESSAGE_ID)).replace(
        '"cost": 0.0085', f'"cost": {sent}'
    )
    assert sent in text
    report = _lookup_text(text)
    assert str(report.cost) == str(Decimal(read))
    raw_cost = report.raw.message.cost  # type: ignore[attr-defined]
    assert isinstance(raw_cost, float | int)  # the typed model keeps its declared type
    assert raw_cost == float(sent)


def test_a_json_number_past_floats_range_is_no_cost(caplog: pytest.LogCaptureFixture) -> None:
    text = json.dumps(seed_for("telecom23", MESSAGE_ID)).replace('"cost": 0.0085', '"cost": 1e999')
    report = _lookup_text(text)
    assert report.cost is None
    assert report.state is S.DELIVERED
    assert any("cost" in warning for warning in _warnings(caplog))


def test_a_report_with_json_fractions_pickles_on_every_protocol_and_names_float() -> None:
    import pickle

    text = json.dumps(seed_for("telecom23", MESSAGE_ID)).replace('"cost": 0.0085', '"cost": 0.0850')
    report = _lookup_text(text)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        copied = pickle.loads(pickle.dumps(report, protocol))
        assert str(copied.cost) == "0.0850"
        assert copied.raw.message.cost == 0.085  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=r"should be an integer, got float$"):
        _fields.optional_int(_fields.json_value(b"[1.5]")[0], "segments")  # type: ignore[index]
