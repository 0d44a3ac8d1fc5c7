"""The sandbox serves nothing the spec does not describe: every body it renders, in every
documented status, reads through the generated models with no unknown field and no
unreadable value (the SDK's warnings say so). A sandbox still serving a field the spec
renamed — the stale copy nothing used to notice — fails here, naming the field."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sms_status
import sms_status._generated
import sms_status._warnings
import yaml
from sandbox_support import ROOT
from sms_status.testing import PROVIDER_KEYS

PHONE, REFERENCE = "+14155550100", "ref-strict-1"


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sms_status._warnings, "_warned", set())


def _documented_statuses(key: str) -> list[str]:
    schemas = yaml.safe_load((ROOT / "specs" / f"{key}.yaml").read_text())["components"]["schemas"]
    (finality,) = [s["x-finality"] for s in schemas.values() if "x-finality" in s]
    return list(finality)


def _complaints(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "sms_status" and r.levelno >= logging.WARNING
    ]


@pytest.mark.parametrize("key", PROVIDER_KEYS)
def test_every_rendered_status_body_is_all_spec(
    key: str, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox: Any = request.getfixturevalue(f"{key}_sandbox")
    statuses = _documented_statuses(key)
    ids = [str(91000000000 + n) for n in range(len(statuses))]
    fields = {"phone": PHONE, "reference_key": REFERENCE} if key == "namirial" else {}
    for message_id, status in zip(ids, statuses, strict=True):
        sandbox.add_message(message_id, statuses=(status,), **fields)
    options: list[dict[str, Any]] = [{}]
    if key == "seven":
        options.append({"lookup": "logbook"})
    for extra in options:
        with sms_status.connect(
            key, api_key=sandbox.api_key, base_url=sandbox.base_url, rate_limiter=None, **extra
        ) as client:
            reports = client.get_statuses(ids)
            if key == "namirial":
                reports += client.history_by_phone(PHONE, count=100)
                reports += client.history_by_reference(REFERENCE, count=100)
        assert all(r.error is None for r in reports), [r.error for r in reports]
        assert {r.provider_status for r in reports} == set(statuses)
    assert _complaints(caplog) == [], f"{key}: the sandbox serves what the spec lacks"


@pytest.mark.sandbox_serves_off_spec  # an extra key, on purpose
def test_a_field_the_spec_lacks_is_caught(
    seven_sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The check above can fail: a stale field (seven renamed `status_time`) is named."""
    seven_sandbox.add_message("91000000100", statuses=("DELIVERED",), time="2024-02-16 15:43:16")
    with sms_status.connect(
        "seven", api_key=seven_sandbox.api_key, base_url=seven_sandbox.base_url
    ) as client:
        client.get_status("91000000100")
    (complaint,) = _complaints(caplog)
    assert "the response has a field the spec does not describe: time" in complaint
