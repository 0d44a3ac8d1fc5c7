"""Shared vocabulary of the sandbox: what a provider module declares and what its handlers get.

A provider module (``testing/<key>.py``) holds only tables and small functions: its routes, how
it reads the presented key, its error bodies and how it renders a stored message. Everything
stateful lives beside it: ``_store``, ``_clock``, ``_faults``, ``_dispatch``, ``_server`` and
the ``Sandbox`` in ``_sandbox``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

__all__ = [
    "Ctx",
    "Example",
    "FakeWebhook",
    "MessageView",
    "ProviderDef",
    "Reply",
    "RetryPolicy",
    "RouteDef",
    "apply_fields",
    "dump_json",
    "iso_micro",
    "iso_z",
    "stable_int",
    "stable_uuid",
    "to_epoch",
]


def dump_json(obj: Any) -> bytes:
    """The sandbox's one JSON serialisation: compact, UTF-8, key order as given."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, body bytes, content type (None: no Content-Type) and headers."""

    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Reply:
        return cls(status, dump_json(obj), "application/json", tuple(headers))

    @classmethod
    def empty(cls, status: int, headers: Iterable[tuple[str, str]] = ()) -> Reply:
        return cls(status, b"", None, tuple(headers))


@dataclass(frozen=True)
class MessageView:
    """A stored message as one request sees it (its lifecycle already evaluated)."""

    id: str
    status: str
    step: int
    """Index of ``status`` in the scripted lifecycle."""
    final_step: bool
    """True once the lifecycle reached its last step."""
    created_at: float
    changed_at: float
    """Clock time at which the current step began."""
    timeline: tuple[tuple[str, float], ...]
    """``(status, began_at)`` for every step reached so far, oldest first."""
    fields: Mapping[str, Any]
    verbatim: Any
    """A seeded example's exact body (not None only for ``seed_examples`` messages)."""
    polls: int
    seq: int
    """Insertion order in the store (ties in history ordering go to the later one)."""

    def reached(self, status: str) -> float | None:
        """When the message first reached ``status`` (None if it has not)."""
        for name, began in self.timeline:
            if name == status:
                return began
        return None

    def first_after(self, *statuses: str) -> float | None:
        """When the message first left the given (initial) statuses, if it has."""
        for name, began in self.timeline:
            if name not in statuses:
                return began
        return None


class Ctx(Protocol):
    """What a route handler may use. Implemented by the core; one per request."""

    @property
    def params(self) -> Mapping[str, str]:
        """Path parameters, percent-decoded (``a%2Fb`` -> ``a/b``)."""
        ...

    @property
    def query(self) -> Mapping[str, list[str]]:
        """Query parameters, decoded, every value kept."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Request headers, lower-case names."""
        ...

    @property
    def request_id(self) -> str: ...

    @property
    def raw_path(self) -> str:
        """The path as received (percent-encoding preserved)."""
        ...

    @property
    def raw_query(self) -> str: ...

    @property
    def method(self) -> str: ...

    @property
    def state(self) -> dict[str, Any]:
        """Scratch state of the sandbox for provider modules (cleared by ``reset()``)."""
        ...

    def now(self) -> float:
        """The sandbox clock (epoch seconds)."""
        ...

    def option(self, name: str) -> Any:
        """A sandbox option (e.g. ``history_before``)."""
        ...

    def lookup(self, message_id: str, *, advance: bool = True) -> MessageView | None:
        """The caller's tenant's message (None if unknown or another tenant's).

        ``advance=True`` counts as one status poll of that message.
        """
        ...

    def messages(self) -> list[MessageView]:
        """All of the caller's tenant's messages, without counting a poll."""
        ...


Handler = Callable[[Ctx], Reply]


def _no_ids(ctx: Ctx) -> tuple[str, ...]:
    return tuple(ctx.params.values())


@dataclass(frozen=True)
class RouteDef:
    """One documented path. ``template`` uses ``{name}`` for one raw path segment."""

    name: str
    template: str
    handler: Handler
    ids: Callable[[Ctx], tuple[str, ...]] = _no_ids
    """The ids a request addresses (for faults targeted with ``message_id=``)."""
    auth: bool = True
    rate_limited: bool = True
    methods: tuple[str, ...] = ("GET",)


@dataclass(frozen=True)
class Example:
    """A seed page's example message: served verbatim for its own id."""

    id: str
    body: Any
    status: str
    fields: Mapping[str, Any] = field(default_factory=dict[str, Any])


@dataclass(frozen=True)
class RetryPolicy:
    """When the provider tries a webhook delivery again."""

    attempts: int
    """In total, the first included."""
    waits: tuple[float, ...]
    """Sandbox-clock seconds before attempt 2, 3, ..."""
    retry_on_4xx: bool = True
    """False: only a 5xx or a failed connection is tried again."""


UNDOCUMENTED_RETRIES: Final = RetryPolicy(3, (10.0, 60.0))
"""The sandbox's assumption where a provider documents no retry policy."""


def _no_credentials(secret: str | None, url: str, body: bytes, now: float) -> dict[str, str]:
    return {}


def _any_secret(secret: str) -> str | None:
    return None


@dataclass(frozen=True)
class FakeWebhook:
    """How a fake pushes status changes (``sandbox.add_webhook``): the payloads of each
    lifecycle step, their credentials and the retry policy, as the provider documents them.
    The generic sender (``_webhooks``) watches the store and POSTs what this renders."""

    render: Callable[[MessageView], list[tuple[str, bytes]]]
    """The deliveries, ``(event kind, body)``, for a message that just reached a step."""
    sign: Callable[[str | None, str, bytes, float], dict[str, str]] = _no_credentials
    """``(secret, url, body, now)`` -> headers to send besides ``Content-Type``."""
    retry: RetryPolicy = UNDOCUMENTED_RETRIES
    check_secret: Callable[[str], str | None] = _any_secret
    """What is wrong with a subscription's secret (lisoloo: not 'user:password'), or None."""


@dataclass(frozen=True)
class ProviderDef:
    key: str
    routes: tuple[RouteDef, ...]
    default_statuses: tuple[str, ...]
    present_key: Callable[[Mapping[str, str]], str | None]
    """The API key a request presents (None if it presents none)."""
    auth_error: Callable[[Ctx, str | None], Reply]
    """Answer to a missing (None) or wrong key."""
    error: Callable[[Ctx, int, str | None], Reply]
    """A documented error answer for an HTTP status and an optional provider error code."""
    rate_limited: Callable[[Ctx, str | None], Reply]
    """The provider's 429 JSON answer given the Retry-After value (the core adds the header)."""
    unknown_path: Callable[[Ctx], Reply]
    verify_request: Callable[[Ctx], Reply | None] | None = None
    """Further checks once the key is accepted (e.g. request signatures): a refusal or None."""
    numeric_error_codes: bool = False
    """Whether the provider's error codes are numbers (seven): an injected ``code`` must be."""
    examples: tuple[Example, ...] = ()
    default_rate_limit: tuple[int, float] | None = None
    limiter_sends_retry_after: bool = True
    """Whether the built-in rate limiter's 429 carries ``Retry-After``."""
    rate_limit_per_account: bool = False
    """Whether the built-in rate limiter counts an account's requests together (all its
    keys: telecom23's docs say so), not each key's."""
    fault_retry_after: str | None = None
    """Retry-After of an injected ``rate_limit`` fault unless given."""
    fault_rate_limit_body: str = "json"
    secret_headers: frozenset[str] = frozenset()
    webhook: FakeWebhook | None = None
    """Pushed status changes; None for a provider without webhooks."""


# -- helpers for provider modules ------------------------------------------------------------


def to_epoch(value: Any) -> float:
    """Epoch seconds from a float/int, an aware or naive (UTC) datetime, or an ISO 8601 string."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a time")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return dt.timestamp()
    if isinstance(value, str):
        text = value.strip()
        if " " in text and "T" not in text:
            text = text.replace(" ", "T", 1)
        dt = datetime.fromisoformat(text)
        dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
        return dt.timestamp()
    raise TypeError(f"not a time: {value!r}")


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def iso_z(t: float) -> str:
    """``2026-02-13T10:30:00Z`` (whole seconds, UTC)."""
    return _utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_micro(t: float) -> str:
    """``2025-11-28T13:49:13.265444+00:00`` (microseconds, explicit offset)."""
    return _utc(t).isoformat(timespec="microseconds")


def stable_uuid(*parts: str) -> str:
    """A UUID derived from the parts (same input, same id: responses are reproducible)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "sms-status-sandbox:" + ":".join(parts)))


def stable_int(*parts: str, digits: int = 7) -> int:
    modulus: int = 10**digits
    return uuid.uuid5(uuid.NAMESPACE_URL, ":".join(parts)).int % modulus


def apply_fields(
    obj: dict[str, Any],
    fields: Mapping[str, Any],
    *,
    times: Iterable[str] = (),
    fmt: Callable[[float], str] = iso_z,
    skip: Iterable[str] = (),
) -> dict[str, Any]:
    """Override rendered keys with ``fields``; time keys given as numbers/datetimes are formatted.

    A string given for a time key is used verbatim (so a test can serve any odd format).
    """
    time_keys, skipped = set(times), set(skip)
    for key, value in fields.items():
        if key in skipped:
            continue
        if key in time_keys and value is not None and not isinstance(value, str):
            obj[key] = fmt(to_epoch(value))
        else:
            obj[key] = value
    return obj
