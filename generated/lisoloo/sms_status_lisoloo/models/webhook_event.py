from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookEvent")


@_attrs_define
class WebhookEvent:
    """The webhook envelope (docs.lisoloo.com/webhooks/overview).

    Attributes:
        event_id (str): UUID v4; the idempotency key.
        event_type (str): `sms.queued`, `sms.processing`, `sms.sent`, `sms.delivered`, `sms.failed` (an open set).
        message_id (str):
        timestamp (datetime.datetime | None | Unset):
        data (WebhookEventData | Unset): Event data: per message for `sms.queued` (`total_recipients`, `total_messages`,
            `total_cost`, `currency`, `scheduled_at`), per recipient otherwise
            (`recipient_phone`, `carrier`, `sent_at` / `delivered_at`, `segments`).
    """

    event_id: str
    event_type: str
    message_id: str
    timestamp: datetime.datetime | None | Unset = UNSET
    data: WebhookEventData | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event_id = self.event_id

        event_type = self.event_type

        message_id = self.message_id

        timestamp: None | str | Unset
        if isinstance(self.timestamp, Unset):
            timestamp = UNSET
        elif isinstance(self.timestamp, datetime.datetime):
            timestamp = self.timestamp.isoformat()
        else:
            timestamp = self.timestamp

        data: dict[str, Any] | Unset = UNSET
        if not isinstance(self.data, Unset):
            data = self.data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event_id": event_id,
                "event_type": event_type,
                "message_id": message_id,
            }
        )
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp
        if data is not UNSET:
            field_dict["data"] = data

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        event_id = d.pop("event_id")

        event_type = d.pop("event_type")

        message_id = d.pop("message_id")

        def _parse_timestamp(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                timestamp_type_0 = datetime.datetime.fromisoformat(data)

                return timestamp_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        timestamp = _parse_timestamp(d.pop("timestamp", UNSET))

        _data = d.pop("data", UNSET)
        data: WebhookEventData | Unset
        if isinstance(_data, Unset):
            data = UNSET
        else:
            data = WebhookEventData.from_dict(_data)

        webhook_event = cls(
            event_id=event_id,
            event_type=event_type,
            message_id=message_id,
            timestamp=timestamp,
            data=data,
        )

        webhook_event.additional_properties = d
        return webhook_event

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


from ..models.webhook_event_data import WebhookEventData  # noqa: E402
