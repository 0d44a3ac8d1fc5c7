"""Lisoloo SMS API (`lisoloo`): GET /api/v1/lisoloo/sms-api/status/{message_id}.

Sources: docs.lisoloo.com (check message status, concepts/message-lifecycle, concepts/errors,
concepts/rate-limits; docs/providers/lisoloo.md). Key
in `app-key`. Quirks: a 404 is either `{"detail": "Message not found"}` or the error envelope
`{success: false, error_code: "1xxx", ...}`; `GET /status` allows 120 requests a minute per
key and looping on 429 can suspend the key (1302), so a 429 is retried once at most.
Multi-recipient messages carry aggregate counts (`RecipientCounts`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
from enum import StrEnum
from typing import Any

from sms_status import _fields as f
from sms_status._generated import deferred
from sms_status._provider import Cadence, Provider, endpoint_request, header_key
from sms_status._pushed import Pushed, PushedRequest, Webhook, unsigned
from sms_status.errors import (
    AuthenticationError,
    MissingProviderError,
    RateLimitError,
    WebhookSignatureError,
)
from sms_status.pacing import RateLimit
from sms_status.report import DeliveryState as S
from sms_status.report import RecipientCounts, StatusReport

try:
    from sms_status_lisoloo import AuthenticatedClient
    from sms_status_lisoloo.api.status import get_message_status
    from sms_status_lisoloo.models import MessageStatusResponse
    from sms_status_lisoloo.models import WebhookEvent as LisolooEvent
except ModuleNotFoundError as exc:  # pragma: no cover - exercised by the packaging test
    raise MissingProviderError("lisoloo") from exc

KEY = "lisoloo"
soft = f.Secondary(KEY)

STATUSES = {
    # Not final.
    "pending": (S.PENDING, False),
    "scheduled": (S.PENDING, False),
    "processing": (S.PENDING, False),
    "accepted": (S.PENDING, False),
    "enroute": (S.SENT, False),
    "sent": (S.SENT, False),
    # Final; only `delivered` is success.
    "delivered": (S.DELIVERED, True),
    "partially_delivered": (S.PARTIALLY_DELIVERED, True),
    "delivery_unknown": (S.UNKNOWN, True),
    "undelivered": (S.UNDELIVERED, True),
    "rejected": (S.REJECTED, True),
    "expired": (S.EXPIRED, True),
    "failed": (S.FAILED, True),
    # `unknown` is listed without finality; `none` is an internal placeholder.
    "unknown": (S.UNKNOWN, False),
    "none": (S.PENDING, False),
}


SPEC_PARAMETERS = {
    "getMessageStatus.message_id": "exposed: get_status(message_id)",
}
"""Every parameter of specs/lisoloo.yaml: how the overlay exposes it, or why it does not."""


class LisolooErrorCode(StrEnum):
    """Named codes from docs.lisoloo.com/concepts/errors (ranges 1001–1505; others occur)."""

    INVALID_APP_KEY = "1001"
    APP_SUSPENDED = "1004"
    INSUFFICIENT_BALANCE = "1202"
    RATE_LIMIT_EXCEEDED = "1301"
    SUSPICIOUS_ACTIVITY = "1302"


# 1001–1005 are the auth range; 1302 is the suspension that follows 429 loops.
ERROR_CLASSES = {
    **{str(code): AuthenticationError for code in range(1001, 1006)},
    LisolooErrorCode.RATE_LIMIT_EXCEEDED: RateLimitError,
    LisolooErrorCode.SUSPICIOUS_ACTIVITY: AuthenticationError,
}


def error_code(body: object) -> str | None:
    """The envelope's `error_code`, with or without `"success": false` (the spec requires
    only the code: a bare `{"error_code": "1302"}` on a 429 was retried, the loop that
    suspends keys). A body with `data` and a code that is no string is a status (the success
    envelope has no `success`): its `"error_code": 0`, say, is no error."""
    fields = f.json_object(body)
    flag, code = fields.get("success"), fields.get("error_code")
    if flag is True or (flag is not False and "data" in fields and not isinstance(code, str)):
        return None
    return f.error_code_in(code)


def is_error_envelope(body: object) -> bool:
    """`{"success": false, ...}` is a failure even without an error code."""
    return f.json_object(body).get("success") is False


def error_message(body: object) -> str | None:
    fields = f.json_object(body)
    for key in ("message", "detail"):
        value = fields.get(key)
        if isinstance(value, str):
            return value
    return None


def retry_after(body: object) -> float | None:
    value = f.json_object(body).get("retry_after")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        try:
            seconds = float(value)
        except OverflowError:  # hundreds of digits: valid JSON, but no usable advice
            return None
        return seconds if math.isfinite(seconds) else None  # as a Retry-After header
    return None


def retryable(body: object) -> bool | None:
    """The envelope's `retryable` (docs …/concepts/errors): a 5xx of its server range
    (1401-1405) may say so."""
    value = f.json_object(body).get("retryable")
    return value if isinstance(value, bool) else None


def read_status(message_id: str, body: object) -> StatusReport:
    body = soft.times_before_parsing(body, ("data",), ("created_at", "updated_at"))
    fields = f.as_dict(body, "body")
    raw = deferred(KEY, MessageStatusResponse, fields)
    data = fields["data"]
    get = data.get
    total = soft.count(get("total_recipients"), "data.total_recipients")
    counts = None
    if total is not None:
        counts = RecipientCounts(
            total=total,
            delivered=soft.count(get("delivered"), "data.delivered") or 0,
            failed=soft.count(get("failed"), "data.failed") or 0,
            pending=soft.count(get("pending"), "data.pending") or 0,
        )
    return PROVIDER.report(
        message_id,
        f.required_str(data["status"], "data.status"),
        raw,
        created_at=soft.timestamp(get("created_at"), "data.created_at"),
        updated_at=soft.timestamp(get("updated_at"), "data.updated_at"),
        recipients=counts,
    )


EVENT_STATUSES = {
    "sms.queued": "pending",
    "sms.processing": "processing",
    "sms.sent": "sent",
    "sms.delivered": "delivered",
    "sms.failed": "failed",
}
"""Webhook event type -> the lifecycle status it reports (then mapped by STATUSES)."""


def verify_webhook(request: PushedRequest) -> str:
    """HTTP Basic credentials (docs.lisoloo.com/webhooks/overview): no signature, no
    timestamp, so the body's digest is the replay key."""
    scheme, _, token = (request.headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        raise WebhookSignatureError("Basic credentials are missing", provider=KEY)
    try:
        presented = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookSignatureError("the Basic credentials are not base64", provider=KEY) from None
    assert request.secret is not None
    if not hmac.compare_digest(presented, request.secret.encode()):
        raise WebhookSignatureError("the Basic credentials do not match", provider=KEY)
    return unsigned(request)


def _webhook_secret(secret: str) -> str | None:
    return None if ":" in secret else "lisoloo's secret is the Basic credentials 'user:password'"


def read_webhook(body: dict[str, Any]) -> Pushed:
    """`sms.queued` is message-level (everyone pending); the other events are one
    recipient's, so the report names that recipient and its state."""
    raw = deferred(KEY, LisolooEvent, body)
    kind = f.required_str(body["event_type"], "event_type")
    data: dict[str, Any] = body.get("data", {})
    get = data.get
    counts = None
    total = soft.count(get("total_recipients"), "data.total_recipients")
    if kind == "sms.queued" and total is not None:
        counts = RecipientCounts(total=total, delivered=0, failed=0, pending=total)
    report = PROVIDER.report(
        f.required_str(body["message_id"], "message_id"),
        kind,
        raw,
        mapped_as=EVENT_STATUSES.get(kind),
        recipient=soft.text(get("recipient_phone"), "data.recipient_phone"),
        segments=soft.count(get("segments"), "data.segments"),
        sent_at=soft.timestamp(get("sent_at"), "data.sent_at"),
        delivered_at=soft.timestamp(get("delivered_at"), "data.delivered_at"),
        updated_at=soft.timestamp(body.get("timestamp"), "timestamp"),
        recipients=counts,
    )
    return Pushed(report=report, event_id=f.required_str(body["event_id"], "event_id"), kind=kind)


PROVIDER = Provider(
    key=KEY,
    origin="https://apps.api.bloonio.com",
    credentials=header_key("app-key"),
    client_class=AuthenticatedClient,
    status_request=endpoint_request(get_message_status),
    read_status=read_status,
    statuses=STATUSES,
    error_codes=LisolooErrorCode,
    error_classes=ERROR_CLASSES,
    error_code_from_body=error_code,
    is_error_envelope=is_error_envelope,
    error_message_from_body=error_message,
    retry_after_from_body=retry_after,
    retryable_from_body=retryable,
    error_statuses=frozenset({401, 404, 429}),
    # "Poll 3 times then give up", 2 s apart (the status page): polls at 0, 2 and 4 s.
    cadence=Cadence(
        intervals=(2.0,), default_timeout=5.0, source="docs.lisoloo.com: Check message status"
    ),
    rate_limit=RateLimit(requests=120, per=60.0),
    max_rate_limit_retries=1,
    webhook=Webhook(verify=verify_webhook, read=read_webhook, check_secret=_webhook_secret),
)
