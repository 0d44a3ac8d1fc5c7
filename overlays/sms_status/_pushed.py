"""What a provider's webhook is made of: the request as received, and the checks shared by
the providers' signature schemes.

A provider module (`providers/<key>.py`) builds one `Webhook` beside its polling reader:
`verify` authenticates a delivery (and names it for the replay guard), `read` turns its
payload into a report with the same lenient secondary readers as polling. The generic
parts — arguments, JSON decoding, errors, replay guards, the receiver app — live in
`sms_status.webhooks`, which providers never import.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

import attrs

from sms_status.errors import WebhookSignatureError
from sms_status.report import StatusReport


class HeaderItems(Protocol):
    """Request headers as any framework holds them: whatever has `items()` of str pairs (a
    dict, Starlette's or httpx's headers, Flask's, which are no `Mapping`)."""

    def items(self) -> Iterable[tuple[str, str]]: ...


_OWS = " \t"  # what RFC 9110 lets surround a field's value
_OWS_BYTES = b" \t"


class Headers:
    """Case-insensitive view of any `HeaderItems` (a dict, Starlette's, httpx's or Flask's
    headers); an empty value counts as absent."""

    __slots__ = ("_lower",)

    def __init__(self, headers: HeaderItems) -> None:
        items: Callable[[], Iterable[tuple[object, Any]]] | None = getattr(headers, "items", None)
        if not callable(items):  # a list of pairs, None: an AttributeError, deep inside
            raise TypeError(
                "headers must have items() of (name, value) str pairs (a dict, or the "
                f"framework's request headers), not {type(headers).__name__}"
            )
        lower: dict[str, Any] = {}
        for name, value in items():
            if not isinstance(name, str):  # bytes from an ASGI scope: every name missed
                raise TypeError(
                    f"header names must be str, not {type(name).__name__} (decode raw "
                    "ASGI pairs as latin-1, or serve webhooks.app)"
                )
            if value is not None and not isinstance(value, str):  # bytes, a list of values
                raise TypeError(
                    f"header values must be str, not {type(value).__name__} (one value a "
                    "name: decode bytes as latin-1, join repeated values with ', ')"
                )
            lower[name.lower()] = value
        self._lower = lower

    def get(self, name: str) -> str | None:
        """The value without the spaces and tabs around it (RFC 9110, 5.5: h11 strips them,
        httptools passes them on, and signatures are over the stripped value)."""
        value = self._lower.get(name.lower())
        return (value.strip(_OWS) or None) if isinstance(value, str) else None


class AsgiHeaders(Headers):
    """The same view over an ASGI scope's raw `(name, value)` byte pairs, decoded only for
    the names asked for: a verifier asks for two or three (decoding them all into a dict
    cost the receiver 2.3 µs a delivery, a scan of the pairs for each name asked for about
    1, a dict of the raw pairs under half that). A repeated name reads as its last value."""

    __slots__ = ("_pairs",)

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        # ASGI promises an iterable: read more than once here, so kept as a sequence.
        self._pairs = raw if isinstance(raw, (list, tuple)) else list(raw)
        try:
            self._lower: dict[Any, Any] = dict(self._pairs)
        except TypeError:  # a name as a bytearray (ASGI says bytes): unhashable
            self._lower = {bytes(name): value for name, value in self._pairs}

    def get(self, name: str) -> str | None:
        wanted = _wire_names.get(name)
        if wanted is None:
            wanted = name.lower().encode("latin-1")
            if len(_wire_names) < 64:  # our own few names: never grows with what is sent
                _wire_names[name] = wanted
        value = self._lower.get(wanted)  # servers send the names lower-case (ASGI asks so)
        if value is None:
            for key, stray in reversed(self._pairs):  # not found: a stray one, lowered here
                if key.lower() == wanted:
                    value = stray
                    break
        return None if value is None else (value.strip(_OWS_BYTES).decode("latin-1") or None)


_wire_names: dict[str, bytes] = {}
"""Header names asked for -> their lower-case bytes."""


# Internal records: no generated __eq__/__repr__, each of which costs import time (bench 4),
# and not frozen: a frozen class sets each field through `object.__setattr__`, which cost
# the receiver ~1 µs a delivery for these two. Nothing changes them once built.
@attrs.define(kw_only=True, eq=False, repr=False)
class PushedRequest:
    """One webhook delivery as received, with what its verification needs."""

    provider: str
    body: bytes
    """Exactly as received: signatures are over these bytes, never re-serialised JSON."""
    headers: Headers
    secret: str | None
    url: str | None
    """The URL the provider called (seven signs it)."""
    method: str
    now: float
    """Unix seconds."""
    tolerance: float
    """Seconds a signed timestamp may be old, or ahead."""


@attrs.define(kw_only=True, eq=False, repr=False)
class Pushed:
    """A read delivery: the report in the polling vocabulary and how to deduplicate it."""

    report: StatusReport
    event_id: str
    kind: str


def _any_secret(_secret: str) -> str | None:
    return None


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Webhook:
    """How one provider pushes delivery reports. Whether they are signed is the registry's
    `webhooks` capability; an unsigned provider's `verify` is `unsigned`."""

    verify: Callable[[PushedRequest], str]
    """Raises WebhookSignatureError unless the delivery is authentic (constant-time); returns
    its replay key (what makes this delivery, not this event, unique)."""
    read: Callable[[dict[str, Any]], Pushed]
    """The decoded JSON object -> a report; ValueError/KeyError/TypeError for a payload that
    does not fit (MalformedWebhookError to the caller)."""
    check_secret: Callable[[str], str | None] = _any_secret
    """What is wrong with a given secret's shape (lisoloo: not 'user:password'), or None."""
    signs_url: bool = False
    """Whether `verify` needs `PushedRequest.url` (seven signs it): a receiver works out the
    URL of a request only for such a provider."""


def unsigned(request: PushedRequest) -> str:
    """No credentials to check (namirial, roycetalk): the body's digest is the replay key."""
    return hashlib.sha256(request.body).hexdigest()


def fresh(request: PushedRequest, timestamp: str | None) -> float:
    """The signed timestamp, which must lie within `tolerance` of `now`, either way."""
    provider = request.provider
    if not math.isfinite(request.now):  # nan: every comparison false, so any age passed
        raise ValueError(f"now must be a finite time in unix seconds, not {request.now!r}")
    if timestamp is None:
        raise WebhookSignatureError("the timestamp header is missing", provider=provider)
    try:
        seconds = float(timestamp.strip())
    except ValueError:
        raise WebhookSignatureError("the timestamp is not a number", provider=provider) from None
    if not math.isfinite(seconds) or abs(request.now - seconds) > request.tolerance:
        raise WebhookSignatureError(
            f"the timestamp is outside the tolerance of {request.tolerance:g} s",
            provider=provider,
        )
    return seconds


def _wire(text: str) -> bytes:
    # compare_digest refuses non-ASCII str; header values are latin-1 on the wire.
    return text.encode("utf-8", "surrogatepass")


def matches(expected: str, given: str) -> bool:
    """Constant-time comparison of two hex signatures (or any header text)."""
    return hmac.compare_digest(_wire(expected), _wire(given))


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    # Not the one-shot `hmac.digest`: it lets go of the GIL for any length, and a worker
    # thread waiting for it (a sync on_report) then takes it at every delivery: the
    # receiver's CPU a delivery went from 46 to 72 µs. `hmac.new` keeps it for short bodies.
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def event_id_of(report: StatusReport, at: datetime | None) -> str:
    """A stable id for a delivery that carries none: message, status and the time reported
    (a provider's retry of the same event gets the same one)."""
    return f"{report.message_id}:{report.provider_status}:{at.isoformat() if at else ''}"


def kept(current: StatusReport, incoming: StatusReport) -> StatusReport:
    """`webhooks.merge`'s rule, without its checks that both are of one message (and one
    recipient): if exactly one is final it is kept; otherwise the later `updated_at` wins
    (none counts as older); ties keep `current`."""
    if current.is_final != incoming.is_final:
        return current if current.is_final else incoming
    if incoming.updated_at is not None and (
        current.updated_at is None or incoming.updated_at > current.updated_at
    ):
        return incoming
    return current
