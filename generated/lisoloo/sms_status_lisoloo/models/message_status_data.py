from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.message_status import MessageStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="MessageStatusData")


@_attrs_define
class MessageStatusData:
    """
    Attributes:
        message_id (str):
        status (MessageStatus): Aggregate status across all recipients (the message-level state machine; a
            multi-recipient send may end with some recipients delivered and others failed: the
            `delivered`/`failed` counters give the exact split). Finality:
            not final — `pending`, `scheduled`, `processing`, `accepted`, `enroute`, `sent`;
            final — `delivered`, `partially_delivered`, `delivery_unknown`, `undelivered`,
            `rejected`, `expired`, `failed`; also `unknown`, and `none` (an internal
            placeholder). Only `delivered` is success. The set is open.
        total_recipients (int | Unset): Number of recipients in the original `to` array (from
            OPS_SMS_MESSAGE.total_recipients).
        delivered (int | Unset): Recipients delivered (derived from the OPS_SMS_MESSAGE_CONTACT rows).
        failed (int | Unset): Recipients failed (derived from the OPS_SMS_MESSAGE_CONTACT rows).
        pending (int | Unset): Recipients in any non-terminal state (derived from the OPS_SMS_MESSAGE_CONTACT rows).
        created_at (datetime.datetime | Unset): When `POST /send` returned.
        updated_at (datetime.datetime | Unset): Last state-change timestamp.
    """

    message_id: str
    status: MessageStatus
    total_recipients: int | Unset = UNSET
    delivered: int | Unset = UNSET
    failed: int | Unset = UNSET
    pending: int | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET
    updated_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        message_id = self.message_id

        status = self.status.value

        total_recipients = self.total_recipients

        delivered = self.delivered

        failed = self.failed

        pending = self.pending

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        updated_at: str | Unset = UNSET
        if not isinstance(self.updated_at, Unset):
            updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "message_id": message_id,
                "status": status,
            }
        )
        if total_recipients is not UNSET:
            field_dict["total_recipients"] = total_recipients
        if delivered is not UNSET:
            field_dict["delivered"] = delivered
        if failed is not UNSET:
            field_dict["failed"] = failed
        if pending is not UNSET:
            field_dict["pending"] = pending
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        message_id = d.pop("message_id")

        status = MessageStatus(d.pop("status"))

        total_recipients = d.pop("total_recipients", UNSET)

        delivered = d.pop("delivered", UNSET)

        failed = d.pop("failed", UNSET)

        pending = d.pop("pending", UNSET)

        _created_at = d.pop("created_at", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at, Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)

        _updated_at = d.pop("updated_at", UNSET)
        updated_at: datetime.datetime | Unset
        if isinstance(_updated_at, Unset):
            updated_at = UNSET
        else:
            updated_at = datetime.datetime.fromisoformat(_updated_at)

        message_status_data = cls(
            message_id=message_id,
            status=status,
            total_recipients=total_recipients,
            delivered=delivered,
            failed=failed,
            pending=pending,
            created_at=created_at,
            updated_at=updated_at,
        )

        message_status_data.additional_properties = d
        return message_status_data

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
