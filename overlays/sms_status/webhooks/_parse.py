"""Verifying one pushed delivery and reading it: `parse`, and `verify_and_read` (the same
without the replay guard, for the receiver app). Each provider's own scheme is its
module's `Webhook` (`sms_status.providers.<key>`); this is what they all go through."""

from __future__ import annotations

import functools
import math
import time
from urllib.parse import urlsplit

import attrs

from sms_status import _fields as f
from sms_status import _validation
from sms_status._pushed import HeaderItems, Headers, PushedRequest, Webhook
from sms_status._registry import PROVIDERS, REGISTRY, load_provider, with_webhooks
from sms_status.errors import (
    InvalidWebhookError,
    MalformedWebhookError,
    TransportError,
    WebhookReplayError,
)
from sms_status.report import StatusReport
from sms_status.webhooks._guards import ReplayGuard

DEFAULT_TOLERANCE = 300.0
"""Seconds a signed timestamp may be old, or ahead (23 Telecom and seven both say 5 minutes)."""

SIGNED = frozenset(with_webhooks("signed"))
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
    replay_key: str = attrs.field(default="", eq=False, repr=False)
    """What a `replay_guard` remembers of this delivery (`parse`): a delivery you could not
    store after all is forgotten with `replay_guard.discard(event.replay_key)` before you
    answer 5xx, or the provider's retry (the same bytes, for lisoloo, namirial and
    roycetalk) would be a replay."""


# -- arguments ---------------------------------------------------------------------------------


def check_arguments(
    provider: str, secret: object, tolerance: object, url: object = None
) -> Webhook:
    """Bad arguments are ValueError/TypeError before anything is read (never showing
    `secret`, nor `url`: its path may be a secret too); a provider whose extra is missing
    is MissingProviderError."""
    if (
        type(provider) is str
        and type(secret) in _TEXT_OR_NONE
        and type(tolerance) in (int, float)
        and type(url) in _TEXT_OR_NONE
    ):
        return _checked_before(provider, secret, tolerance, url)
    return _check(provider, secret, tolerance, url)


_TEXT_OR_NONE = (str, type(None))


@functools.lru_cache(maxsize=16)
def _checked_before(provider: str, secret: object, tolerance: object, url: object) -> Webhook:
    """`_check` remembered for arguments it passed (it raises for the others, which are never
    kept): `parse` is called with the same ones at every delivery, and checking them again
    (the URL split, the provider looked up) was 1-2 µs of seven's 30."""
    return _check(provider, secret, tolerance, url)


def _check(provider: str, secret: object, tolerance: object, url: object) -> Webhook:
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; expected one of: {', '.join(PROVIDERS)}")
    kind = REGISTRY[provider].webhooks
    if kind == "none":
        raise ValueError(f"{provider} documents no webhooks")
    if secret is not None and not isinstance(secret, str):
        raise TypeError("secret must be a str or None")
    if kind == "signed" and not secret:
        raise ValueError(
            f"{provider} webhooks are verified with a secret (lisoloo: 'user:password'); "
            "set one on the provider's side and pass it as secret="
        )
    if kind == "unsigned" and secret is not None:
        raise ValueError(f"{provider} documents no webhook signature: pass secret=None")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
        raise TypeError("tolerance must be a number of seconds")
    if not math.isfinite(tolerance) or tolerance <= 0:
        raise ValueError("tolerance must be a finite number of seconds > 0")
    _check_url(url)
    webhook = load_provider(provider).webhook
    if webhook is None:  # pragma: no cover - the completeness test holds the registry to it
        raise ValueError(f"{provider} documents no webhooks")
    if isinstance(secret, str) and not _validation.encodable(secret):
        raise ValueError("secret must be valid Unicode text (it has a lone surrogate)")
    problem = webhook.check_secret(secret) if isinstance(secret, str) else None
    if problem is not None:
        raise ValueError(problem)
    return webhook


def _check_url(url: object) -> None:
    """None, or the absolute http(s) URL seven signs: anything else never matches a
    signature (bytes even raised out of the receiver at each genuine delivery)."""
    if url is None:
        return
    if not isinstance(url, str):
        raise TypeError("url must be a str (the public URL the provider calls) or None")
    try:
        parts = urlsplit(url)
    except ValueError:  # a bracketed host that is no IPv6 address
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("url must be an absolute http(s) URL, as 'https://example.com/hooks'")
    if url != url.strip():
        raise ValueError("url must have no whitespace around it (it is signed as given)")
    if not _validation.encodable(url):
        raise ValueError("url must be valid Unicode text (it has a lone surrogate)")


# -- the public functions ------------------------------------------------------------------


def verify_and_read(
    provider: str,
    *,
    body: object,
    headers: HeaderItems | Headers,
    secret: str | None,
    url: str | None,
    method: str,
    tolerance: float,
    now: float | None,
    webhook: Webhook | None = None,
) -> tuple[WebhookEvent, str]:
    """`parse` without the replay guard: the event and its replay key (for `app`).
    `webhook`: what `check_arguments` returned, if at hand (saves looking it up again)."""
    if not isinstance(body, bytes | bytearray):
        raise TypeError("body must be the raw bytes as received, not decoded or re-serialised")
    if webhook is None:
        webhook = load_provider(provider).webhook
    assert webhook is not None, "verify_and_read follows check_arguments"
    request = PushedRequest(
        provider=provider,
        body=bytes(body),
        headers=headers if isinstance(headers, Headers) else Headers(headers),
        secret=secret,
        url=url,
        method=method,
        now=time.time() if now is None else float(now),
        tolerance=tolerance,
    )
    return read_verified(webhook, request)


def read_verified(webhook: Webhook, request: PushedRequest) -> tuple[WebhookEvent, str]:
    """`verify_and_read` of a request built already (the receiver app builds its own)."""
    provider = request.provider
    replay_key = webhook.verify(request)
    try:
        pushed = webhook.read(f.as_dict(f.json_value(request.body), "body"))
    except InvalidWebhookError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        # RecursionError: JSON nested thousands deep, well within the body cap.
        raise MalformedWebhookError(
            f"the body does not fit the documented payload ({type(exc).__name__}: {exc})"[:300],
            provider=provider,
        ) from None
    report = pushed.report
    if not report.message_id:  # a report that names no message cannot be matched to one
        raise MalformedWebhookError(
            "the payload names no message (empty message id)", provider=provider
        )
    try:  # an id no lookup could send (a lone surrogate, say) is no message of the user's
        _validation.message_id(report.message_id)
    except ValueError as exc:
        raise MalformedWebhookError(
            f"the payload's message id cannot be one: {exc}"[:300], provider=provider
        ) from None
    if not pushed.event_id or not pushed.kind:  # nothing to deduplicate or tell events by
        raise MalformedWebhookError(
            "the payload names no event (empty event id or event type)", provider=provider
        )
    key = f"{provider}:{replay_key}"
    event = WebhookEvent(
        provider=provider,
        report=report,
        event_id=pushed.event_id,
        kind=pushed.kind,
        replay_key=key,
    )
    return event, key


def parse(
    provider: str,
    *,
    body: bytes,
    headers: HeaderItems,
    secret: str | None,
    url: str | None = None,
    method: str = "POST",
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
    replay_guard: ReplayGuard | None = None,
) -> WebhookEvent:
    """Verify one pushed delivery and read it into a `WebhookEvent`.

    `body` is the request body exactly as received; `headers` any str -> str mapping, or
    anything with `items()` of str pairs (Flask's `request.headers`; names are looked up
    case-insensitively); `secret` per the table in this module's docstring;
    `url` and `method` are what seven signs (`url` is required for seven); `now` is unix
    seconds (default: `time.time()`).

    Raises `WebhookSignatureError` (missing or wrong credentials, timestamp outside
    `tolerance`), `WebhookReplayError` (with `replay_guard`, a delivery seen before: when
    storing an event fails, `replay_guard.discard(event.replay_key)` before answering 5xx,
    or its retry, the same bytes for an unsigned provider, is taken for a replay),
    `MalformedWebhookError` (authentic but not the documented payload), `TransportError`
    (the replay guard failed to remember it, its Redis down say: answer 5xx, and the
    provider retries); `ValueError` / `TypeError` for bad arguments, before anything is read.
    """
    webhook = check_arguments(provider, secret, tolerance, url)
    event, replay_key = verify_and_read(
        provider,
        body=body,
        headers=headers,
        secret=secret,
        url=url,
        method=method,
        tolerance=tolerance,
        now=now,
        webhook=webhook,
    )
    if replay_guard is None:
        return event
    try:
        added = replay_guard.add(replay_key, ttl=2 * tolerance)
    except Exception as exc:  # its Redis down, say: one of ours, as a rate limiter's is
        why = f"the replay guard could not remember this delivery ({type(exc).__name__}: {exc})"
        raise TransportError(why[:300], provider=provider) from exc
    if not added:
        raise WebhookReplayError("this delivery was seen before", provider=provider)
    return event
