"""seven.io sandbox (specs/seven.yaml): ``GET /api/status?msg_id=ID1,ID2``.

Auth: ``X-Api-Key: <key>`` or ``Authorization: Bearer <key>``; missing or wrong -> HTTP 200
with the numeric body ``900`` (the spec's own ``invalidApiKey`` example is a 200, and the
official client reads the code from the body whatever the status).

Lookups: ``msg_id`` is a comma-separated list (``%2C``-encoded commas and repeated ``msg_id``
parameters work too; duplicates are answered once). Exactly one id asked -> a bare status
report object; several -> a list in the order asked, ids the store does not know (or another
tenant's) left out; none known, or no id at all -> HTTP 200 with the numeric body ``901``
(invalid message id). Each id in a request counts as one poll of that message.

Items: ``{"id", "status", "status_time": "YYYY-MM-DD HH:MM:SS.fff"}`` in Europe/Berlin local
time, without an offset (seven's DLR webhook example pairs the same wall time with +02:00).
Fields override item keys (``status_time`` as a number/datetime is formatted).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from dateutil import tz

from sms_status.testing._base import (
    Ctx,
    Example,
    MessageView,
    ProviderDef,
    Reply,
    RouteDef,
    apply_fields,
)

KEY: Final = "seven"
DEFAULT_STATUSES: Final = ("ACCEPTED", "TRANSMITTED", "DELIVERED")
INVALID_API_KEY: Final = 900
INVALID_MESSAGE_ID: Final = 901
UNKNOWN_ERROR: Final = 700


BERLIN: Final = tz.gettz("Europe/Berlin")


def status_time(t: float) -> str:
    dt = datetime.fromtimestamp(t, BERLIN)
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def error(ctx: Ctx, status: int, code: str | None) -> Reply:
    return Reply.json(int(code) if code is not None else UNKNOWN_ERROR, status)


def present_key(headers: Mapping[str, str]) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def auth_error(ctx: Ctx, presented: str | None) -> Reply:
    return Reply.json(INVALID_API_KEY, 200)


def rate_limited(ctx: Ctx, retry_after: str | None) -> Reply:
    return Reply.json(UNKNOWN_ERROR, 429)


def requested_ids(ctx: Ctx) -> tuple[str, ...]:
    ids: list[str] = []
    for value in ctx.query.get("msg_id", []):
        for part in value.split(","):
            message_id = part.strip()
            if message_id and message_id not in ids:
                ids.append(message_id)
    return tuple(ids)


def render(view: MessageView) -> Any:
    if view.verbatim is not None:
        return view.verbatim
    item: dict[str, Any] = {
        "id": view.id,
        "status": view.status,
        "status_time": status_time(view.changed_at),
    }
    return apply_fields(item, view.fields, times=("status_time",), fmt=status_time)


def get_status(ctx: Ctx) -> Reply:
    ids = requested_ids(ctx)
    views = [ctx.lookup(i) for i in ids]
    known = [render(v) for v in views if v is not None]
    if not known:
        return Reply.json(INVALID_MESSAGE_ID, 200)
    if len(ids) == 1:
        return Reply.json(known[0])
    return Reply.json(known)


EXAMPLES: Final = (
    Example(
        id="77232007287",
        status="DELIVERED",
        body={"id": "77232007287", "status": "DELIVERED", "status_time": "2024-02-16 15:43:16.905"},
    ),
    Example(
        id="77232007195",
        status="DELIVERED",
        body={"id": "77232007195", "status": "DELIVERED", "status_time": "2024-02-16 15:42:19.989"},
    ),
)

PROVIDER: Final = ProviderDef(
    key=KEY,
    routes=(RouteDef("status", "/api/status", get_status, ids=requested_ids),),
    default_statuses=DEFAULT_STATUSES,
    present_key=present_key,
    auth_error=auth_error,
    error=error,
    rate_limited=rate_limited,
    unknown_path=lambda ctx: Reply(404, b"Not Found", "text/plain"),
    examples=EXAMPLES,
    secret_headers=frozenset({"x-api-key", "authorization"}),
)
