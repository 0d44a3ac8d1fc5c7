"""23 Telecom (`telecom23`): GET /api/v1/sms/status/{message_id}, key in X-API-Key.

Sources: docs.23telecom.co.uk/sms/status/ and its reference pages on errors, rate limits and
delivery statuses (docs/providers/telecom23.md). Quirks: the error body's `error_code` is
the thing to match; a per-IP 429 has no body and an edge proxy's 429 is HTML (both still
RateLimitError, code RATE_LIMITED); only the login limiter sends Retry-After.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from typing import Any

from sms_status import _fields as f
from sms_status._generated import deferred
from sms_status._provider import Cadence, Provider, RequestKwargs, endpoint_request, header_key
from sms_status._pushed import (
    Pushed,
    PushedRequest,
    Webhook,
    event_id_of,
    fresh,
    hmac_sha256_hex,
    matches,
)
from sms_status.errors import (
    ApiError,
    AuthenticationError,
    MissingProviderError,
    NotFoundError,
    WebhookSignatureError,
)
from sms_status.pacing import RateLimit
from sms_status.report import DeliveryState as S
from sms_status.report import StatusReport

try:
    from sms_status_telecom23 import AuthenticatedClient
    from sms_status_telecom23.api.status import get_message_status
    from sms_status_telecom23.models import DeliveryWebhook, StatusResponse
except ModuleNotFoundError as exc:  # pragma: no cover - exercised by the packaging test
    raise MissingProviderError("telecom23") from exc

KEY = "telecom23"
soft = f.Secondary(KEY)

STATUSES = {
    # Documented on the status page, with their finality.
    "pending": (S.PENDING, False),
    "sent": (S.SENT, False),
    "DELIVRD": (S.DELIVERED, True),
    "UNDELIV": (S.UNDELIVERED, True),
    "REJECTD": (S.REJECTED, True),
    "EXPIRED": (S.EXPIRED, True),
    "UNKNOWN": (S.UNKNOWN, True),
    "failed": (S.FAILED, True),
    # Internal, documented on the delivery-statuses page: stuck ones become UNDELIV.
    "ENROUTE": (S.SENT, False),
    # The rest of the SMPP 3.4 receipt vocabulary that carriers pass through.
    # SMPP 3.4: ACCEPTD is final, "read on behalf of the subscriber by customer service".
    "ACCEPTD": (S.DELIVERED, True),
    "BUFFRED": (S.SENT, False),
    "DELETED": (S.FAILED, True),
    "SYSERR": (S.FAILED, True),
    "FAILED": (S.FAILED, True),
}


SPEC_PARAMETERS = {
    "getMessageStatus.message_id": "exposed: get_status(message_id)",
    "getMessageStatus.X-Workspace-ID": "exposed: connect(workspace_id)",
}
"""Every parameter of specs/telecom23.yaml: how the overlay exposes it, or why it does not."""


class Telecom23ErrorCode(StrEnum):
    """The documented `error_code` values (an open set: others can appear)."""

    UNAUTHORIZED = "UNAUTHORIZED"
    INVALID_TOKEN = "INVALID_TOKEN"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    INVALID_API_KEY = "INVALID_API_KEY"
    API_KEY_INACTIVE = "API_KEY_INACTIVE"
    API_KEY_EXPIRED = "API_KEY_EXPIRED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    USER_NOT_ACTIVE = "USER_NOT_ACTIVE"
    IP_NOT_ALLOWED = "IP_NOT_ALLOWED"
    SIGNATURE_REQUIRED = "SIGNATURE_REQUIRED"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    FORBIDDEN = "FORBIDDEN"
    NO_SMS_ACCESS = "NO_SMS_ACCESS"
    CONFIG_ERROR = "CONFIG_ERROR"
    CROSS_TENANT_WORKSPACE = "CROSS_TENANT_WORKSPACE"
    NO_MAIN_WORKSPACE = "NO_MAIN_WORKSPACE"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    DB_ERROR = "DB_ERROR"


C = Telecom23ErrorCode
ERROR_CLASSES: dict[str, type[ApiError]] = {
    **{
        code: AuthenticationError
        for code in (
            C.UNAUTHORIZED,
            C.INVALID_TOKEN,
            C.TOKEN_EXPIRED,
            C.INVALID_API_KEY,
            C.API_KEY_INACTIVE,
            C.API_KEY_EXPIRED,
            C.INVALID_CREDENTIALS,
            C.USER_NOT_ACTIVE,
            C.IP_NOT_ALLOWED,
            C.SIGNATURE_REQUIRED,
            C.INVALID_SIGNATURE,
            C.FORBIDDEN,
            C.NO_SMS_ACCESS,
            C.CROSS_TENANT_WORKSPACE,
            C.NO_MAIN_WORKSPACE,
        )
    },
    C.NOT_FOUND: NotFoundError,
}


def error_code(body: object) -> str | None:
    """`{"status": false, "error_code": ...}`: the spec requires only `error_code`, so a body
    without `"status": false` is read too (a 401 read as UNAUTHORIZED); a success
    (`"status": true`) never is."""
    fields = f.json_object(body)
    code = fields.get("error_code")
    if fields.get("status") is not True and isinstance(code, str) and code:
        return code
    return None


def is_error_envelope(body: object) -> bool:
    """`{"status": false, ...}` is a failure even without an error code."""
    return f.json_object(body).get("status") is False


def error_message(body: object) -> str | None:
    description = f.json_object(body).get("description")
    return description if isinstance(description, str) else None


WORKSPACE_HEADER = "X-Workspace-ID"
_get_status = endpoint_request(get_message_status)


def status_request(message_id: str) -> RequestKwargs:
    """The lookup, its header dict dropped: the workspace is a header of the client's
    (`connect(workspace_id=)`), so this one is always empty, and a request with none stays a
    plain GET for the fast senders."""
    kwargs = _get_status(message_id)
    kwargs.pop("headers", None)
    return kwargs


def read_status(message_id: str, body: object) -> StatusReport:
    fields = f.as_dict(body, "body")
    raw = deferred(KEY, StatusResponse, fields)
    message = f.as_dict(fields["message"], "message")
    get = message.get
    return PROVIDER.report(
        message_id,
        f.required_str(message["status"], "message.status"),
        raw,
        recipient=soft.text(get("recipient"), "message.recipient"),
        segments=soft.count(get("segments"), "message.segments"),
        cost=soft.number(get("cost"), "message.cost"),
        created_at=soft.timestamp(get("created_at"), "message.created_at"),
        delivered_at=soft.timestamp(get("delivered_at"), "message.delivered_at"),
        provider_code=soft.code(get("status_code"), "message.status_code"),
    )


def sign(secret: str, method: str, path: str, timestamp: str) -> dict[str, str]:
    """Optional HMAC signing (docs …/authentication): hex HMAC-SHA256 of
    "{METHOD}|{path}|{timestamp}|{body}" (path without query, body "" for GET)."""
    message = f"{method}|{path}|{timestamp}|".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {"X-Timestamp": timestamp, "X-Signature": digest}


def verify_webhook(request: PushedRequest) -> str:
    """`X-Webhook-Signature: sha256=<hex>` of HMAC-SHA256(secret, "{timestamp}.{raw_body}")
    (docs …/webhooks/security); the prefix is required."""
    signature = request.headers.get("x-webhook-signature")
    if signature is None:
        raise WebhookSignatureError("the X-Webhook-Signature header is missing", provider=KEY)
    prefix, _, given = signature.strip().partition("=")
    if prefix.lower() != "sha256" or not given:
        raise WebhookSignatureError("the signature lacks its 'sha256=' prefix", provider=KEY)
    timestamp = request.headers.get("x-webhook-timestamp")
    fresh(request, timestamp)
    assert timestamp is not None
    assert request.secret is not None
    expected = hmac_sha256_hex(request.secret, timestamp.encode() + b"." + request.body)
    if not matches(expected, given.lower()):
        raise WebhookSignatureError("the signature does not match", provider=KEY)
    return f"{timestamp}:{given.lower()}"


def read_webhook(body: dict[str, Any]) -> Pushed:
    """A delivery report (final statuses only); the secondary fields read as polling reads
    them, with `num_parts` as the segments and `timestamp` as when the status was set."""
    raw = deferred(KEY, DeliveryWebhook, body)
    get = body.get
    provider_status = f.required_str(body["status"], "status")
    at = soft.timestamp(get("timestamp"), "timestamp")
    report = PROVIDER.report(
        f.required_str(body["message_id"], "message_id"),
        provider_status,
        raw,
        recipient=soft.text(get("recipient"), "recipient"),
        segments=soft.count(get("num_parts"), "num_parts"),
        cost=soft.number(get("cost"), "cost"),
        delivered_at=at if provider_status == "DELIVRD" else None,
        updated_at=at,
        provider_code=soft.code(get("status_code"), "status_code"),
    )
    return Pushed(report=report, event_id=event_id_of(report, at), kind="delivery")


PROVIDER = Provider(
    key=KEY,
    origin="https://restlink23telecom.com",
    credentials=header_key("X-API-Key"),
    client_class=AuthenticatedClient,
    status_request=status_request,
    workspace_header=WORKSPACE_HEADER,
    read_status=read_status,
    statuses=STATUSES,
    error_codes=Telecom23ErrorCode,
    error_classes=ERROR_CLASSES,
    error_code_from_body=error_code,
    is_error_envelope=is_error_envelope,
    error_message_from_body=error_message,
    error_statuses=frozenset({401, 402, 403, 404, 429}),
    # "Poll every 3–5 seconds ... give up after a few minutes."
    cadence=Cadence(
        intervals=(3.0, 4.0, 5.0), default_timeout=180.0, source="docs.23telecom.co.uk/sms/status/"
    ),
    # About 1,000 requests/s per account, shared by all its keys.
    rate_limit=RateLimit(requests=1000, per=1.0),
    sign=sign,
    webhook=Webhook(verify=verify_webhook, read=read_webhook),
)
