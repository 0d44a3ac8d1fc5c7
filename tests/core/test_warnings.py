"""`_warnings`: a warning about what a vendor sent is logged once per key, never quotes the
client's key while a response is read, and stays short."""

from __future__ import annotations

import logging

import pytest
from sms_status import _warnings
from sms_status._warnings import redacting, short, warn_once


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_warnings, "_warned", set())


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "sms_status"]


def test_each_key_is_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(3):
        warn_once(("acme", "field", "x"), "acme: odd %s", "x")
    warn_once(("acme", "field", "y"), "acme: odd %s", "y")
    assert _messages(caplog) == ["acme: odd x", "acme: odd y"]


def test_while_reading_a_response_the_key_never_reaches_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with redacting("sk_secret_123"):
        warn_once(("acme", "value", "sk_secret_123"), "acme: odd value %s", "sk_secret_123")
        assert short("sk_secret_123") == "'***'"
    assert _messages(caplog) == ["acme: odd value ***"]


def test_short_is_a_repr_of_at_most_80_characters() -> None:
    assert short("x") == "'x'"
    long = short("y" * 500)
    assert len(long) == 80
    assert long.endswith("...")


def test_past_the_limit_warnings_are_still_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_warnings, "_WARNED_LIMIT", 1)
    warn_once(("a",), "first")
    warn_once(("b",), "second")
    warn_once(("b",), "second")  # not remembered: logged again rather than lost
    assert _messages(caplog) == ["first", "second", "second"]
    assert logging.getLogger("sms_status").name == "sms_status"
