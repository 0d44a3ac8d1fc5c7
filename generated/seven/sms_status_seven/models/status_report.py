from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.delivery_status import DeliveryStatus

T = TypeVar("T", bound="StatusReport")


@_attrs_define
class StatusReport:
    """Status report of one SMS.

    Attributes:
        id (str): The SMS id (numeric, sent as a string).
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
        status_time (str): Time of the status, formatted `YYYY-MM-DD HH:MM:SS.fff` (e.g.
            `2024-02-16 15:43:16.905`). Not ISO 8601: a space instead of `T` and no UTC offset
            (the time zone is not documented: read as Berlin local time, as the DLR webhook's
            example implies), hence a plain string rather than `date-time`.
    """

    id: str
    status: DeliveryStatus
    status_time: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status.value

        status_time = self.status_time

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "status_time": status_time,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        status = DeliveryStatus(d.pop("status"))

        status_time = d.pop("status_time")

        status_report = cls(
            id=id,
            status=status,
            status_time=status_time,
        )

        status_report.additional_properties = d
        return status_report

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
