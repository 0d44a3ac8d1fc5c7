"""roycetalk over its sandbox: the trailing-slash path, bearer auth, both error shapes."""

from __future__ import annotations

import pytest
import sms_status
from sms_status.errors import AuthenticationError, NotFoundError

EXAMPLE = "f2672215-c20b-452a-9b6b-1ba51884c55e"


def test_the_docs_example_over_the_trailing_slash_path(roycetalk_sandbox, connect):
    with connect(roycetalk_sandbox) as client:
        report = client.get_status(EXAMPLE)
    assert report.provider_status == "delivered"
    assert report.recipient == "+254712345678"
    assert report.sent_at is not None
    (request,) = roycetalk_sandbox.requests
    assert request.raw_path == f"/api/v1/sms-api/messages/{EXAMPLE}/"
    assert request.headers["authorization"] == "***"  # sent, and masked in the log


def test_the_403_shape_gives_its_nested_message(roycetalk_sandbox):
    client = sms_status.connect("roycetalk", api_key="nope", base_url=roycetalk_sandbox.base_url)
    with client, pytest.raises(AuthenticationError) as caught:
        client.get_status(EXAMPLE)
    assert caught.value.status_code == 403
    assert caught.value.message != "HTTP 403"  # read from error.error.message


def test_the_404_shape_gives_its_top_level_message(roycetalk_sandbox, connect):
    with connect(roycetalk_sandbox) as client, pytest.raises(NotFoundError) as caught:
        client.get_status("00000000-0000-0000-0000-000000000000")
    assert caught.value.error_code == "NOT_FOUND"
    assert caught.value.message != "HTTP 404"  # read from error.message


def test_its_inferred_callback_reads_as_the_status_object(roycetalk_sandbox, sandbox_webhooks):
    roycetalk_sandbox.add_message("f2672215-0000-4000-8000-00000000000b", advance=5)
    events = sandbox_webhooks(roycetalk_sandbox, 3)
    assert [e.report.provider_status for e in events] == ["pending", "sent", "delivered"]
    assert {e.kind for e in events} == {"callback"}
    assert events[-1].report.is_final
