from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.delivery_status import DeliveryStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="DlrWebhookData")


@_attrs_define
class DlrWebhookData:
    """
    Attributes:
        msg_id (int | str): The message id (the status endpoint's `id`).
        status (DeliveryStatus): Status report sent by the network operator (internal states Created, Queued and
            Processed are never reported). The page's "Final status" column is blank in our copy;
            finality below is assumed from the explanations. `DELIVERED` the SMS was successfully
            delivered (final); `NOTDELIVERED` the SMS could not be delivered, check the recipient
            number (final); `BUFFERED` sent, but temporarily stored by the SMSC because the
            recipient cannot be reached (not final); `TRANSMITTED` sent by the SMSC and should
            arrive soon (not final); `ACCEPTED` accepted by the SMSC (not final); `EXPIRED` not
            received before the validity period expired (final); `REJECTED` rejected by the
            operator (final); `FAILED` an error occurred while sending (final); `UNKNOWN` not on
            the page, listed in seven's OpenAPI document seven-io/api-schemes (treated as final). The set is open.
        timestamp (str | Unset): Time of the status, `YYYY-MM-DD HH:MM:SS.ffffff`, Berlin local time without an offset
            (like `status_time`).
    """

    msg_id: int | str
    status: DeliveryStatus
    timestamp: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        msg_id: int | str
        msg_id = self.msg_id

        status = self.status.value

        timestamp = self.timestamp

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "msg_id": msg_id,
                "status": status,
            }
        )
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        msg_id: int | str = d.pop("msg_id")

        status = DeliveryStatus(d.pop("status"))

        timestamp = d.pop("timestamp", UNSET)

        dlr_webhook_data = cls(
            msg_id=msg_id,
            status=status,
            timestamp=timestamp,
        )

        dlr_webhook_data.additional_properties = d
        return dlr_webhook_data

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
