"""Namirial sandbox (specs/namirial.yaml): status by id, and histories by phone / reference key.

Routes: ``status`` ``GET /api/messagestatus/{messageid}``, ``by_phone``
``GET /api/messagestatus/phonenumber/{phonenumber}``, ``by_reference``
``GET /api/messagestatus/reference/{referencekey}``.

Auth: ``X-Api-Key``; missing or wrong -> 403 with no body (none is documented). An unknown id
-> 404 with no body. Histories: newest first (by send time, ``providerAcceptanceAt``);
``count`` defaults to 50 and values over 100 are silently capped (documented). Out-of-range
or malformed values are not documented (no 400 exists in the spec), so by default the sandbox
stays inside what the spec says: ``count`` < 1 is raised to 1, a ``count`` that is not an
integer or a ``sendDate`` that is not an ISO 8601 date-time is ignored (its default applies).
``Sandbox("namirial", invalid_query="reject")`` answers those with 400 and no body instead, to
catch a client that sends them. ``sendDate`` keeps messages sent strictly before it
(``Sandbox("namirial", history_before="inclusive")`` for <=); without ``sendDate`` the default
"current time" is inclusive, so a message stored "now" is listed. Histories do not count as
polls of the listed messages.

Extra ``add_message`` fields: ``phone`` (E.164; listed by ``by_phone``), ``reference_key``
(-> ``reference.key``; listed by ``by_reference``), ``reference_service``/``reference_action``,
``sent_at`` (send time: ordering, ``sendDate`` filter and ``providerAcceptanceAt``; a number,
datetime or ISO string; default: when the message was added), ``segments`` (-> ``sms``),
``provider_status``/``provider_code``/``provider_message``; any other key overrides the
rendered ``message`` object's key (``channel``, ``reference``, ``provider``, ...).
"""

from __future__ import annotations

import re
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
    iso_z,
    stable_uuid,
    to_epoch,
)

KEY: Final = "namirial"
DEFAULT_STATUSES: Final = ("PROVIDER_ACCEPTANCE", "SENT", "DELIVERED")
DEFAULT_COUNT: Final = 50
MAX_COUNT: Final = 100
META_FIELDS: Final = frozenset(
    {
        "phone",
        "reference_key",
        "reference_service",
        "reference_action",
        "sent_at",
        "segments",
        "provider_status",
        "provider_code",
        "provider_message",
    }
)
# what the upstream provider reports for each status (free text, as in the docs' example)
PROVIDER_STATUS: Final[Mapping[str, str]] = {
    "PROVIDER_ACCEPTANCE": "accepted",
    "SENT": "sent",
    "DELIVERED": "delivered",
    "REJECTED": "rejected",
    "UNDELIVERED": "undelivered",
    "READ": "read",
}
_INT: Final = re.compile(r"[+-]?\d+")


def error(ctx: Ctx, status: int, code: str | None) -> Reply:
    return Reply.empty(status)  # Namirial documents no error bodies


def present_key(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-api-key")


def auth_error(ctx: Ctx, presented: str | None) -> Reply:
    return Reply.empty(403)


def rate_limited(ctx: Ctx, retry_after: str | None) -> Reply:
    return Reply.empty(429)


def sent_at(view: MessageView) -> float:
    value = view.fields.get("sent_at")
    return view.created_at if value is None else to_epoch(value)


def render(view: MessageView) -> Any:
    """The ``{"message": {...}}`` object: the body by id, and one item of a history."""
    if view.verbatim is not None:
        return view.verbatim
    f = view.fields
    sent = sent_at(view)
    reference: dict[str, Any] = {}
    if f.get("reference_service") is not None:
        reference["service"] = f["reference_service"]
    if f.get("reference_action") is not None:
        reference["action"] = f["reference_action"]
    if f.get("reference_key") is not None:
        reference = {"service": "SANDBOX", "action": "NOTIFY", **reference}
        reference["key"] = f["reference_key"]
    provider: dict[str, Any] = {
        "name": "PROVIDER1",
        "id": stable_uuid(KEY, "provider", view.id),
        "status": f.get("provider_status", PROVIDER_STATUS.get(view.status, view.status.lower())),
        "code": str(f.get("provider_code", "0")),
    }
    if f.get("provider_message") is not None:
        provider["message"] = f["provider_message"]
    message: dict[str, Any] = {
        "id": view.id,
        "providerAcceptanceAt": iso_z(sent),
        "statusChangedAt": iso_z(sent if view.step == 0 else max(sent, view.changed_at)),
        "reference": reference,
        "channel": "SMS",
        "status": view.status,
        "provider": provider,
        "sms": {"segments": int(f.get("segments", 1))},
    }
    apply_fields(
        message, f, times=("providerAcceptanceAt", "statusChangedAt"), fmt=iso_z, skip=META_FIELDS
    )
    return {"message": message}


def get_status(ctx: Ctx) -> Reply:
    view = ctx.lookup(ctx.params["messageid"])
    if view is None:
        return Reply.empty(404)
    return Reply.json(render(view))


def _first(ctx: Ctx, name: str) -> str | None:
    values = ctx.query.get(name)
    return values[0] if values else None


def _history(ctx: Ctx, field: str, value: str) -> Reply:
    reject = ctx.option("invalid_query") == "reject"
    raw_count = _first(ctx, "count")
    count = DEFAULT_COUNT
    if raw_count is not None:
        if _INT.fullmatch(raw_count.strip()):
            count = int(raw_count)
            if count < 1 and reject:
                return Reply.empty(400)
            count = max(1, min(count, MAX_COUNT))
        elif reject:
            return Reply.empty(400)
    raw_date = _first(ctx, "sendDate")
    strict = ctx.option("history_before") != "inclusive"
    before = None
    if raw_date is not None:
        try:
            before = to_epoch(raw_date.strip())
        except (ValueError, TypeError, OverflowError):
            if reject:
                return Reply.empty(400)
    if before is None:
        before, strict = ctx.now(), False
    views = [v for v in ctx.messages() if v.fields.get(field) == value]
    views = [v for v in views if (sent_at(v) < before if strict else sent_at(v) <= before)]
    views.sort(key=lambda v: (sent_at(v), v.seq), reverse=True)
    return Reply.json({"messages": [render(v) for v in views[:count]]})


def by_phone(ctx: Ctx) -> Reply:
    return _history(ctx, "phone", ctx.params["phonenumber"])


def by_reference(ctx: Ctx) -> Reply:
    return _history(ctx, "reference_key", ctx.params["referencekey"])


EXAMPLE_ID: Final = "011d9d6e-b5b9-4cb9-be13-2bc336a923ce"
EXAMPLE_PHONE: Final = "+1234567890"
EXAMPLE_REFERENCE_KEY: Final = "EXT_KEY"
EXAMPLES: Final = (
    Example(
        id=EXAMPLE_ID,
        status="DELIVERED",
        fields={
            "phone": EXAMPLE_PHONE,
            "reference_key": EXAMPLE_REFERENCE_KEY,
            "sent_at": "2026-02-04T06:54:35Z",
        },
        body={
            "message": {
                "id": EXAMPLE_ID,
                "providerAcceptanceAt": "2026-02-04T06:54:35Z",
                "statusChangedAt": "2026-02-04T06:54:55Z",
                "reference": {"service": "DIGITALSIGN", "action": "AUTH", "key": "EXT_KEY"},
                "channel": "SMS",
                "status": "DELIVERED",
                "provider": {
                    "name": "PROVIDER1",
                    "id": "bbe7a7b4-067b-484e-a55c-318f5716997e",
                    "status": "delivered",
                    "code": "0",
                },
                "sms": {"segments": 1},
            }
        },
    ),
)


def render_webhook(view: MessageView) -> list[tuple[str, bytes]]:
    """``STATUS_UPDATE`` per change, wrapping the status endpoint's message object; "no
    notification for the initial PROVIDER_ACCEPTANCE". Unsigned; retries undocumented."""
    if view.status == "PROVIDER_ACCEPTANCE":
        return []
    body = {
        "id": stable_uuid(KEY, "webhook", view.id, str(view.step)),
        "webhookConfigurationId": stable_uuid(KEY, "webhook-configuration"),
        "type": "STATUS_UPDATE",
        "createdAt": iso_z(view.changed_at),
        "message": render(view)["message"],
    }
    return [("STATUS_UPDATE", dump_json(body))]


PROVIDER: Final = ProviderDef(
    key=KEY,
    routes=(
        RouteDef("by_phone", "/api/messagestatus/phonenumber/{phonenumber}", by_phone),
        RouteDef("by_reference", "/api/messagestatus/reference/{referencekey}", by_reference),
        RouteDef("status", "/api/messagestatus/{messageid}", get_status),
    ),
    default_statuses=DEFAULT_STATUSES,
    present_key=present_key,
    auth_error=auth_error,
    error=error,
    rate_limited=rate_limited,
    unknown_path=lambda ctx: Reply.empty(404),
    examples=EXAMPLES,
    fault_rate_limit_body="empty",
    secret_headers=frozenset({"x-api-key"}),
    webhook=FakeWebhook(render=render_webhook),
)
