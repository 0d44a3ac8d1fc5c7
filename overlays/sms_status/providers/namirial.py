"""Namirial SMS Gateway (`namirial`): status by id, by phone number, by reference key.

Sources: docs.namirial.app … api-references/apistatus-messagestatus and its webhook pages
(docs/providers/namirial.md). Key in
X-Api-Key. History lists take `count` (1..100, default 50, larger silently capped) and
`sendDate` ("sent before"); the overlay pages backwards through them (core `iter_history`).
Errors: only 403 (missing/invalid key) and 404 (unknown id) are documented, without bodies.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sms_status import _fields as f
from sms_status._generated import deferred, unknown_fields
from sms_status._provider import (
    Cadence,
    HistoryLookup,
    Provider,
    RequestKwargs,
    endpoint_request,
    header_key,
)
from sms_status._pushed import Pushed, Webhook, unsigned
from sms_status.errors import MissingProviderError
from sms_status.report import Deferred, StatusReport
from sms_status.report import DeliveryState as S

try:
    from sms_status_namirial import AuthenticatedClient
    from sms_status_namirial.api.status import (
        get_message_status,
        get_message_status_by_phone_number,
        get_message_status_by_reference,
    )
    from sms_status_namirial.models import (
        MessageDetails,
        MessageListResponse,
        MessageStatusResponse,
    )
    from sms_status_namirial.models import WebhookEvent as NamirialEvent
    from sms_status_namirial.types import UNSET
except ModuleNotFoundError as exc:  # pragma: no cover - exercised by the packaging test
    raise MissingProviderError("namirial") from exc

KEY = "namirial"
soft = f.Secondary(KEY)

STATUSES = {
    "PROVIDER_ACCEPTANCE": (S.PENDING, False),
    "SENT": (S.SENT, False),
    # Final for SMS; an RCS message may still move on to READ (Namirial's webhook page).
    "DELIVERED": (S.DELIVERED, True),
    "READ": (S.READ, True),
    "REJECTED": (S.REJECTED, True),
    "UNDELIVERED": (S.UNDELIVERED, True),
}


SPEC_PARAMETERS = {
    "getMessageStatus.messageid": "exposed: get_status(message_id)",
    "getMessageStatusByPhoneNumber.phonenumber": "exposed: history_by_phone(phone)",
    "getMessageStatusByPhoneNumber.count": "exposed: history_by_phone(count)",
    "getMessageStatusByPhoneNumber.sendDate": "exposed: history_by_phone(before)",
    "getMessageStatusByReference.referencekey": "exposed: history_by_reference(key)",
    "getMessageStatusByReference.count": "exposed: history_by_reference(count)",
    "getMessageStatusByReference.sendDate": "exposed: history_by_reference(before)",
}
"""Every parameter of specs/namirial.yaml: how the overlay exposes it, or why it does not.
(`iter_history_by_*` drive `count`/`sendDate` themselves, as `page_size`/`before`.)"""


class NamirialErrorCode(StrEnum):
    """namirial documents no error codes: these are derived from the HTTP status."""

    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"


def _no_code(_body: object) -> str | None:
    return None


def _message(body: object) -> str | None:
    fields = f.json_object(body)
    for key in ("message", "detail", "error", "title"):
        value = fields.get(key)
        if isinstance(value, str):
            return value
    return None


def _report(message: dict[str, Any], raw: object, message_id: str | None = None) -> StatusReport:
    """The report of one `MessageDetails` object, read from its JSON (`raw`: the model)."""
    sms = message.get("sms")
    return PROVIDER.report(
        message_id or f.required_str(message["id"], "message.id"),
        f.required_str(message["status"], "message.status"),
        raw,
        segments=None if sms is None else soft.count(sms.get("segments"), "message.sms.segments"),
        # Strict: the generated model requires both, and history paging runs on the first.
        created_at=f.timestamp(message["providerAcceptanceAt"], "message.providerAcceptanceAt"),
        updated_at=f.timestamp(message["statusChangedAt"], "message.statusChangedAt"),
        provider_code=soft.code(message["provider"].get("code"), "message.provider.code"),
        channel=soft.text(message["channel"], "message.channel"),
    )


_STRICT_TIMES = (("message", "providerAcceptanceAt"), ("message", "statusChangedAt"))
"""The date-times the generated model reads strictly (`fromisoformat`, no fallback)."""


def read_status(message_id: str, body: object) -> StatusReport:
    fields = f.as_dict(body, "body")
    envelope = deferred(KEY, MessageStatusResponse, fields, times=_STRICT_TIMES)
    # The report's raw is the message itself (`MessageDetails`), as for history entries.
    raw = (
        envelope.message
        if isinstance(envelope, MessageStatusResponse)
        else Deferred(MessageDetails, fields["message"])
    )
    return _report(fields["message"], raw, message_id)


def read_page(body: object) -> list[StatusReport]:
    """A history page, built whole (pages are not the hot path): each report's `raw` is its
    entry's `MessageDetails`."""
    fields = f.as_dict(body, "body")
    listing = MessageListResponse.from_dict(fields)
    unknown_fields(KEY, listing)
    return [
        _report(entry["message"], item.message)
        for entry, item in zip(fields["messages"], listing.messages, strict=True)
    ]


# The docs list this header for both history lookups, GETs without a body: sent as listed.
_DOCUMENTED_HEADERS = {"headers": {"Content-Type": "application/json"}}


def _by_phone(phone: str, count: int, before: datetime | None) -> RequestKwargs:
    return (
        endpoint_request(get_message_status_by_phone_number)(
            phone, count=count, send_date=UNSET if before is None else before
        )
        | _DOCUMENTED_HEADERS
    )


def _by_reference(key: str, count: int, before: datetime | None) -> RequestKwargs:
    return (
        endpoint_request(get_message_status_by_reference)(
            key, count=count, send_date=UNSET if before is None else before
        )
        | _DOCUMENTED_HEADERS
    )


def read_webhook(body: dict[str, Any]) -> Pushed:
    """A `STATUS_UPDATE`: its envelope wraps the very message object the status endpoint
    returns, read by the same `_report`. Namirial documents no signature (`unsigned`)."""
    raw = deferred(KEY, NamirialEvent, body, times=(("createdAt",), *_STRICT_TIMES))
    kind = f.required_str(body["type"], "type")
    if kind != "STATUS_UPDATE":
        raise ValueError(f"type {kind!r} is not a STATUS_UPDATE")
    report = _report(body["message"], raw)
    return Pushed(report=report, event_id=f.required_str(body["id"], "id"), kind=kind)


PROVIDER = Provider(
    key=KEY,
    origin="https://sms-apistatus.namirialtsp.com",
    credentials=header_key("X-Api-Key"),
    client_class=AuthenticatedClient,
    status_request=endpoint_request(get_message_status),
    read_status=read_status,
    statuses=STATUSES,
    error_codes=NamirialErrorCode,
    error_code_from_body=_no_code,
    error_message_from_body=_message,
    error_statuses=frozenset({403, 404}),
    # Undocumented: a gentle backoff, capped at five minutes.
    cadence=Cadence(intervals=(2.0, 4.0, 8.0, 15.0, 30.0), default_timeout=300.0),
    history=HistoryLookup(by_phone=_by_phone, by_reference=_by_reference, read_page=read_page),
    webhook=Webhook(verify=unsigned, read=read_webhook),
)
