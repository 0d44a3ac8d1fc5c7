"""Lisoloo sandbox (specs/lisoloo.yaml): ``GET /api/v1/lisoloo/sms-api/status/{message_id}``.

Auth: ``app-key``; missing or wrong -> 401 envelope ``error_code "1001"``. Unknown id -> 404
``{"detail": "Message not found"}``. Rate limit: 120 requests per 60 s per key (sliding window
on the sandbox clock; ``Sandbox("lisoloo", rate_limit=None)`` turns it off): the 121st answers
429 with ``Retry-After: <seconds>`` and the envelope ``1301`` with ``retry_after``.

Multi-recipient messages: ``add_message(id, total_recipients=3)``; ``delivered``/``failed``/
``pending`` are derived from the status (non-final: all pending; ``delivered``: all delivered;
``partially_delivered``: all but one delivered, one failed; failures: all failed) unless given,
as fields or per lifecycle step (``statuses=[{"status": "processing", "delivered": 1,
"pending": 2}, ...]``). Other fields override the ``data`` object's keys (``created_at``,
``updated_at`` as numbers/datetimes are formatted).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Final

from sms_status.testing._base import (
    Ctx,
    Example,
    FakeWebhook,
    MessageView,
    ProviderDef,
    Reply,
    RetryPolicy,
    RouteDef,
    apply_fields,
    dump_json,
    iso_z,
    stable_uuid,
)

KEY: Final = "lisoloo"
DEFAULT_STATUSES: Final = ("pending", "sent", "delivered")
NOT_FINAL: Final = frozenset({"pending", "scheduled", "processing", "accepted", "enroute", "sent"})
FAILED: Final = frozenset({"undelivered", "rejected", "expired", "failed"})
ERROR_MESSAGES: Final[Mapping[str, str]] = {
    "1001": "Invalid app key",
    "1002": "Missing app key",
    "1003": "App key expired",
    "1004": "App suspended",
    "1005": "Unauthorized",
    "1101": "Validation error",
    "1202": "Insufficient balance",
    "1301": "Rate limit exceeded",
    "1302": "Suspicious activity",
    "1401": "Internal server error",
    "1402": "Service unavailable",
    "1501": "Carrier error",
}
CODE_FOR_STATUS: Final[Mapping[int, str]] = {
    400: "1101",
    401: "1001",
    402: "1202",
    403: "1005",
    422: "1101",
    429: "1301",
    500: "1401",
    502: "1501",
    503: "1402",
}


def envelope(
    ctx: Ctx, status: int, code: str, *, retry_after: int | None = None, message: str | None = None
) -> Reply:
    retryable = code == "1301" or code.startswith(("14", "15"))
    body = {
        "success": False,
        "status_code": status,
        "error_code": code,
        "message": message or ERROR_MESSAGES.get(code, "Error"),
        "details": None,
        "timestamp": iso_z(ctx.now()),
        "request_id": ctx.request_id,
        "retryable": retryable,
        "retry_after": retry_after,
    }
    return Reply.json(body, status)


def error(ctx: Ctx, status: int, code: str | None) -> Reply:
    return envelope(ctx, status, code or CODE_FOR_STATUS.get(status, "1401"))


def present_key(headers: Mapping[str, str]) -> str | None:
    return headers.get("app-key")


def auth_error(ctx: Ctx, presented: str | None) -> Reply:
    return envelope(ctx, 401, "1001")


def rate_limited(ctx: Ctx, retry_after: str | None) -> Reply:
    seconds = int(retry_after) if retry_after is not None and retry_after.isdigit() else None
    return envelope(ctx, 429, "1301", retry_after=seconds)


def counts(status: str, total: int) -> dict[str, int]:
    if status in NOT_FINAL:
        return {"delivered": 0, "failed": 0, "pending": total}
    if status == "delivered":
        return {"delivered": total, "failed": 0, "pending": 0}
    if status == "partially_delivered":
        failed = 1 if total > 1 else 0
        return {"delivered": total - failed, "failed": failed, "pending": 0}
    if status in FAILED:
        return {"delivered": 0, "failed": total, "pending": 0}
    return {"delivered": 0, "failed": 0, "pending": 0}  # delivery_unknown, unknown, none, ...


def render(view: MessageView) -> Any:
    if view.verbatim is not None:
        return view.verbatim
    total = int(view.fields.get("total_recipients", 1))
    data: dict[str, Any] = {
        "message_id": view.id,
        "status": view.status,
        "total_recipients": total,
        **counts(view.status, total),
        "created_at": iso_z(view.created_at),
        "updated_at": iso_z(view.changed_at),
    }
    apply_fields(data, view.fields, times=("created_at", "updated_at"), fmt=iso_z)
    return {"status_code": 200, "data": data}


def get_status(ctx: Ctx) -> Reply:
    view = ctx.lookup(ctx.params["message_id"])
    if view is None:
        return Reply.json({"detail": "Message not found"}, 404)
    return Reply.json(render(view))


EXAMPLE_ID: Final = "507f1f77bcf86cd799439011"
EXAMPLES: Final = (
    Example(
        id=EXAMPLE_ID,
        status="delivered",
        body={
            "status_code": 200,
            "data": {
                "message_id": EXAMPLE_ID,
                "status": "delivered",
                "total_recipients": 1,
                "delivered": 1,
                "failed": 0,
                "pending": 0,
                "created_at": "2026-05-27T10:15:00Z",
                "updated_at": "2026-05-27T10:15:08Z",
            },
        },
    ),
)

WEBHOOK_EVENTS: Final[Mapping[str, str]] = {
    "pending": "sms.queued",
    "scheduled": "sms.queued",
    "accepted": "sms.queued",
    "processing": "sms.processing",
    "enroute": "sms.sent",
    "sent": "sms.sent",
    "delivered": "sms.delivered",
    "undelivered": "sms.failed",
    "rejected": "sms.failed",
    "expired": "sms.failed",
    "failed": "sms.failed",
}
"""Lifecycle status -> the webhook event it sends (none for the others)."""


def render_webhook(view: MessageView) -> list[tuple[str, bytes]]:
    """``sms.queued`` once per message; the other events once per recipient
    (``add_message(..., recipients=[...])``, default one)."""
    kind = WEBHOOK_EVENTS.get(view.status)
    if kind is None:
        return []
    at = iso_z(view.changed_at)
    recipients: list[str] = list(view.fields.get("recipients") or ["+254712345678"])

    def event(data: dict[str, Any], *parts: str) -> tuple[str, bytes]:
        body = {
            "event_id": stable_uuid(KEY, "event", view.id, str(view.step), *parts),
            "event_type": kind,
            "timestamp": at,
            "message_id": view.id,
            "data": data,
        }
        return kind, dump_json(body)

    if kind == "sms.queued":
        data = {
            "total_recipients": len(recipients),
            "total_messages": len(recipients),
            "total_cost": 0.8 * len(recipients),
            "currency": "KES",
            "scheduled_at": None,
        }
        return [event(data)]
    stamp = {"sms.delivered": "delivered_at", "sms.sent": "sent_at"}.get(kind)
    out: list[tuple[str, bytes]] = []
    for phone in recipients:
        data = {"recipient_phone": phone, "carrier": "Safaricom", "segments": 1}
        if stamp:
            data[stamp] = at
        out.append(event(data, phone))
    return out


def sign_webhook(secret: str | None, url: str, body: bytes, now: float) -> dict[str, str]:
    """HTTP Basic with ``secret="user:password"``."""
    if secret is None:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}


def _webhook_secret(secret: str) -> str | None:
    if ":" in secret:
        return None
    return "lisoloo webhooks carry Basic credentials: secret='user:password'"


WEBHOOK: Final = FakeWebhook(
    render=render_webhook,
    sign=sign_webhook,
    # 4 attempts in all (30 s, 2 m, 10 m) on a 5xx or a failed connection; a 4xx is dropped.
    retry=RetryPolicy(4, (30.0, 120.0, 600.0), retry_on_4xx=False),
    check_secret=_webhook_secret,
)

PROVIDER: Final = ProviderDef(
    key=KEY,
    routes=(RouteDef("status", "/api/v1/lisoloo/sms-api/status/{message_id}", get_status),),
    default_statuses=DEFAULT_STATUSES,
    present_key=present_key,
    auth_error=auth_error,
    error=error,
    rate_limited=rate_limited,
    unknown_path=lambda ctx: Reply.json({"detail": "Not Found"}, 404),
    examples=EXAMPLES,
    default_rate_limit=(120, 60.0),
    fault_retry_after="30",
    secret_headers=frozenset({"app-key"}),
    webhook=WEBHOOK,
)
