from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="DlrWebhook")


@_attrs_define
class DlrWebhook:
    """Body of the `dlr` webhook (docs.seven.io/en/rest-api/webhooks).

    Attributes:
        data (DlrWebhookData):
        webhook_event (str): `dlr` for delivery reports.
        webhook_timestamp (datetime.datetime | Unset): When the webhook was sent, with an offset.
    """

    data: DlrWebhookData
    webhook_event: str
    webhook_timestamp: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data.to_dict()

        webhook_event = self.webhook_event

        webhook_timestamp: str | Unset = UNSET
        if not isinstance(self.webhook_timestamp, Unset):
            webhook_timestamp = self.webhook_timestamp.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
                "webhook_event": webhook_event,
            }
        )
        if webhook_timestamp is not UNSET:
            field_dict["webhook_timestamp"] = webhook_timestamp

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        data = DlrWebhookData.from_dict(d.pop("data"))

        webhook_event = d.pop("webhook_event")

        _webhook_timestamp = d.pop("webhook_timestamp", UNSET)
        webhook_timestamp: datetime.datetime | Unset
        if isinstance(_webhook_timestamp, Unset):
            webhook_timestamp = UNSET
        else:
            webhook_timestamp = datetime.datetime.fromisoformat(_webhook_timestamp)

        dlr_webhook = cls(
            data=data,
            webhook_event=webhook_event,
            webhook_timestamp=webhook_timestamp,
        )

        dlr_webhook.additional_properties = d
        return dlr_webhook

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


from ..models.dlr_webhook_data import DlrWebhookData  # noqa: E402
