from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookEvent")


@_attrs_define
class WebhookEvent:
    """The `STATUS_UPDATE` envelope around the status endpoint's message object.

    Attributes:
        id (str): The notification's id (the idempotency key).
        type_ (str): `STATUS_UPDATE` (an open set).
        message (MessageDetails): Message information object. The docs say every endpoint returns all of these
            fields; `sms` ("SMS-specific information") is left optional here because an RCS
            message may plausibly lack it.
        webhook_configuration_id (str | Unset):
        created_at (datetime.datetime | Unset):
    """

    id: str
    type_: str
    message: MessageDetails
    webhook_configuration_id: str | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        type_ = self.type_

        message = self.message.to_dict()

        webhook_configuration_id = self.webhook_configuration_id

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "type": type_,
                "message": message,
            }
        )
        if webhook_configuration_id is not UNSET:
            field_dict["webhookConfigurationId"] = webhook_configuration_id
        if created_at is not UNSET:
            field_dict["createdAt"] = created_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        type_ = d.pop("type")

        message = MessageDetails.from_dict(d.pop("message"))

        webhook_configuration_id = d.pop("webhookConfigurationId", UNSET)

        _created_at = d.pop("createdAt", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at, Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)

        webhook_event = cls(
            id=id,
            type_=type_,
            message=message,
            webhook_configuration_id=webhook_configuration_id,
            created_at=created_at,
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


from ..models.message_details import MessageDetails  # noqa: E402
