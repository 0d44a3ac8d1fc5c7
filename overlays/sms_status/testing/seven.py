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

The logbook, ``GET /api/journal/outbound`` (the status endpoint's successor): ``id`` picks one
message (``[]`` when unknown), else the tenant's messages newest first, filtered by ``state``
and ``to`` and paged by ``offset``/``limit`` (default 100). Entries carry ``dlr`` (the current
status) and ``dlr_timestamp``; fields override entry keys (``timestamp``/``dlr_timestamp`` as
numbers/datetimes are formatted). Fields named after only one endpoint's keys stay there.

Switching the status endpoint off (seven says it "may soon be switched off"):
``sb.options["status_endpoint"] = "off"`` answers it 404 ``Not Found`` like any unknown path,
``"gone"`` 410; ``"on"`` (or unset) serves it. ``restore_defaults()`` turns it back on.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final, cast

from dateutil import tz

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


STATUS_KEYS: Final = frozenset({"id", "status", "status_time"})
JOURNAL_KEYS: Final = frozenset(
    {"id", "from", "to", "text", "timestamp", "price", "dlr", "dlr_timestamp", "mccmnc"}
    | {"latency", "type", "connection", "label", "foreign_id", "channel"}
)


def render(view: MessageView) -> Any:
    if view.verbatim is not None:
        return view.verbatim
    item: dict[str, Any] = {
        "id": view.id,
        "status": view.status,
        "status_time": status_time(view.changed_at),
    }
    return apply_fields(
        item,
        view.fields,
        times=("status_time",),
        fmt=status_time,
        skip=JOURNAL_KEYS - STATUS_KEYS,
    )


def _sent_before(status_time: str, seconds: float) -> tuple[str, str]:
    """The logbook's `timestamp` (whole seconds) `seconds` before a `status_time`, and the
    `latency` between them, as the logbook's own example pairs them."""
    reported = datetime.strptime(status_time, "%Y-%m-%d %H:%M:%S.%f")
    sent = (reported - timedelta(seconds=seconds)).replace(microsecond=0)
    return sent.strftime("%Y-%m-%d %H:%M:%S"), f"{(reported - sent).total_seconds():.3f}"


def render_journal(view: MessageView) -> dict[str, Any]:
    """A logbook entry; seven's own document types every field as a string. A seeded example
    message is served as the spec's logbook example, verbatim."""
    if view.verbatim is not None and view.id in JOURNAL_EXAMPLES:
        return dict(JOURNAL_EXAMPLES[view.id])
    seeded: object = view.verbatim
    verbatim = cast(dict[str, object], seeded) if isinstance(seeded, dict) else {}
    entry: dict[str, Any] = {
        "id": view.id,
        "from": "seven",
        "to": "4917612345678",
        "text": "Hello from the sandbox",
        "timestamp": status_time(view.created_at)[:19],
        "price": "0.075",
        "dlr": view.status,
        "dlr_timestamp": status_time(view.changed_at),
        "mccmnc": "26203",
        "latency": f"{max(0.0, view.changed_at - view.created_at):.3f}",
        "type": "direct",
        "connection": "http",
        "label": None,
        "foreign_id": None,
        "channel": "SMS",
    }
    status_time_given = verbatim.get("status_time")
    if isinstance(status_time_given, str):
        # A seeded example of the status endpoint: its own times, whichever endpoint asks
        # (the logbook served today's clock for it); sent two seconds before, as the
        # logbook's own example has it. A verbatim body of another form keeps the clock's.
        with contextlib.suppress(ValueError):
            entry["timestamp"], entry["latency"] = _sent_before(status_time_given, 2.0)
            entry["dlr_timestamp"] = status_time_given
    return apply_fields(
        entry,
        view.fields,
        times=("timestamp", "dlr_timestamp"),
        fmt=status_time,
        skip=STATUS_KEYS - JOURNAL_KEYS,
    )


def _status_endpoint_off(ctx: Ctx) -> Reply | None:
    setting = ctx.option("status_endpoint") or "on"
    if setting == "off":
        return Reply(404, b"Not Found", "text/plain")
    if setting == "gone":
        return Reply(410, b"Gone", "text/plain")
    return None


def _int_query(ctx: Ctx, name: str, default: int) -> int:
    values = ctx.query.get(name, [])
    try:
        return int(values[0]) if values else default
    except ValueError:
        return default


def journal_ids(ctx: Ctx) -> tuple[str, ...]:
    return tuple(v for v in ctx.query.get("id", [])[:1] if v)


def get_journal(ctx: Ctx) -> Reply:
    ids = journal_ids(ctx)
    if ids:
        view = ctx.lookup(ids[0])
        return Reply.json([] if view is None else [render_journal(view)])
    views = sorted(ctx.messages(), key=lambda v: (v.created_at, v.seq), reverse=True)
    entries = [render_journal(v) for v in views]
    for name, key in (("state", "dlr"), ("to", "to")):
        wanted = ctx.query.get(name, [])[:1]
        entries = [e for e in entries if not wanted or e[key] == wanted[0]]
    offset = max(0, _int_query(ctx, "offset", 0))
    limit = min(100, max(1, _int_query(ctx, "limit", 100)))
    return Reply.json(entries[offset : offset + limit])


def get_status(ctx: Ctx) -> Reply:
    switched_off = _status_endpoint_off(ctx)
    if switched_off is not None:
        return switched_off
    ids = requested_ids(ctx)
    views = [ctx.lookup(i) for i in ids]
    known = [render(v) for v in views if v is not None]
    if not known:
        return Reply.json(INVALID_MESSAGE_ID, 200)
    if len(ids) == 1:
        return Reply.json(known[0])
    return Reply.json(known)


JOURNAL_EXAMPLES: Final[Mapping[str, Mapping[str, Any]]] = {
    "77232007287": {
        "id": "77232007287",
        "from": "seven",
        "to": "4917612345678",
        "text": "Hello",
        "timestamp": "2024-02-16 15:43:14",
        "price": "0.075",
        "dlr": "DELIVERED",
        "dlr_timestamp": "2024-02-16 15:43:16.905",
        "mccmnc": "26203",
        "latency": "2.905",
        "type": "direct",
        "connection": "http",
        "label": None,
        "foreign_id": None,
        "channel": "SMS",
    }
}
"""The spec's logbook example (specs/seven.yaml `/api/journal/outbound` `delivered`)."""

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


def render_webhook(view: MessageView) -> list[tuple[str, bytes]]:
    """A ``dlr`` per change, its time in Berlin local time (as the docs' example)."""
    local = datetime.fromtimestamp(view.changed_at, BERLIN)
    body = {
        "data": {
            "msg_id": view.id,
            "status": view.status,
            "timestamp": local.strftime("%Y-%m-%d %H:%M:%S.%f"),
        },
        "webhook_event": "dlr",
        "webhook_timestamp": local.isoformat(timespec="seconds"),
    }
    return [("dlr", dump_json(body))]


def sign_webhook(secret: str | None, url: str, body: bytes, now: float) -> dict[str, str]:
    """``X-Signature`` = hex HMAC-SHA256(secret, "{ts}\\n{nonce}\\nPOST\\n{url}\\n{md5(body)}")."""
    if secret is None:
        return {}
    timestamp, nonce = str(int(now)), uuid.uuid4().hex
    md5 = hashlib.md5(body).hexdigest()  # noqa: S324 - seven's documented scheme
    to_sign = f"{timestamp}\n{nonce}\nPOST\n{url}\n{md5}"
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return {"X-Timestamp": timestamp, "X-Nonce": nonce, "X-Signature": signature}


PROVIDER: Final = ProviderDef(
    key=KEY,
    routes=(
        RouteDef("status", "/api/status", get_status, ids=requested_ids),
        RouteDef("journal", "/api/journal/outbound", get_journal, ids=journal_ids),
    ),
    default_statuses=DEFAULT_STATUSES,
    present_key=present_key,
    auth_error=auth_error,
    error=error,
    rate_limited=rate_limited,
    unknown_path=lambda ctx: Reply(404, b"Not Found", "text/plain"),
    examples=EXAMPLES,
    secret_headers=frozenset({"x-api-key", "authorization"}),
    webhook=FakeWebhook(render=render_webhook, sign=sign_webhook),  # retries undocumented
    numeric_error_codes=True,
)
