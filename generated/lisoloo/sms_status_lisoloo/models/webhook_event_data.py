from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookEventData")


@_attrs_define
class WebhookEventData:
    """Event data: per message for `sms.queued` (`total_recipients`, `total_messages`,
    `total_cost`, `currency`, `scheduled_at`), per recipient otherwise
    (`recipient_phone`, `carrier`, `sent_at` / `delivered_at`, `segments`).

        Attributes:
            recipient_phone (None | str | Unset):
            carrier (None | str | Unset):
            sent_at (datetime.datetime | None | Unset):
            delivered_at (datetime.datetime | None | Unset):
            segments (int | None | Unset):
            total_recipients (int | None | Unset):
            total_messages (int | None | Unset):
            total_cost (float | None | Unset):
            currency (None | str | Unset):
            scheduled_at (datetime.datetime | None | Unset):
    """

    recipient_phone: None | str | Unset = UNSET
    carrier: None | str | Unset = UNSET
    sent_at: datetime.datetime | None | Unset = UNSET
    delivered_at: datetime.datetime | None | Unset = UNSET
    segments: int | None | Unset = UNSET
    total_recipients: int | None | Unset = UNSET
    total_messages: int | None | Unset = UNSET
    total_cost: float | None | Unset = UNSET
    currency: None | str | Unset = UNSET
    scheduled_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    OPEN_BY_SPEC = True
    """The spec says `additionalProperties: true`: keys it does not name are expected here."""

    def to_dict(self) -> dict[str, Any]:
        recipient_phone: None | str | Unset
        if isinstance(self.recipient_phone, Unset):
            recipient_phone = UNSET
        else:
            recipient_phone = self.recipient_phone

        carrier: None | str | Unset
        if isinstance(self.carrier, Unset):
            carrier = UNSET
        else:
            carrier = self.carrier

        sent_at: None | str | Unset
        if isinstance(self.sent_at, Unset):
            sent_at = UNSET
        elif isinstance(self.sent_at, datetime.datetime):
            sent_at = self.sent_at.isoformat()
        else:
            sent_at = self.sent_at

        delivered_at: None | str | Unset
        if isinstance(self.delivered_at, Unset):
            delivered_at = UNSET
        elif isinstance(self.delivered_at, datetime.datetime):
            delivered_at = self.delivered_at.isoformat()
        else:
            delivered_at = self.delivered_at

        segments: int | None | Unset
        if isinstance(self.segments, Unset):
            segments = UNSET
        else:
            segments = self.segments

        total_recipients: int | None | Unset
        if isinstance(self.total_recipients, Unset):
            total_recipients = UNSET
        else:
            total_recipients = self.total_recipients

        total_messages: int | None | Unset
        if isinstance(self.total_messages, Unset):
            total_messages = UNSET
        else:
            total_messages = self.total_messages

        total_cost: float | None | Unset
        if isinstance(self.total_cost, Unset):
            total_cost = UNSET
        else:
            total_cost = self.total_cost

        currency: None | str | Unset
        if isinstance(self.currency, Unset):
            currency = UNSET
        else:
            currency = self.currency

        scheduled_at: None | str | Unset
        if isinstance(self.scheduled_at, Unset):
            scheduled_at = UNSET
        elif isinstance(self.scheduled_at, datetime.datetime):
            scheduled_at = self.scheduled_at.isoformat()
        else:
            scheduled_at = self.scheduled_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if recipient_phone is not UNSET:
            field_dict["recipient_phone"] = recipient_phone
        if carrier is not UNSET:
            field_dict["carrier"] = carrier
        if sent_at is not UNSET:
            field_dict["sent_at"] = sent_at
        if delivered_at is not UNSET:
            field_dict["delivered_at"] = delivered_at
        if segments is not UNSET:
            field_dict["segments"] = segments
        if total_recipients is not UNSET:
            field_dict["total_recipients"] = total_recipients
        if total_messages is not UNSET:
            field_dict["total_messages"] = total_messages
        if total_cost is not UNSET:
            field_dict["total_cost"] = total_cost
        if currency is not UNSET:
            field_dict["currency"] = currency
        if scheduled_at is not UNSET:
            field_dict["scheduled_at"] = scheduled_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        recipient_phone: None | str | Unset = d.pop("recipient_phone", UNSET)

        carrier: None | str | Unset = d.pop("carrier", UNSET)

        def _parse_sent_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                sent_at_type_0 = datetime.datetime.fromisoformat(data)

                return sent_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        sent_at = _parse_sent_at(d.pop("sent_at", UNSET))

        def _parse_delivered_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                delivered_at_type_0 = datetime.datetime.fromisoformat(data)

                return delivered_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        delivered_at = _parse_delivered_at(d.pop("delivered_at", UNSET))

        segments: int | None | Unset = d.pop("segments", UNSET)

        total_recipients: int | None | Unset = d.pop("total_recipients", UNSET)

        total_messages: int | None | Unset = d.pop("total_messages", UNSET)

        total_cost: float | None | Unset = d.pop("total_cost", UNSET)

        currency: None | str | Unset = d.pop("currency", UNSET)

        def _parse_scheduled_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                scheduled_at_type_0 = datetime.datetime.fromisoformat(data)

                return scheduled_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        scheduled_at = _parse_scheduled_at(d.pop("scheduled_at", UNSET))

        webhook_event_data = cls(
            recipient_phone=recipient_phone,
            carrier=carrier,
            sent_at=sent_at,
            delivered_at=delivered_at,
            segments=segments,
            total_recipients=total_recipients,
            total_messages=total_messages,
            total_cost=total_cost,
            currency=currency,
            scheduled_at=scheduled_at,
        )

        webhook_event_data.additional_properties = d
        return webhook_event_data

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
