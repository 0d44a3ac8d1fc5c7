"""The one status vocabulary every provider is mapped into: DeliveryState and StatusReport."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Protocol, TypeVar, final

import attrs

from sms_status.errors import MalformedResponseError, SmsStatusError

Model = TypeVar("Model")


class GeneratedModel(Protocol):
    """What every generated model class offers: `from_dict` of a decoded JSON object."""

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any], /) -> Any: ...


@final
class Deferred:
    """A generated model not built yet: its class and the JSON object it reads, checked
    already (`sms_status._generated.deferred`). `StatusReport.raw` builds it when first
    asked for."""

    __slots__ = ("data", "model")

    def __init__(self, model: type[GeneratedModel], data: Mapping[str, Any]) -> None:
        self.model = model
        self.data = data

    def build(self) -> object:
        return self.model.from_dict(self.data)

    def __reduce__(self) -> tuple[object, ...]:
        return (Deferred, (self.model, self.data))


class DeliveryState(StrEnum):
    """A message's normalised state. Each provider module documents its mapping table."""

    PENDING = "pending"
    """Accepted or queued by the provider."""
    SENT = "sent"
    """Handed to the carrier, in flight."""
    DELIVERED = "delivered"
    READ = "read"
    """Read by the recipient (RCS)."""
    PARTIALLY_DELIVERED = "partially_delivered"
    """Multi-recipient message that reached some recipients (final)."""
    UNDELIVERED = "undelivered"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"
    UNKNOWN = "unknown"
    """The provider says the outcome is unknown."""
    UNRECOGNIZED = "unrecognized"
    """A provider value this SDK version does not know; `provider_status` keeps it."""


@attrs.frozen
class RecipientCounts:
    """Per-recipient totals of a multi-recipient message (lisoloo)."""

    total: int
    delivered: int
    failed: int
    pending: int


@attrs.frozen(kw_only=True, slots=False)
class StatusReport:
    """One message's status, the same shape for every provider.

    `is_final` is what the provider documents for its own status value. `raw` is the
    generated model the report was read from (built when first asked for: most callers
    never need it). In `get_statuses` results, a message that could not be looked up
    carries the reason in `error` (state UNKNOWN, not final).
    """

    provider: str
    message_id: str
    state: DeliveryState
    is_final: bool
    provider_status: str
    recipient: str | None = None
    segments: int | None = None
    cost: Decimal | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    updated_at: datetime | None = None
    provider_code: str | None = None
    recipients: RecipientCounts | None = None
    channel: str | None = None
    _raw: object = attrs.field(default=None, repr=False, eq=False, alias="raw")
    error: SmsStatusError | None = attrs.field(default=None, eq=False)

    @property
    def raw(self) -> object:
        """The generated model the report was read from (None for a failed lookup)."""
        raw = self._raw
        if isinstance(raw, Deferred):
            # Checked when the report was read (`_generated.deferred`), so this builds; two
            # threads asking at once may both build it, to equal models.
            model = raw.model
            try:
                raw = raw.build()
            except (LookupError, TypeError, ValueError) as exc:  # only our errors escape
                raise MalformedResponseError(
                    f"the body this report was read from does not build "
                    f"{model.__name__}: {type(exc).__name__}",
                    provider=self.provider,
                    status_code=200,
                ) from None
            object.__setattr__(self, "_raw", raw)
        return raw

    def raw_as(self, model: type[Model]) -> Model:
        """`raw` as the generated model type you expect, checked at run time, so typed code
        reaches fields the unified report does not carry (new optional ones included)
        without a cast: `report.raw_as(sms_status_namirial.models.MessageDetails)`.

        The types: telecom23 `StatusResponse`, namirial `MessageDetails`, roycetalk and
        lisoloo `MessageStatusResponse`, seven `StatusReport` (status endpoint) or
        `JournalEntry` (logbook) — each from `sms_status_<key>.models`. TypeError if `raw`
        is another type (or None, as on a `get_statuses` failure)."""
        if not isinstance(self.raw, model):
            raise TypeError(
                f"this {self.provider} report's raw is {type(self.raw).__name__}, "
                f"not {model.__name__}"
            )
        return self.raw

    @property
    def is_delivered(self) -> bool:
        """True when the message reached its recipient (DELIVERED or READ)."""
        return self.state in (DeliveryState.DELIVERED, DeliveryState.READ)

    def to_dict(self) -> dict[str, object]:
        """The report as JSON-safe data: `json.dumps(report.to_dict())` works as is.

        `state` is its string value, `cost` exact decimal text (`"0.0085"`, never a float),
        datetimes ISO 8601 with their offset, `recipients` a dict. `error` is None or
        `{"type", "error_code", "status_code", "message"}` (the codes None where the error has
        none). `raw` is left out: it is the provider's own model, reachable on the report.
        """
        data: dict[str, object] = {name: _jsonable(getattr(self, name)) for name in _DICT_FIELDS}
        error = self.error
        data["error"] = (
            None
            if error is None
            else {
                "type": type(error).__name__,
                "error_code": getattr(error, "error_code", None),
                "status_code": getattr(error, "status_code", None),
                "message": str(error),
            }
        )
        return data


def unbuilt_raw(report: StatusReport) -> Deferred | None:
    """The report's `raw` while it is not built yet: what a store keeps of it as is."""
    raw = vars(report).get("_raw")  # the stored value: reading `raw` would build it
    return raw if type(raw) is Deferred else None


_DICT_FIELDS: Final = tuple(
    f.name for f in attrs.fields(StatusReport) if f.name not in {"_raw", "error"}
)


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, RecipientCounts):
        return attrs.asdict(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


__all__ = ["DeliveryState", "RecipientCounts", "StatusReport"]
