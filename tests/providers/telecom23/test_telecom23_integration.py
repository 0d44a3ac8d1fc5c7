"""telecom23 over its sandbox: the docs' example, its error codes and SMPP states."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sms_status import DeliveryState
from sms_status.errors import AuthenticationError
from sms_status.providers.telecom23 import Telecom23ErrorCode

EXAMPLE = "api_42_1743667200123456789_a3f8b2c1d9e45f67"


def test_the_docs_example_reads_into_a_report(telecom23_sandbox, connect):
    with connect(telecom23_sandbox) as client:
        report = client.get_status(EXAMPLE)
    assert report.state is DeliveryState.DELIVERED
    assert report.cost == Decimal("0.0085")
    assert report.recipient == "+14155551234"
    assert report.segments == 1
    assert report.provider_code == "000"
    assert report.delivered_at == datetime(2026, 2, 13, 10, 30, 4, tzinfo=UTC)
    (request,) = telecom23_sandbox.requests
    assert request.raw_path == f"/api/v1/sms/status/{EXAMPLE}"


def test_an_invalid_key_matches_its_error_code(telecom23_sandbox):
    import sms_status

    client = sms_status.connect(
        "telecom23", api_key="sk_test_bad", base_url=telecom23_sandbox.base_url
    )
    with client, pytest.raises(AuthenticationError) as caught:
        client.get_status(EXAMPLE)
    assert caught.value.error_code == Telecom23ErrorCode.INVALID_API_KEY
    assert caught.value.status_code == 401


@pytest.mark.parametrize(
    ("status", "state", "final"),
    [
        ("ENROUTE", DeliveryState.SENT, False),
        ("BUFFRED", DeliveryState.SENT, False),
        ("SYSERR", DeliveryState.FAILED, True),
        ("UNKNOWN", DeliveryState.UNKNOWN, True),
    ],
)
def test_smpp_receipt_states_map_without_unrecognized(
    telecom23_sandbox, connect, status, state, final
):
    telecom23_sandbox.add_message("smpp-1", statuses=(status,))
    with connect(telecom23_sandbox) as client:
        report = client.get_status("smpp-1")
    assert (report.state, report.is_final) == (state, final)


@pytest.fixture
def signing_sandbox():  # type: ignore[no-untyped-def]
    from sms_status.testing import Sandbox

    with Sandbox("telecom23", signing_secret="whsec_demo_signing").serve() as sandbox:
        yield sandbox


def test_signed_requests_are_accepted_and_retries_are_signed_afresh(signing_sandbox):
    import sms_status

    signing_sandbox.inject_fault("proxy_502_html", message_id=EXAMPLE, times=1)
    client = sms_status.connect(
        "telecom23",
        api_key=signing_sandbox.api_key,
        base_url=signing_sandbox.base_url,
        signing_secret="whsec_demo_signing",
        sleep=lambda _seconds: None,
    )
    with client:
        assert client.get_status(EXAMPLE).state is DeliveryState.DELIVERED
        assert client.get_status(EXAMPLE).state is DeliveryState.DELIVERED  # same path again
    stamps = [r.headers["x-timestamp"] for r in signing_sandbox.requests]
    assert len(stamps) == 3
    assert len(set(stamps)) == 3  # every attempt carries its own single-use pair


def test_two_clients_with_one_secret_never_send_the_same_pair(signing_sandbox):
    # Stamps were unique per client: a second client looking the same message up in the
    # same second sent the same (timestamp, signature), refused as already used.
    import sms_status

    options = {
        "api_key": signing_sandbox.api_key,
        "base_url": signing_sandbox.base_url,
        "signing_secret": "whsec_demo_signing",
    }
    with (
        sms_status.connect("telecom23", **options) as one,
        sms_status.connect("telecom23", **options) as other,
    ):
        for _ in range(3):
            assert one.get_status(EXAMPLE).state is DeliveryState.DELIVERED
            assert other.get_status(EXAMPLE).state is DeliveryState.DELIVERED


def test_an_unsigned_request_is_refused_when_signing_is_required(signing_sandbox):
    import sms_status

    client = sms_status.connect(
        "telecom23", api_key=signing_sandbox.api_key, base_url=signing_sandbox.base_url
    )
    with client, pytest.raises(AuthenticationError) as caught:
        client.get_status(EXAMPLE)
    assert caught.value.error_code == Telecom23ErrorCode.SIGNATURE_REQUIRED


def test_only_telecom23_signs_requests():
    import sms_status

    with pytest.raises(ValueError, match="does not sign"):
        sms_status.connect("seven", api_key="k", signing_secret="s")


def test_its_signed_webhook_is_the_final_report_polling_gives(
    telecom23_sandbox, sandbox_webhooks, connect
):
    telecom23_sandbox.add_message("m-hook", statuses=("pending", "sent", "DELIVRD"), advance=5)
    [event] = sandbox_webhooks(telecom23_sandbox, 1, secret="whsec_it")  # finals only
    with connect(telecom23_sandbox) as client:
        polled = client.get_status("m-hook")
    assert (event.kind, event.report.provider_status) == ("delivery", "DELIVRD")
    assert event.report.state is polled.state is DeliveryState.DELIVERED
    assert (event.report.cost, event.report.segments) == (polled.cost, polled.segments)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_workspace_goes_with_every_lookup_as_its_documented_header(telecom23_sandbox, kind):
    # The optional X-Workspace-ID header (docs …/authentication) could not be sent at all:
    # an account's other workspaces' messages were refused (403 CROSS_TENANT_WORKSPACE).
    import asyncio

    import sms_status

    options = {
        "api_key": telecom23_sandbox.api_key,
        "base_url": telecom23_sandbox.base_url,
        "workspace_id": "ws_marketing",
    }
    message_id = telecom23_sandbox.example_ids[0]
    if kind == "sync":
        with sms_status.connect("telecom23", **options) as client:
            client.get_statuses([message_id, message_id + "x"])
    else:

        async def lookups() -> None:
            async with sms_status.connect_async("telecom23", **options) as client:
                await client.get_statuses([message_id, message_id + "x"])

        asyncio.run(lookups())
    seen = [r.headers.get("x-workspace-id") for r in telecom23_sandbox.requests]
    assert seen == ["ws_marketing", "ws_marketing"]


@pytest.mark.parametrize(
    ("provider", "workspace", "error"),
    [
        ("seven", "w", ValueError),
        ("telecom23", "w\r\nX-Evil: 1", ValueError),
        ("telecom23", "", ValueError),
        ("telecom23", 7, TypeError),
    ],
)
def test_a_workspace_that_cannot_be_sent_is_refused_at_connect(provider, workspace, error):
    import sms_status

    with pytest.raises(error, match="workspace"):
        sms_status.connect(provider, api_key="sk_test_x", workspace_id=workspace)
