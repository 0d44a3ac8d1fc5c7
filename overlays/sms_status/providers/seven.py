"""seven.io (`seven`): GET /api/status?msg_id=ID1,ID2 — many ids in one request — and its
successor, the logbook GET /api/journal/outbound?id=ID (one id a request).

Sources: docs.seven.io/en/rest-api/endpoints/sms#status-reports, .../endpoints/logbook and
.../webhooks; github.com/seven-io/js-client and seven-io/api-schemes (docs/providers/seven.md).
The status endpoint is deprecated ("may soon be switched off"): clients use it while it
answers, warn once (DeprecationWarning), and move to the logbook for good when it answers
404/410 without a seven error code; `connect("seven", lookup="logbook")` starts there.
Key in X-Api-Key (`Authorization: Bearer` when the key itself starts with "Bearer ").
Quirks: a single id may come back as a bare object instead of a list; errors are a bare
numeric body (900 invalid key, 901 invalid message id, ...) whatever the HTTP status, 200
included; `status_time` is "YYYY-MM-DD HH:MM:SS.fff" without an offset.

Timezone assumption: `status_time` is Europe/Berlin local time. seven's DLR webhook example
carries the same instant twice — `"timestamp": "2021-08-24 08:08:00.000000"` beside
`"webhook_timestamp": "2021-08-24T08:08:00+02:00"` — and seven is a Berlin company.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import Any, cast

from sms_status import _fields as f
from sms_status._generated import deferred
from sms_status._provider import (
    BatchLookup,
    Cadence,
    Credentials,
    Provider,
    RequestKwargs,
    Successor,
    endpoint_request,
)
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
from sms_status.report import DeliveryState as S
from sms_status.report import StatusReport

try:
    from sms_status_seven import AuthenticatedClient
    from sms_status_seven.api.journal import get_journal_outbound
    from sms_status_seven.api.status import get_status
    from sms_status_seven.models import DlrWebhook, JournalEntry
    from sms_status_seven.models import StatusReport as SevenStatusReport
except ModuleNotFoundError as exc:  # pragma: no cover - exercised by the packaging test
    raise MissingProviderError("seven") from exc

KEY = "seven"
soft = f.Secondary(KEY)

MAX_IDS_PER_REQUEST = 100
"""One request per batch of up to 100 ids (our bound: seven documents none)."""
MAX_MSG_ID_LENGTH = 1800
"""Longest comma-joined `msg_id` value, so the URL stays under the common 2,048-byte limit."""

STATUSES = {
    "DELIVERED": (S.DELIVERED, True),
    "NOTDELIVERED": (S.UNDELIVERED, True),
    "BUFFERED": (S.SENT, False),
    "TRANSMITTED": (S.SENT, False),
    "ACCEPTED": (S.PENDING, False),
    "EXPIRED": (S.EXPIRED, True),
    "REJECTED": (S.REJECTED, True),
    "FAILED": (S.FAILED, True),
    "UNKNOWN": (S.UNKNOWN, True),
}


SPEC_PARAMETERS = {
    "getStatus.msg_id": "exposed: get_statuses(message_ids)",
    "getJournalOutbound.id": "exposed: get_status(message_id)",
    **{
        f"getJournalOutbound.{name}": "not exposed: the logbook serves only as the status "
        "lookup's successor, by id (client.api reaches its search)"
        for name in ("date_from", "date_to", "to", "state", "limit", "offset")
    },
}
"""Every parameter of specs/seven.yaml: how the overlay exposes it, or why it does not."""


class SevenErrorCode(StrEnum):
    """The numeric error bodies (js-client `src/lib/ErrorCode.ts`), as strings."""

    INSUFFICIENT_CREDITS = "500"
    CARRIER_FAILED = "600"
    UNKNOWN_ERROR = "700"
    INVALID_API_KEY = "900"
    INVALID_MESSAGE_ID = "901"
    API_DEACTIVATED = "902"
    IP_NOT_ALLOWED = "903"


C = SevenErrorCode
ERROR_CLASSES: Mapping[str, type[ApiError]] = {
    C.INVALID_API_KEY: AuthenticationError,
    C.API_DEACTIVATED: AuthenticationError,
    C.IP_NOT_ALLOWED: AuthenticationError,
    C.INVALID_MESSAGE_ID: NotFoundError,
}
"""500/600/700 take their class from the HTTP status: ApiError at 2xx/4xx, ServerError at 5xx."""


def error_code(body: object) -> str | None:
    """A bare integer body is an error code, whatever the HTTP status."""
    if isinstance(body, int) and not isinstance(body, bool):
        return str(body)
    return None


def error_message(body: object) -> str | None:
    if isinstance(body, int) and not isinstance(body, bool) and str(body) in set(C):
        return C(str(body)).name.lower().replace("_", " ")
    return None


@functools.cache
def _berlin() -> tzinfo:
    # The system's zone data where there is some: its C `utcoffset` costs a pushed report's
    # event id (`isoformat`) about 0.7 µs less than dateutil's, which ships data of its own
    # (Windows has none). zoneinfo and dateutil 4 (the lock's) agree on every half hour of
    # 1900-2100, folds included; dateutil 2.x reads the summers from 2038 on as winter.
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo("Europe/Berlin")
    except ZoneInfoNotFoundError:
        pass
    from dateutil import tz  # imported on demand: it costs import time

    zone = tz.gettz("Europe/Berlin")
    if zone is None:  # pragma: no cover - dateutil ships its own zone data
        raise RuntimeError("no Europe/Berlin time zone data")
    return zone


def _delivered_at(status: str, at: datetime | None) -> datetime | None:
    """When a DELIVERED status was set is when the message was delivered (as telecom23's
    webhook reads its timestamp): seven has no field of its own for it."""
    return at if status == "DELIVERED" else None


def _report(item: dict[str, Any], raw: object) -> StatusReport:
    status = f.required_str(item["status"], "status")
    at = soft.timestamp(item["status_time"], "status_time", naive_tz=_berlin())
    return PROVIDER.report(
        f.required_str(item["id"], "id"),
        status,
        raw,
        delivered_at=_delivered_at(status, at),
        updated_at=at,
    )


def _with_text_id(item: object, field: str) -> dict[str, Any]:
    """The object with a numeric `id` as text: seven sends ids both ways."""
    data = f.as_dict(item, field)
    value = data.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        data = {**data, "id": str(value)}
    return data


def batch_items(body: object) -> list[object]:
    """A reply's items: a list, or a bare object for one id."""
    return cast(list[object], body) if isinstance(body, list) else [body]


def read_item(item: object) -> StatusReport:
    data = _with_text_id(item, "item")
    return _report(data, deferred(KEY, SevenStatusReport, data))


def item_id(item: object) -> str | None:
    """The id an item names (text or a number), even when the rest of it does not fit."""
    value = cast(dict[str, object], item).get("id") if isinstance(item, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else None


def read_batch(message_ids: Sequence[str], body: object) -> dict[str, StatusReport]:
    return {report.message_id: report for report in map(read_item, batch_items(body))}


def read_status(message_id: str, body: object) -> StatusReport:
    return read_batch([message_id], body)[message_id]


_get_status = endpoint_request(get_status)


def _status_request(joined_ids: str) -> RequestKwargs:
    # The official clients always send Accept: application/json.
    return _get_status(msg_id=joined_ids) | {"headers": {"Accept": "application/json"}}


_get_journal = endpoint_request(get_journal_outbound)


def _journal_request(message_id: str) -> RequestKwargs | None:
    """The logbook takes one numeric `id`; any other id cannot be in it."""
    if not (message_id.isascii() and message_id.isdigit()):
        return None
    return _get_journal(id=int(message_id)) | {"headers": {"Accept": "application/json"}}


def read_journal(message_id: str, body: object) -> StatusReport | None:
    """The logbook entry of `message_id` (None if absent). Before its first delivery report
    an entry has no `dlr`: the message is then PENDING, not final, with provider_status ""."""
    if not isinstance(body, list):
        raise ValueError(f"the logbook answer should be a list, got {f.kind(body)}")
    entries: list[tuple[dict[str, Any], object]] = []
    for item in cast(list[object], body):  # every entry is read: a bad one is a bad body
        data = _with_text_id(item, "entry")
        entries.append((data, deferred(KEY, JournalEntry, data)))
    for entry, raw in entries:
        if entry["id"] != message_id:
            continue
        get = entry.get
        dlr = f.optional_str(get("dlr"), "dlr") or ""
        state, is_final = PROVIDER.state_of(dlr) if dlr else (S.PENDING, False)
        updated = soft.timestamp(get("dlr_timestamp"), "dlr_timestamp", naive_tz=_berlin())
        return StatusReport(
            provider=KEY,
            message_id=message_id,
            state=state,
            is_final=is_final,
            provider_status=dlr,
            recipient=soft.text(get("to"), "to"),
            cost=soft.decimal_text(get("price"), "price"),
            created_at=soft.timestamp(get("timestamp"), "timestamp", naive_tz=_berlin()),
            delivered_at=_delivered_at(dlr, updated),
            updated_at=updated,
            channel=soft.text(get("channel"), "channel"),
            raw=raw,
        )
    return None


def _status_endpoint_gone(error: ApiError) -> bool:
    """404/410 without one of seven's numeric codes: the path itself no longer exists."""
    return error.status_code in (404, 410) and error.error_code in ("NOT_FOUND", "HTTP_410")


LOGBOOK = Successor(
    name="logbook",
    request=_journal_request,
    ids="it takes numeric ids only",
    read=read_journal,
    is_gone=_status_endpoint_gone,
    deprecation=(
        "seven's status endpoint (GET /api/status) is deprecated and may soon be switched "
        "off; sms_status moves to the logbook when it is. "
        'connect("seven", lookup="logbook") uses the logbook now; lookup="status" keeps '
        "the status endpoint while it lasts, without this warning."
    ),
)


def _credentials(api_key: str) -> Credentials:
    if api_key.startswith("Bearer "):
        return Credentials("Authorization", api_key.removeprefix("Bearer "), prefix="Bearer")
    return Credentials("X-Api-Key", api_key)


def verify_webhook(request: PushedRequest) -> str:
    """hex HMAC-SHA256(secret, "{ts}\\n{nonce}\\n{METHOD}\\n{url}\\n{md5_hex(body)}"), as
    seven-io/js-client's WebhookVerifier computes it (the timestamp as an integer)."""
    if request.url is None:
        raise ValueError("seven signs the URL it called: pass url= (the public URL of this hook)")
    headers = request.headers
    timestamp, nonce = headers.get("x-timestamp"), headers.get("x-nonce")
    signature = headers.get("x-signature")
    if timestamp is None or nonce is None or signature is None:
        raise WebhookSignatureError(
            "X-Timestamp, X-Nonce and X-Signature are required", provider=KEY
        )
    seconds = fresh(request, timestamp)
    if not timestamp.strip().isdigit():
        raise WebhookSignatureError("the timestamp is not whole seconds", provider=KEY)
    md5 = hashlib.md5(request.body).hexdigest()  # noqa: S324 - seven's scheme
    to_sign = "\n".join((str(int(seconds)), nonce, request.method.upper(), request.url, md5))
    assert request.secret is not None
    # surrogatepass: a header a server decoded with surrogateescape (aiohttp) fails the
    # check, not the encoding (a UnicodeEncodeError was a 500).
    signed = to_sign.encode("utf-8", "surrogatepass")
    if not matches(hmac_sha256_hex(request.secret, signed), signature.strip().lower()):
        raise WebhookSignatureError("the signature does not match", provider=KEY)
    return f"{int(seconds)}:{nonce}"


def read_webhook(body: dict[str, Any]) -> Pushed:
    """A `dlr` event; `data.timestamp` is read as polling reads `status_time` (Berlin)."""
    raw = deferred(KEY, DlrWebhook, body, times=(("webhook_timestamp",),))
    kind = f.required_str(body["webhook_event"], "webhook_event")
    if kind != "dlr":
        raise ValueError(f"webhook_event {kind!r} is not a delivery report ('dlr')")
    data = body["data"]
    msg_id: object = data["msg_id"]  # declared int | str; JSON may bring anything
    if isinstance(msg_id, bool) or not isinstance(msg_id, int | str) or msg_id == "":
        raise ValueError("data.msg_id should be a non-empty string or an integer")
    at = soft.timestamp(data.get("timestamp"), "data.timestamp", naive_tz=_berlin())
    status = f.required_str(data["status"], "data.status")
    report = PROVIDER.report(
        str(msg_id), status, raw, delivered_at=_delivered_at(status, at), updated_at=at
    )
    return Pushed(report=report, event_id=event_id_of(report, at), kind=kind)


PROVIDER = Provider(
    key=KEY,
    origin="https://gateway.seven.io",
    credentials=_credentials,
    client_class=AuthenticatedClient,
    status_request=_status_request,
    read_status=read_status,
    statuses=STATUSES,
    error_codes=SevenErrorCode,
    error_classes=ERROR_CLASSES,
    error_code_from_body=error_code,
    error_message_from_body=error_message,
    error_statuses=frozenset({401}),
    # Undocumented: DLRs arrive within seconds to minutes; back off to a minute, cap at 5.
    cadence=Cadence(intervals=(5.0, 10.0, 30.0, 60.0), default_timeout=300.0),
    batch=BatchLookup(
        max_ids=MAX_IDS_PER_REQUEST,
        max_joined_length=MAX_MSG_ID_LENGTH,
        items=batch_items,
        read_item=read_item,
        item_id=item_id,
    ),
    successor=LOGBOOK,
    webhook=Webhook(verify=verify_webhook, read=read_webhook, signs_url=True),
)
