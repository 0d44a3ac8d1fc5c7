"""What a provider module supplies to the core: tables, request builders and readers.

A provider module (`sms_status.providers.<key>`) builds one `Provider`; everything else —
retries, pacing, polling, batching, pagination, error mapping — lives in the core.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import ModuleType
from typing import Any, Protocol

import attrs
import httpx

from sms_status._pushed import Webhook
from sms_status._warnings import short, warn_once
from sms_status.errors import ApiError
from sms_status.pacing import RateLimit
from sms_status.report import DeliveryState, RecipientCounts, StatusReport

RequestKwargs = dict[str, Any]
"""Keyword arguments for `httpx.Client.request`, as the generated `_get_kwargs` returns them."""

StatusTable = Mapping[str, tuple[DeliveryState, bool]]
"""A provider's raw status value -> (normalised state, documented as final)."""


class GeneratedClient(Protocol):
    """The part of a generated `AuthenticatedClient` the overlay uses (`client.api`)."""

    def get_httpx_client(self) -> httpx.Client: ...

    def get_async_httpx_client(self) -> httpx.AsyncClient: ...


# Internal records: no generated __eq__/__repr__, each of which costs import time (bench 4).
@attrs.frozen(eq=False, repr=False)
class Credentials:
    """How the key travels: `{header}: {prefix} {token}` (no prefix: the bare token)."""

    header: str
    token: str
    prefix: str = ""


def header_key(header: str) -> Callable[[str], Credentials]:
    """Credentials for providers that take the bare key in one header."""
    return lambda api_key: Credentials(header, api_key)


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Cadence:
    """A polling schedule: waits between polls (the last repeats) and the default cap."""

    intervals: tuple[float, ...]
    default_timeout: float
    source: str = ""

    def waits(self) -> Iterator[float]:
        return itertools.chain(self.intervals, itertools.repeat(self.intervals[-1]))


@attrs.frozen(kw_only=True, eq=False, repr=False)
class BatchLookup:
    """Providers that look up many ids in one request (seven's comma-separated `msg_id`)."""

    max_ids: int
    max_joined_length: int
    separator: str = ","
    items: Callable[[object], Sequence[object]]
    """The reply's items (ValueError/TypeError: a reply of another shape fails the batch)."""
    read_item: Callable[[object], StatusReport]
    """One item's report (ValueError/TypeError/KeyError: that item does not fit)."""
    item_id: Callable[[object], str | None]
    """The id an item names, if it names one: whose report a malformed item costs."""


@attrs.frozen(kw_only=True, eq=False, repr=False)
class HistoryLookup:
    """Providers with per-phone / per-reference history pages (namirial)."""

    by_phone: Callable[[str, int, datetime | None], RequestKwargs]
    by_reference: Callable[[str, int, datetime | None], RequestKwargs]
    read_page: Callable[[object], list[StatusReport]]


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Successor:
    """The endpoint that replaces a deprecated status endpoint (seven's logbook).

    Clients use the status endpoint while it answers, with a DeprecationWarning once per
    process, and move to the successor for good (per client) once `is_gone` says the status
    endpoint was switched off; `connect(key, lookup=name)` chooses the successor up front.
    """

    name: str
    request: Callable[[str], RequestKwargs | None]
    """The lookup of one id; None when the successor cannot hold such an id (not found)."""
    ids: str = "its ids are of another kind"
    """What ids the successor holds, for the error of one it cannot (`request` gave None)."""
    read: Callable[[str, object], StatusReport | None]
    """The report for the id from a decoded body; None when the id is not in it."""
    is_gone: Callable[[ApiError], bool]
    """Whether an error from the status endpoint means that endpoint no longer exists."""
    deprecation: str
    """The DeprecationWarning's text."""


def endpoint_request(endpoint: ModuleType) -> Callable[..., RequestKwargs]:
    """A generated endpoint module's request builder, `_get_kwargs`: the URL template, path
    encoding and query serialisation exactly as the spec says. It is private upstream; our
    generator is pinned and drift-checked, and this is the one place the overlay reaches it."""
    builder: Callable[..., RequestKwargs] = endpoint.__dict__["_get_kwargs"]
    return builder


def _no_retry_after(_body: object) -> float | None:
    return None


def _no_opinion(_body: object) -> bool | None:
    return None


def _never(_body: object) -> bool:
    return False


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Provider:
    key: str
    origin: str
    credentials: Callable[[str], Credentials]
    client_class: Callable[..., GeneratedClient]
    status_request: Callable[[str], RequestKwargs]
    read_status: Callable[[str, object], StatusReport]
    statuses: StatusTable
    error_codes: type[StrEnum]
    error_code_from_body: Callable[[object], str | None]
    error_message_from_body: Callable[[object], str | None]
    cadence: Cadence
    error_classes: Mapping[str, type[ApiError]] = attrs.field(factory=dict[str, type[ApiError]])
    error_statuses: frozenset[int] = frozenset()
    """The 4xx statuses its spec documents as answers: another is a `ServerError` unless its
    body carries the provider's own error (`_responses`)."""
    retry_after_from_body: Callable[[object], float | None] = _no_retry_after
    retryable_from_body: Callable[[object], bool | None] = _no_opinion
    """Whether an error body says its call may be made again (lisoloo's `retryable`); None:
    the status decides (408, 429, 502, 503, 504)."""
    is_error_envelope: Callable[[object], bool] = _never
    """True for a body whose envelope says the call failed (`"success": false`), even
    without an error code: such a body is an error, never a status."""
    rate_limit: RateLimit | None = None
    max_rate_limit_retries: int | None = None
    batch: BatchLookup | None = None
    history: HistoryLookup | None = None
    sign: Callable[[str, str, str, str], dict[str, str]] | None = None
    """Optional request signing: (secret, method, path, timestamp) -> headers to add."""
    workspace_header: str | None = None
    """The header that names a workspace (telecom23's `X-Workspace-ID`), set on every
    request of a client given `workspace_id=`; None: the provider has no workspaces."""
    successor: Successor | None = None
    """Where status lookups go once the (deprecated) status endpoint is switched off."""
    webhook: Webhook | None = None
    """Pushed delivery reports: verified and read beside the polling reader."""

    def report(
        self,
        message_id: str,
        provider_status: str,
        raw: object,
        *,
        mapped_as: str | None = None,
        recipient: str | None = None,
        segments: int | None = None,
        cost: Decimal | None = None,
        created_at: datetime | None = None,
        sent_at: datetime | None = None,
        delivered_at: datetime | None = None,
        updated_at: datetime | None = None,
        provider_code: str | None = None,
        recipients: RecipientCounts | None = None,
        channel: str | None = None,
    ) -> StatusReport:
        """The report of `message_id` in `provider_status`, its state and finality from the
        status table (`mapped_as`: the table value it stands for, when the raw value is
        another name for it, as lisoloo's webhook event types are); what every reader, polled
        or pushed, returns. (Named keywords, not `**fields`: no dict is built and unpacked
        for each report read.)"""
        state, is_final = self.state_of(provider_status if mapped_as is None else mapped_as)
        return StatusReport(
            provider=self.key,
            message_id=message_id,
            state=state,
            is_final=is_final,
            provider_status=provider_status,
            raw=raw,
            recipient=recipient,
            segments=segments,
            cost=cost,
            created_at=created_at,
            sent_at=sent_at,
            delivered_at=delivered_at,
            updated_at=updated_at,
            provider_code=provider_code,
            recipients=recipients,
            channel=channel,
        )

    def state_of(self, provider_status: str) -> tuple[DeliveryState, bool]:
        """Map a raw status; a value missing from the table is UNRECOGNIZED and not final,
        with a warning once per provider and value (a vendor change to look into)."""
        known = self.statuses.get(provider_status)
        if known is not None:
            return known
        warn_once(
            (self.key, "unrecognized status", provider_status),
            "%s: unrecognized status %s reported as UNRECOGNIZED, not final "
            "(a vendor change? add it to specs/%s.yaml and the provider's STATUSES)",
            self.key,
            short(provider_status),
            self.key,
        )
        return DeliveryState.UNRECOGNIZED, False
