"""RoyceTalk / RoyceBulkSMS (`roycetalk`): GET /api/v1/sms-api/messages/{message_id}/.

Sources: the "Get Message Status" page of docs.roycetalk.com and its authentication page
(docs/providers/roycetalk.md). `Authorization: Bearer <key>`. Envelope `{success, data,
message, meta, errors}`. Quirk: no error-code catalogue, and two error shapes — the page's
own code reads a 403 as `error.error.message` and a 404 as `error.message` — so the code is
taken from `error.code` / `code` when present, else derived from the HTTP status. The batch
endpoints are inferred (specs/roycetalk.yaml) and reachable through `client.api`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sms_status import _fields as f
from sms_status._generated import deferred
from sms_status._provider import Cadence, Credentials, Provider, endpoint_request
from sms_status._pushed import Pushed, Webhook, event_id_of, unsigned
from sms_status.errors import MissingProviderError
from sms_status.report import DeliveryState as S
from sms_status.report import StatusReport

try:
    from sms_status_roycetalk import AuthenticatedClient
    from sms_status_roycetalk.api.status import get_message_status
    from sms_status_roycetalk.models import MessageStatusResponse
except ModuleNotFoundError as exc:  # pragma: no cover - exercised by the packaging test
    raise MissingProviderError("roycetalk") from exc

KEY = "roycetalk"
soft = f.Secondary(KEY)

STATUSES = {
    "pending": (S.PENDING, False),
    "sent": (S.SENT, False),
    "delivered": (S.DELIVERED, True),
    "failed": (S.FAILED, True),
    "rejected": (S.REJECTED, True),
}


SPEC_PARAMETERS = {
    "getMessageStatus.message_id": "exposed: get_status(message_id)",
    "getBatchStatus.batch_id": "not exposed: the batch endpoints are inferred, not documented "
    "(client.api reaches them)",
    "listMessages.batch_id": "not exposed: the batch endpoints are inferred, not documented "
    "(client.api reaches them)",
}
"""Every parameter of specs/roycetalk.yaml: how the overlay exposes it, or why it does not."""


class RoyceTalkErrorCode(StrEnum):
    """RoyceTalk publishes no codes: these are derived from the HTTP status."""

    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"


def error_code(body: object) -> str | None:
    """A code if the body carries one (`error.code` or `code`); RoyceTalk documents none."""
    fields = f.json_object(body)
    if fields.get("success") is True:
        return None
    nested = f.json_object(fields.get("error"))
    candidates = (nested.get("code"), fields.get("code"), fields.get("error_code"))
    return next((code for code in map(f.error_code_in, candidates) if code is not None), None)


def is_error_envelope(body: object) -> bool:
    """`{"success": false, ...}` is a failure even without an error code."""
    return f.json_object(body).get("success") is False


def error_message(body: object) -> str | None:
    """403: `error.message`; 404: `message` (both shapes from the page's own code)."""
    fields = f.json_object(body)
    for candidate in (f.json_object(fields.get("error")).get("message"), fields.get("message")):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def read_status(message_id: str, body: object) -> StatusReport:
    body = soft.times_before_parsing(body, ("data",), ("created_at",))
    body = soft.times_before_parsing(body, ("meta",), ("timestamp",))
    fields = f.as_dict(body, "body")
    raw = deferred(KEY, MessageStatusResponse, fields)
    data = fields["data"]
    get = data.get
    return PROVIDER.report(
        message_id,
        f.required_str(data["status"], "data.status"),
        raw,
        recipient=soft.text(get("recipient_phone"), "data.recipient_phone"),
        segments=soft.count(get("sms_units_consumed"), "data.sms_units_consumed"),
        created_at=soft.timestamp(get("created_at"), "data.created_at"),
        sent_at=soft.timestamp(get("sent_at"), "data.sent_at"),
        delivered_at=soft.timestamp(get("delivered_at"), "data.delivered_at"),
    )


def read_webhook(body: dict[str, Any]) -> Pushed:
    """RoyceTalk documents a `callback_url` but no payload: the only status object it
    publishes is the status endpoint's, so the callback is read as that (the envelope, or its
    bare `data` object) by `read_status`; the shape is `x-inferred` in specs/roycetalk.yaml.
    Unsigned (`unsigned`): treat its finals as hints worth one `get_status`."""
    envelope = body if "data" in body else {"success": True, "data": body}
    data = f.as_dict(envelope["data"], "data")
    if envelope.get("success") is False:
        raise ValueError("an error envelope is not a status")
    report = read_status(f.required_str(data.get("id"), "data.id"), envelope)
    stamp = report.delivered_at or report.sent_at or report.created_at
    return Pushed(report=report, event_id=event_id_of(report, stamp), kind="callback")


PROVIDER = Provider(
    key=KEY,
    origin="https://roycetalk.com",
    credentials=lambda api_key: Credentials("Authorization", api_key, prefix="Bearer"),
    client_class=AuthenticatedClient,
    status_request=endpoint_request(get_message_status),
    read_status=read_status,
    statuses=STATUSES,
    error_codes=RoyceTalkErrorCode,
    error_code_from_body=error_code,
    is_error_envelope=is_error_envelope,
    error_message_from_body=error_message,
    error_statuses=frozenset({403, 404}),
    # "Use exponential backoff: check after 5s, 10s, 30s, 60s" (the status page).
    cadence=Cadence(
        intervals=(5.0, 10.0, 30.0, 60.0),
        default_timeout=300.0,
        source="docs.roycetalk.com: Get Message Status",
    ),
    webhook=Webhook(verify=unsigned, read=read_webhook),
)
