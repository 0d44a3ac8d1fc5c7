"""23 Telecom sandbox (specs/telecom23.yaml): ``GET /api/v1/sms/status/{message_id}``.

Auth: ``X-API-Key``; a missing key answers 401 ``UNAUTHORIZED``, a wrong one 401
``INVALID_API_KEY``. Errors: ``{"status": false, "error_code", "description"}``. Rate limit: off
unless ``Sandbox("telecom23", rate_limit=(1000, 1.0))``; its 429 is ``RATE_LIMIT_EXCEEDED``
with no ``Retry-After`` (only the login limiter sends one). Optional HMAC request signing:
``Sandbox("telecom23", signing_secret="...")`` (see ``verify_signature``).

Extra ``add_message`` fields: any key of the ``message`` object (``recipient``, ``segments``,
``cost``, ``created_at``, ``delivered_at`` (numbers/datetimes are formatted), ...).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
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

KEY: Final = "telecom23"
DEFAULT_STATUSES: Final = ("pending", "sent", "DELIVRD")

DESCRIPTIONS: Final[Mapping[str, str]] = {
    "UNAUTHORIZED": "Authentication required",
    "INVALID_TOKEN": "Invalid token",
    "TOKEN_EXPIRED": "Token expired",
    "INVALID_API_KEY": "Invalid API key",
    "API_KEY_INACTIVE": "API key is inactive",
    "API_KEY_EXPIRED": "API key has expired",
    "INVALID_CREDENTIALS": "Invalid credentials",
    "USER_NOT_ACTIVE": "User is not active",
    "IP_NOT_ALLOWED": "IP address not allowed",
    "SIGNATURE_REQUIRED": "Request signature required",
    "INVALID_SIGNATURE": "Invalid request signature",
    "INSUFFICIENT_BALANCE": "Insufficient balance",
    "FORBIDDEN": "Forbidden",
    "NO_SMS_ACCESS": "No SMS access",
    "CONFIG_ERROR": "Configuration error",
    "CROSS_TENANT_WORKSPACE": "Workspace belongs to another account",
    "NO_MAIN_WORKSPACE": "No main workspace",
    "NOT_FOUND": "Message not found",
    "RATE_LIMIT_EXCEEDED": "Rate limit exceeded",
    "TOO_MANY_ATTEMPTS": "Too many attempts",
    "DB_ERROR": "Internal server error",
}
CODE_FOR_STATUS: Final[Mapping[int, str]] = {
    401: "INVALID_API_KEY",
    402: "INSUFFICIENT_BALANCE",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    429: "RATE_LIMIT_EXCEEDED",
    500: "DB_ERROR",
}
# carrier status code shown per status (None until the carrier answered)
STATUS_CODES: Final[Mapping[str, str]] = {
    "DELIVRD": "000",
    "UNDELIV": "001",
    "REJECTD": "002",
    "EXPIRED": "003",
    "UNKNOWN": "004",
    "failed": "005",
}
TIME_FIELDS: Final = ("created_at", "delivered_at")


def error(ctx: Ctx, status: int, code: str | None) -> Reply:
    code = code or CODE_FOR_STATUS.get(status, "INTERNAL_ERROR")
    description = DESCRIPTIONS.get(code, code.replace("_", " ").capitalize())
    return Reply.json({"status": False, "error_code": code, "description": description}, status)


def present_key(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-api-key")


def auth_error(ctx: Ctx, presented: str | None) -> Reply:
    return error(ctx, 401, "INVALID_API_KEY" if presented else "UNAUTHORIZED")


def rate_limited(ctx: Ctx, retry_after: str | None) -> Reply:
    return error(ctx, 429, "RATE_LIMIT_EXCEEDED")


SIGNATURE_WINDOW: Final = 300.0


def verify_signature(ctx: Ctx) -> Reply | None:
    """Optional HMAC signing, on when ``Sandbox("telecom23", signing_secret=...)``.

    ``X-Signature`` = hex HMAC-SHA256(secret, "{METHOD}|{path}|{timestamp}|{body}"), the path
    as sent without the query, body "" for GET; ``X-Timestamp`` (epoch seconds) within 5
    minutes of the sandbox clock, or of the wall clock (a client signs with the time of day
    while the sandbox runs on a FakeClock); each (timestamp, signature) pair usable once.
    """
    secret = ctx.option("signing_secret")
    if secret is None:
        return None
    timestamp, signature = ctx.headers.get("x-timestamp"), ctx.headers.get("x-signature")
    if not timestamp or not signature:
        return error(ctx, 401, "SIGNATURE_REQUIRED")
    try:
        signed_at = float(timestamp)
    except ValueError:
        signed_at = math.nan
    fresh = any(abs(now - signed_at) <= SIGNATURE_WINDOW for now in (ctx.now(), time.time()))
    message = f"{ctx.method}|{ctx.raw_path}|{timestamp}|".encode()
    expected = hmac.new(str(secret).encode(), message, hashlib.sha256).hexdigest()
    used: set[tuple[str, str]] = ctx.state.setdefault("telecom23_used_signatures", set())
    if not fresh or not hmac.compare_digest(expected, signature) or (timestamp, signature) in used:
        return error(ctx, 401, "INVALID_SIGNATURE")
    used.add((timestamp, signature))
    return None


def render(view: MessageView) -> Any:
    if view.verbatim is not None:
        return view.verbatim
    delivered = view.reached("DELIVRD") if view.status == "DELIVRD" else None
    message: dict[str, Any] = {
        "message_id": view.id,
        "telecom_message_id": stable_uuid(KEY, view.id),
        "recipient": "+14155551234",
        "segments": 1,
        "message": "Your verification code is 847291",
        "sender_id": "MyApp",
        "status": view.status,
        "status_code": STATUS_CODES.get(view.status),
        "cost": 0.0085,
        "created_at": iso_z(view.created_at),
        "delivered_at": iso_z(delivered if delivered is not None else view.changed_at)
        if view.status == "DELIVRD"
        else None,
    }
    apply_fields(message, view.fields, times=TIME_FIELDS, fmt=iso_z)
    return {"status": True, "message": message}


def get_status(ctx: Ctx) -> Reply:
    view = ctx.lookup(ctx.params["message_id"])
    if view is None:
        return error(ctx, 404, "NOT_FOUND")
    return Reply.json(render(view))


WEBHOOK_STATUSES: Final = frozenset({"DELIVRD", "UNDELIV", "REJECTD", "EXPIRED", "UNKNOWN"})
"""23 Telecom pushes final statuses only (docs …/webhooks)."""


def render_webhook(view: MessageView) -> list[tuple[str, bytes]]:
    if view.status not in WEBHOOK_STATUSES:
        return []
    message = render(view)["message"]
    body = {
        "message_id": view.id,
        "recipient": message.get("recipient"),
        "sender_id": message.get("sender_id"),
        "status": view.status,
        "status_code": message.get("status_code"),
        "num_parts": message.get("segments"),
        "cost": message.get("cost"),
        "timestamp": iso_z(view.changed_at),
    }
    return [("delivery", dump_json(body))]


def sign_webhook(secret: str | None, url: str, body: bytes, now: float) -> dict[str, str]:
    """``X-Webhook-Signature: sha256=`` HMAC-SHA256(secret, "{timestamp}.{body}")."""
    headers = {"User-Agent": "23Telecom-Webhooks/1.0"}
    if secret is not None:
        timestamp = str(int(now))
        mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        headers["X-Webhook-Timestamp"] = timestamp
        headers["X-Webhook-Signature"] = "sha256=" + mac.hexdigest()
    return headers


WEBHOOK: Final = FakeWebhook(
    render=render_webhook,
    sign=sign_webhook,
    retry=RetryPolicy(3, (10.0, 30.0)),  # 3 attempts in all, on any non-2xx
)

EXAMPLE_ID: Final = "api_42_1743667200123456789_a3f8b2c1d9e45f67"
EXAMPLES: Final = (
    Example(
        id=EXAMPLE_ID,
        status="DELIVRD",
        body={
            "status": True,
            "message": {
                "message_id": EXAMPLE_ID,
                "telecom_message_id": "6946d0f5-040b-106e-42c7-49026f2b5bc1",
                "recipient": "+14155551234",
                "segments": 1,
                "message": "Your verification code is 847291",
                "sender_id": "MyApp",
                "status": "DELIVRD",
                "status_code": "000",
                "cost": 0.0085,
                "created_at": "2026-02-13T10:30:00Z",
                "delivered_at": "2026-02-13T10:30:04Z",
            },
        },
    ),
)

PROVIDER: Final = ProviderDef(
    key=KEY,
    routes=(RouteDef("status", "/api/v1/sms/status/{message_id}", get_status),),
    default_statuses=DEFAULT_STATUSES,
    present_key=present_key,
    auth_error=auth_error,
    error=error,
    rate_limited=rate_limited,
    # A path the API does not have: not the "Message not found" of an unknown id (a base
    # URL with /api/v1 in it twice read as a wrong message id).
    unknown_path=lambda ctx: Reply(404, b"Not Found", "text/plain"),
    verify_request=verify_signature,
    examples=EXAMPLES,
    default_rate_limit=None,
    limiter_sends_retry_after=False,  # only the login limiter sends Retry-After
    rate_limit_per_account=True,  # "about 1,000 requests/s per account, shared by all its keys"
    fault_retry_after=None,
    secret_headers=frozenset({"x-api-key", "x-signature"}),
    webhook=WEBHOOK,
)
