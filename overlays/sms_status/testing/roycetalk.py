"""RoyceTalk sandbox (specs/roycetalk.yaml).

Routes: ``status`` ``GET /api/v1/sms-api/messages/{message_id}/`` (trailing slash: the path
without it answers 301 to the slashed path, as Django's APPEND_SLASH does); the inferred
``batch`` ``GET /api/v1/sms-api/batches/{batch_id}/`` and ``list``
``GET /api/v1/sms-api/messages/?batch_id=...``.

Auth: ``Authorization: Bearer <key>``; missing or wrong -> 403
``{"success": false, "error": {"message": ...}}`` (the shape the docs' code reads). Unknown
id -> 404 ``{"success": false, "message": "Message not found"}``. Every success is wrapped in
``{success, data, message, meta: {timestamp, api_version}, errors: []}``.

Extra ``add_message`` fields: ``batch_id`` (groups messages for the batch routes; not
rendered), ``callback_url``/``client_ref`` (-> ``metadata``); any other key overrides the
``data`` object's key (``recipient_phone``, ``sent_at``, ``created_at``, ...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, Final

from sms_status.testing._base import (
    Ctx,
    Example,
    FakeWebhook,
    MessageView,
    ProviderDef,
    Reply,
    RouteDef,
    apply_fields,
    dump_json,
    iso_micro,
    stable_int,
)

KEY: Final = "roycetalk"
DEFAULT_STATUSES: Final = ("pending", "sent", "delivered")
META_FIELDS: Final = frozenset({"batch_id", "callback_url", "client_ref"})
TIME_FIELDS: Final = ("created_at", "sent_at", "delivered_at")
PROVIDER_DESCRIPTIONS: Final[Mapping[str, str]] = {
    "delivered": "Success",
    "failed": "Delivery failed",
    "rejected": "Rejected by carrier",
}
ERROR_MESSAGES: Final[Mapping[int, str]] = {
    400: "Bad request",
    401: "Authentication failed",
    403: "Invalid API key",
    404: "Not found",
    429: "Rate limit exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


def _meta(ctx: Ctx) -> dict[str, Any]:
    return {"timestamp": iso_micro(ctx.now()), "api_version": "v1"}


def error(ctx: Ctx, status: int, code: str | None) -> Reply:
    text = ERROR_MESSAGES.get(status, "Error")
    if status == 403:
        body: dict[str, Any] = {"success": False, "error": {"message": text}}
        if code is not None:
            body["error"]["code"] = code
        return Reply.json(body, status)
    body = {"success": False, "message": text, "errors": []}
    if code is not None:
        body["errors"] = [{"code": code}]
    return Reply.json(body, status)


def present_key(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def auth_error(ctx: Ctx, presented: str | None) -> Reply:
    text = "Invalid API key" if presented else "Authentication credentials were not provided."
    return Reply.json({"success": False, "error": {"message": text}}, 403)


def rate_limited(ctx: Ctx, retry_after: str | None) -> Reply:
    return error(ctx, 429, None)


def data(view: MessageView) -> dict[str, Any]:
    f = view.fields
    sent = view.first_after("pending")
    delivered = view.reached("delivered") if view.status == "delivered" else None
    data: dict[str, Any] = {
        "id": view.id,
        "recipient_phone": "+254712345678",
        "message_text": "Hello from RoyceBulkSMS API",
        "sender_id": "RoyceLTD",
        "status": view.status,
        "status_display": view.status.replace("_", " ").capitalize(),
        "sms_units_consumed": 1,
        "created_at": iso_micro(view.created_at),
        "sent_at": None if view.status == "pending" or sent is None else iso_micro(sent),
        "delivered_at": None if delivered is None else iso_micro(delivered),
        "provider_message_id": None if view.status == "pending" else str(stable_int(KEY, view.id)),
        "provider_response_description": PROVIDER_DESCRIPTIONS.get(view.status),
        "metadata": {"callback_url": f.get("callback_url"), "client_ref": f.get("client_ref")},
    }
    return apply_fields(data, f, times=TIME_FIELDS, fmt=iso_micro, skip=META_FIELDS)


def envelope(ctx: Ctx, payload: Any, message: str) -> dict[str, Any]:
    return {"success": True, "data": payload, "message": message, "meta": _meta(ctx), "errors": []}


def get_status(ctx: Ctx) -> Reply:
    view = ctx.lookup(ctx.params["message_id"])
    if view is None:
        return Reply.json({"success": False, "message": "Message not found"}, 404)
    if view.verbatim is not None:
        return Reply.json(view.verbatim)
    return Reply.json(envelope(ctx, data(view), "Message status retrieved successfully"))


def _in_batch(views: list[MessageView], batch_id: str) -> list[MessageView]:
    return sorted((v for v in views if v.fields.get("batch_id") == batch_id), key=lambda v: v.seq)


def get_batch(ctx: Ctx) -> Reply:
    batch_id = ctx.params["batch_id"]
    views = _in_batch(ctx.messages(), batch_id)
    if not views:
        return Reply.json({"success": False, "message": "Batch not found"}, 404)
    counts = Counter(v.status for v in views)
    summary = {
        "batch_id": batch_id,
        "total_messages": len(views),
        "status_counts": dict(counts),
        "created_at": iso_micro(min(v.created_at for v in views)),
    }
    return Reply.json(envelope(ctx, summary, "Batch status retrieved successfully"))


def list_messages(ctx: Ctx) -> Reply:
    views = ctx.messages()
    batch = ctx.query.get("batch_id")
    if batch:
        views = _in_batch(views, batch[0])
    else:
        views.sort(key=lambda v: v.seq)
    items = [data(v) if v.verbatim is None else v.verbatim["data"] for v in views]
    return Reply.json(envelope(ctx, items, "Messages retrieved successfully"))


def redirect_slash(ctx: Ctx) -> Reply:
    """Django's APPEND_SLASH: a GET without the trailing slash is redirected (query kept)."""
    location = ctx.raw_path + "/" + (f"?{ctx.raw_query}" if ctx.raw_query else "")
    return Reply.empty(301, [("Location", location)])


EXAMPLE_ID: Final = "f2672215-c20b-452a-9b6b-1ba51884c55e"
EXAMPLES: Final = (
    Example(
        id=EXAMPLE_ID,
        status="delivered",
        fields={"callback_url": "https://yourapp.com/webhooks/sms", "client_ref": "order-12345"},
        body={
            "success": True,
            "data": {
                "id": EXAMPLE_ID,
                "recipient_phone": "+254712345678",
                "message_text": "Hello from RoyceBulkSMS API",
                "sender_id": "RoyceLTD",
                "status": "delivered",
                "status_display": "Delivered",
                "sms_units_consumed": 1,
                "created_at": "2025-11-28T13:49:13.265444+00:00",
                "sent_at": "2025-11-28T13:49:15.123456+00:00",
                "delivered_at": "2025-11-28T13:49:20.789012+00:00",
                "provider_message_id": "8290842",
                "provider_response_description": "Success",
                "metadata": {
                    "callback_url": "https://yourapp.com/webhooks/sms",
                    "client_ref": "order-12345",
                },
            },
            "message": "Message status retrieved successfully",
            "meta": {"timestamp": "2025-11-28T14:30:00.000000+00:00", "api_version": "v1"},
            "errors": [],
        },
    ),
)


def _no_slash_ids(ctx: Ctx) -> tuple[str, ...]:
    return (ctx.params["message_id"],)


def render_webhook(view: MessageView) -> list[tuple[str, bytes]]:
    """Inferred (RoyceTalk publishes no callback payload): the status envelope per change.
    Unsigned; retries undocumented."""
    body: dict[str, Any] = {
        "success": True,
        "data": data(view),
        "message": "Message status updated",
        "meta": {"timestamp": iso_micro(view.changed_at), "api_version": "v1"},
        "errors": [],
    }
    return [("callback", dump_json(body))]


PROVIDER: Final = ProviderDef(
    key=KEY,
    routes=(
        RouteDef("status", "/api/v1/sms-api/messages/{message_id}/", get_status),
        RouteDef("batch", "/api/v1/sms-api/batches/{batch_id}/", get_batch),
        RouteDef("list", "/api/v1/sms-api/messages/", list_messages, ids=lambda ctx: ()),
        RouteDef(
            "no_slash",
            "/api/v1/sms-api/messages/{message_id}",
            redirect_slash,
            ids=_no_slash_ids,
            auth=False,
            rate_limited=False,
        ),
    ),
    default_statuses=DEFAULT_STATUSES,
    present_key=present_key,
    auth_error=auth_error,
    error=error,
    rate_limited=rate_limited,
    unknown_path=lambda ctx: Reply.json({"success": False, "message": "Not found"}, 404),
    examples=EXAMPLES,
    secret_headers=frozenset({"authorization"}),
    webhook=FakeWebhook(render=render_webhook),
)
