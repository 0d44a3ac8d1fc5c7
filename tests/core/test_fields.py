"""`_fields`: the strict readers raise ValueError on a wrong type (the core makes it a
MalformedResponseError), the lenient `Secondary` readers give None and one warning instead;
both serve polling and webhook readers alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest
from sms_status import _fields as f
from sms_status import _warnings

soft = f.Secondary("acme")


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_warnings, "_warned", set())


class Colour(StrEnum):
    RED = "red"


def test_optional_str_keeps_an_enum_members_raw_value() -> None:
    value = f.optional_str(Colour.RED, "colour")
    assert value == "red"
    assert type(value) is str
    assert f.optional_str(None, "x") is None


def test_required_str_refuses_missing_and_wrong_types() -> None:
    with pytest.raises(ValueError, match="status is missing"):
        f.required_str(None, "status")
    with pytest.raises(ValueError, match="should be a string, got int"):
        f.required_str(3, "status")


def test_optional_code_takes_text_or_a_number_and_refuses_the_rest() -> None:
    assert f.optional_code("000", "code") == "000"
    assert f.optional_code(901, "code") == "901"
    with pytest.raises(ValueError, match="should be a string, got bool"):
        f.optional_code(True, "code")
    with pytest.raises(ValueError, match="should be a string, got list"):
        f.optional_code([1], "code")


@pytest.mark.parametrize(
    ("value", "code"),
    [("NOT_FOUND", "NOT_FOUND"), (900, "900"), ("", None), (True, None), ({}, None)],
)
def test_error_code_in_gives_a_code_or_none_never_raises(value: Any, code: str | None) -> None:
    assert f.error_code_in(value) == code


def test_optional_int_refuses_bools_and_strings() -> None:
    assert f.optional_int(3, "n") == 3
    for bad in (True, "3", 3.0):
        with pytest.raises(ValueError, match="should be an integer"):
            f.optional_int(bad, "n")


def test_decimals_are_the_json_text_exactly() -> None:
    assert f.optional_decimal(0.0085, "cost") == Decimal("0.0085")
    assert f.optional_decimal(7, "cost") == Decimal(7)
    assert f.decimal_text(" 0.075 ", "price") == Decimal("0.075")
    for bad in (float("nan"), float("inf"), True, "0.1"):
        with pytest.raises(ValueError, match="cost"):
            f.optional_decimal(bad, "cost")
    with pytest.raises(ValueError, match="not a finite number"):
        f.decimal_text("Infinity", "price")


def test_timestamps_are_aware_naive_ones_read_in_the_documented_zone() -> None:
    assert f.timestamp("2026-02-13T10:30:00Z", "t") == datetime(2026, 2, 13, 10, 30, tzinfo=UTC)
    plus_two = timezone(timedelta(hours=2))
    naive = f.timestamp("2026-02-13 10:30:00", "t", naive_tz=plus_two)
    assert naive == datetime(2026, 2, 13, 10, 30, tzinfo=plus_two)
    assert f.timestamp("", "t") is None
    assert f.timestamp("20260213T103000Z", "t") == datetime(2026, 2, 13, 10, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a timestamp"):
        f.timestamp("yesterday", "t")
    with pytest.raises(ValueError, match="should be a timestamp, got int"):
        f.timestamp(1_770_978_600, "t")


def test_json_object_and_as_dict() -> None:
    assert f.json_object([1]) == {}
    assert f.json_object({"a": 1}) == {"a": 1}
    with pytest.raises(ValueError, match="should be an object, got list"):
        f.as_dict([], "body")


@pytest.mark.parametrize(
    ("read", "value"),
    [
        (soft.text, 5),
        (soft.code, [0]),
        (soft.integer, "x"),
        (soft.count, -1),
        (soft.number, "n/a"),
        (soft.decimal_text, "twelve"),
        (soft.timestamp, "yesterday"),
    ],
)
def test_secondary_readers_give_none_and_one_warning(
    read: Any, value: object, caplog: pytest.LogCaptureFixture
) -> None:
    assert read(value, "field") is None
    assert read(value, "field") is None
    warnings = [r.getMessage() for r in caplog.records if r.name == "sms_status"]
    assert len(warnings) == 1
    assert warnings[0].startswith("acme: ignoring unreadable field")


def test_secondary_readers_pass_good_values_through() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert soft.text("x", "f") == "x"
    assert soft.code(7, "f") == "7"
    assert soft.count(0, "f") == 0
    assert soft.number(0.5, "f") == Decimal("0.5")
    assert soft.timestamp(moment, "f") is moment


def test_unreadable_optional_times_are_dropped_before_the_model_parses_them() -> None:
    body = {"data": {"created_at": "garbage", "updated_at": "2026-01-01T00:00:00Z", "x": 1}}
    cleaned = soft.times_before_parsing(body, ("data",), ("created_at", "updated_at"))
    assert cleaned == {"data": {"updated_at": "2026-01-01T00:00:00Z", "x": 1}}
    assert body["data"]["created_at"] == "garbage"  # the caller's body is left alone
    assert soft.times_before_parsing([1], ("data",), ("t",)) == [1]
