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

import attrs

from sms_status import _fields as f
from sms_status._generated import unknown_fields
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
from sms_status.report import DeliveryState as S
from sms_status.report import StatusReport

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


def _report(message: MessageDetails, message_id: str | None = None) -> StatusReport:
    sms = message.sms
    return PROVIDER.report(
        message_id or f.required_str(message.id, "message.id"),
        f.required_str(message.status, "message.status"),
        message,
        segments=None
        if sms is UNSET
        else soft.count(getattr(sms, "segments", None), "message.sms.segments"),
        # Strict: the generated model requires both, and history paging runs on the first.
        created_at=f.timestamp(message.provider_acceptance_at, "message.providerAcceptanceAt"),
        updated_at=f.timestamp(message.status_changed_at, "message.statusChangedAt"),
        provider_code=soft.code(message.provider.code, "message.provider.code"),
        channel=soft.text(message.channel, "message.channel"),
    )


def read_status(message_id: str, body: object) -> StatusReport:
    raw = MessageStatusResponse.from_dict(f.as_dict(body, "body"))
    unknown_fields(KEY, raw)
    return _report(raw.message, message_id)


def read_page(body: object) -> list[StatusReport]:
    listing = MessageListResponse.from_dict(f.as_dict(body, "body"))
    unknown_fields(KEY, listing)
    return [_report(item.message) for item in listing.messages]


def _by_phone(phone: str, count: int, before: datetime | None) -> RequestKwargs:
    return endpoint_request(get_message_status_by_phone_number)(
        phone, count=count, send_date=UNSET if before is None else before
    )


def _by_reference(key: str, count: int, before: datetime | None) -> RequestKwargs:
    return endpoint_request(get_message_status_by_reference)(
        key, count=count, send_date=UNSET if before is None else before
    )


def read_webhook(body: dict[str, Any]) -> Pushed:
    """A `STATUS_UPDATE`: its envelope wraps the very message object the status endpoint
    returns, read by the same `_report`. Namirial documents no signature (`unsigned`)."""
    raw = NamirialEvent.from_dict(body)
    kind = f.required_str(raw.type_, "type")
    if kind != "STATUS_UPDATE":
        raise ValueError(f"type {kind!r} is not a STATUS_UPDATE")
    report = attrs.evolve(_report(raw.message), raw=raw)
    return Pushed(report=report, event_id=f.required_str(raw.id, "id"), kind=kind)


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
    # Undocumented: a gentle backoff, capped at five minutes.
    cadence=Cadence(intervals=(2.0, 4.0, 8.0, 15.0, 30.0), default_timeout=300.0),
    history=HistoryLookup(by_phone=_by_phone, by_reference=_by_reference, read_page=read_page),
    webhook=Webhook(verify=unsigned, read=read_webhook),
)
