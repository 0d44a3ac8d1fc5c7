"""Pushed delivery reports (webhooks), verified and read into the polling vocabulary.

    from sms_status import webhooks

    event = webhooks.parse("telecom23", body=raw_body, headers=request.headers, secret=secret)
    event.report      # a StatusReport, exactly as polling would give it
    event.event_id    # deduplicate on this (a provider retry carries the same one)

What each provider signs (their webhook pages, cited in docs/providers/<key>.md; every
comparison is constant-time, over the raw bytes as received, never re-serialised JSON):

- telecom23: `X-Webhook-Signature: sha256=<hex>` = HMAC-SHA256(secret,
  "{X-Webhook-Timestamp}.{body}"); `secret` is the portal's signing secret.
- seven: `X-Signature` = hex HMAC-SHA256(secret,
  "{X-Timestamp}\\n{X-Nonce}\\n{METHOD}\\n{url}\\n{md5_hex(body)}"); `url=` is required.
- lisoloo: `Authorization: Basic ...`; `secret` is `"user:password"`.
- namirial, roycetalk: nothing documented; `secret` must be None.

telecom23, seven and lisoloo make signing optional on their side, but here a secret is
required for them: a receiver that accepts unsigned reports for a provider that can sign
them is one forged POST away from a wrong `DELIVERED`. namirial and roycetalk document no
signature at all: `secret=None` is the only value accepted, and such a receiver should sit
behind something that authenticates the sender (an unguessable URL, an IP allow-list).

Timestamps (telecom23, seven) must lie within `tolerance` seconds of `now`, in either
direction. With a `replay_guard`, a delivery whose signature (telecom23: timestamp and
signature; seven: timestamp and nonce; others: the body's digest) was seen before raises
`WebhookReplayError`. A provider's retry is signed afresh, so it is no replay: deduplicate
on `event.event_id`.

Statuses map through each provider's one table (`sms_status.providers.<key>.STATUSES`), the
same as polling. lisoloo's event types name lifecycle states (`sms.delivered` ->
`delivered`); its per-recipient events (`sms.processing`, `sms.sent`, `sms.delivered`,
`sms.failed`) give a report with `recipient` set and that recipient's state, not the
message's overall one, so merge them per (message, recipient); `sms.queued` is
message-level.

roycetalk documents a `callback_url` on its send endpoints but no callback payload. We
accept it permissively rather than refuse: the only status object RoyceTalk publishes is
its status endpoint's, so the callback is read as that (the envelope, or its bare `data`
object) with the polling reader; anything else is a `MalformedWebhookError`. Refusing would
leave users to hand-write exactly the parsing this module exists for; the shape is marked
`x-inferred` in `specs/roycetalk.yaml`. Treat its finals as hints worth one `get_status`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from sms_status import _fields as f
from sms_status._registry import PROVIDERS
from sms_status.errors import (
    InvalidWebhookError,
    MalformedWebhookError,
    WebhookReplayError,
    WebhookSignatureError,
)
from sms_status.report import RecipientCounts, StatusReport
from sms_status.webhooks._guards import MemoryReplayGuard, RedisReplayGuard, ReplayGuard

if TYPE_CHECKING:
    from sms_status.webhooks._app import OnReport

DEFAULT_TOLERANCE = 300.0
"""Seconds a signed timestamp may be old, or ahead (23 Telecom and seven both say 5 minutes)."""
DEFAULT_MAX_BODY_BYTES = 64 * 1024
"""The receiver app's cap on a request body; every documented payload is well under 2 KiB."""

SIGNED = frozenset({"telecom23", "seven", "lisoloo"})
"""Providers whose webhooks carry credentials (HMAC signatures, or Basic auth for lisoloo)."""


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """One verified delivery: the report in the polling vocabulary, and how to dedupe it."""

    provider: str
    report: StatusReport
    event_id: str
    """lisoloo `event_id`, namirial `id`; otherwise a stable id of the reported status."""
    kind: str
    """The provider's event type: "delivery" (telecom23), "dlr" (seven), "sms.delivered"
    (lisoloo), "STATUS_UPDATE" (namirial), "callback" (roycetalk)."""


# -- arguments ---------------------------------------------------------------------------------


def _check_arguments(provider: str, secret: object, tolerance: object) -> None:
    """Bad arguments are ValueError/TypeError before anything is read (never showing `secret`)."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; expected one of: {', '.join(PROVIDERS)}")
    if secret is not None and not isinstance(secret, str):
        raise TypeError("secret must be a str or None")
    if provider in SIGNED and not secret:
        raise ValueError(
            f"{provider} webhooks are verified with a secret (lisoloo: 'user:password'); "
            "set one on the provider's side and pass it as secret="
        )
    if provider not in SIGNED and secret is not None:
        raise ValueError(f"{provider} documents no webhook signature: pass secret=None")
    if provider == "lisoloo" and isinstance(secret, str) and ":" not in secret:
        raise ValueError("lisoloo's secret is the Basic credentials 'user:password'")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
        raise TypeError("tolerance must be a number of seconds")
    if not math.isfinite(tolerance) or tolerance <= 0:
        raise ValueError("tolerance must be a finite number of seconds > 0")


class _Headers:
    """Case-insensitive view of any str -> str mapping (Starlette, httpx, a plain dict)."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._lower = {str(k).lower(): v for k, v in headers.items()}

    def get(self, name: str) -> str | None:
        value = self._lower.get(name)
        return value if isinstance(value, str) and value != "" else None


def _ascii(text: str) -> bytes:
    # compare_digest refuses non-ASCII str; header values are latin-1 on the wire.
    return text.encode("utf-8", "surrogatepass")


def _fresh(provider: str, timestamp: str | None, now: float, tolerance: float) -> float:
    if timestamp is None:
        raise WebhookSignatureError("the timestamp header is missing", provider=provider)
    try:
        seconds = float(timestamp.strip())
    except ValueError:
        raise WebhookSignatureError("the timestamp is not a number", provider=provider) from None
    if not math.isfinite(seconds) or abs(now - seconds) > tolerance:
        raise WebhookSignatureError(
            f"the timestamp is outside the tolerance of {tolerance:g} s", provider=provider
        )
    return seconds


# -- verification (one function per provider; each returns the replay key) -------------------


def _verify_telecom23(
    body: bytes, headers: _Headers, secret: str, now: float, tolerance: float, **_unused: Any
) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "{timestamp}.{raw_body}") (…/webhooks/security)."""
    signature = headers.get("x-webhook-signature")
    timestamp = headers.get("x-webhook-timestamp")
    if signature is None:
        raise WebhookSignatureError(
            "the X-Webhook-Signature header is missing", provider="telecom23"
        )
    prefix, _, given = signature.strip().partition("=")
    if prefix.lower() != "sha256" or not given:
        raise WebhookSignatureError(
            "the signature lacks its 'sha256=' prefix", provider="telecom23"
        )
    _fresh("telecom23", timestamp, now, tolerance)
    assert timestamp is not None
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    if not hmac.compare_digest(_ascii(expected.hexdigest()), _ascii(given.lower())):
        raise WebhookSignatureError("the signature does not match", provider="telecom23")
    return f"{timestamp}:{given.lower()}"


def _verify_seven(
    body: bytes,
    headers: _Headers,
    secret: str,
    now: float,
    tolerance: float,
    url: str | None = None,
    method: str = "POST",
) -> str:
    """hex HMAC-SHA256(secret, "{ts}\\n{nonce}\\n{METHOD}\\n{url}\\n{md5_hex(body)}"), as
    seven-io/js-client's WebhookVerifier computes it (the timestamp as an integer)."""
    if url is None:
        raise ValueError("seven signs the URL it called: pass url= (the public URL of this hook)")
    timestamp, nonce = headers.get("x-timestamp"), headers.get("x-nonce")
    signature = headers.get("x-signature")
    if timestamp is None or nonce is None or signature is None:
        raise WebhookSignatureError(
            "X-Timestamp, X-Nonce and X-Signature are required", provider="seven"
        )
    seconds = _fresh("seven", timestamp, now, tolerance)
    if not timestamp.strip().isdigit():
        raise WebhookSignatureError("the timestamp is not whole seconds", provider="seven")
    to_sign = "\n".join(
        (str(int(seconds)), nonce, method.upper(), url, hashlib.md5(body).hexdigest())  # noqa: S324 - seven's scheme
    )
    expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(_ascii(expected), _ascii(signature.strip().lower())):
        raise WebhookSignatureError("the signature does not match", provider="seven")
    return f"{int(seconds)}:{nonce}"


def _verify_lisoloo(body: bytes, headers: _Headers, secret: str, **_unused: Any) -> str:
    """HTTP Basic credentials (docs.lisoloo.com/webhooks/overview): no signature, no timestamp."""
    scheme, _, token = (headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        raise WebhookSignatureError("Basic credentials are missing", provider="lisoloo")
    try:
        presented = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookSignatureError(
            "the Basic credentials are not base64", provider="lisoloo"
        ) from None
    if not hmac.compare_digest(presented, secret.encode()):
        raise WebhookSignatureError("the Basic credentials do not match", provider="lisoloo")
    return hashlib.sha256(body).hexdigest()


def _unsigned(body: bytes, headers: _Headers, secret: None, **_unused: Any) -> str:
    return hashlib.sha256(body).hexdigest()


_VERIFIERS: dict[str, Callable[..., str]] = {
    "telecom23": _verify_telecom23,
    "seven": _verify_seven,
    "lisoloo": _verify_lisoloo,
    "namirial": _unsigned,
    "roycetalk": _unsigned,
}


# -- payloads (through the generated models; statuses through the providers' tables) --------


def _read_telecom23(body: dict[str, Any]) -> tuple[StatusReport, str, str]:
    from sms_status_telecom23.models import DeliveryWebhook

    from sms_status.providers.telecom23 import KEY, PROVIDER

    raw = DeliveryWebhook.from_dict(body)
    status = f.required_str(raw.status, "status")
    state, is_final = PROVIDER.state_of(status)
    at = f.timestamp(raw.timestamp, "timestamp")
    report = StatusReport(
        provider=KEY,
        message_id=f.required_str(raw.message_id, "message_id"),
        state=state,
        is_final=is_final,
        provider_status=status,
        recipient=f.optional_str(raw.recipient, "recipient"),
        segments=f.optional_int(raw.num_parts, "num_parts"),
        cost=f.optional_decimal(raw.cost, "cost"),
        delivered_at=at if status == "DELIVRD" else None,
        updated_at=at,
        provider_code=f.code_str(raw.status_code, "status_code"),
        raw=raw,
    )
    stamp = at.isoformat() if at else ""
    return report, f"{report.message_id}:{status}:{stamp}", "delivery"


def _read_seven(body: dict[str, Any]) -> tuple[StatusReport, str, str]:
    from sms_status_seven.models import DlrWebhook

    # seven's one reading of its naive timestamps (Berlin time), shared with polling.
    from sms_status.providers.seven import (
        KEY,
        PROVIDER,
        _berlin,  # pyright: ignore[reportPrivateUsage]
    )

    raw = DlrWebhook.from_dict(body)
    kind = f.required_str(raw.webhook_event, "webhook_event")
    if kind != "dlr":
        raise ValueError(f"webhook_event {kind!r} is not a delivery report ('dlr')")
    msg_id: object = raw.data.msg_id  # declared int | str; JSON may bring anything
    if isinstance(msg_id, bool) or not isinstance(msg_id, int | str) or msg_id == "":  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError("data.msg_id should be a non-empty string or an integer")
    status = f.required_str(raw.data.status, "data.status")
    state, is_final = PROVIDER.state_of(status)
    at = f.timestamp(raw.data.timestamp, "data.timestamp", naive_tz=_berlin())
    report = StatusReport(
        provider=KEY,
        message_id=str(msg_id),
        state=state,
        is_final=is_final,
        provider_status=status,
        updated_at=at,
        raw=raw,
    )
    stamp = at.isoformat() if at else ""
    return report, f"{report.message_id}:{status}:{stamp}", kind


LISOLOO_EVENT_STATUS = {
    "sms.queued": "pending",
    "sms.processing": "processing",
    "sms.sent": "sent",
    "sms.delivered": "delivered",
    "sms.failed": "failed",
}
"""lisoloo event type -> the lifecycle status it reports (then mapped by lisoloo's STATUSES)."""


def _read_lisoloo(body: dict[str, Any]) -> tuple[StatusReport, str, str]:
    from sms_status_lisoloo.models import WebhookEvent as LisolooEvent
    from sms_status_lisoloo.models import WebhookEventData

    from sms_status.providers.lisoloo import KEY, PROVIDER

    raw = LisolooEvent.from_dict(body)
    kind = f.required_str(raw.event_type, "event_type")
    status = LISOLOO_EVENT_STATUS.get(kind)
    state, is_final = PROVIDER.state_of(status if status is not None else kind)
    data = raw.data if isinstance(raw.data, WebhookEventData) else WebhookEventData()
    counts = None
    total = f.optional_int(data.total_recipients, "data.total_recipients")
    if kind == "sms.queued" and total is not None:
        counts = RecipientCounts(total=total, delivered=0, failed=0, pending=total)
    report = StatusReport(
        provider=KEY,
        message_id=f.required_str(raw.message_id, "message_id"),
        state=state,
        is_final=is_final,
        provider_status=kind,
        recipient=f.optional_str(data.recipient_phone, "data.recipient_phone"),
        segments=f.optional_int(data.segments, "data.segments"),
        sent_at=f.timestamp(data.sent_at, "data.sent_at"),
        delivered_at=f.timestamp(data.delivered_at, "data.delivered_at"),
        updated_at=f.timestamp(raw.timestamp, "timestamp"),
        recipients=counts,
        raw=raw,
    )
    return report, f.required_str(raw.event_id, "event_id"), kind


def _read_namirial(body: dict[str, Any]) -> tuple[StatusReport, str, str]:
    from sms_status_namirial.models import WebhookEvent as NamirialEvent

    # the status endpoint's own reader: the envelope wraps the very same message object
    from sms_status.providers.namirial import _report  # pyright: ignore[reportPrivateUsage]

    raw = NamirialEvent.from_dict(body)
    kind = f.required_str(raw.type_, "type")
    if kind != "STATUS_UPDATE":
        raise ValueError(f"type {kind!r} is not a STATUS_UPDATE")
    report = attrs.evolve(_report(raw.message), raw=raw)
    return report, f.required_str(raw.id, "id"), kind


def _read_roycetalk(body: dict[str, Any]) -> tuple[StatusReport, str, str]:
    from sms_status.providers.roycetalk import read_status

    envelope = body if "data" in body else {"success": True, "data": body}
    data = f.as_dict(envelope["data"], "data")
    if envelope.get("success") is False:
        raise ValueError("an error envelope is not a status")
    report = read_status(f.required_str(data.get("id"), "data.id"), envelope)
    stamp = report.delivered_at or report.sent_at or report.created_at
    event_id = f"{report.message_id}:{report.provider_status}:{stamp.isoformat() if stamp else ''}"
    return report, event_id, "callback"


_READERS: dict[str, Callable[[dict[str, Any]], tuple[StatusReport, str, str]]] = {
    "telecom23": _read_telecom23,
    "seven": _read_seven,
    "lisoloo": _read_lisoloo,
    "namirial": _read_namirial,
    "roycetalk": _read_roycetalk,
}


# -- the public functions ------------------------------------------------------------------


def verify_and_read(
    provider: str,
    *,
    body: object,
    headers: Mapping[str, str],
    secret: str | None,
    url: str | None,
    method: str,
    tolerance: float,
    now: float | None,
) -> tuple[WebhookEvent, str]:
    """`parse` without the replay guard: the event and its replay key (for `app`)."""
    if not isinstance(body, bytes | bytearray):
        raise TypeError("body must be the raw bytes as received, not decoded or re-serialised")
    raw_body = bytes(body)
    moment = time.time() if now is None else float(now)
    replay_key = _VERIFIERS[provider](
        raw_body,
        _Headers(headers),
        secret,
        now=moment,
        tolerance=tolerance,
        url=url,
        method=method,
    )
    try:
        payload = json.loads(raw_body)
        report, event_id, kind = _READERS[provider](f.as_dict(payload, "body"))
    except InvalidWebhookError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise MalformedWebhookError(
            f"the body does not fit the documented payload ({type(exc).__name__}: {exc})"[:300],
            provider=provider,
        ) from None
    if not report.message_id:  # a report that names no message cannot be matched to one
        raise MalformedWebhookError(
            "the payload names no message (empty message id)", provider=provider
        )
    event = WebhookEvent(provider=provider, report=report, event_id=event_id, kind=kind)
    return event, f"{provider}:{replay_key}"


def parse(
    provider: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    secret: str | None,
    url: str | None = None,
    method: str = "POST",
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
    replay_guard: ReplayGuard | None = None,
) -> WebhookEvent:
    """Verify one pushed delivery and read it into a `WebhookEvent`.

    `body` is the request body exactly as received; `headers` any str -> str mapping (names
    are looked up case-insensitively); `secret` per the table in this module's docstring;
    `url` and `method` are what seven signs (`url` is required for seven); `now` is unix
    seconds (default: `time.time()`).

    Raises `WebhookSignatureError` (missing or wrong credentials, timestamp outside
    `tolerance`), `WebhookReplayError` (with `replay_guard`, a delivery seen before),
    `MalformedWebhookError` (authentic but not the documented payload); `ValueError` /
    `TypeError` for bad arguments, before anything is read.
    """
    _check_arguments(provider, secret, tolerance)
    event, replay_key = verify_and_read(
        provider,
        body=body,
        headers=headers,
        secret=secret,
        url=url,
        method=method,
        tolerance=tolerance,
        now=now,
    )
    if replay_guard is not None and not replay_guard.add(replay_key, ttl=2 * tolerance):
        raise WebhookReplayError("this delivery was seen before", provider=provider)
    return event


def merge(current: StatusReport, incoming: StatusReport) -> StatusReport:
    """The report to keep when two reports of one message meet (pushed vs polled, or two
    pushed ones out of order): if exactly one is final it is kept, whichever argument it is;
    otherwise the later `updated_at` wins (a report without one counts as older); ties keep
    `current`. Reports of different messages are a ValueError."""
    if (current.provider, current.message_id) != (incoming.provider, incoming.message_id):
        raise ValueError("merge() takes two reports of the same provider and message")
    if current.is_final != incoming.is_final:
        return current if current.is_final else incoming
    if incoming.updated_at is not None and (
        current.updated_at is None or incoming.updated_at > current.updated_at
    ):
        return incoming
    return current


def app(
    provider: str,
    *,
    secret: str | None,
    on_report: OnReport,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    url: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    replay_guard: ReplayGuard | None = None,
    clock: Callable[[], float] | None = None,
) -> Any:
    """A Starlette ASGI app receiving `provider`'s webhooks (needs `sms-status[webhooks]`).

    Every POST is verified with `parse`; the answer is immediate: 200 (empty) for a verified
    delivery, which is then handed to `on_report(event)` (a sync or async callable, given the
    `WebhookEvent`); 401 with an empty body on bad or missing credentials; 400 on a
    malformed payload; 413 once the body passes `max_body_bytes` (counted while reading, so
    a huge body costs no more than the cap); 405 for other methods. A replay (with a
    `replay_guard`) answers 200 and reports nothing. `url` is the public URL seven signs
    (default: the URL of the request as the app sees it); `clock` gives unix seconds
    (default `time.time`), e.g. a sandbox's `clock.now`.
    """
    from sms_status._registry import load_provider
    from sms_status.webhooks._app import build_app

    _check_arguments(provider, secret, tolerance)
    load_provider(provider)  # a missing extra is MissingProviderError now, not a 500 later
    size: object = max_body_bytes
    if isinstance(size, bool) or not isinstance(size, int):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError("max_body_bytes must be an int")
    if size < 1:
        raise ValueError("max_body_bytes must be >= 1")
    if not callable(on_report):
        raise TypeError("on_report must be callable")
    return build_app(
        provider,
        secret=secret,
        on_report=on_report,
        max_body_bytes=max_body_bytes,
        url=url,
        tolerance=tolerance,
        replay_guard=replay_guard,
        clock=clock,
    )


__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_TOLERANCE",
    "MemoryReplayGuard",
    "RedisReplayGuard",
    "ReplayGuard",
    "WebhookEvent",
    "app",
    "merge",
    "parse",
]
